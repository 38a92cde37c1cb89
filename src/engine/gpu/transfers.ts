// Every session run of a device-resident Simba run goes through `exec`, which records what
// crosses between the host and the device: a feed whose data is on the host is an upload, an
// output left on the host is a download. The run reports the ledger per phase (embed, layer l,
// readout) so a test can check that no hidden state crosses between layers.
import type * as ort from 'onnxruntime-node';

export interface Transfer {
  /** 'embed', 'layer 3', 'readout', … */
  phase: string;
  direction: 'upload' | 'download';
  /** The feed or output name in its session. */
  name: string;
  dims: readonly number[];
  bytes: number;
}

const BYTES: Record<string, number> = { float32: 4, int64: 8, int32: 4, bool: 1, uint8: 1, int8: 1, float16: 2 };

export class TransferLedger {
  readonly entries: Transfer[] = [];
  phase = 'setup';

  private note(direction: Transfer['direction'], name: string, t: ort.Tensor): void {
    if (t.location !== 'cpu') return;
    this.entries.push({ phase: this.phase, direction, name, dims: t.dims, bytes: t.size * (BYTES[t.type] ?? 8) });
  }

  /**
   * session.run with every host↔device crossing recorded. Every output is fetched, and those not
   * in `wanted` released at once: ORT 1.30's Node binding keeps a device output bound from one run
   * to the next, so an output fetched once and then left out fails the next run of another shape.
   */
  async exec(
    session: ort.InferenceSession,
    feeds: Record<string, ort.Tensor>,
    wanted: string[],
  ): Promise<Record<string, ort.Tensor>> {
    for (const [k, t] of Object.entries(feeds)) this.note('upload', k, t);
    const r = await session.run(feeds, session.outputNames);
    for (const k of session.outputNames) {
      this.note('download', k, r[k]);
      if (!wanted.includes(k) && r[k].location === 'gpu-buffer') r[k].dispose();
    }
    return r;
  }

  /** Entries of one phase. */
  of(phase: string): Transfer[] {
    return this.entries.filter((e) => e.phase === phase);
  }
}
