/*
 * hyperwire benchmark load generator.
 *
 * A single-threaded epoll WebSocket client that speaks just enough RFC 6455
 * (plus RFC 7692 permessage-deflate without context takeover) to drive the
 * benchmark cells.  It is written in C because the servers under test can
 * handle more than a million small messages per second on one core, and a
 * load generator in JavaScript saturates well below that: the measurement
 * would then describe the client, not the server.
 *
 * Modes:
 *   echo       N connections, K messages in flight each; counts round trips.
 *   latency    echo with one connection and one message in flight; records
 *              every round-trip time and reports p50/p99 in microseconds.
 *   broadcast  N receivers plus one sender; the server relays each message
 *              from the sender to every other client.  Counts deliveries.
 *   storm      opens M connections as fast as possible (bounded concurrency),
 *              reports handshakes per second, then holds them idle until a
 *              line (or EOF) arrives on stdin so the caller can read the
 *              server's memory, then exits.
 *
 * Everything is bounded: connect/handshake time, run time, hold time, and the
 * number of broadcasts in flight.  It only ever connects to 127.0.0.1.
 *
 * Output: exactly one JSON line on stdout (in storm mode it is printed before
 * the hold).  Exit status 0 on success, 1 on failure ({"ok":false,...}).
 *
 * Sending is cheap on purpose: every outgoing frame is identical, so it is
 * built (masked, and compressed when deflate is on) once, and a connection's
 * pending output is just "n bytes of that frame repeated".  The server still
 * has to unmask and inflate every one.  Receiving parses every frame header,
 * skips payload bytes without copying (large ones are dropped in the kernel with
 * MSG_TRUNC, never copied out), and inflates compressed messages (so
 * the server's compressed output is proven well-formed and of the right size).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

/* ---------- configuration ---------- */

enum mode { M_ECHO, M_LATENCY, M_BROADCAST, M_STORM };

static struct {
    enum mode mode;
    int port;
    const char *path;
    int conns;          /* echo: connections; broadcast: receivers; storm: total */
    int inflight;       /* echo: messages in flight per connection; broadcast: broadcasts in flight */
    size_t size;        /* payload bytes */
    int binary;         /* opcode 2 instead of 1 */
    int deflate;        /* negotiate permessage-deflate, send compressed frames */
    int takeover;       /* ... with context takeover both ways (our frames still use none) */
    double warmup;      /* seconds before counting starts */
    double duration;    /* seconds counted */
    int concurrency;    /* storm: handshakes in progress at once */
    double hold;        /* storm: max seconds to hold idle connections */
    double connect_timeout; /* seconds allowed to establish all connections */
    int server_pid;     /* for CPU share; 0 = unknown */
    int spin;           /* poll without sleeping (latency: keeps the client's wake-up out of the RTT) */
    int gap_us;         /* latency: wait this long after each reply before sending the next message */
} cfg = {
    .mode = M_ECHO, .port = 0, .path = "/", .conns = 1, .inflight = 1,
    .size = 64, .binary = 0, .deflate = 0, .warmup = 1.0, .duration = 3.0,
    .concurrency = 256, .hold = 60.0, .connect_timeout = 20.0, .server_pid = 0,
};

/* ---------- small utilities ---------- */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Fail with a JSON line so the runner can always parse stdout. */
static void fail(const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Escape quotes/backslashes minimally; messages are ours, not user data. */
    printf("{\"ok\":false,\"error\":\"");
    for (const char *p = msg; *p; p++) {
        if (*p == '"' || *p == '\\') putchar('\\');
        putchar(*p < 0x20 ? ' ' : *p);
    }
    printf("\"}\n");
    fflush(stdout);
    exit(1);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) fail("out of memory (%zu bytes)", n);
    return p;
}

/* CPU seconds (user+system) used by this process, microsecond resolution. */
static double self_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

/* CPU seconds used by another process (all threads), from /proc/<pid>/stat.
 * Returns -1 when unavailable.  Resolution is one clock tick (usually 10 ms),
 * which is fine over a multi-second interval. */
static double proc_cpu_s(int pid) {
    if (pid <= 0) return -1;
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    /* The command name (field 2) may contain spaces; skip past its ')'. */
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    unsigned long utime = 0, stime = 0;
    /* After ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt
     * majflt cmajflt utime(14) stime(15). */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
               &utime, &stime) != 2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* Busy CPU seconds of the whole machine (all CPUs) from /proc/stat: used to
 * report how much CPU went to anything other than the server and us, so a
 * noisy neighbour shows up in the results instead of silently skewing them. */
