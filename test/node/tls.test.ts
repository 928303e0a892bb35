/**
 * wss: with certificates made by the test (openssl): a CA the client pins, a self-signed
 * certificate the client must refuse by default, and the TLS options passed through as in `ws`
 * (`ca`, `rejectUnauthorized`, `servername`, `checkServerIdentity`) and faye (`tls`).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from '../../src/index.js';
import { closed, echoHandler, failure, makeCerts, type Certs } from '../helpers/peers.js';

async function startTls(key: Buffer, cert: Buffer): Promise<{ port: number; stop(): Promise<void> }> {
  const server = https.createServer({ key, cert });
  const wss = new WebSocketServer({ server });
  wss.on('connection', echoHandler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    stop: () => new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
      wss.close();
      server.close(() => resolve());
    }),
  };
}

async function echo(ws: WebSocket): Promise<void> {
  await once(ws, 'open');
  ws.send('over tls');
  const [data] = (await once(ws, 'message')) as [Buffer];
  assert.equal(data.toString(), 'over tls');
  ws.close();
  await closed(ws);
}

describe('wss: (TLS)', () => {
  let certs: Certs;
  let signed: { port: number; stop(): Promise<void> };
  let selfSigned: { port: number; stop(): Promise<void> };
  before(async () => {
    certs = makeCerts();
    signed = await startTls(certs.key, certs.cert);
    selfSigned = await startTls(certs.selfSignedKey, certs.selfSignedCert);
  });
  after(async () => {
    await signed?.stop();
    await selfSigned?.stop();
    certs?.cleanup();
  });

  it('connects to a server whose CA is pinned with `ca`', async () => {
    await echo(new WebSocket(`wss://127.0.0.1:${signed.port}`, { ca: certs.ca }));
  });

  it('takes the CA through faye’s `tls` option too', async () => {
    await echo(new WebSocket(`wss://127.0.0.1:${signed.port}`, { tls: { ca: certs.ca } }));
  });

  it('checks the name with `servername` (SNI + identity)', async () => {
    await echo(new WebSocket(`wss://127.0.0.1:${signed.port}`, { ca: certs.ca, servername: 'localhost' }));
    const { error, code } = await failure(new WebSocket(`wss://127.0.0.1:${signed.port}`, { ca: certs.ca, servername: 'elsewhere.test' }));
    assert.equal(error.code, 'ERR_TLS_CERT_ALTNAME_INVALID');
    assert.equal(code, 1006);
  });

  it('refuses a certificate signed by an unknown CA', async () => {
    const { error, code } = await failure(new WebSocket(`wss://127.0.0.1:${signed.port}`));
    assert.equal(error.code, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    assert.equal(code, 1006);
  });

  it('refuses a self-signed certificate', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${selfSigned.port}`);
    const { error, code } = await failure(ws);
    assert.equal(error.code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
    assert.equal(code, 1006);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('accepts the self-signed certificate when pinned, or with rejectUnauthorized: false', async () => {
    await echo(new WebSocket(`wss://127.0.0.1:${selfSigned.port}`, { ca: certs.selfSignedCert }));
    await echo(new WebSocket(`wss://127.0.0.1:${selfSigned.port}`, { rejectUnauthorized: false }));
  });

  it('lets checkServerIdentity veto a valid certificate', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${signed.port}`, {
      ca: certs.ca,
      checkServerIdentity: () => Object.assign(new Error('pin mismatch'), { code: 'PIN' }),
    });
    const { error, code } = await failure(ws);
    assert.equal(error.message, 'pin mismatch');
    assert.equal(code, 1006);
  });
});
