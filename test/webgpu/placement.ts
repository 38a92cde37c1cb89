// Parse ORT's verbose "Node placements" log (session_state.cc, VerifyEachNodeIsAssignedToAnEp):
//   [V:onnxruntime:<logId>, session_state.cc:… VerifyEachNodeIsAssignedToAnEp] Node placements
//   [V:onnxruntime:<logId>, …]  All nodes placed on [WebGpuExecutionProvider]. Number of nodes: 40
// or, when the graph is split,
//   […]  Node(s) placed on [CPUExecutionProvider]. Number of nodes: 1
//   […]   Scan (Scan_34)
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export interface Placement {
  /** provider -> "OpType (node name)" entries (empty lists when ORT only printed a count). */
  byProvider: Map<string, string[]>;
  counts: Map<string, number>;
}

export function parsePlacements(stderr: string): Map<string, Placement> {
  const out = new Map<string, Placement>();
  let current: { p: Placement; provider?: string } | undefined;
  for (const line of stderr.split('\n')) {
    const m = /\[V:onnxruntime:([^,\]]*), session_state\.cc:\d+ VerifyEachNodeIsAssignedToAnEp\] (.*)$/.exec(line);
    if (!m) continue;
    const [, id, text] = m;
    if (text.trim() === 'Node placements') {
      current = { p: { byProvider: new Map(), counts: new Map() } };
      out.set(id, current.p);
      continue;
    }
    if (!current) continue;
    const head = /(?:All nodes|Node\(s\)) placed on \[(\w+)\]\. Number of nodes: (\d+)/.exec(text);
    if (head) {
      current.provider = head[1];
      current.p.counts.set(head[1], Number(head[2]));
      if (!current.p.byProvider.has(head[1])) current.p.byProvider.set(head[1], []);
    } else if (current.provider && /^\s{2,}\S/.test(text)) {
      current.p.byProvider.get(current.provider)!.push(text.trim());
    }
  }
  return out;
}

/** Run the placement child and return its placements per graph (and the raw stderr). */
export function placementsOf(
  dir: string,
  provider: string,
  variant?: string,
): { graphs: string[]; placements: Map<string, Placement>; stderr: string } {
  // Under heavy load the child's log has come back without some sessions' blocks (seen twice, on a
  // machine running other suites): run it again, up to three times, before the test judges it.
  let r = placementsOnce(dir, provider, variant);
  for (let i = 0; i < 2 && !r.graphs.every((g) => r.placements.has(g)); i++) r = placementsOnce(dir, provider, variant);
  return r;
}

function placementsOnce(
  dir: string,
  provider: string,
  variant?: string,
): { graphs: string[]; placements: Map<string, Placement>; stderr: string } {
  const root = path.resolve(__dirname, '..', '..');
  const r = spawnSync(
    process.execPath,
    ['--require', 'tsx/cjs', path.join(__dirname, 'placement-child.ts'), dir, provider, ...(variant ? [variant] : [])],
    {
      cwd: root,
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
      env: process.env,
    },
  );
  const lastLine = r.stdout.trim().split('\n').pop() ?? '';
  let parsed: { graphs?: string[]; error?: string } = {};
  try {
    parsed = JSON.parse(lastLine);
  } catch {
    throw new Error(`placement child failed (status ${r.status}): ${r.stderr.slice(-2000)}`);
  }
  if (parsed.error || !parsed.graphs) throw new Error(`placement child: ${parsed.error}`);
  return { graphs: parsed.graphs, placements: parsePlacements(r.stderr), stderr: r.stderr };
}
