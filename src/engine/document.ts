// Reading a document for analysis: a regular file of bounded size (checked from fstat before a
// byte is read, so /dev/zero or a FIFO is refused at once), decoded as UTF-8 or, with a byte
// order mark, UTF-16; binary input is refused with a clear message instead of tokenising noise.
// The character limit is checked on the text that will be analysed (after --to / toOffset cuts
// it), so a long file can still be analysed in part.
import { MAX_BYTES, readBounded } from './files';

/** Characters beyond which a text is refused before tokenising (about 2.5M tokens of code). */
export const MAX_DOCUMENT_CHARS = 10_000_000;

/** The text of the document, or an error naming it when it is not analysable text. */
export function checkDocumentText(text: string, name: string): void {
  const head = text.slice(0, 8192);
  if (head.includes('\u0000'))
    throw new Error(`${name}: looks like a binary file (it contains NUL bytes); Simba Lens analyses text`);
  checkDocumentLength(text.length, name);
}

/** The character limit, for the part of a text that is to be analysed. */
export function checkDocumentLength(chars: number, name: string): void {
  if (chars > MAX_DOCUMENT_CHARS) {
    throw new Error(
      `${name}: ${chars.toLocaleString('en')} characters is more than the ${MAX_DOCUMENT_CHARS.toLocaleString('en')} Simba Lens analyses at once; analyse a part (--to OFFSET, or Analyze to Cursor in the editor)`,
    );
  }
}

/** Decode a document's bytes: UTF-8 (a UTF-8 BOM kept as the editor's text has it), UTF-16 LE/BE by BOM. */
export function decodeDocument(buf: Buffer, name: string): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return decodeUtf16(buf.subarray(2), 'le', name);
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) return decodeUtf16(buf.subarray(2), 'be', name);
  const head = buf.subarray(0, 8192);
  if (head.includes(0)) {
    if (looksUtf16(head))
      throw new Error(
        `${name}: looks like UTF-16 text without a byte order mark, which is not supported; save it as UTF-8 (or UTF-16 with a BOM)`,
      );
    throw new Error(`${name}: looks like a binary file (it contains NUL bytes); Simba Lens analyses text`);
  }
  return buf.toString('utf8');
}

function decodeUtf16(body: Buffer, order: 'le' | 'be', name: string): string {
  if (body.length % 2)
    throw new Error(
      `${name}: UTF-16 text (by its byte order mark) with an odd number of bytes; the file is cut short or not UTF-16`,
    );
  let le = body;
  if (order === 'be') {
    le = Buffer.from(body);
    le.swap16();
  }
  const text = le.toString('utf16le');
  if (text.slice(0, 8192).includes('\u0000'))
    throw new Error(`${name}: looks like a binary file (UTF-16 with NUL characters); Simba Lens analyses text`);
  return text;
}

/** Mostly NUL bytes in one of the two byte lanes: ASCII-range text as UTF-16. */
function looksUtf16(head: Buffer): boolean {
  let even = 0;
  let odd = 0;
  for (let i = 0; i < head.length; i++) if (head[i] === 0) i % 2 ? odd++ : even++;
  const half = head.length / 2;
  return half >= 2 && (odd >= 0.4 * half || even >= 0.4 * half) && Math.min(odd, even) <= 0.05 * half;
}

/** Read a document: a regular file of at most MAX_BYTES.document, as text. */
export function readDocument(file: string): string {
  const buf = readBounded(file, MAX_BYTES.document, 'input');
  return decodeDocument(buf, file);
}