static double machine_busy_s(void) {
    char buf[512];
    int fd = open("/proc/stat", O_RDONLY);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    unsigned long long v[8] = {0};
    if (sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu",
               &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 8)
        return -1;
    /* user nice system idle iowait irq softirq steal: busy = all but idle/iowait */
    unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

/* ---------- the outgoing frame, built once ---------- */

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};
/* A fixed key is fine: the server must accept any key.  Accept value below is
 * base64(sha1(KEY + GUID)) for this key (the RFC 6455 example). */
static const char *WS_KEY = "dGhlIHNhbXBsZSBub25jZQ==";
static const char *WS_ACCEPT = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

static uint8_t *frame;      /* one complete masked client frame */
static size_t frame_len;
static uint8_t *rep;        /* the frame repeated, so many frames go out in one write() */
static size_t rep_len;

/* Compressible, JSON-like text (what permessage-deflate is for).  Repeating a
 * record with a changing counter gives realistic, not degenerate, ratios. */
static void fill_payload(uint8_t *p, size_t n, int binary) {
    if (binary && !cfg.deflate) {
        uint32_t x = 0x9e3779b9u; /* xorshift: incompressible bytes */
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            p[i] = (uint8_t)x;
        }
        return;
    }
    size_t off = 0;
    unsigned seq = 0;
    char rec[128];
    while (off < n) {
        int len = snprintf(rec, sizeof rec,
                           "{\"type\":\"tick\",\"seq\":%u,\"user\":\"u%u\",\"ok\":true},",
                           seq, seq % 97);
        seq++;
        size_t take = (size_t)len < n - off ? (size_t)len : n - off;
        memcpy(p + off, rec, take);
        off += take;
    }
}

/* Raw deflate with a sync flush, minus the trailing 00 00 ff ff (RFC 7692
 * 7.2.1).  Every message is compressed from an empty window, so the result is
 * the same for every send: what client_no_context_takeover requires, and still
 * valid with context takeover (a sender need not refer back; the receiver's
 * window is only ever read by back-references). */
static uint8_t *deflate_payload(const uint8_t *in, size_t n, size_t *out_n) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        fail("deflateInit2 failed");
    size_t cap = deflateBound(&z, n) + 16;
    uint8_t *out = xmalloc(cap);
    z.next_in = (Bytef *)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_SYNC_FLUSH) != Z_OK || z.avail_in != 0) fail("deflate failed");
    size_t len = cap - z.avail_out;
    deflateEnd(&z);
    if (len < 4 || memcmp(out + len - 4, "\x00\x00\xff\xff", 4) != 0) fail("unexpected deflate tail");
    *out_n = len - 4;
    return out;
}

static void build_frame(void) {
    uint8_t *payload = xmalloc(cfg.size);
    fill_payload(payload, cfg.size, cfg.binary);
    size_t plen = cfg.size;
    if (cfg.deflate) {
        uint8_t *c = deflate_payload(payload, cfg.size, &plen);
        free(payload);
        payload = c;
    }
    size_t hlen = 2 + (plen < 126 ? 0 : plen <= 0xffff ? 2 : 8) + 4;
    frame_len = hlen + plen;
    frame = xmalloc(frame_len);
    uint8_t *h = frame;
    h[0] = 0x80 | (cfg.deflate ? 0x40 : 0) | (cfg.binary ? 2 : 1);
    if (plen < 126) {
        h[1] = 0x80 | (uint8_t)plen;
        h += 2;
    } else if (plen <= 0xffff) {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(plen >> 8);
        h[3] = (uint8_t)plen;
        h += 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++) h[2 + i] = (uint8_t)((uint64_t)plen >> (56 - 8 * i));
        h += 10;
    }
    memcpy(h, MASK, 4);
    h += 4;
    for (size_t i = 0; i < plen; i++) h[i] = payload[i] ^ MASK[i & 3];
    free(payload);

    /* Enough copies to fill ~64 KiB per write() for small frames. */
    size_t copies = frame_len >= 65536 ? 1 : 65536 / frame_len;
    rep_len = copies * frame_len;
    rep = xmalloc(rep_len);
    for (size_t i = 0; i < copies; i++) memcpy(rep + i * frame_len, frame, frame_len);
}

/* ---------- connections ---------- */

enum cstate { C_CONNECTING, C_HANDSHAKE, C_OPEN, C_DEAD };
enum pstate { P_HEADER, P_PAYLOAD };

