/**
 * The cheapest possible "WebSocket echo": answer the handshake, then write
 * every received byte straight back.  The client's masked frames come back
 * masked, which the load generator accepts (it skips payloads without reading
 * them).  This is not a WebSocket server; it exists to show the load
 * generator's ceiling: if the loadgen can drive this far faster than any real
 * server runs, the real cells measure the server, not the client.
 *
 * Flags and IPC match bench/servers/common.ts (--mode must be echo).
 */
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    mode: { type: 'string', default: 'echo' },
    deflate: { type: 'string', default: '0' },
  },
});
if (values.mode !== 'echo' || values.deflate !== '0') throw new Error('minimal-echo only does echo without deflate');

const server = createServer((socket) => {
  socket.setNoDelay(true);
  let head = Buffer.alloc(0);
  const onHead = (chunk: Buffer): void => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? '';
    const accept = createHash('sha1').update(key + GUID).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    socket.off('data', onHead);
    const rest = head.subarray(end + 4);
    if (rest.length) socket.write(rest);
    socket.on('data', (data: Buffer) => socket.write(data));
  };
  socket.on('data', onHead);
  socket.on('error', () => {});
});

server.listen(Number(values.port), '127.0.0.1', () => {
  const port = (server.address() as AddressInfo).port;
  if (process.send) process.send({ type: 'ready', port, impl: 'minimal-echo' });
  else console.log(`minimal echo on ws://127.0.0.1:${port}/`);
});
process.on('message', (msg: unknown) => {
  if ((msg as { type?: unknown } | null)?.type === 'gc') process.send?.({ type: 'gc-done', heapUsed: 0, gc: false });
});
process.on('disconnect', () => process.exit(0));
