// Every malformed checkpoint is refused with a message naming the file and the problem.
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SimbaSession, CheckpointError } from '../../src/engine';
import { TINY, configJson, randomTensors, safetensorsBytes, writeCheckpoint } from '../helpers/checkpoint';

async function refused(dir: string, file: RegExp, problem: RegExp): Promise<void> {
  await assert.rejects(SimbaSession.load({ modelDir: dir, device: 'cpu' }), (e: unknown) => {
    assert.ok(e instanceof CheckpointError, `expected CheckpointError, got ${e}`);
    assert.match(e.file, file);
    assert.match(e.problem, problem);
    return true;
  });
}

describe('checkpoint loading', () => {
  it('loads a valid checkpoint and reports its facts', async () => {
    const s = await SimbaSession.load({ modelDir: writeCheckpoint(), device: 'cpu' });
    assert.strictEqual(s.facts.layers, TINY.layers);
    assert.strictEqual(s.facts.dInner, TINY.dModel * TINY.expand);
    assert.strictEqual(s.deviceUsed, 'cpu');
    await s.dispose();
  });

  it('refuses a missing config.json', async () => {
    const dir = writeCheckpoint();
    fs.rmSync(path.join(dir, 'config.json'));
    await refused(dir, /config\.json$/, /cannot read/);
  });

  it('refuses config.json that is not JSON', async () => {
    const dir = writeCheckpoint();
    fs.writeFileSync(path.join(dir, 'config.json'), '{"hidden_size": 32,');
    await refused(dir, /config\.json$/, /not valid JSON/);
  });

  it('refuses an unknown architecture, naming it', async () => {
    const dir = writeCheckpoint();
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 32 }),
    );
    await refused(dir, /config\.json$/, /unsupported architecture "llama"/);
    fs.writeFileSync(
      path.join(dir, 'config.json'),
      JSON.stringify({ ...configJson(TINY), model_type: 'mamba2', architectures: ['Mamba2ForCausalLM'] }),
    );
    await refused(dir, /config\.json$/, /Mamba-2/);
  });

  it('refuses a config with a missing or invalid size', async () => {
    const dir = writeCheckpoint();
    const c = configJson(TINY);
    delete c.hidden_size;
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
    await refused(dir, /config\.json$/, /"hidden_size" must be a positive integer/);
  });

  it('refuses a folder without model.safetensors', async () => {
    const dir = writeCheckpoint();
    fs.rmSync(path.join(dir, 'model.safetensors'));
    await refused(dir, /model\.safetensors$/, /missing/);
  });

  it('refuses a truncated safetensors file', async () => {
    const dir = writeCheckpoint();
    const f = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(f);
    fs.writeFileSync(f, bytes.subarray(0, bytes.length - 100));
    await refused(dir, /model\.safetensors$/, /truncated/);
    fs.writeFileSync(f, bytes.subarray(0, 5));
    await refused(dir, /model\.safetensors$/, /truncated/);
  });

  it('refuses a file that is not safetensors at all', async () => {
    const dir = writeCheckpoint();
    fs.writeFileSync(
      path.join(dir, 'model.safetensors'),
      Buffer.from('PK\x03\x04 this is a zip, not safetensors, with enough bytes'),
    );
    await refused(dir, /model\.safetensors$/, /header length|not valid JSON|not safetensors/);
  });

  it('refuses a tensor of the wrong shape, naming tensor and shapes', async () => {
    const dir = writeCheckpoint();
    const t = randomTensors(TINY);
    t.set('backbone.layers.1.mixer.x_proj.weight', { shape: [7, 64], data: new Float32Array(7 * 64) });
    fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(t));
    await refused(
      dir,
      /model\.safetensors$/,
      /"backbone\.layers\.1\.mixer\.x_proj\.weight" has shape \[7,64\] but the config implies \[20,64\]/,
    );
  });

  it('refuses an unsupported dtype', async () => {
    const dir = writeCheckpoint();
    const f = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(f);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = bytes
      .subarray(8, 8 + n)
      .toString()
      .replace('"dtype":"F32","shape":[260,32]', '"dtype":"I32","shape":[260,32]');
    fs.writeFileSync(f, Buffer.concat([bytes.subarray(0, 8), Buffer.from(header), bytes.subarray(8 + n)]));
    await refused(dir, /model\.safetensors$/, /dtype I32; supported: F32, F16, BF16/);
  });

  it('refuses a checkpoint missing a tensor', async () => {
    const dir = writeCheckpoint();
    const t = randomTensors(TINY);
    t.delete('backbone.layers.2.mixer.D');
    fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(t));
    await refused(dir, /model\.safetensors$/, /"backbone\.layers\.2\.mixer\.D" is missing/);
  });

  it('refuses a missing or broken tokenizer.json', async () => {
    const dir = writeCheckpoint();
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": 3}');
    await refused(dir, /tokenizer\.json$/, /not a Hugging Face tokenizer/);
    fs.rmSync(path.join(dir, 'tokenizer.json'));
    await refused(dir, /tokenizer\.json$/, /missing/);
  });

  it('refuses a sharded checkpoint whose index names a missing shard', async () => {
    const dir = writeCheckpoint({ shards: 2 });
    fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    await refused(
      dir,
      /model-00002-of-00002\.safetensors$/,
      /cannot read: file not found \(named by model\.safetensors\.index\.json\)/,
    );
  });

  it('reads sharded, F16 and BF16 checkpoints to the same model', async () => {
    const text = 'def add(a, b):\n    return a + b\n';
    const base = await SimbaSession.load({ modelDir: writeCheckpoint(), device: 'cpu' });
    const ref = await base.analyze(text, { dense: false, simba: { keepRatio: 1 } });
    for (const [opts, tol] of [
      [{ shards: 3 }, 1e-6],
      [{ dtype: 'F16' as const }, 0.05],
      [{ dtype: 'BF16' as const }, 0.2],
    ] as const) {
      const s = await SimbaSession.load({ modelDir: writeCheckpoint(opts), device: 'cpu' });
      const a = await s.analyze(text, { dense: false, simba: { keepRatio: 1 } });
      assert.strictEqual(a.next.pruned![0].id, ref.next.pruned![0].id, JSON.stringify(opts));
      assert.ok(
        Math.abs(a.next.pruned![0].logprob - ref.next.pruned![0].logprob) <= tol,
        `${JSON.stringify(opts)}: ${a.next.pruned![0].logprob} vs ${ref.next.pruned![0].logprob}`,
      );
      await s.dispose();
    }
    await base.dispose();
  });
});