typedef struct conn {
    int fd;
    int idx;
    enum cstate state;
    int want_out;           /* EPOLLOUT currently registered */

    /* handshake */
    char hs[2048];
    size_t hs_len;
    size_t hs_sent;

    /* output: out_bytes of the repeated frame, starting out_off into it,
     * plus a small control-frame buffer written only at frame boundaries */
    uint64_t out_bytes;
    size_t out_off;
    uint8_t ctrl[256];
    size_t ctrl_len;

    /* frame parser */
    enum pstate ps;
    uint8_t hdr[14];
    size_t hdr_have;
    uint64_t left;          /* payload bytes left in current frame */
    int f_fin, f_op;        /* current frame */
    int in_msg, m_compressed;
    uint64_t m_len;         /* current message length (uncompressed) */
    uint8_t cbuf[125];      /* control frame payload */
    size_t cbuf_len;
    z_stream *inf;          /* only when deflate is negotiated */

    /* latency mode */
    uint64_t sent_ns;

    uint64_t received;      /* messages received on this connection */
} conn;

static int ep;
static conn *conns;
static int nconns;          /* total connection slots */
static int open_count, dead_count;

/* global counters */
static struct {
    int measuring;          /* inside the counted window */
    int running;            /* after all connections opened, before stop */
    uint64_t messages;      /* counted messages (round trips or deliveries) */
    uint64_t bytes;         /* counted payload bytes (uncompressed) */
    uint64_t errors;
    uint64_t deliveries_all;/* broadcast: all deliveries, for flow control */
    uint64_t bc_sent;       /* broadcast: messages sent by the sender */
    uint64_t *lat;          /* latency samples in ns */
    size_t lat_n, lat_cap;
} g;

static uint8_t scratch[256 * 1024]; /* read buffer */
static uint8_t inflate_out[64 * 1024];

static void set_out_interest(conn *c, int want) {
    if (c->want_out == want || c->state == C_DEAD) return;
    struct epoll_event ev = {.events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) fail("epoll_ctl mod: %s", strerror(errno));
    c->want_out = want;
}

static void conn_dead(conn *c, const char *why) {
    if (c->state == C_DEAD) return;
    /* A connection dropping while we still need it is an error for the cell. */
    if (g.running) {
        g.errors++;
        fprintf(stderr, "loadgen: connection %d lost: %s\n", c->idx, why);
    }
    if (c->state == C_OPEN) open_count--;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->state = C_DEAD;
    dead_count++;
}

/* Write as much pending output as the socket takes. */
static void flush_out(conn *c) {
    if (c->state != C_OPEN) return;
    for (;;) {
        if (c->ctrl_len && c->out_off == 0) {
            ssize_t w = write(c->fd, c->ctrl, c->ctrl_len);
            if (w < 0) {
                if (errno == EAGAIN) break;
                conn_dead(c, strerror(errno));
                return;
            }
            memmove(c->ctrl, c->ctrl + w, c->ctrl_len - (size_t)w);
            c->ctrl_len -= (size_t)w;
            if (c->ctrl_len) break;
            continue;
        }
        if (!c->out_bytes) break;
        size_t n = rep_len - c->out_off;
        if (n > c->out_bytes) n = (size_t)c->out_bytes;
        ssize_t w = write(c->fd, rep + c->out_off, n);
        if (w < 0) {
            if (errno == EAGAIN) break;
            conn_dead(c, strerror(errno));
            return;
        }
        c->out_bytes -= (uint64_t)w;
        c->out_off = (c->out_off + (size_t)w) % frame_len;
        if ((size_t)w < n) break;
    }
    set_out_interest(c, c->out_bytes > 0 || c->ctrl_len > 0);
}

static void queue_frames(conn *c, uint64_t n) {
    c->out_bytes += n * frame_len;
}

/* A masked control frame (pong/close) with a short payload. */
static void queue_ctrl(conn *c, int op, const uint8_t *p, size_t n) {
    if (n > 125 || c->ctrl_len + 6 + n > sizeof c->ctrl) return;
    uint8_t *h = c->ctrl + c->ctrl_len;
    h[0] = 0x80 | (uint8_t)op;
    h[1] = 0x80 | (uint8_t)n;
    memcpy(h + 2, MASK, 4);
    for (size_t i = 0; i < n; i++) h[6 + i] = p[i] ^ MASK[i & 3];
    c->ctrl_len += 6 + n;
}

/* ---------- what to do with a complete message ---------- */

