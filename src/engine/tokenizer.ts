// Hugging Face tokenizer.json through the `tokenizers` Rust binding, with offsets converted to
// UTF-16 code units (the binding counts Unicode code points; VS Code counts UTF-16 units).
import * as path from 'node:path';
import { Tokenizer } from 'tokenizers';
import { CheckpointError } from './errors';
import { MAX_BYTES, hasEntry, readInside } from './files';
import { utf8 } from './json';
import type { TokenSpan } from '../shared/analysis';

export class TextTokenizer {
  /** Per token id: its bytes as hex when they are not whole UTF-8, else null (filled on first use). */
  private readonly partial = new Map<number, string | null>();

  private constructor(
    private readonly tok: Tokenizer,
    readonly vocabSize: number,
    /** The largest id of any token (vocabulary or added): must be below the model's vocab_size. */
    readonly maxId: number,
    /** The vocabulary is GPT-2 byte-level (a ByteLevel decoder): each character of a token stands for one byte. */
    readonly byteLevel: boolean,
  ) {}

  /**
   * Read tokenizer.json (inside its checkpoint folder, bounded by MAX_BYTES.tokenizer, never a
   * pipe or device) and give its text to the binding: the binding never opens the file itself.
   */
  static load(file: string): TextTokenizer {
    const dir = path.dirname(file);
    if (!hasEntry(dir, path.basename(file)))
      throw new CheckpointError(file, 'missing: the checkpoint folder needs a tokenizer.json');
    const { bytes } = readInside(dir, path.basename(file), MAX_BYTES.tokenizer);
    const text = utf8(bytes, file);
    let tok: Tokenizer;
    try {
      tok = Tokenizer.fromString(text);
    } catch (e) {
      throw new CheckpointError(
        file,
        `not a Hugging Face tokenizer (${String((e as Error)?.message ?? e)
          .split('\n')[0]
          .slice(0, 200)})`,
      );
    }
    let maxId = -1;
    for (const id of Object.values(tok.getVocab(true))) if (id > maxId) maxId = id;
    return new TextTokenizer(tok, tok.getVocabSize(true), maxId, hasByteLevelDecoder(text));
  }

  /**
   * The token's bytes as lowercase hex ("e4b8") when they are not whole UTF-8 — a byte-level
   * piece of a character split across tokens, whose text decodes to U+FFFD — else undefined.
   * Only a byte-level vocabulary says what the bytes are.
   */
  partialBytes(id: number): string | undefined {
    if (!this.byteLevel) return undefined;
    let hex = this.partial.get(id);
    if (hex === undefined) {
      const piece = this.tok.idToToken(id);
      const bytes = piece == null ? undefined : byteLevelBytes(piece);
      hex = bytes && !isWholeUtf8(bytes) ? Buffer.from(bytes).toString('hex') : null;
      this.partial.set(id, hex);
    }
    return hex ?? undefined;
  }

  /**
   * Tokens of `text` with UTF-16 offsets that tile it exactly: the first starts at 0, each starts
   * where the one before ends, the last ends at text.length (byte-level tokens that split one
   * character share it out: the first token that reaches past a character's end takes it).
   */
  async encode(text: string): Promise<TokenSpan[]> {
    const enc = await this.tok.encode(text, null, { addSpecialTokens: false });
    const spans = tileOffsets(text, enc.getIds(), enc.getOffsets());
    if (this.byteLevel)
      for (const s of spans) {
        const hex = this.partialBytes(s.id);
        if (hex) s.bytes = hex;
      }
    return spans;
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

/** Whether tokenizer.json's decoder is ByteLevel (alone or in a Sequence); false when it cannot be read. */
export function hasByteLevelDecoder(tokenizerJson: string): boolean {
  try {
    const d = (JSON.parse(tokenizerJson) as { decoder?: { type?: unknown; decoders?: Array<{ type?: unknown }> } })
      ?.decoder;
    return d?.type === 'ByteLevel' || (d?.type === 'Sequence' && !!d.decoders?.some((x) => x?.type === 'ByteLevel'));
  } catch {
    return false;
  }
}

/**
 * GPT-2's bytes_to_unicode, inverted: a byte-level vocabulary writes the printable bytes
 * ("!".."~", "¡".."¬", "®".."ÿ") as themselves and the other 68 as U+0100 onwards, in byte order.
 */
const BYTE_OF_CHAR: ReadonlyMap<number, number> = (() => {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const m = new Map<number, number>();
  let next = 0x100;
  for (let b = 0; b < 256; b++) m.set(printable(b) ? b : next++, b);
  return m;
})();

/** The bytes a byte-level vocabulary piece ("Ġhello", "ä¸") stands for; undefined if a character is not one of the 256. */
export function byteLevelBytes(piece: string): Uint8Array | undefined {
  const out = new Uint8Array(piece.length);
  for (let i = 0; i < piece.length; i++) {
    const b = BYTE_OF_CHAR.get(piece.charCodeAt(i));
    if (b === undefined) return undefined;
    out[i] = b;
  }
  return out;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Whether `bytes` is a whole, valid UTF-8 string (no sequence cut at either end). */
export function isWholeUtf8(bytes: Uint8Array): boolean {
  try {
    STRICT_UTF8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Whether UTF-16 unit `i` of `text` starts a surrogate pair (a high surrogate followed by a low one). */
export function isPairStart(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= text.length) return false;
  const d = text.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff;
}

/** `offset` clamped into [0, text.length] and moved off the middle of a surrogate pair to the pair's start. */
export function clampOffset(text: string, offset: number): number {
  const o = Math.max(0, Math.min(text.length, Math.floor(offset)));
  return o > 0 && o < text.length && isPairStart(text, o - 1) ? o - 1 : o;
}

/**
 * Maps code-point offsets (as the tokenizers binding counts them: the string reaches Rust as
 * UTF-8, a lone surrogate becoming one U+FFFD) to UTF-16 offsets for one text. Only a high
 * surrogate followed by a low one is one code point of two units; a lone surrogate is one of one.
 * Offsets arrive in increasing order almost always, so a forward-moving cursor makes the whole
 * conversion linear.
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
      u16 += isPairStart(text, u16) ? 2 : 1;
      cp++;
    }
    return u16;
  };
}

/**
 * Token spans that tile `text` exactly from the tokenizer's code-point offsets: ends are mapped
 * to UTF-16, clamped to the text and made non-decreasing; each start is the previous end; the
 * last end is text.length. Gaps (offsets trimmed of spaces) go to the following token, overlaps
 * (byte-level pieces of one character) to the first token reaching past the character.
 */
export function tileOffsets(text: string, ids: ArrayLike<number>, offsets: ArrayLike<ArrayLike<number>>): TokenSpan[] {
  const toUtf16 = codePointToUtf16(text);
  const out: TokenSpan[] = new Array(ids.length);
  let prev = 0;
  for (let i = 0; i < ids.length; i++) {
    const raw = Math.min(text.length, toUtf16(offsets[i][1]));
    const end = i === ids.length - 1 ? text.length : Math.max(prev, raw);
    out[i] = { id: ids[i], start: prev, end };
    prev = end;
  }
  return out;
}
