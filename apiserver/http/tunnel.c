/* See tunnel.h. The relay is one poll loop in the connection's thread: each direction has
 * a buffer of RELAY_BUF bytes that is filled only when it has room, so a slow reader on
 * one side slows the writer on the other instead of growing memory. */
#include "apiserver/http/tunnel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RELAY_BUF (64 * 1024)
#define DRAIN_MS 10000 /* one side ended: how long the other gets to take what is in flight */

struct header {
    char *name, *value;
};

struct kc_tunnel {
    int fd;
    const volatile int *stopping;
    struct header *h;
    size_t nh;
    uint8_t *early;
    size_t early_len;
};

struct kc_tunnel *kc_tunnel_new(int fd, const volatile int *stopping)
{
    struct kc_tunnel *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->fd = fd;
    t->stopping = stopping;
    return t;
}

void kc_tunnel_add_header(struct kc_tunnel *t, const char *name, const char *value)
{
    t->h = realloc(t->h, (t->nh + 1) * sizeof *t->h);
    if (!t->h)
        abort();
    t->h[t->nh].name = strdup(name);
    t->h[t->nh].value = strdup(value);
    if (!t->h[t->nh].name || !t->h[t->nh].value)
        abort();
    t->nh++;
}

size_t kc_tunnel_header_count(const struct kc_tunnel *t)
{
    return t->nh;
}

void kc_tunnel_header(const struct kc_tunnel *t, size_t i, const char **name, const char **value)
{
    *name = t->h[i].name;
    *value = t->h[i].value;
}

void kc_tunnel_set_early(struct kc_tunnel *t, const void *data, size_t n)
{
    free(t->early);
    t->early = NULL;
    t->early_len = 0;
    if (!n)
        return;
    t->early = malloc(n);
    if (!t->early)
        abort();
    memcpy(t->early, data, n);
    t->early_len = n;
}

void kc_tunnel_free(struct kc_tunnel *t)
{
    if (!t)
        return;
    if (t->fd >= 0)
        close(t->fd);
    for (size_t i = 0; i < t->nh; i++) {
        free(t->h[i].name);
        free(t->h[i].value);
    }
    free(t->h);
    free(t->early);
    free(t);
}

/* ---- a plain socket client ---- */

static ssize_t sock_read(void *ctx, void *buf, size_t n)
{
    ssize_t r = recv(*(int *)ctx, buf, n, 0);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return KC_TUNNEL_AGAIN;
    return r;
}

static ssize_t sock_write(void *ctx, const void *buf, size_t n)
{
    ssize_t w = send(*(int *)ctx, buf, n, MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return KC_TUNNEL_AGAIN;
    return w;
}

void kc_tunnel_client_socket(struct kc_tunnel_client *c, int fd)
{
    memset(c, 0, sizeof *c);
    c->fd = fd;
    c->read = sock_read;
    c->write = sock_write;
    c->ctx = &c->fd;
}

/* ---- the relay ---- */

struct buf {
    uint8_t *p;
    size_t off, len; /* bytes [off, len) wait to be written */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void buf_put(struct buf *b, const void *data, size_t n)
{
    if (b->off == b->len)
        b->off = b->len = 0;
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

/* Room for a read at the end of b (moving what waits to the front first). */
static size_t buf_room(struct buf *b)
{
    if (b->off == b->len) {
        b->off = b->len = 0;
    } else if (b->off && b->len == RELAY_BUF) {
        memmove(b->p, b->p + b->off, b->len - b->off);
        b->len -= b->off;
        b->off = 0;
    }
    return RELAY_BUF - b->len;
}

void kc_tunnel_relay(struct kc_tunnel *t, const struct kc_tunnel_client *c, const void *early,
                     size_t n)
{
    struct buf up = {malloc(RELAY_BUF), 0, 0};   /* client -> backend */
    struct buf down = {malloc(RELAY_BUF), 0, 0}; /* backend -> client */
    bool client_end = false, backend_end = false;
    long long drain_until = 0;
    const uint8_t *e = early, *be = t->early;
    size_t en = n, ben = t->early_len;
    if (!up.p || !down.p)
        abort();
    fcntl(t->fd, F_SETFL, fcntl(t->fd, F_GETFL) | O_NONBLOCK);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    while (!*t->stopping) {
        /* early bytes go through the buffers as they make room */
        if (en && buf_room(&up)) {
            size_t k = en < buf_room(&up) ? en : buf_room(&up);
            buf_put(&up, e, k);
            e += k;
            en -= k;
        }
        if (ben && buf_room(&down)) {
            size_t k = ben < buf_room(&down) ? ben : buf_room(&down);
            buf_put(&down, be, k);
            be += k;
            ben -= k;
        }
        if (down.len > down.off) {
            ssize_t w = c->write(c->ctx, down.p + down.off, down.len - down.off);
            if (w == -1)
                break;
            if (w > 0)
                down.off += (size_t)w;
        }
        if (up.len > up.off) {
            ssize_t w = send(t->fd, up.p + up.off, up.len - up.off, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                break;
            if (w > 0)
                up.off += (size_t)w;
        }
        /* one side ended: done once what it sent has reached the other */
        if ((backend_end && down.off == down.len && !ben) ||
            (client_end && up.off == up.len && !en))
            break;
        if ((backend_end || client_end) && !drain_until)
            drain_until = now_ms() + DRAIN_MS;
        if (drain_until && now_ms() > drain_until)
            break;

        bool want_client = !client_end && buf_room(&up) > 0;
        bool want_backend = !backend_end && buf_room(&down) > 0;
        bool ready = want_client && c->pending && c->pending(c->ctx);
        struct pollfd p[2] = {
            {.fd = c->fd,
             .events = (short)((want_client ? POLLIN : 0) | (down.len > down.off ? POLLOUT : 0))},
            {.fd = t->fd,
             .events = (short)((want_backend ? POLLIN : 0) | (up.len > up.off ? POLLOUT : 0))},
        };
        int pr = poll(p, 2, ready ? 0 : 1000);
        if (pr < 0 && errno != EINTR)
            break;
        if (want_client && (ready || (pr > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR))))) {
            size_t room = buf_room(&up);
            ssize_t r = c->read(c->ctx, up.p + up.len, room);
            if (r > 0)
                up.len += (size_t)r;
            else if (r != KC_TUNNEL_AGAIN)
                client_end = true;
        }
        if (want_backend && pr > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            size_t room = buf_room(&down);
            ssize_t r = recv(t->fd, down.p + down.len, room, 0);
            if (r > 0)
                down.len += (size_t)r;
            else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
                backend_end = true;
        }
    }
    free(up.p);
    free(down.p);
}
