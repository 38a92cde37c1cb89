// Getting models: the Hugging Face hub cache shared with Python's huggingface_hub (discovery,
// repo ids resolved offline, removal) and downloads into it. Plain Node (fs, http/https): no
// vscode, no onnxruntime; the command line and the extension host both use it. Family detection
// and bounded reads come from the engine's light face, src/engine/lite.ts.
export { type HubOptions, DEFAULT_ENDPOINT, hubCacheDir, readHubToken, tokenSources, endpointOf } from './env';
export { HubError, type HubErrorCode } from './errors';
export { type ModelRef, parseModelRef, isRepoId, isRevision, isCommit, refText, repoFolderName } from './names';
export {
  type CachedModel,
  type CacheListing,
  type ResolvedModel,
  type SkippedSnapshot,
  listCache,
  listCachedModels,
  removeCachedModel,
  resolveModel,
} from './cache';
export { type DownloadOptions, type DownloadProgress, downloadModel } from './download';