/** A random checkpoint whose config.json is FalconMamba's (same tensors as Mamba-1), with `extra` merged in. */
function falconCheckpoint(extra: Record<string, unknown> = {}): string {
  const dir = writeCheckpoint();
  const c = {
    ...configJson(TINY),
    model_type: 'falcon_mamba',
    architectures: ['FalconMambaForCausalLM'],
    mixer_rms_eps: 1e-6,
    ...extra,
  };
  for (const [k, v] of Object.entries(c)) if (v === undefined) delete (c as Record<string, unknown>)[k];
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
  return dir;
}

/** Rewrite model.safetensors' header (the data stays as it is; offsets are relative to it). */
function rewriteHeader(
  dir: string,
  edit: (h: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>) => void,
): void {
  const f = path.join(dir, 'model.safetensors');
  const bytes = fs.readFileSync(f);
  const n = Number(bytes.readBigUInt64LE(0));
  const h = JSON.parse(bytes.subarray(8, 8 + n).toString());
  edit(h);
  const header = Buffer.from(JSON.stringify(h));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(f, Buffer.concat([len, header, bytes.subarray(8 + n)]));
}

const SUPPORTED = /Mamba-1 \(model_type "mamba"\).*FalconMamba \(model_type "falcon_mamba"\).*safetensors/;