static conn *sender; /* broadcast mode */

static void on_message(conn *c, uint64_t len) {
    c->received++;
    if (len != cfg.size) {
        g.errors++;
        if (g.errors < 5) fprintf(stderr, "loadgen: message of %llu bytes, expected %zu\n",
                                  (unsigned long long)len, cfg.size);
    }
    if (g.measuring) {
        g.messages++;
        g.bytes += len;
    }
    switch (cfg.mode) {
    case M_ECHO:
        if (g.running) queue_frames(c, 1);
        break;
    case M_LATENCY: {
        uint64_t t = now_ns();
        if (g.measuring && g.lat_n < g.lat_cap) g.lat[g.lat_n++] = t - c->sent_ns;
        if (g.running) {
            /* With a gap, the server has long gone idle when the next message arrives. */
            if (cfg.gap_us > 0) {
                uint64_t until = t + (uint64_t)cfg.gap_us * 1000u;
                while ((t = now_ns()) < until) {}
            }
            c->sent_ns = t;
            queue_frames(c, 1);
        }
        break;
    }
    case M_BROADCAST:
        g.deliveries_all++;
        break;
    case M_STORM:
        break;
    }
}

/* ---------- frame parser (server frames: unmasked) ---------- */

static void inflate_chunk(conn *c, const uint8_t *p, size_t n) {
    z_stream *z = c->inf;
    z->next_in = (Bytef *)p;
    z->avail_in = (uInt)n;
    do {
        z->next_out = inflate_out;
        z->avail_out = sizeof inflate_out;
        int r = inflate(z, Z_SYNC_FLUSH);
        if (r != Z_OK && r != Z_BUF_ERROR && r != Z_STREAM_END) {
            g.errors++;
            conn_dead(c, "inflate error");
            return;
        }
        c->m_len += sizeof inflate_out - z->avail_out;
        if (r == Z_STREAM_END) break;
    } while (z->avail_in > 0 || z->avail_out == 0);
}

static size_t header_need(const uint8_t *h) {
    size_t need = 2;
    uint8_t l = h[1] & 0x7f;
    if (l == 126) need += 2;
    else if (l == 127) need += 8;
    if (h[1] & 0x80) need += 4; /* servers must not mask, but parse it anyway */
    return need;
}

static void frame_end(conn *c) {
    int op = c->f_op;
    if (op >= 8) {
        if (op == 9) queue_ctrl(c, 10, c->cbuf, c->cbuf_len);      /* ping -> pong */
        else if (op == 8) conn_dead(c, "server sent close");
        return;
    }
    if (!c->f_fin) return;
    if (c->m_compressed) {
        static const uint8_t tail[4] = {0x00, 0x00, 0xff, 0xff};
        inflate_chunk(c, tail, 4);
        if (c->state == C_DEAD) return;
    }
    c->in_msg = 0;
    on_message(c, c->m_len);
}

static void header_done(conn *c) {
    const uint8_t *h = c->hdr;
    c->f_fin = h[0] >> 7;
    int rsv1 = (h[0] >> 6) & 1;
    c->f_op = h[0] & 0x0f;
    uint64_t len = h[1] & 0x7f;
    if (len == 126) len = ((uint64_t)h[2] << 8) | h[3];
    else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++) len = (len << 8) | h[2 + i];
    }
    c->left = len;
    c->cbuf_len = 0;
    if (c->f_op >= 8) {
        if (len > 125) { conn_dead(c, "bad control frame"); return; }
    } else if (c->f_op == 0) {
        if (!c->in_msg) { conn_dead(c, "unexpected continuation"); return; }
    } else if (c->f_op == 1 || c->f_op == 2) {
        if (c->in_msg) { conn_dead(c, "interleaved message"); return; }
        c->in_msg = 1;
        c->m_len = 0;
        c->m_compressed = rsv1;
        if (rsv1) {
            if (!c->inf) { conn_dead(c, "compressed frame without deflate"); return; }
            /* No context takeover: a fresh window per message.  With it, the
             * server's messages may refer back to earlier ones: keep the window. */
            if (!cfg.takeover) inflateReset(c->inf);
        }
    } else {
        conn_dead(c, "unknown opcode");
        return;
    }
    if (len == 0) frame_end(c);
    else c->ps = P_PAYLOAD;
}

