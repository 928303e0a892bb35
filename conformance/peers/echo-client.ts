/**
 * A client for Autobahn's client protocol, parameterised by a `ws`-compatible
 * WebSocket class: ask /getCaseCount, run every case echoing each message,
 * then /updateReports. Used with `ws` (calibration) and hyperwire.
 */
export interface WsLike {
  on(event: 'message', cb: (data: unknown, isBinary: boolean) => void): unknown;
  on(event: 'close' | 'open', cb: () => void): unknown;
  on(event: 'error', cb: (err: Error) => void): unknown;
  send(data: unknown, opts: { binary: boolean }): void;
}
export type WsCtor = new (url: string, opts: object) => WsLike;

const OPTIONS = { maxPayload: 512 * 1024 * 1024, perMessageDeflate: true, maxFragments: 0 };

function session(WebSocket: WsCtor, url: string, onMessage: (ws: WsLike, data: unknown, isBinary: boolean) => void): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, OPTIONS);
    ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
    ws.on('error', () => {}); // failed connections are the point of many cases; 'close' follows
    ws.on('close', () => resolve());
  });
}

export async function runEchoClient(WebSocket: WsCtor, base: string, agent: string): Promise<void> {
  let count = 0;
  await session(WebSocket, `${base}/getCaseCount`, (_ws, data) => { count = Number(String(data)); });
  for (let i = 1; i <= count; i++) {
    await session(WebSocket, `${base}/runCase?case=${i}&agent=${encodeURIComponent(agent)}`, (ws, data, isBinary) => {
      try {
        ws.send(data, { binary: isBinary });
      } catch {
        // sending after the close started: ignore, the case judges it
      }
    });
  }
  await session(WebSocket, `${base}/updateReports?agent=${encodeURIComponent(agent)}`, () => {});
}

export function cliArgs(): { base: string; agent: string } {
  const base = process.argv[2] ?? 'ws://127.0.0.1:9001';
  return { base, agent: process.argv[3] ?? 'client' };
}
