// How a token's text is shown in hovers, the panel and the report: invisible characters made
// visible and runs of them counted ("␣×12", "⇥×2", "⏎×3"), so a whitespace token can be read
// without counting dots; a byte-level token that is not whole UTF-8 shown as its bytes
// ("‹e2 80›", from TokenSpan.bytes / TokenProb.bytes) or, when its bytes are not known, said to be one.

// ␣ (U+2423) rather than ␠ (U+2420) for a space: common monospace fonts (DejaVu Sans Mono,
// Consolas) have ␣ and draw ␠ as a missing-glyph box. A lone CR shows as a line break too.
const SYMBOL: Record<string, string> = { ' ': '␣', '\t': '⇥', '\n': '⏎', '\r': '⏎', '\u00a0': '⍽' };

/** What a token text that is or contains U+FFFD shows when its bytes are not known. */
export const PARTIAL_UTF8 = 'partial UTF-8 (byte token)';

/** Bytes (numbers, or hex as in TokenSpan.bytes) as "‹e2 80›". */
export function showBytes(bytes: ArrayLike<number> | string): string {
  const list =
    typeof bytes === 'string'
      ? (bytes.match(/[0-9a-f]{2}/gi) ?? []).map((x) => x.toLowerCase())
      : Array.from(bytes, (b) => (b & 255).toString(16).padStart(2, '0'));
  return `‹${list.join(' ')}›`;
}

/**
 * A token's text for display: each run of one whitespace character as its symbol, with the count
 * when it repeats (" " → "␣", "\n\n\n" → "⏎×3", "\r\n" → "⏎"); the empty string as "∅". A token
 * that is not whole UTF-8 (a byte-level BPE piece of a character split across tokens) shows its
 * `bytes` when given — whatever its text: U+FFFD alone, or in the document the whole character for
 * the first piece and nothing for the others — else, when its text contains U+FFFD, PARTIAL_UTF8.
 */
export function showToken(s: string, bytes?: ArrayLike<number> | string): string {
  if (bytes?.length) return showBytes(bytes);
  if (s.includes('\uFFFD')) return PARTIAL_UTF8;
  if (!s) return '∅';
  return s.replace(/\r\n/g, '\n').replace(/( +|\t+|\n+|\r+|\u00a0+)/g, (run) => {
    const sym = SYMBOL[run[0]];
    return run.length > 1 ? `${sym}×${run.length}` : sym;
  });
}

/** A token inside a Markdown code span: backticks would end the span. */
export function showTokenInCode(s: string, bytes?: ArrayLike<number> | string): string {
  return showToken(s, bytes).replace(/`/g, "'");
}
