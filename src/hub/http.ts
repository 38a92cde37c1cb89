// HTTP for the hub: node:http/https with redirects followed by hand (the token goes to the hub's
// own address only, never to the storage server a file redirects to), an optional http(s) proxy
// (absolute-URI requests for http, a CONNECT tunnel for https), a cancel signal and an idle
// timeout. A `fetch` over the same requests is handed to @huggingface/hub's listFiles.
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { type HubOptions, endpointOf } from './env';
import { HubError } from './errors';

/** No byte for this long: the connection is given up (a new download resumes). */
export const IDLE_TIMEOUT_MS = 60_000;

export interface Transport {
  endpoint: URL;
  token?: string;
  /** The proxy for a URL, or undefined to connect directly. */
  proxyFor(url: URL): URL | undefined;
  signal?: AbortSignal;
  repo: string;
  /** The headers of the last answer hubFetch returned (X-Error-Code, which @huggingface/hub's errors drop). */
  lastHeaders?: http.IncomingHttpHeaders;
}

export function transportOf(o: HubOptions, token: string | undefined, repo: string, signal?: AbortSignal): Transport {
  let endpoint: URL | undefined;
  try {
    endpoint = new URL(`${endpointOf(o)}/`);
  } catch {}
  if (endpoint?.protocol !== 'http:' && endpoint?.protocol !== 'https:')
    throw new HubError(
      'network',
      `the hub address ${JSON.stringify(endpointOf(o))} is not an http(s) URL (HF_ENDPOINT, or the endpoint setting)`,
      repo,
    );
  const env = o.env ?? process.env;
  const explicit = o.proxy !== undefined ? o.proxy : undefined;
  const parse = (v: string, from: string) => {
    try {
      const u = new URL(v.includes('://') ? v : `http://${v}`);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
      return u;
    } catch {
      throw new HubError('network', `the proxy ${JSON.stringify(v)} (${from}) is not an http(s) URL`, repo);
    }
  };
  const explicitUrl = explicit ? parse(explicit, 'the proxy setting') : undefined;
  return {
    endpoint,
    token,
    signal,
    repo,
    proxyFor(url) {
      if (explicit !== undefined) return explicitUrl;
      if (isLoopback(url.hostname) || noProxy(url, env.NO_PROXY ?? env.no_proxy)) return undefined;
      const v = url.protocol === 'https:' ? (env.HTTPS_PROXY ?? env.https_proxy) : (env.HTTP_PROXY ?? env.http_proxy);
      return v ? parse(v, url.protocol === 'https:' ? 'HTTPS_PROXY' : 'HTTP_PROXY') : undefined;
    },
  };
}

const isLoopback = (h: string) => h === 'localhost' || h === '[::1]' || h === '::1' || /^127\./.test(h);

/** NO_PROXY: `*`, or host names/suffixes separated by commas (`.example.com`, `example.com`, `host:port`). */
function noProxy(url: URL, list: string | undefined): boolean {
  if (!list) return false;
  return list
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((e) => {
      if (e === '*') return true;
      const [host, port] = e.replace(/^\*?\./, '.').split(':');
      if (port && port !== (url.port || (url.protocol === 'https:' ? '443' : '80'))) return false;
      return host.startsWith('.')
        ? url.hostname.endsWith(host)
        : url.hostname === host || url.hostname.endsWith(`.${host}`);
    });
}

/** An https agent whose connections are CONNECT tunnels through an http(s) proxy. */
class TunnelAgent extends https.Agent {
  constructor(private readonly proxy: URL) {
    super({ keepAlive: false });
  }

  override createConnection(o: http.ClientRequestArgs, cb?: (err: Error | null, stream: Duplex) => void): undefined {
    const options = o as tls.ConnectionOptions & { host?: string; port?: number };
    const done = cb ?? (() => {});
    const target = `${options.host}:${options.port ?? 443}`;
    const req = (this.proxy.protocol === 'https:' ? https : http).request({
      host: this.proxy.hostname,
      port: this.proxy.port || (this.proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: target,
      headers: { Host: target, ...proxyAuth(this.proxy) },
    });
    req.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        done(
          new Error(`the proxy ${this.proxy.host} refused the tunnel to ${target} (HTTP ${res.statusCode})`),
          socket,
        );
        return;
      }
      const host = options.servername ?? options.host;
      done(null, tls.connect({ ...options, socket, servername: host && !net.isIP(host) ? host : undefined }));
    });
    req.once('error', (e) => done(e, undefined as unknown as Duplex));
    req.end();
    return undefined;
  }
}

function proxyAuth(proxy: URL): Record<string, string> {
  if (!proxy.username) return {};
  const cred = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return { 'Proxy-Authorization': `Basic ${Buffer.from(cred).toString('base64')}` };
}

export interface Requested {
  res: http.IncomingMessage;
  /** The URL that answered (after redirects). */
  url: URL;
  /** The headers of the first answer from the hub itself (X-Repo-Commit, X-Linked-Etag…, as on a redirect). */
  hubHeaders: http.IncomingHttpHeaders;
}

