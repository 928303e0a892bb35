import { Buffer } from 'node:buffer';

/**
 * The WHATWG event surface (`addEventListener`, `onmessage`, `Event`, `MessageEvent`,
 * `CloseEvent`, `ErrorEvent`) layered on the EventEmitter events, as `ws` and browsers expose it.
 * Listeners are wrapped once when added; nothing is allocated per message unless someone
 * listens this way.
 */

const kTarget = Symbol('target');

export class Event {
  readonly type: string;
  [kTarget]: unknown = null;
  constructor(type: string) {
    if (arguments.length === 0) throw new TypeError('The "type" argument must be specified');
    this.type = type;
  }
  get target(): unknown {
    return this[kTarget];
  }
}

export class MessageEvent extends Event {
  readonly data: unknown;
  constructor(type: string, init: { data?: unknown } = {}) {
    super(type);
    this.data = init.data === undefined ? null : init.data;
  }
}

export class CloseEvent extends Event {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(type: string, init: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this.code = init.code ?? 0;
    this.reason = init.reason ?? '';
    this.wasClean = init.wasClean ?? false;
  }
}

export class ErrorEvent extends Event {
  readonly error: unknown;
  readonly message: string;
  constructor(type: string, init: { error?: unknown; message?: string } = {}) {
    super(type);
    this.error = init.error ?? null;
    this.message = init.message ?? '';
  }
}

type Handler = ((event: any) => void) | { handleEvent(event: any): void };
type Wrapper = ((...args: any[]) => void) & { [kListener]?: Handler; [kOnAttribute]?: boolean };

export const kListener = Symbol('kListener');
export const kOnAttribute = Symbol('kOnAttribute');

/** What the wrapped emitter must expose for the event objects (closing-handshake state, binaryType). */
export interface EventSource {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  listeners(type: string): Function[];
  on(type: string, listener: (...args: any[]) => void): unknown;
  once(type: string, listener: (...args: any[]) => void): unknown;
  removeListener(type: string, listener: (...args: any[]) => void): unknown;
  readonly binaryType: string;
  /** True when both Close frames were exchanged (CloseEvent.wasClean). */
  readonly wasClean: boolean;
}

function call(handler: Handler, thisArg: unknown, event: Event): void {
  if (typeof handler === 'function') handler.call(thisArg, event);
  else handler.handleEvent.call(handler, event);
}

function makeWrapper(target: EventSource, type: string, handler: Handler): Wrapper | undefined {
  switch (type) {
    case 'message':
      return function onMessage(data: unknown, isBinary: boolean) {
        const event = new MessageEvent('message', { data: isBinary ? data : String(data) });
        event[kTarget] = target;
        call(handler, target, event);
      };
    case 'close':
      return function onClose(code: number, reason: Buffer) {
        const event = new CloseEvent('close', { code, reason: reason.toString(), wasClean: target.wasClean });
        event[kTarget] = target;
        call(handler, target, event);
      };
    case 'error':
      return function onError(error: Error) {
        const event = new ErrorEvent('error', { error, message: error.message });
        event[kTarget] = target;
        call(handler, target, event);
      };
    case 'open':
      return function onOpen() {
        const event = new Event('open');
        event[kTarget] = target;
        call(handler, target, event);
      };
    default:
      return undefined;
  }
}

export function addEventListener(
  target: EventSource,
  type: string,
  handler: Handler | null | undefined,
  options: { once?: boolean; [kOnAttribute]?: boolean } = {},
): void {
  if (!handler) return;
  // A listener added twice is added once (DOM "add an event listener", step 4).
  if (!options[kOnAttribute]) {
    for (const l of target.listeners(type) as Wrapper[]) {
      if (l[kListener] === handler && !l[kOnAttribute]) return;
    }
  }
  const wrapper = makeWrapper(target, type, handler);
  if (!wrapper) return;
  wrapper[kListener] = handler;
  wrapper[kOnAttribute] = !!options[kOnAttribute];
  if (options.once) target.once(type, wrapper);
  else target.on(type, wrapper);
}

export function removeEventListener(target: EventSource, type: string, handler: Handler): void {
  for (const l of target.listeners(type) as Wrapper[]) {
    if (l[kListener] === handler && !l[kOnAttribute]) {
      target.removeListener(type, l);
      return;
    }
  }
}

/** The handler set through `onX`, or null. */
export function getOnAttribute(target: EventSource, type: string): Handler | null {
  for (const l of target.listeners(type) as Wrapper[]) {
    if (l[kOnAttribute]) return l[kListener] ?? null;
  }
  return null;
}

export function setOnAttribute(target: EventSource, type: string, handler: unknown): void {
  for (const l of target.listeners(type) as Wrapper[]) {
    if (l[kOnAttribute]) {
      target.removeListener(type, l);
      break;
    }
  }
  if (typeof handler !== 'function') return;
  addEventListener(target, type, handler as Handler, { [kOnAttribute]: true });
}
