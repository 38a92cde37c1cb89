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
  // The child's log has come back without some sessions' blocks (seen under load and, with the
  // device-resident run's many sessions, on an idle CI machine too). Sessions are created one at a
  // time in a fixed order, so their ids are the same in every run: run the child again, up to five
  // times, and take each session's block from whichever run logged it. A session without a block
  // in any run still fails the test, and so does any op off the GPU in any block.
  const r = placementsOnce(dir, provider, variant);
  const placements = new Map(r.placements);
  for (let i = 0; i < 5 && !r.graphs.every((g) => placements.has(g)); i++) {
    const again = placementsOnce(dir, provider, variant);
    if (again.graphs.join() !== r.graphs.join()) continue; // another order: its ids name other sessions
    for (const [id, p] of again.placements) if (!placements.has(id)) placements.set(id, p);
  }
  return { graphs: r.graphs, placements, stderr: r.stderr };
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
