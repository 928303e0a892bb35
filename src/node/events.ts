import { Buffer } from 'node:buffer';
import { EventEmitter } from 'node:events';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData } from './data.js';
import type { WebSocket } from './websocket.js';

/**
 * Typed events: event name → listener arguments, and the `on`/`once`/`off` overloads that
 * use them (what `@types/ws` gives `ws` users), shared by WebSocket and WebSocketServer.
 */

export interface WebSocketEventMap {
  open: [];
  message: [data: RawData, isBinary: boolean];
  close: [code: number, reason: Buffer];
  error: [err: Error];
  ping: [data: Buffer];
  pong: [data: Buffer];
  drain: [];
  upgrade: [response: IncomingMessage];
  'unexpected-response': [request: ClientRequest, response: IncomingMessage];
  redirect: [url: string, request: ClientRequest];
}

export interface WebSocketServerEventMap {
  connection: [socket: WebSocket, request: IncomingMessage];
  error: [error: Error];
  headers: [headers: string[], request: IncomingMessage];
  listening: [];
  close: [];
  wsClientError: [error: Error & { code: string }, socket: Duplex, request: IncomingMessage];
}

type Listener<T, A extends unknown[]> = (this: T, ...args: A) => void;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyListener<T> = (this: T, ...args: any[]) => void;

/** EventEmitter's listener methods, with typed overloads for the events in `M`. */
export interface TypedEvents<M extends { [K in keyof M]: unknown[] }> {
  on<K extends keyof M>(event: K, listener: Listener<this, M[K]>): this;
  on(event: string | symbol, listener: AnyListener<this>): this;
  once<K extends keyof M>(event: K, listener: Listener<this, M[K]>): this;
  once(event: string | symbol, listener: AnyListener<this>): this;
  off<K extends keyof M>(event: K, listener: Listener<this, M[K]>): this;
  off(event: string | symbol, listener: AnyListener<this>): this;
  addListener<K extends keyof M>(event: K, listener: Listener<this, M[K]>): this;
  addListener(event: string | symbol, listener: AnyListener<this>): this;
  removeListener<K extends keyof M>(event: K, listener: Listener<this, M[K]>): this;
  removeListener(event: string | symbol, listener: AnyListener<this>): this;
}

type TypedEmitter<M extends { [K in keyof M]: unknown[] }> = Omit<EventEmitter, keyof TypedEvents<M>> & TypedEvents<M>;

/** `EventEmitter`, typed for the events in `M` (at run time it is EventEmitter itself). */
export function typedEmitter<M extends { [K in keyof M]: unknown[] }>(): new () => TypedEmitter<M> {
  return EventEmitter as unknown as new () => TypedEmitter<M>;
}

/**
 * `emitter.emit(type, a, b)` for the per-message events: a single function listener is called
 * directly, without `emit`'s rest-argument array. Anything else (several listeners, none,
 * `captureRejections`) takes `emit` itself, so the semantics are EventEmitter's.
 */
export function emit2(emitter: EventEmitter, type: string, a: unknown, b: unknown): void {
  const handler = (emitter as unknown as { _events?: Record<string, unknown> })._events?.[type];
  if (typeof handler === 'function' && !EventEmitter.captureRejections) {
    (handler as (x: unknown, y: unknown) => void).call(emitter, a, b);
  } else {
    emitter.emit(type, a, b);
  }
}

/** Instances have no inherited properties (the prototype chain ends in a null-prototype object). */
const ListenerTable = function ListenerTable(this: object): void {} as unknown as new () => object;
ListenerTable.prototype = Object.create(null) as object;

/**
 * A fast-properties listener table for `emitter` instead of EventEmitter's dictionary-mode
 * one: a connection's few event names cost a few words, not a hash table (memory per idle
 * connection). Node's EventEmitter only indexes `_events` by name, so any object with no
 * inherited properties works.
 */
export function useCompactListeners(emitter: EventEmitter): void {
  (emitter as unknown as { _events: object })._events = new ListenerTable();
}
