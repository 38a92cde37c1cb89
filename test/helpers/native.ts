// The native influence kernel (dist/influence.node) is optional where there is no C compiler: a
// test that needs it skips there, saying why, while CI (CI=true) builds it and fails without it.
import { loadNativeKernel } from '../../src/engine/native';

export function requireNativeKernel(ctx: Mocha.Context): void {
  const kernel = loadNativeKernel();
  if (typeof kernel !== 'string') return;
  if (process.env.CI === 'true') throw new Error(`CI requires the native influence kernel: ${kernel}`);
  if (ctx.test) ctx.test.title += ` (skipped: ${kernel})`;
  ctx.skip();
}
