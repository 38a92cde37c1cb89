// What a native binary was built for, read from its header: ELF e_machine, Mach-O cputype
// (a fat file lists several), PE machine. Enough to tell a package's binaries apart.

export type Format = 'elf' | 'macho' | 'pe';
export interface Machine {
  format: Format;
  arch: string[];
}

const ELF = new Map([
  [0x3e, 'x64'],
  [0xb7, 'arm64'],
]);
const MACHO = new Map([
  [0x01000007, 'x64'],
  [0x0100000c, 'arm64'],
]);
const PE = new Map([
  [0x8664, 'x64'],
  [0xaa64, 'arm64'],
]);

export function machineOf(b: Buffer): Machine | undefined {
  if (b.length < 64) return undefined;
  if (b.readUInt32BE(0) === 0x7f454c46) return { format: 'elf', arch: [ELF.get(b.readUInt16LE(18)) ?? 'other'] };
  if (b.readUInt32LE(0) === 0xfeedfacf) return { format: 'macho', arch: [MACHO.get(b.readUInt32LE(4)) ?? 'other'] };
  if (b.readUInt32BE(0) === 0xcafebabe) {
    const n = b.readUInt32BE(4);
    const arch = Array.from({ length: n }, (_, i) => MACHO.get(b.readUInt32BE(8 + 20 * i)) ?? 'other');
    return { format: 'macho', arch };
  }
  if (b.toString('latin1', 0, 2) === 'MZ') {
    const pe = b.readUInt32LE(0x3c);
    if (pe + 6 <= b.length && b.readUInt32BE(pe) === 0x50450000)
      return { format: 'pe', arch: [PE.get(b.readUInt16LE(pe + 4)) ?? 'other'] };
  }
  return undefined;
}

/** The newest GLIBC_x.y symbol version an ELF file names (its version needs sit in .dynstr). */
export function newestGlibc(b: Buffer): [number, number] | undefined {
  let best: [number, number] | undefined;
  for (const m of b.toString('latin1').matchAll(/GLIBC_(\d+)\.(\d+)/g)) {
    const v: [number, number] = [Number(m[1]), Number(m[2])];
    if (!best || v[0] > best[0] || (v[0] === best[0] && v[1] > best[1])) best = v;
  }
  return best;
}
