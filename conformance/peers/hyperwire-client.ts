/** The client under test: hyperwire's `ws`-compatible WebSocket through Autobahn's client protocol. Usage: hyperwire-client.ts ws://host:port [agent] */
import WebSocket from '../../src/index.js';
import { cliArgs, runEchoClient, type WsCtor } from './echo-client.js';

const { base, agent } = cliArgs();
runEchoClient(WebSocket as unknown as WsCtor, base, agent).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
