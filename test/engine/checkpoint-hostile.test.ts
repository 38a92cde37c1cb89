// A model folder is untrusted input (docs/security.md). Each class of hostile checkpoint is
// refused at the mechanism, fast, with a message naming the file and the problem and revealing
// nothing about files outside the folder. Loads that would hang or exhaust memory on a
// vulnerable engine run in a child process with limits (test/helpers/load-probe.ts).
import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Checkpoint } from '../../src/engine/checkpoint';
import { CheckpointError } from '../../src/engine/errors';
import { MAX_BYTES } from '../../src/engine/files';
import {
  TINY,
  byteTokenizerJson,
  configJson,
  randomTensors,
  safetensorsBytes,
  writeCheckpoint,
} from '../helpers/checkpoint';
import { editHeader, probeLoads } from '../helpers/hostile';
import { countingReads } from '../helpers/reads';

const BIG_MACHINE = { totalBytes: 64e9, freeBytes: 32e9 };

function refused(dir: string, file: RegExp, problem: RegExp, machine = BIG_MACHINE): CheckpointError {
  let err: unknown;
  const { bytes } = countingReads(() => {
    try {
      Checkpoint.open(dir, machine);
    } catch (e) {
      err = e;
    }
  });
  assert.ok(
    err instanceof CheckpointError,
    `expected a CheckpointError, got ${err === undefined ? 'a successful load' : String(err)}`,
  );
  assert.match(err.file, file);
  assert.match(err.problem, problem);
  // Less than the smallest per-file bound (config.json's): no file was read up to its bound.
  assert.ok(bytes < MAX_BYTES.config, `read ${bytes} bytes before refusing`);
  return err;
}

function setConfig(dir: string, patch: Record<string, unknown>): void {
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...configJson(TINY), ...patch }));
}

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'simba-hostile-'));
}

const mkfifo = (p: string) => execFileSync('mkfifo', [p]);

