/**
 * A deliberately non-conforming echo server, to prove the suite can fail.
 * It echoes every frame as it came (reserved bits, reserved opcodes, fragments
 * and invalid UTF-8 included), never validates anything, answers every close
 * with 1000 whatever the code, and pongs. Prints "LISTENING <port>".
 * Uses only the harness's own framing helpers; never use it as an example.
 */
import net from 'node:net';
import { acceptUpgrade, receiveUpgrade } from '../handshake.js';
import { encodeFrame, FrameDecoder, OP_CLOSE, OP_PING, OP_PONG } from '../frame.js';

const server = net.createServer(async (socket) => {
  socket.on('error', () => {});
  const req = await receiveUpgrade(socket);
  if (!req) return;
  acceptUpgrade(socket, req, undefined);
  const decoder = new FrameDecoder();
  const onData = (chunk: Buffer) => {
    for (const f of decoder.push(chunk)) {
      if (f.opcode === OP_CLOSE) {
        socket.end(encodeFrame({ opcode: OP_CLOSE, payload: Buffer.from([0x03, 0xe8]) }, false));
        return;
      }
      const opcode = f.opcode === OP_PING ? OP_PONG : f.opcode;
      socket.write(encodeFrame({ opcode, fin: f.fin, rsv: f.rsv, payload: f.payload }, false));
    }
  };
  socket.on('data', onData);
  if (req.head.rest.length) onData(req.head.rest);
});
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`LISTENING ${(server.address() as net.AddressInfo).port}`);
});
process.on('SIGTERM', () => process.exit(0));
