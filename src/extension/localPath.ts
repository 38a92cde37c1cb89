// Paths from settings and command arguments as paths of the machine the extension host runs on:
// behind VS Code Remote that is the workspace side (package.json extensionKind), and a path
// synced or pasted from Windows (C:\…, \\wsl$\…) or from WSL (/mnt/c/…) is translated or refused
// with the reason (src/shared/paths.ts).
import { type PathResult, hostOf, hostPath } from '../shared/paths';

export function localPath(p: string): PathResult {
  return hostPath(p, hostOf(process));
}