static void parse(conn *c, const uint8_t *p, size_t n) {
    while (n > 0 && c->state == C_OPEN) {
        if (c->ps == P_HEADER) {
            /* Gather the 2..14 header bytes, possibly across reads. */
            if (c->hdr_have < 2) {
                size_t take = 2 - c->hdr_have;
                if (take > n) take = n;
                memcpy(c->hdr + c->hdr_have, p, take);
                c->hdr_have += take; p += take; n -= take;
                if (c->hdr_have < 2) return;
            }
            size_t need = header_need(c->hdr);
            if (c->hdr_have < need) {
                size_t take = need - c->hdr_have;
                if (take > n) take = n;
                memcpy(c->hdr + c->hdr_have, p, take);
                c->hdr_have += take; p += take; n -= take;
                if (c->hdr_have < need) return;
            }
            c->hdr_have = 0;
            header_done(c);
            continue;
        }
        size_t take = c->left < n ? (size_t)c->left : n;
        if (c->f_op >= 8) {
            memcpy(c->cbuf + c->cbuf_len, p, take);
            c->cbuf_len += take;
        } else if (c->m_compressed) {
            inflate_chunk(c, p, take);
        } else {
            c->m_len += take; /* payload content is not needed: skip it */
        }
        p += take; n -= take;
        c->left -= take;
        if (c->left == 0) {
            c->ps = P_HEADER;
            frame_end(c);
        }
    }
}

/* ---------- connecting and the handshake ---------- */

static int next_to_connect;     /* storm: next slot index to open */
static int connecting_now;      /* in C_CONNECTING or C_HANDSHAKE */
static uint64_t handshakes;
static double first_connect_t, last_open_t;

static void start_connect(conn *c) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) fail("socket: %s", strerror(errno));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg.port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    c->fd = fd;
    c->state = C_CONNECTING;
    c->want_out = 1;
    c->hs_len = c->hs_sent = 0;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
        fail("connect: %s", strerror(errno));
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) fail("epoll_ctl add: %s", strerror(errno));
    connecting_now++;
    if (first_connect_t == 0) first_connect_t = now_s();
}

static char request[1024];
static size_t request_len;

static void build_request(void) {
    int n = snprintf(request, sizeof request,
                     "GET %s HTTP/1.1\r\n"
                     "Host: 127.0.0.1:%d\r\n"
                     "Upgrade: websocket\r\n"
                     "Connection: Upgrade\r\n"
                     "Sec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n"
                     "%s"
                     "\r\n",
                     cfg.path, cfg.port, WS_KEY,
                     !cfg.deflate ? ""
                     : cfg.takeover ? "Sec-WebSocket-Extensions: permessage-deflate\r\n"
                                    : "Sec-WebSocket-Extensions: permessage-deflate; "
                                      "client_no_context_takeover; server_no_context_takeover\r\n");
    request_len = (size_t)n;
}

static void on_open(conn *c);

static void handshake_io(conn *c, uint32_t events) {
    if (c->state == C_CONNECTING) {
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) fail("connect to 127.0.0.1:%d failed: %s", cfg.port, strerror(err));
        c->state = C_HANDSHAKE;
    }
    if (c->hs_sent < request_len) {
        ssize_t w = write(c->fd, request + c->hs_sent, request_len - c->hs_sent);
        if (w < 0 && errno != EAGAIN) fail("handshake write: %s", strerror(errno));
        if (w > 0) c->hs_sent += (size_t)w;
        if (c->hs_sent == request_len) set_out_interest(c, 0);
    }
    if (!(events & EPOLLIN)) return;
    ssize_t r = read(c->fd, c->hs + c->hs_len, sizeof c->hs - 1 - c->hs_len);
    if (r == 0) fail("server closed during handshake");
    if (r < 0) {
        if (errno == EAGAIN) return;
        fail("handshake read: %s", strerror(errno));
    }
    c->hs_len += (size_t)r;
    c->hs[c->hs_len] = 0;
    char *end = strstr(c->hs, "\r\n\r\n");
    if (!end) {
        if (c->hs_len >= sizeof c->hs - 1) fail("handshake response too large");
        return;
    }
    *end = 0;
    if (strncmp(c->hs, "HTTP/1.1 101", 12) != 0) fail("handshake rejected: %.80s", c->hs);
    if (!strstr(c->hs, WS_ACCEPT)) fail("bad Sec-WebSocket-Accept");
    int has_pmd = strcasestr(c->hs, "permessage-deflate") != NULL;
    if (cfg.deflate && !has_pmd) fail("server did not accept permessage-deflate");
    if (!cfg.deflate && has_pmd) fail("server negotiated permessage-deflate unasked");
    if (cfg.deflate) {
        c->inf = calloc(1, sizeof *c->inf);
        if (!c->inf || inflateInit2(c->inf, -15) != Z_OK) fail("inflateInit2 failed");
    }
    size_t used = (size_t)(end + 4 - c->hs);
    size_t extra = c->hs_len - used;
    c->state = C_OPEN;
    c->ps = P_HEADER;
    open_count++;
    connecting_now--;
    handshakes++;
    last_open_t = now_s();
    if (extra) parse(c, (uint8_t *)c->hs + used, extra);
    on_open(c);
}

