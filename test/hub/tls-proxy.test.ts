// An HTTPS hub (a self-signed certificate made here with openssl, trusted by the child process
// through NODE_EXTRA_CA_CERTS) reached through a real CONNECT proxy on loopback: the tunnel is
// used for the hub and for its storage, TLS runs end to end, the download completes.
import * as assert from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { HubServer, type HubRepo, repoFromFolder, runChild } from '../helpers/hubServer';

const FALCON = path.resolve(__dirname, '../fixtures/random-falcon');
const ROOT = path.resolve(__dirname, '../..');

describe('hub download over HTTPS through a CONNECT proxy', function () {
  this.timeout(60_000);
  let tmp: string;
  let hub: HubServer;
  let repo: HubRepo;
  let proxy: http.Server;
  let proxyUrl: string;
  const tunnels: string[] = [];
  const sockets = new Set<net.Socket>();

  before(async function () {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hub-core-tls-'));
    const key = path.join(tmp, 'key.pem');
    const cert = path.join(tmp, 'cert.pem');
    const r = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ].concat(['-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost']),
      { encoding: 'utf8' },
    );
    if (r.status !== 0) this.skip(); // no openssl here
    hub = await new HubServer({ tls: { key: fs.readFileSync(key), cert: fs.readFileSync(cert) } }).start();
    repo = hub.add('tiiuae/tiny-falcon', repoFromFolder(FALCON));
    proxy = http.createServer((_q, s) => {
      s.writeHead(405);
      s.end();
    });
    proxy.on('connect', (q: http.IncomingMessage, client: net.Socket, head: Buffer) => {
      tunnels.push(q.url ?? '');
      const [host, port] = (q.url ?? '').split(':');
      const up = net.connect(Number(port), host === 'localhost' ? '127.0.0.1' : host, () => {
        sockets.add(up).add(client);
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        up.write(head);
        up.pipe(client);
        client.pipe(up);
      });
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    });
    await new Promise<void>((ok) => proxy.listen(0, '127.0.0.1', ok));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await hub?.stop();
    if (proxy) {
      for (const s of sockets) s.destroy();
      proxy.closeAllConnections();
      await new Promise((ok) => proxy.close(ok));
    }
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('tunnels to the hub and to its storage, and the files arrive checked', async () => {
    const cache = path.join(tmp, 'hub');
    const script = `require('./src/hub').downloadModel({ repo: 'tiiuae/tiny-falcon' }, { endpoint: ${JSON.stringify(hub.endpoint)}, cacheDir: ${JSON.stringify(cache)}, proxy: ${JSON.stringify(proxyUrl)} }).then((m) => console.log(m.folder), (e) => { console.error(e.message); process.exit(1); });`;
    const out = await runChild(process.execPath, ['--require', 'tsx/cjs', '-e', script], {
      cwd: ROOT,
      env: { NODE_EXTRA_CA_CERTS: path.join(tmp, 'cert.pem') },
    });
    assert.strictEqual(out.code, 0, out.err);
    assert.strictEqual(out.out.trim(), path.join(cache, 'models--tiiuae--tiny-falcon', 'snapshots', repo.commit));
    const hubPort = new URL(hub.endpoint).port;
    const storagePort = new URL(hub.storageUrl).port;
    assert.ok(tunnels.includes(`127.0.0.1:${hubPort}`), tunnels.join(' '));
    assert.ok(tunnels.includes(`localhost:${storagePort}`), tunnels.join(' '));
    assert.ok(hub.log.some((l) => l.url.startsWith('/lfs/') && l.status === 200));
    assert.ok(
      fs
        .readFileSync(path.join(out.out.trim(), 'model.safetensors'))
        .equals(fs.readFileSync(path.join(FALCON, 'model.safetensors'))),
    );
  });
});
