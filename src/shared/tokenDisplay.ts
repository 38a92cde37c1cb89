// How a token's text is shown in hovers, the panel and the report: invisible characters made
// visible, so a space or a newline token can be read.

/** Newline, tab and space drawn as ⏎ ⇥ ·; the empty string as ∅. */
export function showToken(s: string): string {
  return s.replace(/\n/g, '⏎').replace(/\t/g, '⇥').replace(/ /g, '·') || '∅';
}

/** A token inside a Markdown code span: backticks would end the span. */
export function showTokenInCode(s: string): string {
  return showToken(s).replace(/`/g, "'");
}
