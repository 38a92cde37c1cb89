// Child process for the placement test: creates, with ORT's verbose log on, a session for every
// graph the engine builds for a provider (each layer, the heads, the influence scorer), each
// with its own logId so the parent can tell their "Node placements" blocks apart on stderr.
//   node --require tsx/cjs test/webgpu/placement-child.ts <checkpoint dir> <provider> [cpu-layers]
// `cpu-layers` builds the CPU formulation instead (the negative control: its Scan must be seen
// landing on the CPU provider, or the parser would pass anything).
import * as path from 'path';
import * as ort from 'onnxruntime-node';
import { parseConfig } from '../../src/engine/config';
import { buildLayerGraphCpu } from '../../src/engine/graphs/cpu';
import { buildHeadGraphGpu, buildLayerGraphGpu, buildTargetHeadGraphGpu } from '../../src/engine/graphs/gpu';
import { buildScoreGraph } from '../../src/engine/graphs/score';
import { Provider, sessionOptions } from '../../src/engine/providers';
import { SafetensorsStore } from '../../src/engine/safetensors';
import { loadWeights } from '../../src/engine/weights';

async function main(): Promise<void> {
  const [dir, provider, variant] = process.argv.slice(2) as [string, Provider, string | undefined];
  const c = parseConfig(path.join(dir, 'config.json'));
  const w = loadWeights(SafetensorsStore.open(dir), c);
  const graphs: [string, Uint8Array][] = [];
  for (let i = 0; i < c.layers; i++) graphs.push([`layer${i}`, variant === 'cpu-layers' ? buildLayerGraphCpu(c, w.layers[i], i) : buildLayerGraphGpu(c, w.layers[i], i)]);
  graphs.push(['head', buildHeadGraphGpu(c, w.normF, w.lmHead)]);
  graphs.push(['targethead', buildTargetHeadGraphGpu(c, w.normF, w.lmHead)]);
  graphs.push(['score', buildScoreGraph(c.dInner, c.dState)]);
  for (const [id, bytes] of graphs) {
    const so = { ...sessionOptions(provider), logSeverityLevel: 0, logVerbosityLevel: 0, logId: id } as ort.InferenceSession.SessionOptions;
    const s = await ort.InferenceSession.create(bytes, so);
    await s.release();
  }
  process.stdout.write(JSON.stringify({ graphs: graphs.map(([id]) => id) }) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: (e as Error).message }) + '\n');
  process.exit(1);
});
