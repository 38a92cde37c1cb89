// Number formats shared by the hover, the panel's read-outs, the run facts and the report: one
// function per kind of number, so the same quantity reads the same everywhere.

const MINUS = '\u2212';

/** x with a real minus sign (U+2212) for negative values. */
function signed(x: number, digits: number): string {
  const s = Math.abs(x).toFixed(digits);
  return x < 0 && Number(s) !== 0 ? MINUS + s : s;
}

/**
 * An influence score (or any positive quantity spanning many decades) on the log₁₀ scale:
 * 8.08e-6 → "log₁₀ −5.1", 1 → "log₁₀ 0.0". Zero is "log₁₀ −∞"; a negative value keeps its sign
 * outside the logarithm ("−log₁₀ −3.0"); NaN or ±∞ is "—".
 */
export function formatLog10(v: number, digits = 1): string {
  if (Number.isNaN(v) || !Number.isFinite(v)) return '—';
  if (v === 0) return `log₁₀ ${MINUS}∞`;
  const s = `log₁₀ ${signed(Math.log10(Math.abs(v)), digits)}`;
  return v < 0 ? MINUS + s : s;
}

/** Only the exponent part of formatLog10 ("−5.1"), for lists that say "log₁₀" once. */
export function formatLog10Value(v: number, digits = 1): string {
  if (Number.isNaN(v) || !Number.isFinite(v)) return '—';
  if (v === 0) return `${MINUS}∞`;
  const s = signed(Math.log10(Math.abs(v)), digits);
  return v < 0 ? `${MINUS}(${s})` : s;
}

/** A duration: "850 ms", "2.35 s", "3 min 12 s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A large count: "950", "12.35 M", "3.10 G". */
export function formatCount(x: number): string {
  if (!Number.isFinite(x)) return '—';
  const a = Math.abs(x);
  return a >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : a >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : String(Math.round(x));
}

/** A probability or share as a percentage: 0.1234 → "12.3%". */
export function formatPercent(p: number, digits = 1): string {
  return Number.isFinite(p) ? `${(p * 100).toFixed(digits)}%` : '—';
}
