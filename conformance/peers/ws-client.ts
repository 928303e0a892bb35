/** Calibration peer: the npm `ws` client driven through Autobahn's client protocol. Usage: ws-client.ts ws://host:port [agent] */
import WebSocket from 'ws';
import { cliArgs, runEchoClient, type WsCtor } from './echo-client.js';

const { base, agent } = cliArgs();
runEchoClient(WebSocket as unknown as WsCtor, base, agent).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
