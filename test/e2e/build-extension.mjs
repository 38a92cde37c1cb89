// Builds the extension's three bundles (the same entries esbuild.mjs has, see README):
//   dist/extension.js (extension host), dist/server.js (engine process), dist/webview.js (panel).
// --fake-engine (or no src/engine/index.ts yet) swaps the engine for test/fakes/fakeEngine.ts.
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';
import { fileURLToPath } from 'url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const fake = process.argv.includes('--fake-engine') || process.env.SIMBA_FAKE_ENGINE === '1' || !fs.existsSync(path.join(root, 'src/engine/index.ts'));
if (fake) console.error('[build] using the fake engine (test/fakes/fakeEngine.ts)');

const fakeEnginePlugin = {
  name: 'fake-engine',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/engine$|^\.\.\/engine\/index$/ }, (args) =>
      fake && args.importer.includes(`${path.sep}src${path.sep}server${path.sep}`)
        ? { path: path.join(root, 'test/fakes/fakeEngine.ts') } : undefined);
  },
};

const node = {
  bundle: true, platform: 'node', format: 'cjs', target: 'node20', sourcemap: true,
  external: ['vscode', 'onnxruntime-node', 'tokenizers'], logLevel: 'warning',
};
await Promise.all([
  esbuild.build({ ...node, entryPoints: [path.join(root, 'src/extension/extension.ts')], outfile: path.join(root, 'dist/extension.js') }),
  esbuild.build({ ...node, entryPoints: [path.join(root, 'src/server/main.ts')], outfile: path.join(root, 'dist/server.js'), plugins: [fakeEnginePlugin] }),
  esbuild.build({
    bundle: true, platform: 'browser', format: 'iife', target: 'es2022', minify: true, logLevel: 'warning',
    entryPoints: [path.join(root, 'webview/main.ts')], outfile: path.join(root, 'dist/webview.js'),
  }),
]);
console.error('[build] dist/extension.js dist/server.js dist/webview.js');
