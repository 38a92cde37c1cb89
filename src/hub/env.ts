// Where huggingface_hub keeps things, read the way it reads them: the cache, the token, the hub's
// address. The same environment variables, so Python tools and Simba Lens share one cache.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface HubOptions {
  /** The hub cache folder; default hubCacheDir(env). */
  cacheDir?: string;
  /** The hub's address; default HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** An access token for gated or private repos; default readHubToken(env). */
  token?: string;
  /** An http(s) proxy URL (VS Code's http.proxy); default HTTPS_PROXY / HTTP_PROXY (with NO_PROXY); '' for none. */
  proxy?: string;
  /** The environment the defaults are read from; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

const set = (v: string | undefined): v is string => v !== undefined && v !== '';

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') || p.startsWith(`~${path.sep}`) ? path.join(os.homedir(), p.slice(1)) : p;
}

/** HF_HOME, else XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface. */
export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (set(env.HF_HOME)) return expandHome(env.HF_HOME);
  const xdg = set(env.XDG_CACHE_HOME) ? expandHome(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(xdg, 'huggingface');
}

/** HF_HUB_CACHE, else HF_HOME/hub, else XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (set(env.HF_HUB_CACHE)) return expandHome(env.HF_HUB_CACHE);
  return path.join(hfHome(env), 'hub');
}

/** The cache folder for these options. */
export const cacheDirOf = (o: HubOptions = {}): string => path.resolve(o.cacheDir ?? hubCacheDir(o.env ?? process.env));

/** The hub's address for these options, without a trailing slash. */
export function endpointOf(o: HubOptions = {}): string {
  const env = o.env ?? process.env;
  const e = o.endpoint ?? (set(env.HF_ENDPOINT) ? env.HF_ENDPOINT : DEFAULT_ENDPOINT);
  return e.replace(/\/+$/, '');
}

/** Where the token is looked for, in order, for messages. */
export function tokenSources(env: NodeJS.ProcessEnv = process.env): string {
  return `HF_TOKEN, the file named by HF_TOKEN_PATH, or ${path.join(hfHome(env), 'token')} (what \`hf auth login\` writes)`;
}

/** HF_TOKEN, else the file HF_TOKEN_PATH, else HF_HOME/token, else ~/.cache/huggingface/token; undefined if none. */
export function readHubToken(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (set(env.HF_TOKEN)) return env.HF_TOKEN.trim();
  const file = set(env.HF_TOKEN_PATH) ? expandHome(env.HF_TOKEN_PATH) : path.join(hfHome(env), 'token');
  try {
    const st = fs.statSync(file);
    if (!st.isFile() || st.size > 4096) return undefined; // a token is ~40 characters
    const t = fs.readFileSync(file, 'utf8').trim();
    return t === '' ? undefined : t;
  } catch {
    return undefined;
  }
}
