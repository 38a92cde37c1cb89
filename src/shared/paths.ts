// Paths typed or synced from another machine, made into paths of the machine the engine runs on.
// The extension runs on the workspace side (package.json extensionKind), so behind VS Code Remote
// (SSH, WSL, containers) a model folder or an export path that the user copied from Windows may
// reach a Linux host, and a WSL path may reach Windows. Pure string work (no node:path), so the
// host is passed in: `hostOf(process)` in Node.

export interface PathHost {
  /** process.platform of the machine the path will be used on. */
  platform: string;
  /** WSL_DISTRO_NAME when that machine is a WSL distribution (Linux under Windows). */
  wslDistro?: string;
}

export type PathResult = { path: string } | { problem: string };

/** The host of this process, from process.platform and the WSL_DISTRO_NAME that WSL sets. */
export function hostOf(proc: { platform: string; env: Record<string, string | undefined> }): PathHost {
  const wslDistro = proc.env.WSL_DISTRO_NAME;
  return wslDistro ? { platform: proc.platform, wslDistro } : { platform: proc.platform };
}

const DRIVE = /^([a-zA-Z]):(?:[\\/]|$)/;
const WSL_UNC = /^[\\/]{2}(?:wsl\$|wsl\.localhost)[\\/]([^\\/]+)(?:[\\/](.*))?$/i;
const UNC = /^[\\/]{2}[^\\/?.][^\\/]*[\\/]/;
const MNT = /^\/mnt\/([a-zA-Z])(?:\/(.*))?$/;

/** Which machine's syntax `p` is written in. */
export function pathShape(p: string): 'windows-drive' | 'wsl-unc' | 'unc' | 'wsl-mount' | 'posix' | 'relative' {
  if (DRIVE.test(p)) return 'windows-drive';
  if (WSL_UNC.test(p)) return 'wsl-unc';
  if (UNC.test(p) || /^[\\/]{2}[?.][\\/]/.test(p)) return 'unc';
  if (MNT.test(p)) return 'wsl-mount';
  if (p.startsWith('/')) return 'posix';
  return 'relative';
}

/** Whether `p` is written the Windows way: a drive, a UNC name, or backslashes. */
export function isWindowsShaped(p: string): boolean {
  const s = pathShape(p);
  return s === 'windows-drive' || s === 'wsl-unc' || s === 'unc' || p.includes('\\');
}

const toPosix = (s: string) => s.replace(/[\\/]+/g, '/');
const toWindows = (s: string) => s.replace(/[\\/]+/g, '\\');

/**
 * `p` as a path on `host`, or why it cannot be one. Quotes from Windows' "Copy as path" and a
 * file:// URI are taken off first. Windows: `/mnt/c/x` (WSL's view of a drive) becomes `C:\x`;
 * `\\wsl$\…` stays a UNC path; slashes become backslashes. Linux in WSL: `C:\x` becomes
 * `/mnt/c/x`, `\\wsl$\<this distro>\x` becomes `/x`. Elsewhere a Windows path cannot name a file
 * here (a remote Linux or macOS host), and the problem says so. A relative `out\a.json` gets slashes;
 * other paths come back unchanged.
 */
export function hostPath(input: string, host: PathHost): PathResult {
  let p = input.trim();
  if (p.length >= 2 && p.startsWith('"') && p.endsWith('"')) p = p.slice(1, -1);
  if (/^file:\/\//i.test(p)) {
    try {
      p = decodeURIComponent(p.replace(/^file:\/\/(localhost)?/i, ''));
    } catch {
      return { problem: 'is a file:// URI that does not decode' };
    }
    if (/^\/[a-zA-Z]:/.test(p)) p = p.slice(1); // file:///C:/x
  }
  const shape = pathShape(p);
  if (host.platform === 'win32') {
    const mnt = MNT.exec(p);
    if (mnt) return { path: `${mnt[1].toUpperCase()}:\\${toWindows(mnt[2] ?? '')}` };
    if (shape === 'wsl-unc' || shape === 'unc') return { path: `\\\\${toWindows(p.slice(2))}` };
    if (shape === 'windows-drive') return { path: `${p[0].toUpperCase()}${toWindows(p.slice(1))}` };
    return { path: toWindows(p) };
  }
  const here = host.wslDistro ? `WSL distribution ${host.wslDistro}` : `this ${host.platform} machine`;
  if (shape === 'windows-drive') {
    if (!host.wslDistro)
      return {
        problem: `is a Windows path, and the extension runs on ${here} (a remote workspace?): give a path on that machine`,
      };
    const [, drive] = DRIVE.exec(p)!;
    const rest = toPosix(p.slice(2)).replace(/^\/|\/$/g, '');
    return { path: `/mnt/${drive.toLowerCase()}${rest ? `/${rest}` : ''}` };
  }
  if (shape === 'wsl-unc') {
    const [, distro, rest = ''] = WSL_UNC.exec(p)!;
    const posix = `/${toPosix(rest).replace(/^\/|\/$/g, '')}`;
    if (host.wslDistro && distro.toLowerCase() === host.wslDistro.toLowerCase()) return { path: posix };
    return {
      problem: `is a file of WSL distribution ${distro}, and the extension runs on ${here}: give the path there (${posix} inside ${distro})`,
    };
  }
  if (shape === 'unc')
    return {
      problem: `is a Windows network (UNC) path, and the extension runs on ${here}: mount the share there and give that path`,
    };
  // `out\a.json`: backslashes as separators (a file name with a backslash in it is rarer still).
  if (shape === 'relative' && p.includes('\\') && !p.includes('/')) return { path: toPosix(p) };
  return { path: p };
}
