// Downloading a model into the hub cache (see index.ts for the contract).
import type { CachedModel } from './cache';
import type { HubOptions } from './env';
import { HubError } from './errors';
import type { ModelRef } from './names';

export interface DownloadProgress {
  /** The file being fetched (its name in the repo). */
  file: string;
  /** Bytes of it in the cache so far, and its size. */
  fileBytes: number;
  fileTotal: number;
  /** Bytes of every file the engine needs in the cache so far, and their total. */
  bytes: number;
  total: number;
  /** Over the last few seconds; 0 before the first bytes. */
  bytesPerSecond: number;
  /** At that rate; undefined while unknown. */
  secondsLeft: number | undefined;
}

export interface DownloadOptions extends HubOptions {
  onProgress?(p: DownloadProgress): void;
  /** A line for the user that is not progress: waiting for another download of the repo, resuming a file. */
  onStatus?(message: string): void;
  signal?: AbortSignal;
}

export async function downloadModel(ref: ModelRef, _opts: DownloadOptions = {}): Promise<CachedModel> {
  throw new HubError('network', `downloading ${ref.repo}: not built yet`, ref.repo);
}
