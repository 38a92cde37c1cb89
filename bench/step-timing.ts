// ms/token of the decoding loop with the native step (native/step.c) and the fused ORT step, fp32
// and int8, both engines in one process and alternating, median of the rounds. Not part of `npm run bench`.
//
//   npx tsx bench/step-timing.ts [modelDir] [--threads N] [--rounds R] [--tokens T]
import { Decoder, Engine, bundledModelDir, klDivergence, resolveSimbaOptions } from '../src/engine';

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const dir = args.find((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--')) ?? bundledModelDir();
const threads = opt('--threads', 2);
const rounds = opt('--rounds', 5);
const tokens = opt('--tokens', 33);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

(async () => {
  const engines = {
    native: await Engine.load({ modelDir: dir, device: 'cpu', threads, step: 'native' }),
    onnx: await Engine.load({ modelDir: dir, device: 'cpu', threads, step: 'onnx' }),
  };
  if (engines.native.model.stepKind !== 'native') throw new Error('the native step is not available');
  const s = engines.native;
  const V = s.checkpoint.config.vocabSize;
  const ids = Array.from({ length: 64 }, (_, i) => (i * 7919 + 13) % V);
  const r = await s.run(ids, resolveSimbaOptions({ schedule: 'dense' }));
  const last = await s.lastLogprobs(r);
  const ms: Record<string, number[]> = {};
  const decoders = { native: new Decoder(engines.native), onnx: new Decoder(engines.onnx) };
  for (const precision of ['fp32', 'int8'] as const)
    for (const [k, d] of Object.entries(decoders)) {
      await d.decodeFrom(r.state.clone(), last, 0, { maxTokens: 3, precision }); // builds the step
      ms[`${k} ${precision}`] = [];
    }
  for (let round = 0; round < rounds; round++)
    for (const precision of ['fp32', 'int8'] as const)
      for (const [k, d] of Object.entries(decoders))
        ms[`${k} ${precision}`].push(
          (await d.decodeFrom(r.state.clone(), last, 0, { maxTokens: tokens, precision })).msPerToken,
        );
  console.log(`${dir}, ${threads} threads, ${tokens} tokens × ${rounds} rounds (median ms/token):`);
  for (const [k, v] of Object.entries(ms))
    console.log(`  ${k.padEnd(12)} ${median(v).toFixed(3)}  [${v.map((x) => x.toFixed(2)).join(' ')}]`);
  // KL(fp32 ‖ int8) of the next-token distribution along the fp32 greedy path, native and ORT.
  const kl: Record<string, number[]> = { native: [], onnx: [] };
  for (const [k, e] of Object.entries(engines)) {
    const a = r.state.clone();
    const b = r.state.clone();
    let lp = last;
    for (let i = 0; i < 16; i++) {
      let id = 0;
      for (let j = 1; j < lp.length; j++) if (lp[j] > lp[id]) id = j;
      lp = await e.model.step(e.model.embedding(id), a, 'fp32');
      const lq = await e.model.step(e.model.embedding(id), b, 'int8');
      kl[k].push(klDivergence(lp, lq));
      b.layers.forEach((_, l) => {
        b.layers[l] = { conv: a.layers[l].conv.slice(), ssm: a.layers[l].ssm.slice() };
      });
    }
  }
  for (const [k, v] of Object.entries(kl))
    console.log(`  KL(fp32 ‖ int8) ${k}: median ${median(v).toExponential(2)}, max ${Math.max(...v).toExponential(2)}`);
  for (const e of Object.values(engines)) await e.dispose();
})();
