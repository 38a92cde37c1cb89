// Reading a document for analysis: refuse binary and oversized input with a clear message
// instead of tokenising megabytes of noise.
import * as fs from 'fs';

/** Characters beyond which a document is refused (about 2.5M tokens of code). */
export const MAX_DOCUMENT_CHARS = 10_000_000;

export function checkDocumentText(text: string, name: string): void {
  const head = text.slice(0, 8192);
  if (head.includes('\u0000')) throw new Error(`${name}: looks like a binary file (it contains NUL bytes); Simba Lens analyses text`);
  if (text.length > MAX_DOCUMENT_CHARS) {
    throw new Error(`${name}: ${text.length.toLocaleString('en')} characters is more than the ${MAX_DOCUMENT_CHARS.toLocaleString('en')} Simba Lens analyses; analyse a part (e.g. --to OFFSET)`);
  }
}

export function readDocument(file: string): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (buf.subarray(0, 8192).includes(0)) throw new Error(`${file}: looks like a binary file (it contains NUL bytes); Simba Lens analyses text`);
  const text = buf.toString('utf8');
  checkDocumentText(text, file);
  return text;
}
