import { once } from 'node:events';
import { WebSocket as WsClient, type ClientOptions } from 'ws';

/** One message as a test reads it. */
export interface Received {
  data: Buffer;
  isBinary: boolean;
  /** `data` as UTF-8 text. */
  text: string;
}

/**
 * A `ws` client from npm whose messages queue up until the test asks for them, in order:
 * `await c.next()` (or `c.text()`), with `c.got` what arrived and was not asked for yet.
 */
export interface Inbox {
  ws: WsClient;
  got: Received[];
  next(): Promise<Received>;
  text(): Promise<string>;
}

export async function openClient(url: string, options?: ClientOptions): Promise<Inbox> {
  const ws = new WsClient(url, options);
  const got: Received[] = [];
  const waiting: Array<(m: Received) => void> = [];
  ws.on('message', (data, isBinary) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
    const m = { data: buf, isBinary, text: buf.toString() };
    const w = waiting.shift();
    if (w !== undefined) w(m);
    else got.push(m);
  });
  await once(ws, 'open');
  const next = () => (got.length > 0 ? Promise.resolve(got.shift()!) : new Promise<Received>((resolve) => waiting.push(resolve)));
  return { ws, got, next, text: async () => (await next()).text };
}

/** Close `ws` (if it is not closed already) and wait for it. */
export async function closeClient(ws: WsClient): Promise<void> {
  if (ws.readyState === WsClient.CLOSED) return;
  const closed = once(ws, 'close');
  if (ws.readyState !== WsClient.CLOSING) ws.close();
  await closed;
}
