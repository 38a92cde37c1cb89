// Hugging Face tokenizer.json through the `tokenizers` Rust binding, with offsets converted to
// UTF-16 code units (the binding counts Unicode code points; VS Code counts UTF-16 units).
import * as fs from 'fs';
import { Tokenizer } from 'tokenizers';
import { CheckpointError } from './errors';
import { TokenSpan } from '../shared/analysis';

export class TextTokenizer {
  private constructor(
    private readonly tok: Tokenizer,
    readonly vocabSize: number,
  ) {}

  static load(file: string): TextTokenizer {
    if (!fs.existsSync(file)) throw new CheckpointError(file, 'missing: the checkpoint folder needs a tokenizer.json');
    let tok: Tokenizer;
    try {
      tok = Tokenizer.fromFile(file);
    } catch (e) {
      throw new CheckpointError(file, `not a Hugging Face tokenizer (${(e as Error).message.split('\n')[0]})`);
    }
    return new TextTokenizer(tok, tok.getVocabSize(true));
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
