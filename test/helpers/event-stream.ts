import { once } from 'node:events';
import http, { type ClientRequest, type IncomingMessage } from 'node:http';

/** An event stream read by a plain HTTP client: its bytes so far, and a wait for more. */
export interface EventStream {
  req: ClientRequest;
  res: IncomingMessage;
  text(): string;
  /** Resolves with the text once it contains `s`. */
  until(s: string): Promise<string>;
}

/** GET `path` on 127.0.0.1:`port` as an EventSource would (`Accept: text/event-stream`). */
export async function openEventStream(port: number, path: string, headers: Record<string, string> = {}): Promise<EventStream> {
  const req = http.get({ host: '127.0.0.1', port, path, headers: { Accept: 'text/event-stream', ...headers } });
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let text = '';
  const waiters: Array<() => void> = [];
  res.setEncoding('utf8');
  res.on('data', (s: string) => {
    text += s;
    for (const w of waiters.splice(0)) w();
  });
  return {
    req,
    res,
    text: () => text,
    until: async (s: string) => {
      while (!text.includes(s)) await new Promise<void>((r) => waiters.push(r));
      return text;
    },
  };
}
