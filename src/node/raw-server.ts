import process from 'node:process';
import { lookup } from 'node:dns';
import { EventEmitter } from 'node:events';
import { isIP, type AddressInfo } from 'node:net';
import { B, uvError, type TcpHandle } from './libuv.js';
import { RawSocket } from './raw-socket.js';

export { rawSocketsAvailable } from './libuv.js';


/** Whether accepted sockets inherit TCP_NODELAY from the listening socket. */
const INHERITS_NO_DELAY = process.platform === 'linux';

export type ConnectionListener = (socket: RawSocket) => void;

/**
 * A listening TCP handle with `net.Server`'s `listen`/`address`/`close` and its
 * 'listening', 'connection', 'error' and 'close' events. Like `net.Server`, 'close' waits for
 * the open connections to end.
 */
export class RawServer extends EventEmitter {
  private handle: TcpHandle | null = null;
  private connections = 0;
  /** `close()` was called: 'close' is owed once the handle and every connection are closed. */
  private closeOwed = false;
  /** A listening handle `close()` gave up whose close callback has not run yet. */
  private handleClosing = false;
  /** Bumped by `close()`: a `listen()` still looking its host up must not start listening. */
  private listenId = 0;
  private unrefed = false;
  private readonly noDelay: boolean;
  /** The listening socket has TCP_NODELAY, which accepted sockets inherit (Linux). */
  private listenerNoDelay = false;

  constructor(options: { noDelay?: boolean }, onConnection?: ConnectionListener) {
    super();
    this.noDelay = options.noDelay ?? false;
    if (onConnection) this.on('connection', onConnection);
  }

  get listening(): boolean {
    return this.handle !== null;
  }

  /** `listen(port, host?, backlog?, cb?)` as `net.Server`: no host means every address (`::`, else `0.0.0.0`). */
  listen(port?: number, host?: string | (() => void), backlog?: number | (() => void), cb?: () => void): this {
    if (typeof host === 'function') {
      cb = host;
      host = undefined;
    } else if (typeof backlog === 'function') {
      cb = backlog;
      backlog = undefined;
    }
    if (this.handle !== null) {
      // As net: a second listen() would leak the first handle.
      const err = new Error('Listen method has been called more than once without closing.') as NodeJS.ErrnoException;
      err.code = 'ERR_SERVER_ALREADY_LISTEN';
      throw err;
    }
    if (cb) this.once('listening', cb);
    const p = port === undefined || port === null ? 0 : Number(port);
    if (!Number.isInteger(p) || p < 0 || p > 65535) {
      const err = new RangeError(`options.port should be >= 0 and < 65536. Received ${String(port)}.`) as RangeError & { code: string };
      err.code = 'ERR_SOCKET_BAD_PORT';
      throw err;
    }
    const bl = typeof backlog === 'number' ? backlog : 511;
    if (host === undefined || host === null || host === '') {
      this.bindAndListen(['::', '0.0.0.0'], p, bl);
    } else if (isIP(host)) {
      this.bindAndListen([host], p, bl);
    } else {
      const id = this.listenId;
      lookup(host, (err, address) => {
        if (id !== this.listenId) return; // closed meanwhile
        if (err) this.emit('error', err);
        else this.bindAndListen([address], p, bl);
      });
    }
    return this;
  }

  private bindAndListen(addresses: string[], port: number, backlog: number): void {
    let err = 0;
    let handle: TcpHandle | null = null;
    let address = addresses[0];
    for (address of addresses) {
      handle = new B.TCP(B.SERVER);
      err = isIP(address) === 6 ? handle.bind6(address, port, 0) : handle.bind(address, port);
      if (err === 0) break;
      handle.close();
      handle = null;
    }
    let noDelay = false;
    if (err === 0 && handle !== null) {
      // Linux copies TCP_NODELAY from a listening socket to the sockets accept() returns, so
      // setting it once here saves a setsockopt per connection. Before listen(): a connection
      // that completes its handshake right after listen() must inherit it too.
      if (this.noDelay && INHERITS_NO_DELAY) noDelay = handle.setNoDelay(true) === 0;
      err = handle.listen(backlog);
      if (err !== 0) {
        handle.close();
        handle = null;
      }
    }
    if (err !== 0 || handle === null) {
      process.nextTick(() => this.emit('error', uvError(err, 'listen', address, port)));
      return;
    }
    this.listenerNoDelay = noDelay;
    handle.owner = this;
    handle.onconnection = onConnection;
    if (this.unrefed) handle.unref();
    this.handle = handle;
    process.nextTick(() => {
      if (this.handle === handle) this.emit('listening');
    });
  }

  /** @internal */
  _onConnection(status: number, client: TcpHandle | undefined): void {
    if (status !== 0 || client === undefined) {
      if (this.listenerCount('error') > 0) this.emit('error', uvError(status, 'accept'));
      return;
    }
    this.connections++;
    const socket = new RawSocket(client, this);
    if (this.listenerNoDelay) socket._noDelayInherited();
    else if (this.noDelay) socket.setNoDelay(true);
    socket._start();
    this.emit('connection', socket);
  }

  /** @internal */
  _connectionClosed(): void {
    this.connections--;
    this.maybeEmitClose();
  }

  /** 'close' once, after the listening handle and the last connection have both closed. */
  private maybeEmitClose(): void {
    if (!this.closeOwed || this.handleClosing || this.connections > 0 || this.handle !== null) return;
    this.closeOwed = false;
    this.emit('close');
  }

  address(): AddressInfo | null {
    if (this.handle === null) return null;
    const out: Record<string, unknown> = {};
    if (this.handle.getsockname(out) !== 0) return null;
    return out as unknown as AddressInfo;
  }

  /** Stop accepting; 'close' (and `cb`) once every accepted connection has closed. */
  close(cb?: (err?: Error) => void): this {
    this.listenId++;
    if (this.handle === null) {
      if (cb) {
        const err = new Error('Server is not running.') as NodeJS.ErrnoException;
        err.code = 'ERR_SERVER_NOT_RUNNING';
        process.nextTick(cb, err);
      }
      return this;
    }
    if (cb) this.once('close', () => cb());
    const handle = this.handle;
    this.handle = null;
    this.closeOwed = true;
    this.handleClosing = true;
    handle.onconnection = ignoreConnection;
    handle.close(() => {
      this.handleClosing = false;
      this.maybeEmitClose();
    });
    return this;
  }

  getConnections(cb: (err: Error | null, count: number) => void): this {
    process.nextTick(cb, null, this.connections);
    return this;
  }

  ref(): this {
    this.unrefed = false;
    this.handle?.ref();
    return this;
  }

  unref(): this {
    this.unrefed = true;
    this.handle?.unref();
    return this;
  }
}

function onConnection(this: TcpHandle, status: number, client?: TcpHandle): void {
  (this.owner as RawServer)._onConnection(status, client);
}

// The listening handle's callback slot takes a function only (never null).
function ignoreConnection(this: TcpHandle, status: number, client?: TcpHandle): void {
  client?.close();
}