describe('hostile checkpoints', () => {
  describe('unbounded and blocking reads', () => {
    it('refuses FIFOs (config.json, tokenizer.json, index, shard) and a config.json linked to /dev/zero, without hanging or reading', function () {
      this.timeout(60000);
      const cases: [string, RegExp, RegExp][] = [];
      const make = (setup: (dir: string) => void, file: RegExp, problem: RegExp) => {
        const dir = writeCheckpoint();
        setup(dir);
        cases.push([dir, file, problem]);
      };
      const fifo = /is not a regular file \(a named pipe\)/;
      make((d) => (fs.rmSync(path.join(d, 'config.json')), mkfifo(path.join(d, 'config.json'))), /config\.json$/, fifo);
      make(
        (d) => (fs.rmSync(path.join(d, 'tokenizer.json')), mkfifo(path.join(d, 'tokenizer.json'))),
        /tokenizer\.json$/,
        fifo,
      );
      const sharded = (setup: (d: string) => void) => (d: string) => {
        writeCheckpoint({ dir: d, shards: 2 });
        fs.rmSync(path.join(d, 'model.safetensors'));
        setup(d);
      };
      make(
        sharded(
          (d) => (
            fs.rmSync(path.join(d, 'model.safetensors.index.json')),
            mkfifo(path.join(d, 'model.safetensors.index.json'))
          ),
        ),
        /model\.safetensors\.index\.json$/,
        fifo,
      );
      make(
        sharded(
          (d) => (
            fs.rmSync(path.join(d, 'model-00002-of-00002.safetensors')),
            mkfifo(path.join(d, 'model-00002-of-00002.safetensors'))
          ),
        ),
        /model-00002-of-00002\.safetensors$/,
        fifo,
      );
      make(
        (d) => (fs.rmSync(path.join(d, 'model.safetensors')), mkfifo(path.join(d, 'model.safetensors'))),
        /model\.safetensors$/,
        fifo,
      );
      make(
        (d) => (fs.rmSync(path.join(d, 'config.json')), fs.symlinkSync('/dev/zero', path.join(d, 'config.json'))),
        /config\.json$/,
        /points outside the checkpoint folder/,
      );
      make(
        (d) => (
          fs.rmSync(path.join(d, 'tokenizer.json')), fs.symlinkSync('/dev/urandom', path.join(d, 'tokenizer.json'))
        ),
        /tokenizer\.json$/,
        /points outside the checkpoint folder/,
      );
      const got = probeLoads(cases.map((c) => c[0]));
      cases.forEach(([dir, file, problem], i) => {
        const r = got[i];
        assert.ok(r, `${dir}: the load hung or died (case ${i})`);
        assert.ok(!r.ok && r.file && r.problem, `case ${i}: ${JSON.stringify(r)}`);
        assert.match(r.file!, file, `case ${i}`);
        assert.match(r.problem!, problem, `case ${i}`);
        assert.ok(r.readBytes < MAX_BYTES.config, `case ${i} read ${r.readBytes} bytes`);
      });
    });

    it('refuses oversized config.json, tokenizer.json and index from fstat, before reading them', () => {
      const dir = writeCheckpoint();
      const cfg = path.join(dir, 'config.json');
      fs.truncateSync(cfg, 3 * 2 ** 30); // sparse 3 GB: read, it would be 3 GB of memory
      const before = process.memoryUsage().rss;
      refused(dir, /config\.json$/, /is 3072\.0 MB, more than the 1\.0 MB a file of this kind may be/);
      assert.ok(process.memoryUsage().rss - before < 100 * 2 ** 20, 'read into memory');
      // A valid JSON text that is merely too long (2 MB of spaces) is refused too, unparsed.
      fs.writeFileSync(cfg, JSON.stringify(configJson(TINY)) + ' '.repeat(2 * 2 ** 20));
      refused(dir, /config\.json$/, /more than the 1\.0 MB/);
      setConfig(dir, {});
      fs.truncateSync(path.join(dir, 'tokenizer.json'), 65 * 2 ** 20);
      refused(dir, /tokenizer\.json$/, /more than the 64\.0 MB/);
      const sh = writeCheckpoint({ shards: 2 });
      fs.truncateSync(path.join(sh, 'model.safetensors.index.json'), 17 * 2 ** 20);
      refused(sh, /model\.safetensors\.index\.json$/, /more than the 16\.0 MB/);
    });

    it('checks the safetensors header length against the file and the bound before allocating', () => {
      const dir = writeCheckpoint();
      const f = path.join(dir, 'model.safetensors');
      const write = (len: bigint, size: number) => {
        const fd = fs.openSync(f, 'w');
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(len);
        fs.writeSync(fd, b, 0, 8, 0);
        fs.ftruncateSync(fd, size);
        fs.closeSync(fd);
      };
      write(2n ** 64n - 1n, 4096);
      refused(dir, /model\.safetensors$/, /bad header length 18446744073709551615 for a 4096-byte file/);
      write(150n * 2n ** 20n, 200 * 2 ** 20); // fits the (sparse) file but exceeds the 100 MB bound
      refused(dir, /model\.safetensors$/, /bad header length 157286400 .*at most 104857600 accepted/);
      write(0n, 64);
      refused(dir, /model\.safetensors$/, /bad header length 0/);
    });
  });

  describe('escape from the model folder', () => {
    function indexed(edit: (wm: Record<string, string>, dir: string) => void): string {
      const dir = writeCheckpoint({ shards: 2 });
      const f = path.join(dir, 'model.safetensors.index.json');
      const idx = JSON.parse(fs.readFileSync(f, 'utf8'));
      edit(idx.weight_map, dir);
      fs.writeFileSync(f, JSON.stringify(idx));
      return dir;
    }
    const first = (wm: Record<string, string>) => Object.keys(wm)[0];

    it('refuses shard names that leave the folder, saying nothing about the target', () => {
      const secret = path.join(tmpdir(), 'secret.safetensors');
      fs.writeFileSync(secret, 'top secret bytes, 35 bytes long...');
      const depth = '../'.repeat(20);
      const names = [
        `${depth}etc/passwd`,
        '../../../etc/passwd',
        secret,
        `../${path.relative(os.tmpdir(), secret)}`,
        `${depth}${secret.slice(1)}`,
        `sub/../../x/${path.basename(secret)}`,
        `${depth}does/not/exist.safetensors`,
      ];
      const problems: string[] = [];
      for (const name of names) {
        const dir = indexed((wm) => {
          wm[first(wm)] = name;
        });
        const e = refused(
          dir,
          /model\.safetensors\.index\.json$/,
          /points outside the checkpoint folder; refusing to read it/,
        );
        assert.ok(e.problem.includes(JSON.stringify(name)), 'names the entry');
        assert.doesNotMatch(e.message, /secret bytes|ENOENT|EACCES|truncated|header|35|not found|bytes/);
        problems.push(e.problem.replace(JSON.stringify(name), 'NAME'));
      }
      assert.strictEqual(
        new Set(problems).size,
        1,
        `an existing and a missing target give the same message: ${problems}`,
      );
    });

    it("refuses an index that points at another folder's weights (which would load silently)", () => {
      const other = writeCheckpoint({ seed: 7 });
      const dir = indexed((wm, d) => {
        for (const k of Object.keys(wm)) wm[k] = path.relative(d, path.join(other, 'model.safetensors'));
      });
      refused(
        dir,
        /model\.safetensors\.index\.json$/,
        /names "\.\.\/simba-ckpt-[^"]+\/model\.safetensors", which points outside/,
      );
    });

    it('refuses links that point outside: the files, a shard, a subfolder, a chain of links', () => {
      const other = writeCheckpoint({ seed: 7 });
      for (const name of ['config.json', 'tokenizer.json', 'model.safetensors']) {
        const dir = writeCheckpoint();
        fs.rmSync(path.join(dir, name));
        fs.symlinkSync(path.join(other, name), path.join(dir, name));
        refused(dir, new RegExp(`${name.replace('.', '\\.')}$`), /points outside the checkpoint folder/);
      }
      // A chain: inside link → inside link → outside.
      const chain = writeCheckpoint();
      fs.rmSync(path.join(chain, 'model.safetensors'));
      fs.symlinkSync(path.join(other, 'model.safetensors'), path.join(chain, 'b'));
      fs.symlinkSync('b', path.join(chain, 'model.safetensors'));
      refused(chain, /model\.safetensors$/, /points outside/);
      // A shard inside a subfolder that is itself a link outside; and a missing file under it.
      const sub = indexed((wm) => {
        wm[first(wm)] = 'sub/model.safetensors';
      });
      fs.symlinkSync(other, path.join(sub, 'sub'));
      refused(sub, /model\.safetensors\.index\.json$/, /names "sub\/model\.safetensors", which points outside/);
      const sub2 = indexed((wm) => {
        wm[first(wm)] = 'sub/nothing-here.safetensors';
      });
      fs.symlinkSync(other, path.join(sub2, 'sub'));
      refused(sub2, /model\.safetensors\.index\.json$/, /points outside/);
      // A subfolder that is a dangling link out: "outside" too, not "not found" (which would say the target is missing).
      const sub3 = indexed((wm) => {
        wm[first(wm)] = 'sub/deeper/model.safetensors';
      });
      fs.symlinkSync('/nonexistent-dir', path.join(sub3, 'sub'));
      refused(
        sub3,
        /model\.safetensors\.index\.json$/,
        /names "sub\/deeper\/model\.safetensors", which points outside/,
      );
      // A dangling link to outside says "outside", not "missing".
      const dangling = writeCheckpoint();
      fs.rmSync(path.join(dangling, 'config.json'));
      fs.symlinkSync('/nonexistent/config.json', path.join(dangling, 'config.json'));
      refused(dangling, /config\.json$/, /points outside the checkpoint folder/);
    });

    it('accepts links that stay inside, a folder reached through a link, and the Hugging Face cache layout', () => {
      const dir = writeCheckpoint();
      fs.mkdirSync(path.join(dir, 'weights'));
      fs.renameSync(path.join(dir, 'model.safetensors'), path.join(dir, 'weights', 'w.safetensors'));
      fs.symlinkSync('weights/w.safetensors', path.join(dir, 'model.safetensors'));
      assert.strictEqual(Checkpoint.open(dir, BIG_MACHINE).config.layers, TINY.layers);
      const link = path.join(tmpdir(), 'link-to-checkpoint');
      fs.symlinkSync(dir, link);
      assert.strictEqual(Checkpoint.open(link, BIG_MACHINE).config.layers, TINY.layers);
      // ~/.cache/huggingface/hub/models--ORG--NAME/snapshots/<rev>/file → ../../blobs/<sha>
      const src = writeCheckpoint({ shards: 2 });
      const repo = path.join(tmpdir(), 'models--state-spaces--mamba-tiny-hf');
      const snap = path.join(repo, 'snapshots', '0123abcd');
      fs.mkdirSync(path.join(repo, 'blobs'), { recursive: true });
      fs.mkdirSync(snap, { recursive: true });
      for (const [i, name] of fs.readdirSync(src).entries()) {
        const sha = `${String(i).repeat(8)}deadbeef`;
        fs.copyFileSync(path.join(src, name), path.join(repo, 'blobs', sha));
        fs.symlinkSync(`../../blobs/${sha}`, path.join(snap, name));
      }
      assert.strictEqual(Checkpoint.open(snap, BIG_MACHINE).config.layers, TINY.layers);
      // The repo folder itself is a newcomer's mistake: say where the snapshot is.
      refused(repo, /config\.json$/, /Hugging Face cache folder: give a snapshot folder, e\.g\. .*snapshots\/0123abcd/);
      // A missing blob (an interrupted download) is said to be missing; a link out of the repo is outside.
      fs.rmSync(fs.realpathSync(path.join(snap, 'tokenizer.json')));
      refused(snap, /snapshots\/0123abcd\/tokenizer\.json$/, /file not found \(it is a link to a file that is missing/);
      fs.rmSync(path.join(snap, 'tokenizer.json'));
      fs.symlinkSync(
        `../../../../${path.relative(path.dirname(repo), path.join(src, 'tokenizer.json'))}`,
        path.join(snap, 'tokenizer.json'),
      );
      refused(snap, /tokenizer\.json$/, /points outside the checkpoint folder/);
    });
  });

  describe('sizes absurd for the machine', () => {
    it('refuses 1e300 layers (which ran the process out of heap) in a child process, reading next to nothing', function () {
      this.timeout(60000);
      const dirs = [1e300, 2 ** 53 + 2, 1025].map((n) => {
        const d = writeCheckpoint();
        setConfig(d, { num_hidden_layers: n });
        return d;
      });
      for (const [i, r] of probeLoads(dirs).entries()) {
        assert.ok(r, `case ${i} died or hung`);
        assert.ok(!r.ok && r.problem, JSON.stringify(r));
        assert.match(r.problem!, /"num_hidden_layers" (must be a positive integer|is 1025, more than the 1024)/);
        assert.ok(r.readBytes < MAX_BYTES.config && r.rssMB < 1024, JSON.stringify(r));
      }
    });

    it('refuses config numbers that are not integers in sane ranges, naming the key', () => {
      const dir = writeCheckpoint();
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ hidden_size: 65537 }, /"hidden_size" is 65537, more than the 65536/],
        [{ vocab_size: 2 ** 22 + 1 }, /"vocab_size" is 4194305, more than the 4194304/],
        [{ state_size: 1025 }, /"state_size" is 1025, more than the 1024/],
        [{ conv_kernel: 65 }, /"conv_kernel" is 65, more than the 64/],
        [{ intermediate_size: 2 ** 20 }, /"intermediate_size" is 1048576, more than/],
        [{ intermediate_size: undefined, expand: 17 }, /"expand" is 17, more than the 16/],
        [
          { intermediate_size: undefined, expand: 16, hidden_size: 65536 },
          /"expand" × "hidden_size" is 1048576, more than the 262144/,
        ],
        [{ time_step_rank: 1e6 }, /"time_step_rank" is 1000000/],
        [{ hidden_size: 32.5 }, /"hidden_size" must be a positive integer \(got 32\.5\)/],
        [{ hidden_size: '32' }, /"hidden_size" must be a positive integer \(got "32"\)/],
        [{ num_hidden_layers: -3 }, /"num_hidden_layers" must be a positive integer/],
        [{ num_hidden_layers: 0 }, /"num_hidden_layers" must be a positive integer/],
        [{ vocab_size: [260] }, /"vocab_size" must be a positive integer/],
        [{ layer_norm_epsilon: 5 }, /"layer_norm_epsilon" must be a positive number below 1/],
        [{ eos_token_id: 260 }, /"eos_token_id" 260 is not a token id of a vocabulary of 260/],
        [{ eos_token_id: -1 }, /"eos_token_id" -1 is not a token id/],
      ];
      for (const [patch, problem] of cases) {
        setConfig(dir, patch);
        refused(dir, /config\.json$/, problem);
      }
    });

    it('refuses a config whose weights would not fit the machine, before reading any weight', () => {
      const dir = writeCheckpoint();
      // Within every per-key bound, but 2^22 × 65536 embeddings alone are 1.1 TB in float32.
      setConfig(dir, { vocab_size: 2 ** 22, hidden_size: 65536, intermediate_size: 131072, time_step_rank: 4096 });
      const before = process.memoryUsage().rss;
      refused(
        dir,
        /config\.json$/,
        /needs about \d+\.\d GB of memory for the weights in float32; this machine has 64\.0 GB/,
      );
      assert.ok(process.memoryUsage().rss - before < 100 * 2 ** 20);
      // The tiny model (about 0.1 MB) on an imaginary machine of 64 kB.
      setConfig(dir, {});
      refused(
        dir,
        /config\.json$/,
        /needs about 0\.\d+ MB of memory for the weights in float32; this machine has 0\.1 MB/,
        { totalBytes: 64_000, freeBytes: 64_000 },
      );
      refused(dir, /config\.json$/, /this machine has 0\.1 MB free of 1\.0 MB/, {
        totalBytes: 1_000_000,
        freeBytes: 100_000,
      });
      assert.strictEqual(
        Checkpoint.open(dir, { totalBytes: 1_000_000, freeBytes: 900_000 }).config.layers,
        TINY.layers,
      );
    });
  });

  describe('silent wrong answers', () => {
    it('refuses NaN/Inf weights naming the file and tensor, in F32, F16 and BF16', () => {
      const dir = writeCheckpoint();
      const f = path.join(dir, 'model.safetensors');
      const t = randomTensors(TINY);
      const a = t.get('backbone.layers.2.mixer.A_log')!.data;
      for (let i = 0; i < 12; i++) a[i * 5] = i % 3 === 0 ? Number.NaN : i % 3 === 1 ? Infinity : -Infinity;
      for (const dtype of ['F32', 'F16', 'BF16'] as const) {
        fs.writeFileSync(f, safetensorsBytes(t, dtype));
        const ck = Checkpoint.open(dir, BIG_MACHINE); // the header is fine; values are checked when converted
        assert.throws(
          () => ck.family.buildLayerGraph(ck.store, ck.config, 2, 'cpu'),
          (e: unknown) =>
            e instanceof CheckpointError &&
            /model\.safetensors$/.test(e.file) &&
            e.problem === 'tensor backbone.layers.2.mixer.A_log has 12 non-finite values (NaN/Inf)',
          dtype,
        );
      }
      const e = randomTensors(TINY);
      e.get('backbone.embeddings.weight')!.data[77] = Number.NaN;
      fs.writeFileSync(f, safetensorsBytes(e));
      const ck = Checkpoint.open(dir, BIG_MACHINE);
      assert.throws(
        () => ck.family.topWeights(ck.store, ck.config),
        /tensor backbone\.embeddings\.weight has 1 non-finite value \(NaN\/Inf\)/,
      );
    });

    it('refuses data_offsets that are negative, fractional, backwards, overlapping, gapped, or leave bytes undescribed', () => {
      const dir = writeCheckpoint();
      const f = path.join(dir, 'model.safetensors');
      const clean = fs.readFileSync(f);
      const E = 'backbone.layers.0.mixer.D';
      const cases: [(h: Record<string, { data_offsets: unknown[] }>) => void, RegExp, Buffer?][] = [
        [
          (h) => {
            const [b, e] = h[E].data_offsets as number[];
            h[E].data_offsets = [b - 64 - 4 * 64 * 0 - (b + 16), e - 64 - (b + 16)];
          },
          /"data_offsets" must be two non-negative integers/,
        ],
        [
          (h) => {
            const [b, e] = h[E].data_offsets as number[];
            h[E].data_offsets = [b + 0.5, e + 0.5];
          },
          /"data_offsets" must be two non-negative integers/,
        ],
        [
          (h) => {
            const [b, e] = h[E].data_offsets as number[];
            h[E].data_offsets = [e, b];
          },
          /run backwards/,
        ],
        [
          (h) => {
            h[E].data_offsets = h['backbone.layers.0.mixer.dt_proj.bias'].data_offsets;
          },
          /overlap/,
        ],
        [
          (h) => {
            const [b, e] = h[E].data_offsets as number[];
            h[E].data_offsets = [String(b), e];
          },
          /"data_offsets" must be two non-negative integers/,
        ],
        [
          (h) => {
            h[E].data_offsets = [0];
          },
          /"data_offsets" must be two non-negative integers/,
        ],
        [
          (h) => {
            delete h['backbone.norm_f.weight'];
          },
          /gap of 128 bytes before|bytes after the last tensor/,
        ],
        [() => {}, /16 bytes after the last tensor are not described/, Buffer.alloc(16)],
        [
          (h) => {
            (h[E] as unknown as { shape: unknown }).shape = [64.5];
          },
          /"shape" must be a list/,
        ],
        [
          (h) => {
            (h[E] as unknown as { shape: unknown }).shape = [1, 1, 1, 1, 1, 1, 1, 1, 64];
          },
          /"shape" must be a list of at most 8/,
        ],
      ];
      for (const [i, [edit, problem, extra]] of cases.entries()) {
        fs.writeFileSync(f, clean);
        editHeader(f, edit as never, extra);
        const e = refused(dir, /model\.safetensors$/, problem);
        assert.ok(e.problem.length < 300, `case ${i}`);
      }
      // A negative offset used to read the header's own bytes as weights: now nothing loads.
    });

    it('refuses a header that is not a JSON object or not UTF-8', () => {
      const dir = writeCheckpoint();
      const f = path.join(dir, 'model.safetensors');
      for (const [text, problem] of [
        ['[1,2,3]', /not a JSON object/],
        ['"x"', /not a JSON object/],
        ['{"a": 5}', /tensor "a" has a malformed header entry: not an object/],
        ['\xff\xfe{}', /not UTF-8/],
      ] as const) {
        const json = Buffer.from(text, 'latin1');
        const len = Buffer.alloc(8);
        len.writeBigUInt64LE(BigInt(json.length));
        fs.writeFileSync(f, Buffer.concat([len, json]));
        refused(dir, /model\.safetensors$/, problem);
      }
    });

    it('refuses a tokenizer with an id beyond the vocabulary, naming tokenizer.json', () => {
      const dir = writeCheckpoint();
      const tok = byteTokenizerJson(TINY.vocab) as {
        model: { vocab: Record<string, number> };
        added_tokens: { id: number }[];
      };
      tok.model.vocab.in = 5000; // same number of tokens as before: only the largest id gives it away
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok));
      refused(dir, /tokenizer\.json$/, /token id 5000 \("in"\) is not below the model's vocab_size 260/);
      const tok2 = byteTokenizerJson(TINY.vocab) as {
        model: { vocab: Record<string, number> };
        added_tokens: { id: number }[];
      };
      tok2.added_tokens[0].id = 260;
      tok2.model.vocab['<|endoftext|>'] = 260;
      fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tok2));
      refused(dir, /tokenizer\.json$/, /token id 260 .*vocab_size 260/);
    });

    it('refuses an index whose weight_map is malformed, and a shard that maps a tensor it lacks', () => {
      const dir = writeCheckpoint({ shards: 2 });
      const f = path.join(dir, 'model.safetensors.index.json');
      const idx = JSON.parse(fs.readFileSync(f, 'utf8'));
      for (const [text, problem] of [
        ['[]', /expected a JSON object/],
        ['{"weight_map": []}', /missing "weight_map"/],
        ['{"weight_map": {}}', /"weight_map" is empty/],
        ['{"weight_map": {"a": 3}}', /entry for tensor "a" is not a file name/],
        ['{"weight_map": {"a": ""}}', /entry for tensor "a" is not a file name/],
        ['{"__proto__": {"weight_map": {"a": "b"}}}', /missing "weight_map"/],
      ] as const) {
        fs.writeFileSync(f, text);
        refused(dir, /model\.safetensors\.index\.json$/, problem);
      }
      // Both shards hold their tensors, but the index maps one to the wrong shard: it used to be found anyway.
      const name = Object.keys(idx.weight_map).find((k) => idx.weight_map[k] === 'model-00001-of-00002.safetensors')!;
      idx.weight_map[name] = 'model-00002-of-00002.safetensors';
      fs.writeFileSync(f, JSON.stringify(idx));
      refused(
        dir,
        /model-00002-of-00002\.safetensors$/,
        new RegExp(`tensor "${name.replace(/\./g, '\\.')}" listed in the index is missing from this shard`),
      );
    });
  });

  describe('newcomer mistakes', () => {
    it('says what is wrong at once: a file instead of a folder, a missing folder, pytorch_model.bin only', () => {
      const dir = writeCheckpoint();
      refused(path.join(dir, 'config.json'), /config\.json$/, /is a file, not a checkpoint folder; give its folder/);
      refused(path.join(dir, 'nope'), /nope$/, /folder not found/);
      fs.rmSync(path.join(dir, 'model.safetensors'));
      fs.writeFileSync(path.join(dir, 'pytorch_model.bin'), 'PK');
      refused(dir, /pytorch_model\.bin$/, /convert to model\.safetensors/);
      const empty = tmpdir();
      refused(empty, /config\.json$/, /cannot read: file not found/);
    });
  });
});
