/**
 * Defaults, in one place, with a unit and a reason each. Client and server read the same
 * object so the two halves cannot drift apart.
 */
export const DEFAULTS = {
  /** bytes — 100 MiB, `ws`'s default: keeps drop-in behaviour for code that sends large messages. */
  maxPayload: 100 * 1024 * 1024,
  /** count — `ws` ≥ 8.18's default; bounds the bookkeeping a peer can make us keep per message. */
  maxFragments: 16 * 1024,
  /** count — `ws` ≥ 8.18's default; bounds how many undigested network chunks we queue. */
  maxBufferedChunks: 256 * 1024,
  /** ms — `ws`'s closing-handshake timeout: after it, the TCP connection is destroyed. */
  closeTimeout: 30_000,
  /**
   * ms — time a server gives a client to finish its HTTP upgrade request once the TCP
   * connection exists. `ws` has none (a slowloris holds the socket until Node's header timeout).
   */
  handshakeTimeout: 10_000,
  /**
   * bytes — `send()` returns false once the socket's outgoing buffer passes this (Node's
   * default writable high-water mark), and `drain` fires when it empties again.
   */
  highWaterMark: 16 * 1024,
  /** bytes — frames below this total are coalesced into one buffer before writing (one copy beats one syscall). */
  coalesceBelow: 16 * 1024,
} as const;