describe('checkpoint loading: model families', () => {
  it('reads a FalconMamba checkpoint, taking intermediate_size over a contradicting "expand" (the 7B configs\' trap)', async () => {
    const s = await SimbaSession.load({ modelDir: falconCheckpoint({ expand: 16 }), device: 'cpu' });
    assert.strictEqual(s.facts.family, 'falcon_mamba');
    assert.strictEqual(s.facts.dInner, TINY.dModel * TINY.expand);
    await s.dispose();
    const m = await SimbaSession.load({ modelDir: writeCheckpoint(), device: 'cpu' });
    assert.strictEqual(m.facts.family, 'mamba1');
    await m.dispose();
  });

  it('refuses a FalconMamba config whose inner width contradicts the tensors', async () => {
    await refused(
      falconCheckpoint({ intermediate_size: 128 }),
      /model\.safetensors$/,
      /"intermediate_size" 128 contradicts the tensors: "backbone\.layers\.0\.mixer\.in_proj\.weight" has 128 rows, i\.e\. an inner width of 64/,
    );
    await refused(
      falconCheckpoint({ intermediate_size: undefined, expand: 3 }),
      /model\.safetensors$/,
      /"expand" × "hidden_size" = 96 contradicts the tensors/,
    );
  });

  it('refuses a bad mixer_rms_eps', async () => {
    for (const eps of [0, -1e-6, 1, '1e-6', null, [1e-6]]) {
      await refused(
        falconCheckpoint({ mixer_rms_eps: eps }),
        /config\.json$/,
        /"mixer_rms_eps" must be a positive number below 1/,
      );
    }
  });

  it('refuses quantised checkpoints: a quantization_config, an int8/uint8/fp8 tensor, bitsandbytes 4-bit data', async () => {
    const q = falconCheckpoint({
      model_type: 'mamba',
      quantization_config: { quant_method: 'bitsandbytes', load_in_4bit: true },
    });
    await refused(
      q,
      /config\.json$/,
      /"quantization_config" \("bitsandbytes"\): quantised checkpoints are not supported; use the unquantised/,
    );
    for (const dtype of ['U8', 'I8', 'F8_E4M3']) {
      const dir = falconCheckpoint();
      rewriteHeader(dir, (h) => {
        const e = h['backbone.layers.0.mixer.D'];
        e.shape = [(e.data_offsets[1] - e.data_offsets[0]) / 1];
        e.dtype = dtype;
      });
      await refused(
        dir,
        /model\.safetensors$/,
        new RegExp(
          `tensor "backbone\\.layers\\.0\\.mixer\\.D" has the quantised dtype ${dtype}: quantised checkpoints are not supported`,
        ),
      );
    }
    const dir = writeCheckpoint();
    const t = randomTensors(TINY);
    t.set('backbone.layers.0.mixer.in_proj.weight.absmax', { shape: [4], data: new Float32Array(4) });
    fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(t));
    await refused(
      dir,
      /model\.safetensors$/,
      /"backbone\.layers\.0\.mixer\.in_proj\.weight\.absmax" is quantisation data \(absmax\): quantised checkpoints are not supported/,
    );
  });

  const hybrids: [string, string, RegExp][] = [
    ['jamba', 'JambaForCausalLM', /Jamba mixes Mamba layers with attention and mixture-of-experts layers/],
    ['zamba2', 'Zamba2ForCausalLM', /Zamba2 mixes Mamba-2 layers with shared attention layers/],
    ['bamba', 'BambaForCausalLM', /Bamba mixes Mamba-2 layers with attention layers/],
    ['granitemoehybrid', 'GraniteMoeHybridForCausalLM', /Granite 4\.0 hybrid models mix Mamba-2 layers with attention/],
    ['falcon_h1', 'FalconH1ForCausalLM', /Falcon-H1 runs attention beside Mamba-2/],
    ['nemotron_h', 'NemotronHForCausalLM', /Nemotron-H mixes Mamba-2 layers with attention/],
    ['mamba3', 'Mamba3ForCausalLM', /Mamba-3 is a different state-space layer/],
  ];
  for (const [type, arch, why] of hybrids) {
    it(`refuses ${type} (by model_type and by architecture), saying what is supported`, async () => {
      const dir = writeCheckpoint();
      for (const c of [
        { ...configJson(TINY), model_type: type, architectures: [arch] },
        { hidden_size: 32, architectures: [arch] },
      ]) {
        fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(c));
        await refused(
          dir,
          /config\.json$/,
          new RegExp(
            `^unsupported architecture "${type}": ${why.source}.*, which this tool does not run; supported: a ${SUPPORTED.source}.*state-spaces/mamba-130m-hf`,
          ),
        );
      }
    });
  }

  it('refuses the original state-spaces checkpoints (config d_model/n_layer, pytorch_model.bin) without unpickling, naming the -hf conversion', async () => {
    for (const [ssm, instead] of [
      [{}, /state-spaces\/mamba-130m-hf/],
      [{ layer: 'Mamba2' }, /AntonV\/mamba2-130m-hf/],
    ] as const) {
      const dir = writeCheckpoint();
      fs.rmSync(path.join(dir, 'model.safetensors'));
      fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'not a pickle: never opened');
      fs.writeFileSync(
        path.join(dir, 'config.json'),
        JSON.stringify({
          d_model: 768,
          n_layer: 24,
          vocab_size: 50277,
          ssm_cfg: ssm,
          rms_norm: true,
          residual_in_fp32: true,
          fused_add_norm: true,
          pad_vocab_size_multiple: 8,
        }),
      );
      await refused(
        dir,
        /config\.json$/,
        new RegExp(
          `original state-spaces/mamba checkpoint.*PyTorch pickle, which is never read.*${SUPPORTED.source}.*${instead.source}`,
        ),
      );
    }
    // A Hugging Face config beside a pickle only: refused at the pickle, with what to use instead.
    const dir = writeCheckpoint();
    fs.rmSync(path.join(dir, 'model.safetensors'));
    fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'not a pickle: never opened');
    await refused(
      dir,
      /pytorch_model\.bin$/,
      /PyTorch pickle checkpoints are not read \(unpickling can run code\); supported: .*Mamba-1, FalconMamba and Mamba-2.*state-spaces\/mamba-130m-hf.*AntonV\/mamba2-\*-hf/,
    );
  });
});
