// Hugging Face tokenizer.json through the `tokenizers` Rust binding, with offsets converted to
// UTF-16 code units (the binding counts Unicode code points; VS Code counts UTF-16 units).
import * as path from 'path';
import { Tokenizer } from 'tokenizers';
import { CheckpointError } from './errors';
import { MAX_BYTES, hasEntry, readInside } from './files';
import { utf8 } from './json';
import { TokenSpan } from '../shared/analysis';

export class TextTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    readonly vocabSize: number,
    /** The largest id of any token (vocabulary or added): must be below the model's vocab_size. */
    readonly maxId: number,
  ) {}

  /**
   * Read tokenizer.json (inside its checkpoint folder, bounded by MAX_BYTES.tokenizer, never a
   * pipe or device) and give its text to the binding: the binding never opens the file itself.
   */
  static load(file: string): TextTokenizer {
    const dir = path.dirname(file);
    if (!hasEntry(dir, path.basename(file))) throw new CheckpointError(file, 'missing: the checkpoint folder needs a tokenizer.json');
    const { bytes } = readInside(dir, path.basename(file), MAX_BYTES.tokenizer);
    const text = utf8(bytes, file);
    let tok: Tokenizer;
    try {
      tok = Tokenizer.fromString(text);
    } catch (e) {
      throw new CheckpointError(file, `not a Hugging Face tokenizer (${String((e as Error)?.message ?? e).split('\n')[0].slice(0, 200)})`);
    }
    let maxId = -1;
    for (const id of Object.values(tok.getVocab(true))) if (id > maxId) maxId = id;
    return new TextTokenizer(tok, tok.getVocabSize(true), maxId);
  }

  async encode(text: string): Promise<TokenSpan[]> {
    const enc = await this.tok.encode(text, null, { addSpecialTokens: false });
    const ids = enc.getIds();
    const offsets = enc.getOffsets();
    const toUtf16 = codePointToUtf16(text);
    return ids.map((id, i) => ({ id, start: toUtf16(offsets[i][0]), end: toUtf16(offsets[i][1]) }));
  }

  async decode(ids: number[]): Promise<string> {
    return this.tok.decode(ids, false);
  }

  /** The text of one token as it appears in the document (byte-level pieces decoded). */
  async tokenText(id: number): Promise<string> {
    return this.tok.decode([id], false);
  }

  idToToken(id: number): string | null {
    return this.tok.idToToken(id);
  }
}

/**
 * Maps code-point offsets to UTF-16 offsets for one text. Offsets arrive in increasing order
 * almost always, so a forward-moving cursor makes the whole conversion linear.
 */
export function codePointToUtf16(text: string): (cp: number) => number {
  let cp = 0;
  let u16 = 0;
  return (target: number): number => {
    if (target < cp) {
      cp = 0;
      u16 = 0;
    }
    while (cp < target && u16 < text.length) {
      const c = text.charCodeAt(u16);
      u16 += c >= 0xd800 && c <= 0xdbff && u16 + 1 < text.length ? 2 : 1;
      cp++;
    }
    return u16;
  };
}
