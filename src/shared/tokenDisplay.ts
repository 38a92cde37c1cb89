// How a token's text is shown in hovers, the panel and the report: invisible characters made
// visible and runs of them counted ("␣×12", "⇥×2", "⏎×3"), so a whitespace token can be read
// without counting dots; a byte-level token that is not valid UTF-8 shown as its bytes
// ("<0xE2 0x80>") or, when its bytes are not known, said to be one.

// ␣ (U+2423) rather than ␠ (U+2420) for a space: common monospace fonts (DejaVu Sans Mono,
// Consolas) have ␣ and draw ␠ as a missing-glyph box. A lone CR shows as a line break too.
const SYMBOL: Record<string, string> = { ' ': '␣', '\t': '⇥', '\n': '⏎', '\r': '⏎', '\u00a0': '⍽' };

/** What a token text that is or contains U+FFFD shows when its bytes are not known. */
export const PARTIAL_UTF8 = 'partial UTF-8 (byte token)';

/** Bytes as "<0xE2 0x80>". */
export function showBytes(bytes: ArrayLike<number>): string {
  return `<${Array.from(bytes, (b) => `0x${(b & 255).toString(16).toUpperCase().padStart(2, '0')}`).join(' ')}>`;
}

/**
 * A token's text for display: each run of one whitespace character as its symbol, with the count
 * when it repeats (" " → "␣", "\n\n\n" → "⏎×3", "\r\n" → "⏎"); the empty string as "∅". A text
 * containing U+FFFD (a partial UTF-8 sequence of a byte-level BPE token) shows its `bytes` when
 * given, else PARTIAL_UTF8.
 */
export function showToken(s: string, bytes?: ArrayLike<number>): string {
  if (s.includes('\uFFFD')) return bytes?.length ? showBytes(bytes) : PARTIAL_UTF8;
  if (!s) return '∅';
  return s.replace(/\r\n/g, '\n').replace(/( +|\t+|\n+|\r+|\u00a0+)/g, (run) => {
    const sym = SYMBOL[run[0]];
    return run.length > 1 ? `${sym}×${run.length}` : sym;
  });
}

/** A token inside a Markdown code span: backticks would end the span. */
export function showTokenInCode(s: string, bytes?: ArrayLike<number>): string {
  return showToken(s, bytes).replace(/`/g, "'");
}
