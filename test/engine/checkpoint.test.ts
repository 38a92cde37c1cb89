// Every malformed checkpoint is refused with a message naming the file and the problem.
import * as assert from 'assert';
import * as fs from 'fs';
import * as path from 'path';
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
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'llama', architectures: ['LlamaForCausalLM'], hidden_size: 32 }));
    await refused(dir, /config\.json$/, /unsupported architecture "llama"/);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...configJson(TINY), model_type: 'mamba2', architectures: ['Mamba2ForCausalLM'] }));
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
    fs.writeFileSync(path.join(dir, 'model.safetensors'), Buffer.from('PK\x03\x04 this is a zip, not safetensors, with enough bytes'));
    await refused(dir, /model\.safetensors$/, /header length|not valid JSON|not safetensors/);
  });

  it('refuses a tensor of the wrong shape, naming tensor and shapes', async () => {
    const dir = writeCheckpoint();
    const t = randomTensors(TINY);
    t.set('backbone.layers.1.mixer.x_proj.weight', { shape: [7, 64], data: new Float32Array(7 * 64) });
    fs.writeFileSync(path.join(dir, 'model.safetensors'), safetensorsBytes(t));
    await refused(dir, /model\.safetensors$/, /"backbone\.layers\.1\.mixer\.x_proj\.weight" has shape \[7,64\] but the config implies \[20,64\]/);
  });

  it('refuses an unsupported dtype', async () => {
    const dir = writeCheckpoint();
    const f = path.join(dir, 'model.safetensors');
    const bytes = fs.readFileSync(f);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = bytes.subarray(8, 8 + n).toString().replace('"dtype":"F32","shape":[260,32]', '"dtype":"I32","shape":[260,32]');
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
    await refused(dir, /model-00002-of-00002\.safetensors$/, /cannot read: file not found \(named by model\.safetensors\.index\.json\)/);
  });

  it('reads sharded, F16 and BF16 checkpoints to the same model', async () => {
    const text = 'def add(a, b):\n    return a + b\n';
    const base = await SimbaSession.load({ modelDir: writeCheckpoint(), device: 'cpu' });
    const ref = await base.analyze(text, { dense: false, simba: { keepRatio: 1 } });
    for (const [opts, tol] of [[{ shards: 3 }, 1e-6], [{ dtype: 'F16' as const }, 0.05], [{ dtype: 'BF16' as const }, 0.2]] as const) {
      const s = await SimbaSession.load({ modelDir: writeCheckpoint(opts), device: 'cpu' });
      const a = await s.analyze(text, { dense: false, simba: { keepRatio: 1 } });
      assert.strictEqual(a.next.pruned![0].id, ref.next.pruned![0].id, JSON.stringify(opts));
      assert.ok(Math.abs(a.next.pruned![0].logprob - ref.next.pruned![0].logprob) <= tol, `${JSON.stringify(opts)}: ${a.next.pruned![0].logprob} vs ${ref.next.pruned![0].logprob}`);
      await s.dispose();
    }
    await base.dispose();
  });
});
