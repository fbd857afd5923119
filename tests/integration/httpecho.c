/* kubec-httpecho: a small keep-alive HTTP/1.1 server for the ingress tests and benchmark.
 *
 *   kubec-httpecho ADDR PORT NAME
 *
 * GET /_conns    the number of connections accepted so far
 * GET /_headers  the request head as received
 * GET /_sleep/MS answers after MS milliseconds
 * GET /_big/N    N bytes of "0123456789abcdef" repeated
 * POST, PUT      echoes the (decoded) body
 * anything else  "NAME PATH\n"
 * Every answer carries "X-Backend: NAME". One thread, epoll; bodies by Content-Length or
 * chunked (parsed with the ingress's own parser). */
#include "ingress/http1_parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
    int fd;
    char *in;
    size_t len, cap;
    char *out;
    size_t olen, ocap, ooff;
    long long wake_at; /* a /_sleep answer is due */
    char *pending;     /* that answer */
    size_t pending_len;
};

static const char *name;
static unsigned long accepted;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add(char **b, size_t *len, size_t *cap, const char *d, size_t n)
{
    if (*len + n > *cap) {
        size_t c = *cap ? *cap : 4096;
        while (c < *len + n)
            c *= 2;
        *b = realloc(*b, c);
        if (!*b)
            abort();
        *cap = c;
    }
    memcpy(*b + *len, d, n);
    *len += n;
}

static void respond(struct conn *c, int status, const char *body, size_t blen, bool close_after)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nX-Backend: %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     status, name, blen, close_after ? "Connection: close\r\n" : "");
    add(&c->out, &c->olen, &c->ocap, head, (size_t)n);
    add(&c->out, &c->olen, &c->ocap, body, blen);
}

/* Handles complete requests in c->in. Returns -1 to close. */
static int process(struct conn *c)
{
    while (c->len && !c->pending) {
        size_t scan = 0;
        size_t end = h1_head_end(c->in, c->len, &scan);
        if (!end)
            return c->len > 65536 ? -1 : 0;
        struct h1_message m;
        if (h1_parse_request(c->in, end, &m) != 0) {
            respond(c, 400, "bad\n", 4, true);
            return -1;
        }
        char *body = NULL;
        size_t blen = 0, bcap = 0, used = end;
        if (m.framing == H1_BODY_LENGTH) {
            if (c->len - end < m.content_length)
                return 0;
            add(&body, &blen, &bcap, c->in + end, m.content_length);
            used = end + m.content_length;
        } else if (m.framing == H1_BODY_CHUNKED) {
            /* parsed once the last chunk is in (the ingress sends no trailers): parsing on
             * every read would make large uploads quadratic */
            if (c->len - end < 5 || memcmp(c->in + c->len - 5, "0\r\n\r\n", 5) != 0)
                return 0;
            struct h1_chunked ch;
            h1_chunked_init(&ch);
            size_t pos = end;
            int done = 0;
            while (pos < c->len && !done) {
                size_t u, dl;
                const char *d;
                done = h1_chunked_feed(&ch, c->in + pos, c->len - pos, &u, &d, &dl);
                if (done < 0) {
                    free(body);
                    return -1;
                }
                if (dl)
                    add(&body, &blen, &bcap, d, dl);
                pos += u;
            }
            if (!done) {
                free(body);
                return 0; /* the whole body is parsed again when more came: fine here */
            }
            used = pos;
        }
        char path[1024];
        snprintf(path, sizeof path, "%.*s", (int)m.target.len, m.target.p);
        bool close_after = m.conn_close;
        if (h1_str_ieq(m.method, "post") || h1_str_ieq(m.method, "put")) {
            respond(c, 200, body ? body : "", blen, close_after);
        } else if (strcmp(path, "/_conns") == 0) {
            char t[32];
            int n = snprintf(t, sizeof t, "%lu\n", accepted);
            respond(c, 200, t, (size_t)n, close_after);
        } else if (strcmp(path, "/_headers") == 0) {
            respond(c, 200, c->in, end, close_after);
        } else if (strncmp(path, "/_big/", 6) == 0) {
            size_t n = (size_t)atol(path + 6);
            char *big = malloc(n + 1);
            if (!big)
                abort();
            for (size_t i = 0; i < n; i++)
                big[i] = "0123456789abcdef"[i % 16];
            respond(c, 200, big, n, close_after);
            free(big);
        } else if (strncmp(path, "/_sleep/", 8) == 0) {
            char t[256];
            int n = snprintf(t, sizeof t, "%s slept\n", name);
            char *saved_out = c->out;
            size_t so = c->olen, sc = c->ocap;
            c->out = NULL, c->olen = c->ocap = 0;
            respond(c, 200, t, (size_t)n, close_after);
            c->pending = c->out;
            c->pending_len = c->olen;
            c->out = saved_out, c->olen = so, c->ocap = sc;
            c->wake_at = now_ms() + atol(path + 8);
        } else {
            char t[1200];
            int n = snprintf(t, sizeof t, "%s %s\n", name, path);
            respond(c, 200, t, (size_t)n, close_after);
        }
        free(body);
        memmove(c->in, c->in + used, c->len - used);
        c->len -= used;
        if (close_after)
            return -1;
    }
    return 0;
}

