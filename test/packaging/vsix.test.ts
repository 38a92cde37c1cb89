// npm run test:packaging: every platform's .vsix (npm run package:all, run here first unless
// SIMBA_PACKAGING_REUSE=1 and they exist) holds its own platform's binaries and no other's, each
// built for the right OS and CPU, within size bounds, and says its target in its manifest.
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Machine, machineOf, newestGlibc } from './binaries';
import { Zip } from './zip';

const ROOT = path.resolve(__dirname, '../..');
const TARGETS: Record<string, { ort: string; ortFiles?: string[]; tokenizers: string; format: Machine['format'] }> =
  JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts/targets.json'), 'utf8'));
delete TARGETS['//'];
const vsix = (t: string) => path.join(ROOT, `dist/simba-lens-${t}.vsix`);
const MiB = 2 ** 20;

/** onnxruntime's own shared library beside its binding, per OS. */
const ORT_LIB: Record<string, RegExp> = {
  linux: /^libonnxruntime\.so\.1$/,
  darwin: /^libonnxruntime\.1\.dylib$/,
  win32: /^onnxruntime\.dll$/,
};

describe('platform packages (.vsix)', function () {
  this.timeout(1_800_000);

  before(() => {
    const have = Object.keys(TARGETS).every((t) => fs.existsSync(vsix(t)));
    if (have && process.env.SIMBA_PACKAGING_REUSE === '1') return;
    const r = spawnSync(process.execPath, ['scripts/package.mjs', '--all'], { cwd: ROOT, stdio: 'inherit' });
    assert.equal(r.status, 0, 'npm run package:all failed');
  });

  it('darwin-x64 is refused with the reason (onnxruntime-node ships no build for it)', () => {
    const r = spawnSync(process.execPath, ['scripts/package.mjs', '--target', 'darwin-x64'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /darwin-x64: onnxruntime-node 1\.30 ships no build for it/);
  });

  for (const [target, t] of Object.entries(TARGETS)) {
    describe(target, () => {
      let zip: Zip;
      const names = () => zip.entries.map((e) => e.name);
      before(() => {
        zip = Zip.open(vsix(target));
      });

      it('has the manifest of its target: TargetPlatform, engines, extensionKind', () => {
        const manifest = zip.read('extension.vsixmanifest').toString('utf8');
        const identity = manifest.match(/<Identity [^>]*>/)?.[0] ?? '';
        assert.match(identity, new RegExp(`TargetPlatform="${target}"`), identity);
        const pkg = JSON.parse(zip.read('extension/package.json').toString('utf8'));
        const ours = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
        assert.equal(pkg.engines.vscode, ours.engines.vscode);
        assert.deepEqual(pkg.extensionKind, ['workspace']);
        assert.match(
          manifest,
          new RegExp(`Microsoft\\.VisualStudio\\.Code\\.Engine" Value="\\${ours.engines.vscode}"`),
        );
      });

      it('holds the bundles, the CLI and the bundled model, and nothing of the sources or tests', () => {
        for (const f of [
          'dist/extension.js',
          'dist/server.js',
          'dist/cli.js',
          'dist/webview.js',
          'media/model/config.json',
          'media/model/model.safetensors',
          'media/model/tokenizer.json',
          'node_modules/onnxruntime-node/dist/index.js',
          'node_modules/onnxruntime-common/package.json',
          'node_modules/tokenizers/index.js',
        ])
          assert.ok(zip.entry(`extension/${f}`), `${f} missing`);
        const stray = names().filter((n) =>
          /^extension\/(src|test|bench|tools|native|scripts|webview|data|out)\/|\.map$|^extension\/media\/samples\/|^extension\/dist\/influence\.node$/.test(
            n,
          ),
        );
        assert.deepEqual(stray, []);
      });

      it("holds only its platform's onnxruntime, tokenizers and kernel, each built for it", () => {
        const [os, arch] = target.split('-');
        const natives = zip.entries.filter((e) => /\.(node|so(\.\d+)*|dylib|dll)$/.test(e.name));
        const ortDir = new RegExp(`^extension/node_modules/onnxruntime-node/bin/napi-v\\d+/${t.ort}/`);
        const allowed = (n: string) =>
          (ortDir.test(n) && (!t.ortFiles || t.ortFiles.includes(path.posix.basename(n)))) ||
          n === `extension/node_modules/tokenizers/tokenizers.${t.tokenizers}.node` ||
          n === `extension/dist/native/${target}/influence.node` ||
          n === `extension/dist/native/${target}/hidden_attention.node`;
        assert.deepEqual(
          natives.map((e) => e.name).filter((n) => !allowed(n)),
          [],
          "another platform's binaries",
        );
        const binding = natives.find((e) => ortDir.test(e.name) && e.name.endsWith('/onnxruntime_binding.node'));
        const ortLib = natives.find((e) => ortDir.test(e.name) && ORT_LIB[os].test(path.basename(e.name)));
        const tokenizers = natives.find((e) => e.name.includes('/tokenizers/'));
        const kernel = natives.find((e) => e.name.endsWith('/influence.node'));
        const attention = natives.find((e) => e.name.endsWith('/hidden_attention.node'));
        for (const [what, e] of Object.entries({ binding, ortLib, tokenizers, kernel, attention })) {
          assert.ok(e, `${what} missing`);
          const m = machineOf(zip.read(e.name).subarray(0, 4096));
          assert.equal(m?.format, t.format, `${e.name}: ${JSON.stringify(m)}`);
          assert.ok(m.arch.includes(arch), `${e.name} is built for ${m.arch.join('+')}, not ${arch}`);
        }
        // Sizes as the packages of onnxruntime-node 1.30 and tokenizers 0.23 have them.
        assert.ok(ortLib!.size > 10 * MiB, `${ortLib!.name}: ${ortLib!.size} bytes`);
        assert.ok(tokenizers!.size > 2 * MiB && tokenizers!.size < 16 * MiB, `tokenizers: ${tokenizers!.size} bytes`);
        assert.ok(kernel!.size > 8_000 && kernel!.size < 1 * MiB, `kernel: ${kernel!.size} bytes`);
      });

      it('is no bigger than its own binaries, the model and the bundles', () => {
        const ort = fs
          .readdirSync(path.join(ROOT, 'node_modules/onnxruntime-node/bin'))
          .map((napi) => path.join(ROOT, 'node_modules/onnxruntime-node/bin', napi, t.ort))
          .filter((d) => fs.existsSync(d))
          .flatMap((d) => (t.ortFiles ?? fs.readdirSync(d)).map((f) => fs.statSync(path.join(d, f)).size));
        const own =
          ort.reduce((a, b) => a + b, 0) +
          fs.statSync(path.join(ROOT, `node_modules/tokenizers/tokenizers.${t.tokenizers}.node`)).size;
        const unpacked = zip.entries.reduce((a, e) => a + e.size, 0);
        assert.ok(unpacked > own, `${unpacked} bytes unpacked < its binaries' ${own}`);
        // The rest (model ~18 MiB, bundles, docs' screenshots, kernel) stays under 40 MiB.
        assert.ok(unpacked < own + 40 * MiB, `${(unpacked / MiB).toFixed(1)} MiB unpacked`);
        assert.ok(fs.statSync(vsix(target)).size < 80 * MiB);
      });

      if (target === `${process.platform}-${process.arch}`)
        it('without its kernel, the packaged CLI still analyses, on the ONNX scorer, and says so', () => {
          const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-vsix-nokernel-'));
          try {
            for (const e of zip.entries)
              if (e.name.startsWith('extension/') && !e.name.endsWith('/') && !e.name.includes('/dist/native/')) {
                const f = path.join(dir, e.name);
                fs.mkdirSync(path.dirname(f), { recursive: true });
                fs.writeFileSync(f, zip.read(e.name));
              }
            const doc = path.join(dir, 'doc.py');
            fs.writeFileSync(doc, 'def mean(xs):\n    return sum(xs) / len(xs)\n');
            const r = spawnSync(
              process.execPath,
              [path.join(dir, 'extension/dist/cli.js'), 'analyze', doc, '--no-dense', '--device', 'cpu'],
              { encoding: 'utf8' },
            );
            assert.equal(r.status, 0, r.stderr);
            assert.match(
              r.stderr,
              /note: influence scoring: the native kernel was not built .*using the ONNX graph instead/,
            );
            assert.match(r.stdout, /tokens +\d+/);
          } finally {
            fs.rmSync(dir, { recursive: true, force: true });
          }
        });

      if (t.format === 'elf')
        it('its kernel needs no glibc newer than 2.28 (what VS Code itself requires)', () => {
          const v = newestGlibc(zip.read(`extension/dist/native/${target}/influence.node`));
          assert.ok(v && (v[0] < 2 || (v[0] === 2 && v[1] <= 28)), `needs GLIBC_${v?.join('.')}`);
        });
    });
  }
});
