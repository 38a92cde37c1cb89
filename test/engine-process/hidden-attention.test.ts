// The engine process's hidden-attention requests, in-process over in-memory streams with the real
// engine and the bundled model: explaining a token of the analysed text, the matrix view, and the
// errors a bad request gets (as JSON-RPC errors, the process keeps serving).
import * as assert from 'node:assert';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import {
  createMessageConnection,
  type MessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { EngineServer } from '../../src/engine-process/server';
import {
  AnalyzeRequest,
  AttentionMatrixRequest,
  ExplainTokenRequest,
  LoadRequest,
} from '../../src/engine-process/protocol';

describe('engine process: simba/explainToken and simba/attentionMatrix', function () {
  this.timeout(120000);
  let client: MessageConnection;
  const text = 'def add(a, b):\n    return a + b\n\n\nprint(add(1, 2))\n'.repeat(12);

  before(async () => {
    const up = new PassThrough();
    const down = new PassThrough();
    client = createMessageConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
    const server = createMessageConnection(new StreamMessageReader(up), new StreamMessageWriter(down));
    new EngineServer(server);
    server.listen();
    client.listen();
    await client.sendRequest(LoadRequest, { modelDir: path.join(__dirname, '../../media/model'), device: 'cpu' });
  });
  after(() => client?.dispose());

  it('explains a token of the analysed text per layer and rolled out, then its matrix', async () => {
    const a = await client.sendRequest(AnalyzeRequest, { text, options: {} });
    const target = a.tokens.length - 1;
    const x = await client.sendRequest(ExplainTokenRequest, { text, target, options: { window: 64 } });
    assert.strictEqual(x.target, target);
    assert.strictEqual(x.start, target - 63);
    assert.strictEqual(x.includeDelta, true);
    assert.strictEqual(x.layers.length, a.model.layers);
    for (const l of x.layers) {
      assert.strictEqual(l.mean.length, 64);
      assert.ok(
        l.mean.every((v) => v >= 0 && v <= 1),
        'normalised into [0, 1]',
      );
    }
    assert.strictEqual(x.rollout.length, 64);
    assert.ok(!('rows' in x), 'no internal identity data over the wire');
    const m = await client.sendRequest(AttentionMatrixRequest, {
      text,
      matrix: { layer: 0, from: x.start, to: target, size: 16 },
    });
    assert.strictEqual(m.positions.length, 16);
    assert.strictEqual(m.mean.length, 256);
    const noDelta = await client.sendRequest(ExplainTokenRequest, {
      text,
      target,
      options: { window: 64, includeDelta: false },
    });
    assert.strictEqual(noDelta.includeDelta, false);
    assert.notDeepStrictEqual(noDelta.layers[0].max, x.layers[0].max, 'the Δ_j factor changes the map');
  });

  it('answers a token outside the text with an error naming it', async () => {
    await assert.rejects(
      client.sendRequest(ExplainTokenRequest, { text, target: 10 ** 6 }),
      /not in the analysed text/,
    );
  });
});
