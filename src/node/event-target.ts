import { Buffer } from 'node:buffer';

/**
 * The WHATWG event surface (`addEventListener`, `onmessage`, `Event`, `MessageEvent`,
 * `CloseEvent`, `ErrorEvent`) layered on the EventEmitter events, as `ws` and browsers expose it.
 * Listeners are wrapped once when added; nothing is allocated per message unless someone
 * listens this way.
 */

// The state of the event objects lives under module-private symbols; what users see are
// read-only accessors on the prototypes, enumerable and configurable, as `ws` defines them
// (`for…in` lists them, assignments do not change them, `JSON.stringify` gives `{}`).
const kTarget = Symbol('kTarget');
const kType = Symbol('kType');
const kData = Symbol('kData');
const kCode = Symbol('kCode');
const kReason = Symbol('kReason');
const kWasClean = Symbol('kWasClean');
const kError = Symbol('kError');
const kMessage = Symbol('kMessage');

/** Makes the named accessors of `proto` enumerable (class accessors are not). */
function enumerable(proto: object, names: string[]): void {
  for (const name of names) Object.defineProperty(proto, name, { enumerable: true });
}

export class Event {
  declare [kTarget]: unknown;
  declare [kType]: string;
  // `ws` accepts a missing type (the event's type is then undefined); so do we.
  constructor(type: string) {
    this[kTarget] = null;
    this[kType] = type;
  }
  get target(): unknown {
    return this[kTarget];
  }
  get type(): string {
    return this[kType];
  }
}
enumerable(Event.prototype, ['target', 'type']);

// Each member of the init dictionary defaults only when it is undefined (an explicit null is
// kept, as `ws` does). A null dictionary throws a TypeError, as in `ws`.
export class MessageEvent extends Event {
  declare [kData]: unknown;
  constructor(type: string, options: { data?: unknown } = {}) {
    super(type);
    this[kData] = options.data === undefined ? null : options.data;
  }
  get data(): unknown {
    return this[kData];
  }
}
enumerable(MessageEvent.prototype, ['data']);

export class CloseEvent extends Event {
  declare [kCode]: number;
  declare [kReason]: string;
  declare [kWasClean]: boolean;
  constructor(type: string, options: { code?: number; reason?: string; wasClean?: boolean } = {}) {
    super(type);
    this[kCode] = options.code === undefined ? 0 : options.code;
    this[kReason] = options.reason === undefined ? '' : options.reason;
    this[kWasClean] = options.wasClean === undefined ? false : options.wasClean;
  }
  get code(): number {
    return this[kCode];
  }
  get reason(): string {
    return this[kReason];
  }
  get wasClean(): boolean {
    return this[kWasClean];
  }
}
enumerable(CloseEvent.prototype, ['code', 'reason', 'wasClean']);

export class ErrorEvent extends Event {
  declare [kError]: unknown;
  declare [kMessage]: string;
  constructor(type: string, options: { error?: unknown; message?: string } = {}) {
    super(type);
    this[kError] = options.error === undefined ? null : options.error;
    this[kMessage] = options.message === undefined ? '' : options.message;
  }
  get error(): unknown {
    return this[kError];
  }
  get message(): string {
    return this[kMessage];
  }
}
enumerable(ErrorEvent.prototype, ['error', 'message']);

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
