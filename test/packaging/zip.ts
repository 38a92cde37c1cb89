// Just enough of the zip format to read a .vsix: the central directory's entries and the bytes of
// one entry (stored or deflated). No zip64: a .vsix stays far below 4 GiB.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  offset: number;
}

export class Zip {
  readonly entries: ZipEntry[] = [];
  private constructor(readonly bytes: Buffer) {
    // The end-of-central-directory record is in the last 64 KiB + 22 bytes (its comment may precede it).
    let eocd = -1;
    for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65557); i--)
      if (bytes.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    if (eocd < 0) throw new Error('not a zip file (no end of central directory)');
    const count = bytes.readUInt16LE(eocd + 10);
    let p = bytes.readUInt32LE(eocd + 16);
    for (let i = 0; i < count; i++) {
      if (bytes.readUInt32LE(p) !== 0x02014b50) throw new Error(`bad central directory entry at ${p}`);
      const nameLen = bytes.readUInt16LE(p + 28);
      const extraLen = bytes.readUInt16LE(p + 30);
      const commentLen = bytes.readUInt16LE(p + 32);
      this.entries.push({
        method: bytes.readUInt16LE(p + 10),
        compressedSize: bytes.readUInt32LE(p + 20),
        size: bytes.readUInt32LE(p + 24),
        offset: bytes.readUInt32LE(p + 42),
        name: bytes.toString('utf8', p + 46, p + 46 + nameLen),
      });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  static open(file: string): Zip {
    return new Zip(fs.readFileSync(file));
  }

  entry(name: string): ZipEntry | undefined {
    return this.entries.find((e) => e.name === name);
  }

  read(name: string): Buffer {
    const e = this.entry(name);
    if (!e) throw new Error(`${name} is not in the zip`);
    const b = this.bytes;
    const start = e.offset + 30 + b.readUInt16LE(e.offset + 26) + b.readUInt16LE(e.offset + 28);
    const data = b.subarray(start, start + e.compressedSize);
    if (e.method === 0) return Buffer.from(data);
    if (e.method === 8) return zlib.inflateRawSync(data);
    throw new Error(`${name}: unsupported compression method ${e.method}`);
  }
}
