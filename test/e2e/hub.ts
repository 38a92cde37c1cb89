// The e2e suite's Hugging Face hub on loopback (test/helpers/hubServer.ts, real HTTP): a repo
// that each code-server's cache (HF_HUB_CACHE) already holds, a random checkpoint of about 14 MB
// to download (sent slowly when a test wants to see and cancel its progress), and a gated repo.
// driver.mjs bundles this file and points code-server's extension host at the server (HF_ENDPOINT).
import * as path from 'node:path';
import { writeCheckpoint } from '../helpers/checkpoint';
import { HubServer, repoFromFolder, writePythonCache } from '../helpers/hubServer';

export interface E2eRepos {
  /** In the cache before code-server starts (a Mamba-2 checkpoint). */
  cached: { repo: string; commit: string };
  /** Only on the server: a random Mamba-1 checkpoint in two shards. */
  download: { repo: string; commit: string; bytes: number };
  /** Served only with its token. */
  gated: { repo: string; commit: string; token: string };
  /** Not on the server nor in any cache. */
  absent: string;
}

/** `root`: the repository (the bundle runs from a temporary folder); `work`: where the download checkpoint is written. */
export async function startE2eHub(
  root: string,
  work: string,
): Promise<{
  server: HubServer;
  repos: E2eRepos;
  /** Write the cached repo into a cache folder the way huggingface_hub does. */
  fillCache(dir: string): void;
}> {
  const server = await new HubServer().start();
  const cached = server.add('e2e-org/mamba2-tiny', repoFromFolder(path.join(root, 'test/fixtures/random-mamba2')));
  const dlDir = writeCheckpoint({
    shape: { dModel: 256, layers: 8, dState: 16, expand: 2, dtRank: 16, convKernel: 4, vocab: 260, tied: true },
    shards: 2,
    seed: 7,
    dir: path.join(work, 'hub-download-checkpoint'),
  });
  const download = server.add('e2e-org/random-mamba-14m', repoFromFolder(dlDir));
  const gated = server.add('e2e-org/gated-falcon', {
    ...repoFromFolder(path.join(root, 'test/fixtures/random-falcon')),
    gatedToken: 'hf_e2e_gated_token',
  });
  return {
    server,
    repos: {
      cached: { repo: 'e2e-org/mamba2-tiny', commit: cached.commit },
      download: {
        repo: 'e2e-org/random-mamba-14m',
        commit: download.commit,
        bytes: download.files.reduce((a, f) => a + f.bytes.length, 0),
      },
      gated: { repo: 'e2e-org/gated-falcon', commit: gated.commit, token: 'hf_e2e_gated_token' },
      absent: 'e2e-org/not-in-the-cache',
    },
    fillCache: (dir) => void writePythonCache(dir, 'e2e-org/mamba2-tiny', cached),
  };
}
