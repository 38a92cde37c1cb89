// What goes wrong getting a model, by kind: the UI and the CLI choose what to offer from the code
// (download, a token, free space), and every message names the repo or file and what to do.

export type HubErrorCode =
  | 'not-cached' // a repo id that is not (or only partly) in the local cache
  | 'not-found' // the hub has no such repo, revision or file
  | 'gated' // 401/403: a gated or private repo, and no token or a token without access
  | 'unsupported' // not a family the engine loads, or no safetensors weights
  | 'integrity' // a file's bytes do not match the hub's sha256 / git oid
  | 'disk' // not enough free space, or the cache cannot be written
  | 'cancelled' // the caller's AbortSignal
  | 'network' // the connection failed, timed out or closed early (a retry resumes)
  | 'busy'; // the repo is locked by a download in progress

export class HubError extends Error {
  constructor(
    readonly code: HubErrorCode,
    message: string,
    readonly repo?: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'HubError';
  }
}

export function cancelled(repo: string): HubError {
  return new HubError(
    'cancelled',
    `download of ${repo} cancelled; what was fetched is kept and a new download resumes it`,
    repo,
  );
}