/** One request, no redirects: the response once its headers are in. */
function requestOnce(
  t: Transport,
  url: URL,
  method: string,
  headers: Record<string, string>,
): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const proxy = t.proxyFor(url);
    const secure = url.protocol === 'https:';
    let opts: https.RequestOptions;
    if (proxy && !secure) {
      // http through a proxy: the absolute URL as the path, to the proxy.
      opts = {
        host: proxy.hostname,
        port: proxy.port || 80,
        path: url.href,
        headers: { ...headers, Host: url.host, ...proxyAuth(proxy) },
      };
    } else {
      opts = {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port || (secure ? 443 : 80),
        path: `${url.pathname}${url.search}`,
        headers: { ...headers, Host: url.host },
        agent: proxy ? new TunnelAgent(proxy) : undefined,
        servername: secure && !net.isIP(url.hostname) ? url.hostname : undefined,
      };
    }
    const mod = secure ? https : http;
    const req = mod.request({ ...opts, method, signal: t.signal });
    req.setTimeout(IDLE_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer for ${IDLE_TIMEOUT_MS / 1000} s from ${url.host}`)),
    );
    req.once('response', (res) => {
      res.setTimeout(IDLE_TIMEOUT_MS, () =>
        res.destroy(new Error(`no data for ${IDLE_TIMEOUT_MS / 1000} s from ${url.host}`)),
      );
      resolve(res);
    });
    req.once('error', reject);
    req.end();
  });
}

/**
 * GET or HEAD, following redirects (at most 5): the token only while the URL is on the hub's
 * own origin. The caller reads or discards the body.
 */
export async function request(
  t: Transport,
  url: URL,
  opts: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {},
): Promise<Requested> {
  let hubHeaders: http.IncomingHttpHeaders | undefined;
  for (let hop = 0; hop <= 5; hop++) {
    const onHub = url.origin === t.endpoint.origin;
    const headers: Record<string, string> = {
      'User-Agent': 'simba-lens; huggingface_hub-compatible',
      'Accept-Encoding': 'identity', // sizes and ranges are of the file's own bytes, as huggingface_hub asks
      ...opts.headers,
      ...(onHub && t.token ? { Authorization: `Bearer ${t.token}` } : {}),
    };
    let res: http.IncomingMessage;
    try {
      res = await requestOnce(t, url, opts.method ?? 'GET', headers);
    } catch (e) {
      throw networkError(t, url, e);
    }
    if (onHub && !hubHeaders) hubHeaders = res.headers;
    const status = res.statusCode ?? 0;
    if (status >= 300 && status < 400 && res.headers.location) {
      res.resume();
      url = new URL(res.headers.location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:')
        throw new HubError('network', `${t.repo}: the hub redirected to ${url.protocol} URL; refusing it`, t.repo);
      continue;
    }
    return { res, url, hubHeaders: hubHeaders ?? res.headers };
  }
  throw new HubError('network', `${t.repo}: more than 5 redirects from ${t.endpoint.host}`, t.repo);
}

/** A failed connection as a HubError: cancelled when the signal fired, else network naming the host. */
export function networkError(t: Transport, url: URL, e: unknown): HubError {
  if (e instanceof HubError) return e;
  if (t.signal?.aborted)
    return new HubError(
      'cancelled',
      `download of ${t.repo} cancelled; what was fetched is kept and a new download resumes it`,
      t.repo,
    );
  const err = e as NodeJS.ErrnoException;
  return new HubError(
    'network',
    `${t.repo}: cannot reach ${url.host} (${err.code ?? err.message}); check the connection${
      t.proxyFor(url) ? ' and the proxy' : ''
    } (HF_ENDPOINT is ${t.endpoint.origin}); a new download resumes where this one stopped`,
    t.repo,
  );
}

/** The whole body, at most `max` bytes. */
export async function readBody(t: Transport, r: Requested, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  try {
    for await (const chunk of r.res) {
      n += (chunk as Buffer).length;
      if (n > max) {
        r.res.destroy();
        throw new HubError(
          'unsupported',
          `${what} is larger than ${max.toLocaleString('en')} bytes; refusing it`,
          t.repo,
        );
      }
      parts.push(chunk as Buffer);
    }
  } catch (e) {
    throw networkError(t, r.url, e);
  }
  return Buffer.concat(parts);
}

/**
 * `fetch` for @huggingface/hub (listFiles) over the same requests: only the hub's own origin is
 * asked (a Link header pointing elsewhere is refused), the token is added here, bodies are bounded.
 */
export function hubFetch(t: Transport, maxBytes = 16 * 1024 * 1024): typeof fetch {
  return (async (input: string | URL | Request) => {
    const url = new URL(typeof input === 'string' ? input : input instanceof URL ? input.href : input.url);
    if (url.origin !== t.endpoint.origin)
      throw new HubError(
        'network',
        `${t.repo}: the hub's listing pointed to ${url.origin}; only ${t.endpoint.origin} is asked`,
        t.repo,
      );
    const r = await request(t, url, { headers: { Accept: 'application/json' } });
    const body = await readBody(t, r, maxBytes, `the file listing of ${t.repo}`);
    t.lastHeaders = r.res.headers;
    const headers = new Headers();
    for (const [k, v] of Object.entries(r.res.headers))
      if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
    return new Response(body, { status: r.res.statusCode ?? 500, headers });
  }) as typeof fetch;
}