/* ---------- the main loop ---------- */

static void on_open(conn *c) {
    (void)c;
    /* Storm: keep `concurrency` handshakes going until all are opened. */
    if (cfg.mode == M_STORM && next_to_connect < nconns) start_connect(&conns[next_to_connect++]);
}

static void on_events(conn *c, uint32_t events) {
    if (c->state == C_DEAD) return;
    if (c->state != C_OPEN) {
        handshake_io(c, events);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        if (c->ps == P_PAYLOAD && c->f_op < 8 && !c->m_compressed && c->left >= 4096) {
            /* Inside a large uncompressed payload, whose bytes are only counted: let the
             * kernel drop them (TCP recv with MSG_TRUNC discards without copying), so the
             * load generator's own copy does not cap the large-message cells. */
            size_t want = c->left > (1u << 30) ? (1u << 30) : (size_t)c->left;
            ssize_t d = recv(c->fd, NULL, want, MSG_TRUNC | MSG_DONTWAIT);
            if (d > 0) {
                c->m_len += (uint64_t)d;
                c->left -= (uint64_t)d;
                if (c->left == 0) {
                    c->ps = P_HEADER;
                    frame_end(c);
                }
                if (c->state == C_OPEN && (c->out_bytes || c->ctrl_len)) flush_out(c);
                return;
            }
            /* 0 (EOF), an error or EAGAIN: the plain read below reports it. */
        }
        ssize_t r = read(c->fd, scratch, sizeof scratch);
        if (r == 0) { conn_dead(c, "EOF"); return; }
        if (r < 0) {
            if (errno != EAGAIN) conn_dead(c, strerror(errno));
            if (c->state == C_DEAD) return;
        } else {
            parse(c, scratch, (size_t)r);
        }
    }
    if (c->state == C_OPEN && (c->out_bytes || c->ctrl_len)) flush_out(c);
}

/* Broadcast flow control: keep at most `inflight` broadcasts outstanding,
 * counting a broadcast as done once `receivers` deliveries have arrived. */
static void top_up_sender(void) {
    if (!sender || sender->state != C_OPEN || !g.running) return;
    uint64_t receivers = (uint64_t)cfg.conns;
    uint64_t done = g.deliveries_all / receivers;
    uint64_t outstanding = g.bc_sent - done;
    if (outstanding >= (uint64_t)cfg.inflight) return;
    uint64_t n = (uint64_t)cfg.inflight - outstanding;
    g.bc_sent += n;
    queue_frames(sender, n);
    flush_out(sender);
}

static void loop_until(double deadline, int (*done)(void)) {
    struct epoll_event evs[512];
    for (;;) {
        if (done && done()) return;
        double t = now_s();
        if (t >= deadline) return;
        int timeout = (int)((deadline - t) * 1000.0) + 1;
        if (timeout > 100) timeout = 100;
        if (cfg.spin) timeout = 0;
        int n = epoll_wait(ep, evs, 512, timeout);
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("epoll_wait: %s", strerror(errno));
        }
        for (int i = 0; i < n; i++) on_events(evs[i].data.ptr, evs[i].events);
        if (cfg.mode == M_BROADCAST) top_up_sender();
        if (g.running && dead_count > 0) fail("%d connection(s) lost during the run", dead_count);
    }
}

static int all_open(void) { return open_count == nconns; }

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(double q) {
    if (!g.lat_n) return 0;
    size_t i = (size_t)(q * (double)(g.lat_n - 1) + 0.5);
    return (double)g.lat[i] / 1000.0;
}

