// The engine process: forked by the extension host (or started by tests), it answers JSON-RPC
// over the Node IPC channel (or stdio with --stdio, stray logging moved to stderr).
import {
  createMessageConnection,
  IPCMessageReader,
  IPCMessageWriter,
  StreamMessageReader,
  StreamMessageWriter,
} from 'vscode-jsonrpc/node';
import { EngineServer } from './server';

const stdio = process.argv.includes('--stdio') || !process.send;
if (stdio) console.log = console.info = console.error;
const conn = stdio
  ? createMessageConnection(new StreamMessageReader(process.stdin), new StreamMessageWriter(process.stdout))
  : createMessageConnection(new IPCMessageReader(process), new IPCMessageWriter(process));
const server = new EngineServer(conn, () => process.exit(0));
// Die with the parent: the channel closing means the extension host is gone.
process.on('disconnect', () => process.exit(0));
conn.onClose(() => process.exit(0));
process.on('uncaughtException', (e) => server.log(`uncaught: ${e?.stack ?? e}`));
conn.listen();
