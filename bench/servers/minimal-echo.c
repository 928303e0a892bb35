/*
 * Load-generator ceiling check, C edition: the least work a "WebSocket echo"
 * server can do.  It answers the opening handshake and then writes every byte
 * it reads straight back (the client's masked frames return masked, which
 * bench/loadgen.c accepts).  Not a WebSocket server; see minimal-echo.ts.
 *
 * It answers every handshake with the Sec-WebSocket-Accept for the load
 * generator's fixed key (the RFC 6455 example key), which keeps SHA-1 out of
 * this file; it is only ever driven by bench/loadgen.c.
 *
 * Listens on 127.0.0.1 (port from argv[1], default 0 = ephemeral), prints
 * "ready <port>" on stdout, and exits when stdin closes, so it never outlives
 * the runner.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char RESPONSE[] =
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

typedef struct { int fd; int open; char head[4096]; size_t head_len; } peer;

static char buf[256 * 1024];

/* Best effort: a blocking-free echo that drops the connection if the client
 * stops reading (the load generator never does). */
static void echo_bytes(peer *p, const char *data, size_t n) {
    while (n > 0) {
        ssize_t w = write(p->fd, data, n);
        if (w < 0) {
            if (errno == EAGAIN) continue; /* spin: the client drains quickly */
            close(p->fd); p->fd = -1; return;
        }
        data += w; n -= (size_t)w;
    }
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 4096) < 0) { perror("listen"); return 1; }
    socklen_t sl = sizeof sa;
    getsockname(ls, (struct sockaddr *)&sa, &sl);
    printf("ready %d\n", ntohs(sa.sin_port));
    fflush(stdout);

    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    static peer stdin_marker;
    ev.data.ptr = &stdin_marker;
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);

    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            peer *p = evs[i].data.ptr;
            if (p == &stdin_marker) return 0; /* runner closed our stdin (or died) */
            if (!p) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    peer *np = calloc(1, sizeof *np);
                    np->fd = fd;
                    struct epoll_event pe = {.events = EPOLLIN, .data.ptr = np};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &pe);
                }
                continue;
            }
            if (p->fd < 0) continue;
            ssize_t r = read(p->fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                close(p->fd); p->fd = -1; continue; /* leaks the struct; runs are short */
            }
            if (p->open) { echo_bytes(p, buf, (size_t)r); continue; }
            size_t take = (size_t)r < sizeof p->head - 1 - p->head_len ? (size_t)r : sizeof p->head - 1 - p->head_len;
            memcpy(p->head + p->head_len, buf, take);
            p->head_len += take;
            p->head[p->head_len] = 0;
            char *end = strstr(p->head, "\r\n\r\n");
            if (!end) continue;
            p->open = 1;
            echo_bytes(p, RESPONSE, sizeof RESPONSE - 1);
            size_t used = (size_t)(end + 4 - p->head);
            if (p->fd >= 0 && p->head_len > used) echo_bytes(p, p->head + used, p->head_len - used);
        }
    }
}
