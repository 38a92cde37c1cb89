// EngineServer in-process, over a pair of in-memory streams, with the real engine and the bundled
// model: cancelling one request ($/cancelRequest) stops only that request.
import * as assert from 'node:assert';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  CancellationTokenSource,
  createMessageConnection,
  type MessageConnection,
  type ResponseError,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { EngineServer, MAX_RESULT_CHARS } from '../../src/engine-process/server';
import {
  AnalyzeProgress,
  AnalyzeRequest,
  ErrorCodes,
  GenerateRequest,
  InfoRequest,
  LoadRequest,
  ShutdownRequest,
} from '../../src/engine-process/protocol';

const bundled = path.join(__dirname, '../../media/model');

function pair(): { client: MessageConnection; server: MessageConnection } {
  const up = new PassThrough(),
    down = new PassThrough();
  const client = createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
  const server = createMessageConnection(new StreamMessageReader(up), new StreamMessageWriter(down));
  return { client, server };
}

describe('engine process: EngineServer in-process', function () {
  this.timeout(120000);
  let client: MessageConnection;
  let exited = 0;

  before(async () => {
    const c = pair();
    client = c.client;
    new EngineServer(c.server, () => {
      exited++;
    });
    c.server.listen();
    client.listen();
  });
  after(() => client?.dispose());

  it('refuses work before a load, and a load without a model folder', async () => {
    await assert.rejects(
      client.sendRequest(GenerateRequest, { text: 'x', options: {} }),
      (e: ResponseError<unknown>) => e.code === ErrorCodes.notLoaded,
    );
    await assert.rejects(client.sendRequest(LoadRequest, { modelDir: '', device: 'cpu' }), /model folder/);
    assert.strictEqual((await client.sendRequest(InfoRequest)).loaded, false);
  });

  it('cancelling an analysis does not abort a generation in flight', async () => {
    await client.sendRequest(LoadRequest, { modelDir: bundled, device: 'cpu' });
    const analysis = new CancellationTokenSource();
    const a = client.sendRequest(AnalyzeRequest, { text: 'word '.repeat(60000), options: {} }, analysis.token);
    const g = client.sendRequest(GenerateRequest, {
      text: 'def f(x):\n    return ',
      options: { maxTokens: 4, stop: 'line' },
    });
    await new Promise((r) => setTimeout(r, 200));
    assert.deepStrictEqual(
      (await client.sendRequest(InfoRequest)).running.sort(),
      [AnalyzeRequest.method, GenerateRequest.method].sort(),
    );
    analysis.cancel();
    await assert.rejects(a, (e: ResponseError<unknown>) => e.code === ErrorCodes.cancelled);
    const gen = await g;
    assert.ok(gen.ids.length > 0, 'the generation still returns');
    assert.strictEqual(typeof gen.reused, 'number');
  });

  it('answers a request cancelled while it waits for its turn at once', async () => {
    const g = client.sendRequest(GenerateRequest, { text: 'def f(x):\n', options: { maxTokens: 64, stop: 'none' } });
    const analysis = new CancellationTokenSource();
    const a = client.sendRequest(AnalyzeRequest, { text: 'x = 1\n', options: {} }, analysis.token);
    let generated = false;
    void g.then(() => {
      generated = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    analysis.cancel();
    await assert.rejects(a, (e: ResponseError<unknown>) => e.code === ErrorCodes.cancelled);
    assert.strictEqual(generated, false, 'answered before the generation in front of it finished');
    assert.strictEqual((await g).ids.length, 64);
  });

  it('shuts down on request', async () => {
    await client.sendRequest(ShutdownRequest);
    await new Promise((r) => setTimeout(r, 50));
    assert.strictEqual(exited, 1);
  });
});

describe('engine process: result size and a responsive loop during a load', function () {
  this.timeout(120000);

  function server(maxResultChars?: number): MessageConnection {
    const c = pair();
    new EngineServer(c.server, () => undefined, { maxResultChars });
    c.server.listen();
    c.client.listen();
    return c.client;
  }

  it('answers info while a load runs, naming the folder being loaded', async () => {
    const client = server();
    try {
      let loaded = false;
      const load = client.sendRequest(LoadRequest, { modelDir: bundled, device: 'cpu' }).then(() => {
        loaded = true;
      });
      await new Promise((r) => setTimeout(r, 20));
      const info = await client.sendRequest(InfoRequest);
      assert.strictEqual(loaded, false, 'info answered before the load finished');
      assert.strictEqual(info.loading, bundled);
      assert.strictEqual(info.loaded, false);
      await load;
      assert.strictEqual((await client.sendRequest(InfoRequest)).loading, undefined);
    } finally {
      client.dispose();
    }
  });

  it('refuses before running an analysis whose result would be too large to send, and Analyze to Cursor fits', async () => {
    // 8 layers: about 224 characters per token are budgeted; 60k characters of "word " is 12k tokens.
    const client = server(1e6);
    try {
      await client.sendRequest(LoadRequest, { modelDir: bundled, device: 'cpu' });
      const text = 'word '.repeat(12000);
      let progressed = false;
      client.onProgress(AnalyzeProgress, 'big', () => {
        progressed = true;
      });
      await assert.rejects(
        client.sendRequest(AnalyzeRequest, { text, options: { source: 'big.txt' }, progressToken: 'big' }),
        (e: ResponseError<unknown>) =>
          e.code === ErrorCodes.engine &&
          /^big\.txt: the analysis of 12,00\d tokens would be about \d+ MB of results, more than the 1 MB .*Analyze to Cursor/.test(
            e.message,
          ),
      );
      assert.strictEqual(progressed, false, 'refused before the run: no layer ran');
      // A part of it (toOffset) fits; a short text never tokenises twice.
      const part = await client.sendRequest(AnalyzeRequest, { text, options: { toOffset: 5 * 3000 } });
      assert.ok(part.tokens.length > 2000 && part.tokens.length < 4000);
      assert.ok((await client.sendRequest(AnalyzeRequest, { text: 'x = 1\n', options: {} })).tokens.length > 0);
    } finally {
      client.dispose();
    }
  });

  it('the default bound is under what one string can hold (V8: about 512M characters)', () => {
    assert.ok(MAX_RESULT_CHARS > 100 * 2 ** 20 && MAX_RESULT_CHARS < 512 * 2 ** 20);
  });
});
