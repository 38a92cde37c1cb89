// Seeded random strings that stress UTF-16 offsets: lone high and low surrogates, surrogate pairs
// (astral characters), CRLF, combining marks, NUL-free ASCII and Latin/CJK text, spaces.
import { mulberry32 } from '../../src/engine/random';

export function hostileString(seed: number, maxUnits = 60): string {
  const r = mulberry32(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const parts = [
    () => String.fromCharCode(0xd800 + Math.floor(r() * 0x400)), // lone high surrogate
    () => String.fromCharCode(0xdc00 + Math.floor(r() * 0x400)), // lone low surrogate
    () => String.fromCodePoint(0x10000 + Math.floor(r() * 0xfffff)), // astral: a pair
    () => '😀',
    () => '\r\n',
    () => '\n',
    () => 'e\u0301', // combining acute
    () => '\u0308',
    () => ' ',
    () => '    ',
    () => 'def f(x):',
    () => String.fromCharCode(0x20 + Math.floor(r() * 95)),
    () => 'é',
    () => '漢字',
    () => '\t',
    () => '\ufeff',
    () => '\ufffd',
  ];
  let s = '';
  const n = Math.floor(r() * maxUnits);
  while (s.length < n) s += pick(parts)();
  return s;
}