static const char *mode_name(void) {
    static const char *names[] = {"echo", "latency", "broadcast", "storm"};
    return names[cfg.mode];
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --port P [--mode echo|latency|broadcast|storm] [--path /]\n"
            "  [--conns N] [--inflight K] [--size BYTES] [--binary] [--deflate]\n"
            "  [--deflate-takeover]\n"
            "  [--warmup S] [--duration S] [--concurrency C] [--hold S]\n"
            "  [--connect-timeout S] [--server-pid PID] [--spin] [--gap-us US]\n");
    exit(2);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v && (i++, 1))
        if (ARG("--port")) cfg.port = atoi(v);
        else if (ARG("--mode")) {
            if (!strcmp(v, "echo")) cfg.mode = M_ECHO;
            else if (!strcmp(v, "latency")) cfg.mode = M_LATENCY;
            else if (!strcmp(v, "broadcast")) cfg.mode = M_BROADCAST;
            else if (!strcmp(v, "storm")) cfg.mode = M_STORM;
            else usage();
        }
        else if (ARG("--path")) cfg.path = v;
        else if (ARG("--conns")) cfg.conns = atoi(v);
        else if (ARG("--inflight")) cfg.inflight = atoi(v);
        else if (ARG("--size")) cfg.size = (size_t)strtoull(v, NULL, 10);
        else if (ARG("--warmup")) cfg.warmup = atof(v);
        else if (ARG("--duration")) cfg.duration = atof(v);
        else if (ARG("--concurrency")) cfg.concurrency = atoi(v);
        else if (ARG("--hold")) cfg.hold = atof(v);
        else if (ARG("--connect-timeout")) cfg.connect_timeout = atof(v);
        else if (ARG("--server-pid")) cfg.server_pid = atoi(v);
        else if (ARG("--gap-us")) cfg.gap_us = atoi(v);
        else if (!strcmp(a, "--binary")) cfg.binary = 1;
        else if (!strcmp(a, "--deflate")) cfg.deflate = 1;
        else if (!strcmp(a, "--deflate-takeover")) cfg.deflate = cfg.takeover = 1;
        else if (!strcmp(a, "--spin")) cfg.spin = 1;
        else usage();
#undef ARG
    }
    /* Hard bounds keep a typo from turning into a runaway process. */
    if (cfg.port <= 0 || cfg.port > 65535) usage();
    if (cfg.conns < 1 || cfg.conns > 100000) fail("--conns out of range");
    if (cfg.inflight < 1 || cfg.inflight > 4096) fail("--inflight out of range");
    if (cfg.size > (64u << 20)) fail("--size out of range (max 64 MiB)");
    if (cfg.duration <= 0 || cfg.duration > 600) fail("--duration out of range");
    if (cfg.warmup < 0 || cfg.warmup > 60) fail("--warmup out of range");
    if (cfg.hold < 0 || cfg.hold > 600) fail("--hold out of range");
    if (cfg.concurrency < 1) cfg.concurrency = 1;
    if (cfg.mode == M_LATENCY) cfg.conns = 1, cfg.inflight = 1;
}

