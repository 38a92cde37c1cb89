// The keep-ratio slider's arithmetic, DOM-free (unit-tested): where a click on the track moves it.

/** A click on the slider's track moves the value this much towards the click. */
export const TRACK_STEP = 0.05;
/** The value a track click at fraction `at` (0..1 of the track) moves `value` to. */
export function trackClickValue(value: number, at: number, min: number, max: number, step = TRACK_STEP): number {
  const target = min + Math.max(0, Math.min(1, at)) * (max - min);
  const v = target > value ? Math.min(target, value + step) : Math.max(target, value - step);
  return Math.round(v * 100) / 100;
}
