// The document reader: regular files of bounded size only (checked before reading, so /dev/zero
// and a FIFO are refused at once), UTF-16 by BOM, and a character limit that applies to the part
// analysed, so --to makes a long file analysable.
import * as assert from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Engine, MAX_DOCUMENT_CHARS, decodeDocument, readDocument } from '../../src/engine';
import { MAX_BYTES } from '../../src/engine/files';
import { countingReads } from '../helpers/reads';

const MODEL = path.resolve(__dirname, '../fixtures/random-tiny');

describe('document reader', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'simba-doc-'));

  it('refuses /dev/zero at once, without reading it', function () {
    if (!fs.existsSync('/dev/zero')) this.skip();
    const before = process.memoryUsage().rss;
    const { bytes } = countingReads(() =>
      assert.throws(() => readDocument('/dev/zero'), /\/dev\/zero: is not a regular file \(a character device\)/),
    );
    assert.strictEqual(bytes, 0, 'read nothing');
    assert.ok(process.memoryUsage().rss - before < 64 * 1024 * 1024, 'allocated nothing for it');
  });

  it('refuses a FIFO without hanging on it', function () {
    if (process.platform === 'win32') this.skip();
    const fifo = path.join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    assert.throws(() => readDocument(fifo), /pipe: is not a regular file \(a named pipe\)/);
  });

  it('refuses a folder and a file larger than MAX_BYTES.document from its size, before reading', () => {
    assert.throws(() => readDocument(dir), /is a folder, not a file/);
    const big = path.join(dir, 'big.txt');
    const fd = fs.openSync(big, 'w');
    fs.ftruncateSync(fd, MAX_BYTES.document + 1); // sparse: costs no disk
    fs.closeSync(fd);
    assert.throws(() => readDocument(big), /big\.txt: is 64\.0 MB, more than the 64\.0 MB a file of this kind may be/);
  });

  it('a missing file is named', () => {
    assert.throws(() => readDocument(path.join(dir, 'nope.py')), /nope\.py: cannot read: file not found/);
  });

  it('decodes UTF-16 LE and BE by their byte order mark; refuses UTF-16 without one by name', () => {
    const text = 'def f(x):\r\n    return "é😀"\n';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    const be = Buffer.from(le.subarray(2));
    be.swap16();
    assert.strictEqual(decodeDocument(le, 'le.py'), text);
    assert.strictEqual(decodeDocument(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), 'be.py'), text);
    const file = path.join(dir, 'u16.py');
    fs.writeFileSync(file, le);
    assert.strictEqual(readDocument(file), text);
    assert.throws(
      () => decodeDocument(Buffer.from(text, 'utf16le'), 'nobom.py'),
      /nobom\.py: looks like UTF-16 text without a byte order mark, which is not supported/,
    );
    assert.throws(
      () => decodeDocument(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from([0x61])]), 'odd.py'),
      /odd\.py: UTF-16 .* odd number of bytes/,
    );
    assert.throws(
      () => decodeDocument(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0, 1, 2, 3, 0x90, 0x91]), 'x.bin'),
      /x\.bin: looks like a binary file/,
    );
    assert.strictEqual(decodeDocument(Buffer.from('plain ascii\n'), 'a.txt'), 'plain ascii\n');
  });

  describe('the character limit applies to the part analysed', () => {
    let e: Engine;
    before(async () => {
      e = await Engine.load({ modelDir: MODEL, device: 'cpu' });
    });
    after(() => e?.dispose());

    it('a text longer than the limit reads, and tokenises when toOffset cuts it', async () => {
      const file = path.join(dir, 'long.py');
      const line = 'x = 1\n';
      fs.writeFileSync(file, line.repeat(Math.ceil((MAX_DOCUMENT_CHARS + 10) / line.length)));
      const text = readDocument(file);
      assert.ok(text.length > MAX_DOCUMENT_CHARS);
      await assert.rejects(
        e.tokenize(text, undefined, file),
        /long\.py: 10,000,0\d\d characters is more than the 10,000,000 .*--to OFFSET/,
      );
      const part = await e.tokenize(text, 60, file);
      assert.strictEqual(part[part.length - 1].end, 60);
      await assert.rejects(e.tokenize(text, MAX_DOCUMENT_CHARS + 1, file), /more than the 10,000,000/);
    });
  });
});