static int epfd;

/* Sends what the socket takes; polls for writability while output is left. */
static int flush(struct conn *c)
{
    while (c->ooff < c->olen) {
        ssize_t n = send(c->fd, c->out + c->ooff, c->olen - c->ooff, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno != EAGAIN)
                return -1;
            struct epoll_event e = {.events = EPOLLOUT, .data.fd = c->fd};
            epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
            return 0;
        }
        c->ooff += (size_t)n;
    }
    c->ooff = c->olen = 0;
    struct epoll_event e = {.events = EPOLLIN, .data.fd = c->fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &e);
    return 0;
}

#define MAXC 4096
static struct conn *conns[MAXC];

static void drop(int ep, struct conn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->fd < MAXC)
        conns[c->fd] = NULL;
    free(c->in);
    free(c->out);
    free(c->pending);
    free(c);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: kubec-httpecho ADDR PORT NAME\n");
        return 2;
    }
    name = argv[3];
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &sa.sin_addr);
    if (bind(ls, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(ls, 1024) != 0) {
        perror("httpecho: listen");
        return 1;
    }
    int ep = epoll_create1(0);
    epfd = ep;
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = -1};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    for (;;) {
        struct epoll_event evs[64];
        int n = epoll_wait(ep, evs, 64, 10);
        long long now = now_ms();
        for (int fd = 0; fd < MAXC; fd++) { /* due /_sleep answers */
            struct conn *c = conns[fd];
            if (c && c->pending && c->wake_at <= now) {
                add(&c->out, &c->olen, &c->ocap, c->pending, c->pending_len);
                free(c->pending);
                c->pending = NULL;
                if (flush(c) != 0 || process(c) != 0 || flush(c) != 0)
                    drop(ep, c);
            }
        }
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == -1) {
                int fd;
                while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (fd >= MAXC) {
                        close(fd);
                        continue;
                    }
                    accepted++;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    conns[fd] = c;
                    struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            struct conn *c = conns[evs[i].data.fd];
            if (!c)
                continue;
            if (evs[i].events & EPOLLOUT) {
                if (flush(c) != 0) {
                    drop(ep, c);
                    continue;
                }
                if (!(evs[i].events & EPOLLIN))
                    continue;
            }
            if (c->olen) /* answer the next request once this one is out */
                continue;
            char buf[65536];
            ssize_t r = recv(c->fd, buf, sizeof buf, 0);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN)
                    continue;
                drop(ep, c);
                continue;
            }
            add(&c->in, &c->len, &c->cap, buf, (size_t)r);
            int rc = process(c);
            if (flush(c) != 0 || rc != 0)
                drop(ep, c);
        }
    }
}