/* Many connections need many descriptors: lift the soft limit to the hard one. */
static void raise_nofile(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    getrlimit(RLIMIT_NOFILE, &rl);
    if ((rlim_t)cfg.conns + 64 > rl.rlim_cur)
        fail("need %d file descriptors, limit is %llu", cfg.conns + 64, (unsigned long long)rl.rlim_cur);
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    raise_nofile();
    build_frame();
    build_request();
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) fail("epoll_create1: %s", strerror(errno));

    nconns = cfg.conns + (cfg.mode == M_BROADCAST ? 1 : 0);
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!conns) fail("out of memory");
    for (int i = 0; i < nconns; i++) conns[i].idx = i;
    if (cfg.mode == M_LATENCY) {
        g.lat_cap = 4u << 20; /* 4M samples: far more than one run produces */
        g.lat = xmalloc(g.lat_cap * sizeof *g.lat);
    }

    /* Phase 1: connect.  Storm mode measures this phase; the others just need
     * every connection open before the clock starts. */
    double cpu0_self = self_cpu_s(), cpu0_srv = proc_cpu_s(cfg.server_pid), cpu0_all = machine_busy_s();
    double t_connect0 = now_s();
    int initial = cfg.mode == M_STORM ? (cfg.concurrency < nconns ? cfg.concurrency : nconns) : nconns;
    for (next_to_connect = 0; next_to_connect < initial; next_to_connect++)
        start_connect(&conns[next_to_connect]);
    loop_until(t_connect0 + cfg.connect_timeout, all_open);
    if (!all_open())
        fail("only %d of %d connections opened within %.0f s", open_count, nconns, cfg.connect_timeout);

    if (cfg.mode == M_STORM) {
        double t1 = now_s();
        double wall = last_open_t - first_connect_t;
        double cpu_self = (self_cpu_s() - cpu0_self) / (t1 - t_connect0);
        double srv1 = proc_cpu_s(cfg.server_pid);
        double cpu_srv = cpu0_srv >= 0 && srv1 >= 0 ? (srv1 - cpu0_srv) / (t1 - t_connect0) : -1;
        double all1 = machine_busy_s();
        double cpu_other = cpu0_all >= 0 && all1 >= 0 && cpu_srv >= 0
                               ? (all1 - cpu0_all) / (t1 - t_connect0) - cpu_srv - cpu_self : -1;
        if (cpu_other < 0 && cpu_other > -0.05) cpu_other = 0;
        printf("{\"ok\":true,\"mode\":\"storm\",\"conns\":%d,\"concurrency\":%d,\"deflate\":%s,"
               "\"seconds\":%.4f,\"handshakes\":%llu,\"handshakes_per_sec\":%.1f,"
               "\"loadgen_cpu\":%.4f,\"server_cpu\":%.4f,\"other_cpu\":%.4f,\"errors\":%llu}\n",
               nconns, cfg.concurrency, cfg.deflate ? "true" : "false", wall,
               (unsigned long long)handshakes, wall > 0 ? (double)handshakes / wall : 0,
               cpu_self, cpu_srv, cpu_other, (unsigned long long)g.errors);
        fflush(stdout);
        /* Hold the idle connections until told (stdin line or EOF) or timeout. */
        struct pollfd pfd = {.fd = 0, .events = POLLIN};
        poll(&pfd, 1, (int)(cfg.hold * 1000));
        return 0;
    }

    /* Phase 2: start the traffic, warm up, then count for `duration`. */
    g.running = 1;
    if (cfg.mode == M_BROADCAST) {
        sender = &conns[nconns - 1];
        top_up_sender();
    } else {
        uint64_t t = now_ns();
        for (int i = 0; i < nconns; i++) {
            conns[i].sent_ns = t;
            queue_frames(&conns[i], (uint64_t)cfg.inflight);
            flush_out(&conns[i]);
        }
    }
    double t0 = now_s();
    loop_until(t0 + cfg.warmup, NULL);

    double m0 = now_s();
    double self0 = self_cpu_s(), srv0 = proc_cpu_s(cfg.server_pid), all0 = machine_busy_s();
    g.measuring = 1;
    loop_until(m0 + cfg.duration, NULL);
    g.measuring = 0;
    double m1 = now_s();
    double self1 = self_cpu_s(), srv1 = proc_cpu_s(cfg.server_pid), all1 = machine_busy_s();
    g.running = 0;

    double secs = m1 - m0;
    double cpu_self = (self1 - self0) / secs;
    double cpu_srv = srv0 >= 0 && srv1 >= 0 ? (srv1 - srv0) / secs : -1;
    double cpu_other = all0 >= 0 && all1 >= 0 && cpu_srv >= 0 ? (all1 - all0) / secs - cpu_srv - cpu_self : -1;
    if (cpu_other < 0 && cpu_other > -0.05) cpu_other = 0; /* tick rounding */

    printf("{\"ok\":true,\"mode\":\"%s\",\"conns\":%d,\"inflight\":%d,\"size\":%zu,"
           "\"binary\":%s,\"deflate\":%s,\"frame_bytes\":%zu,\"seconds\":%.4f,"
           "\"messages\":%llu,\"bytes\":%llu,\"msgs_per_sec\":%.1f,\"mb_per_sec\":%.3f,",
           mode_name(), cfg.conns, cfg.inflight, cfg.size, cfg.binary ? "true" : "false",
           cfg.deflate ? "true" : "false", frame_len, secs,
           (unsigned long long)g.messages, (unsigned long long)g.bytes,
           (double)g.messages / secs, (double)g.bytes / secs / 1e6);
    if (cfg.mode == M_LATENCY) {
        qsort(g.lat, g.lat_n, sizeof *g.lat, cmp_u64);
        printf("\"samples\":%zu,\"p50_us\":%.2f,\"p99_us\":%.2f,\"max_us\":%.2f,",
               g.lat_n, pct_us(0.50), pct_us(0.99), pct_us(1.0));
    }
    printf("\"loadgen_cpu\":%.4f,\"server_cpu\":%.4f,\"other_cpu\":%.4f,\"errors\":%llu}\n",
           cpu_self, cpu_srv, cpu_other, (unsigned long long)g.errors);
    fflush(stdout);
    return g.errors && g.messages == 0 ? 1 : 0;
}
