// Child process for the placement test. It turns ORT's verbose log on for every session the
// engine itself creates (by wrapping InferenceSession.create: same module instance as the
// engine's), giving each its graph's name as logId, then loads a SimbaSession on the provider and
// the GpuDecoder, so the parent reads every "Node placements" block of the real sessions.
//   node --require tsx/cjs test/webgpu/placement-child.ts <checkpoint dir> <provider> [cpu-layers]
// `cpu-layers` builds the CPU formulation of layer 0 instead (the negative control: its Scan must
// be seen landing on the CPU provider, or the parser would pass anything).
import * as ort from 'onnxruntime-node';
import { Engine, SimbaSession, resolveSimbaOptions } from '../../src/engine';
import { Checkpoint } from '../../src/engine/checkpoint';
import type { MambaConfig } from '../../src/engine/families/mamba1/config';
import { buildLayerGraphCpu } from '../../src/engine/families/mamba1/graphCpu';
import { loadWeights } from '../../src/engine/families/mamba1/weights';
import { GpuDecoder } from '../../src/engine/gpuDecode';
import { type Provider, sessionOptions } from '../../src/engine/runtime';

/** The graph name in an ONNX ModelProto: field 7 (graph), then its field 2 (name). */
function graphName(bytes: Uint8Array): string {
  const varint = (b: Uint8Array, i: number): [number, number] => {
    let v = 0;
    let s = 0;
    for (;;) {
      const x = b[i++];
      v += (x & 0x7f) * 2 ** s;
      s += 7;
      if (x < 0x80) return [v, i];
    }
  };
  const field = (b: Uint8Array, want: number): Uint8Array | undefined => {
    let i = 0;
    while (i < b.length) {
      let key: number;
      [key, i] = varint(b, i);
      const f = Math.floor(key / 8);
      const wt = key & 7;
      if (wt === 0) [, i] = varint(b, i);
      else if (wt === 1) i += 8;
      else if (wt === 5) i += 4;
      else if (wt === 2) {
        let len: number;
        [len, i] = varint(b, i);
        if (f === want) return b.subarray(i, i + len);
        i += len;
      } else return undefined;
    }
    return undefined;
  };
  const g = field(bytes, 7);
  const n = g && field(g, 2);
  return n ? Buffer.from(n).toString('utf8') : 'unnamed';
}

/**
 * Verbose at creation (the placement blocks), quiet when run: a verbose run logs every node it
 * executes, and the device-resident run's many small runs would flood the log the parent parses.
 */
function quietRuns(s: ort.InferenceSession): ort.InferenceSession {
  const run = s.run.bind(s) as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>;
  const quiet = { logSeverityLevel: 3 };
  (s as unknown as { run: unknown }).run = (feeds: unknown, fetches?: unknown, options?: object) =>
    fetches === undefined ? run(feeds, quiet) : run(feeds, fetches, { ...options, ...quiet });
  return s;
}

async function main(): Promise<void> {
  const [dir, provider, variant] = process.argv.slice(2) as [string, Provider, string | undefined];
  const ids: string[] = [];
  let creating: Promise<unknown> = Promise.resolve();
  const create = ort.InferenceSession.create.bind(ort.InferenceSession) as (
    b: Uint8Array,
    o?: ort.InferenceSession.SessionOptions,
  ) => Promise<ort.InferenceSession>;
  (ort.InferenceSession as unknown as { create: unknown }).create = (
    bytes: Uint8Array,
    opts: ort.InferenceSession.SessionOptions = {},
  ) => {
    const id = `${graphName(bytes)}#${ids.length}`;
    ids.push(id);
    // One creation at a time: sessions created at once on ORT's threads wrote their verbose lines
    // to stderr together, and an interleaved "Node placements" line no longer parsed (the block
    // for that session missing, seen in CI on an idle machine).
    const made = creating.then(() =>
      create(bytes, { ...opts, logSeverityLevel: 0, logVerbosityLevel: 0, logId: id }).then(quietRuns),
    );
    creating = made.then(
      () => undefined,
      () => undefined,
    );
    return made;
  };
  if (variant === 'cpu-layers') {
    const ck = Checkpoint.open(dir);
    const c = ck.config as MambaConfig;
    const w = loadWeights(ck.store, c);
    await (
      await ort.InferenceSession.create(buildLayerGraphCpu(c, w.layers[0], 0), sessionOptions(provider))
    ).release();
  } else {
    const s = await SimbaSession.load({ modelDir: dir, device: provider });
    if (s.deviceUsed !== provider)
      throw new Error(`the engine fell back to ${s.deviceUsed}: ${s.deviceNotes.join('; ')}`);
    const dec = await GpuDecoder.create(Checkpoint.open(dir), provider as 'webgpu' | 'cuda');
    await dec.dispose();
    await s.dispose();
    // The device-resident run builds its helper sessions on first use: run it in small chunks,
    // scored, with the device selection and with a host one (random), so every helper exists.
    const e = await Engine.load({ modelDir: dir, device: provider });
    if (!e.device) throw new Error(`no device-resident run: ${e.model.deviceNotes.join('; ')}`);
    e.model.chunkTokens = 16;
    e.device.scoreChunkTokens = 16;
    const ids = Array.from({ length: 60 }, (_, i) => 1 + ((i * 7) % (e.checkpoint.config.vocabSize - 1)));
    await e.run(ids, resolveSimbaOptions({ keepRatio: 0.3 }), { influenceEveryLayer: true, readout: 'last' });
    await e.run(ids, resolveSimbaOptions({ keepRatio: 0.3, selection: 'random' }));
    await e.dispose();
  }
  // The log goes through ORT's stream sink: give it a moment to drain before the process exits.
  await new Promise((r) => setTimeout(r, 1000));
  process.stdout.write(`${JSON.stringify({ graphs: ids })}\n`);
}

main().catch((e) => {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
  process.exit(1);
});
