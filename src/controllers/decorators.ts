/**
 * Midway-style decorators for WebSocket controllers (seed 003): `@WSController(namespace)`
 * on a class, `@OnWSConnection()`, `@OnWSMessage(event)`, `@WSBroadCast()` and
 * `@OnWSDisConnection()` on its methods, `@Inject()` on its `ctx` (the connection) and `app`
 * (the server) fields, `@App()` on any field (the server). They only record what they decorate; `createWebSocketApp`
 * (controllers/app.ts) reads the record.
 *
 * They work both as TypeScript's legacy decorators (`experimentalDecorators`, what Midway
 * projects compile with) and as standard ECMAScript decorators (TypeScript 5+ without that
 * flag): each tells the two calling conventions apart by its arguments.
 */

/** A controller class: constructed once per connection, with no arguments. */
export type ControllerClass = new () => object;

export interface ControllerMeta {
  namespace: string;
  connection: string[];
  messages: Array<{ event: string; method: string }>;
  broadcast: Set<string>;
  disconnection: string[];
  /** Fields set before any handler runs, and with what: the connection or the server. */
  inject: Map<string, 'ctx' | 'app'>;
}

const metas = new WeakMap<object, ControllerMeta>();
/** Standard decorators see members before their class: what they recorded waits here for `@WSController`. */
let pending: Array<(meta: ControllerMeta) => void> = [];

function blank(): ControllerMeta {
  return { namespace: '/', connection: [], messages: [], broadcast: new Set(), disconnection: [], inject: new Map() };
}

function metaOf(ctor: object): ControllerMeta {
  let meta = metas.get(ctor);
  if (meta === undefined) metas.set(ctor, (meta = blank()));
  return meta;
}

/** What `@WSController` recorded for `ctor`, or undefined if it is not a controller. */
export function controllerMeta(ctor: object): ControllerMeta | undefined {
  const meta = metas.get(ctor);
  return meta !== undefined && (meta as ControllerMeta & { isController?: boolean }).isController ? meta : undefined;
}

interface StandardContext {
  kind: string;
  name: string | symbol;
  private?: boolean;
}

function isStandard(args: unknown[]): args is [unknown, StandardContext] {
  const c = args[1] as StandardContext | undefined;
  return args.length === 2 && typeof c === 'object' && c !== null && typeof c.kind === 'string';
}

/** A member decorator that records `record(meta, name)` in either convention. */
function member(kind: 'method' | 'field', record: (meta: ControllerMeta, name: string) => void) {
  return (...args: unknown[]): void => {
    if (isStandard(args)) {
      const [, context] = args;
      if (context.kind !== kind) throw new TypeError(`This decorator goes on a ${kind}, not a ${context.kind}`);
      if (kind === 'field' && (context.private || typeof context.name === 'symbol')) {
        throw new TypeError(`This decorator goes on a public field with a string name, not ${String(context.name)}`);
      }
      const name = String(context.name);
      pending.push((meta) => record(meta, name));
      return;
    }
    // Legacy: (prototype, name, descriptor?)
    const [prototype, name] = args as [{ constructor: object }, string | symbol];
    if (kind === 'field' && typeof name === 'symbol') throw new TypeError(`This decorator goes on a field with a string name, not ${String(name)}`);
    record(metaOf(prototype.constructor), String(name));
  };
}

/** Marks a class as a WebSocket controller for connections to `namespace` (a path; default '/'). */
export function WSController(namespace = '/') {
  return (...args: unknown[]): void => {
    const ctor = args[0] as object;
    if (isStandard(args) && args[1].kind !== 'class') throw new TypeError('@WSController() goes on a class');
    const meta = metaOf(ctor) as ControllerMeta & { isController?: boolean };
    const waiting = pending;
    pending = [];
    for (const record of waiting) record(meta);
    meta.namespace = namespace;
    meta.isController = true;
  };
}

/** The method runs when a client connects: `(socket, request)`. */
export function OnWSConnection() {
  return member('method', (meta, name) => meta.connection.push(name));
}

/**
 * The method runs on each `event` of the connection (default 'message': `(data, isBinary)`).
 * What it returns (or resolves to), unless undefined, is sent back: strings and Buffers as
 * they are, anything else as JSON; to every client instead with `@WSBroadCast()`.
 */
export function OnWSMessage(event = 'message') {
  return member('method', (meta, name) => meta.messages.push({ event, method: name }));
}

/** With `@OnWSMessage`: the method's result goes to every connected client. */
export function WSBroadCast() {
  return member('method', (meta, name) => meta.broadcast.add(name));
}

/** The method runs when the connection closes: `(code, reason)`. */
export function OnWSDisConnection() {
  return member('method', (meta, name) => meta.disconnection.push(name));
}

/** On a field named `ctx` (the connection) or `app` (the WebSocketServer): set before any handler runs. */
export function Inject() {
  return member('field', (meta, name) => {
    if (name !== 'ctx' && name !== 'app') throw new TypeError(`@Inject() can set 'ctx' (the connection) or 'app' (the server), not '${name}'`);
    meta.inject.set(name, name);
  });
}

/**
 * On any field: the WebSocketServer (Midway's `@App('webSocket') wsApp: Application`). The name
 * given is the framework's, and only `'webSocket'` (or none) is one this package has.
 */
export function App(framework = 'webSocket') {
  if (framework !== 'webSocket') throw new TypeError(`@App('${framework}'): the only application here is 'webSocket' (the WebSocketServer)`);
  return member('field', (meta, name) => meta.inject.set(name, 'app'));
}
