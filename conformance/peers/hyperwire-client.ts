/** The client under test: hyperwire's `ws`-compatible WebSocket through Autobahn's client protocol. Usage: hyperwire-client.ts ws://host:port [agent] */
// See hyperwire-echo-server.ts for why the import goes through a variable.
const entry = '../../src/index.js';
const { default: WebSocket } = (await import(entry)) as typeof import('ws');
import { cliArgs, runEchoClient, type WsCtor } from './echo-client.js';

const { base, agent } = cliArgs();
runEchoClient(WebSocket as unknown as WsCtor, base, agent).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
