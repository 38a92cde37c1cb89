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

/** A size in bytes, decimal units as the Hugging Face hub shows them: "950 B", "12.3 kB", "517 MB", "14.6 GB". */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n / 1000;
  let u = 0;
  while (v >= 999.95 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return `${v < 100 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** A transfer rate: "3.2 MB/s"; "—" before there is one. */
export function formatRate(bytesPerSecond: number): string {
  return Number.isFinite(bytesPerSecond) && bytesPerSecond > 0 ? `${formatBytes(bytesPerSecond)}/s` : '—';
}

/** Time left, rounded the way a person says it: "about 8 s left", "about 3 min left", "about 1 h 20 min left". */
export function formatTimeLeft(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return 'time left unknown';
  if (seconds < 60) return `about ${Math.max(1, Math.ceil(seconds))} s left`;
  const min = Math.round(seconds / 60);
  if (min < 60) return `about ${min} min left`;
  return `about ${Math.floor(min / 60)} h ${min % 60} min left`;
}

/** A parameter count: 129,135,360 → "129.1M", 7.27e9 → "7.3B", 4,600 → "4.6k". */
export function formatParameters(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '—';
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** A revision as people read it: a 40-digit commit hash shortened to 7 ("a1b2c3d"); a branch or tag as it is. */
export function shortRevision(revision: string): string {
  return /^[0-9a-f]{40}$/i.test(revision) ? revision.slice(0, 7) : revision;
}

/** A model from the hub by its name and revision: ("state-spaces/mamba-130m-hf", sha) → "mamba-130m-hf @ a1b2c3d". */
export function formatModelRef(repo: string, revision?: string): string {
  const name = repo.slice(repo.lastIndexOf('/') + 1);
  return revision ? `${name} @ ${shortRevision(revision)}` : name;
}

/** How a loaded model is named to the user: its hub name and revision when it came from the hub cache, else its name. */
export function modelDisplayName(m: { name: string; repo?: string; revision?: string }): string {
  return m.repo ? formatModelRef(m.repo, m.revision) : m.name;
}

/** The full name for facts and tooltips: "state-spaces/mamba-130m-hf @ a1b2c3d", else the model's name. */
export function modelLongName(m: { name: string; repo?: string; revision?: string }): string {
  return m.repo ? `${m.repo}${m.revision ? ` @ ${shortRevision(m.revision)}` : ''}` : m.name;
}

/** One line of a download's progress: "model.safetensors · 120 MB / 517 MB · 11.8 MB/s · about 34 s left". */
export function formatDownloadProgress(p: {
  file: string;
  bytes: number;
  total: number;
  bytesPerSecond: number;
  secondsLeft?: number;
}): string {
  const parts = [p.file, `${formatBytes(p.bytes)} / ${formatBytes(p.total)}`, formatRate(p.bytesPerSecond)];
  if (p.bytesPerSecond > 0) parts.push(formatTimeLeft(p.secondsLeft));
  return parts.join(' · ');
}
