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
  /**
   * bytes — with `lendMessages`, idle lent buffers the process keeps for the next large
   * messages; beyond it returned buffers are left to the GC. 8 MiB holds a 1 MiB message for
   * each of a few connections receiving at once (the reuse that pays, bench/README.md).
   */
  lendPoolIdleBytes: 8 * 1024 * 1024,

  // ─── permessage-deflate (RFC 7692) ───────────────────────────────────────────────────
  /**
   * bytes — `ws`'s default `threshold`: with no context takeover, messages below this go out
   * uncompressed (MEASURED.md: 64-byte JSON barely shrinks without a shared window).
   */
  deflateThreshold: 1024,
  /**
   * count — `ws`'s default `concurrencyLimit`: zlib jobs in Node's threadpool at once, process
   * wide. More fragments memory (node#8871, ws#1202) without making anything faster.
   */
  zlibConcurrency: 10,
  /**
   * bytes of input — at or below this a message with no context takeover is compressed with
   * one synchronous zlib call (no threadpool hop, no zlib state kept). Measured on Node 20:
   * 1 KiB JSON ≈ 45 µs sync vs ≈ 95 µs through a pooled async stream; 16 KiB ≈ 0.25 ms, the
   * longest we let one message block the event loop.
   */
  syncDeflateBelow: 16 * 1024,
  /**
   * bytes of compressed input — at or below this an incoming message with no context
   * takeover is inflated synchronously (1 KiB ≈ 13 µs sync vs ≈ 170 µs async). Kept small
   * because output, not input, costs time: deflate expands at most ~1032×, so the worst case
   * (a bomb cut off at maxPayload) is ~4 MiB of output, a few ms.
   */
  syncInflateBelow: 4 * 1024,
  /**
   * bytes — `broadcast()` compresses once, synchronously, for every receiver with no context
   * takeover; above this the cost of blocking outweighs sharing and each socket compresses
   * its own copy asynchronously.
   */
  syncBroadcastBelow: 1024 * 1024,
  /**
   * count, per zlib parameter set and direction — one-message zlib streams (no context
   * takeover, messages too big for the synchronous path) kept process-wide for the next
   * message instead of made and closed each time (zlib-streams.ts). Each holds ~0.5 MiB (zlib
   * state and a 256 KiB output buffer); 4 covers a few large messages in zlib at once.
   */
  keptMessageStreams: 4,
} as const;
