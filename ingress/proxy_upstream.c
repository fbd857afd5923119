/* The backend side of the proxy: HTTP/1.1 connections to endpoints, kept alive in a pool
 * per endpoint, and the exchange (one request and its response) riding on one of them.
 *
 * An exchange whose connection fails before any byte of the response arrived is tried
 * once more on a new connection to the next endpoint, when nothing of it is lost: the
 * connect failed (nothing was sent), or the request has no body (its head is kept). */
#include "ingress/proxy.h"

#include <errno.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_RESPONSE_HEAD (64 * 1024)
#define READ_CHUNK (64 * 1024)

enum rstate { R_HEAD, R_LENGTH, R_CHUNKED, R_CLOSE };

struct pool;

struct bconn {
    struct px_io io;
    struct pool *pool;
    struct px_up *x;     /* the exchange, NULL while idle */
    struct bconn *pnext; /* next idle connection of the pool */
    bool connecting, wrote_any, got_any, keepalive;
    struct px_buf out, in;
    enum rstate rs;
    uint64_t remaining;
    struct h1_chunked ch;
    size_t scan;
};

struct pool {
    char key[64];
    struct bconn *idle;
    int nidle;
    struct pool *next;
};

struct px_up {
    struct px_loop *l;
    const struct px_up_cbs *cbs;
    void *ctx;
    struct bconn *c;
    struct px_buf head; /* a copy of the request head, for a retry (body-less requests) */
    struct px_endpoint alt;
    enum h1_framing body;
    bool head_method, body_done, paused, head_delivered, retried;
};

/* The pools are the loop's (each loop thread has its own connections). */
static struct pool *pool_get(struct px_loop *l, const char *key)
{
    struct pool **pools = (struct pool **)px_loop_pools(l);
    for (struct pool *p = *pools; p; p = p->next)
        if (strcmp(p->key, key) == 0)
            return p;
    struct pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    snprintf(p->key, sizeof p->key, "%s", key);
    p->next = *pools;
    *pools = p;
    return p;
}

void px_pools_free(struct px_loop *l)
{
    struct pool **pools = (struct pool **)px_loop_pools(l);
    while (*pools) {
        struct pool *p = *pools;
        *pools = p->next;
        free(p);
    }
}

static void pool_remove(struct bconn *c)
{
    struct pool *p = c->pool;
    for (struct bconn **pp = &p->idle; *pp; pp = &(*pp)->pnext) {
        if (*pp == c) {
            *pp = c->pnext;
            p->nidle--;
            return;
        }
    }
}

static void bconn_destroy(struct px_io *io)
{
    struct bconn *c = (struct bconn *)io;
    px_buf_free(&c->out);
    px_buf_free(&c->in);
    free(c);
}

static void bconn_close(struct bconn *c)
{
    if (!c->x && !c->io.dead)
        pool_remove(c);
    px_io_kill(&c->io);
}

static void bconn_event(struct px_io *io, uint32_t events);
static void bconn_timeout(struct px_io *io);

static struct bconn *bconn_connect(struct px_loop *l, const struct px_endpoint *ep)
{
    struct pool *p = pool_get(l, ep->key);
    if (!p)
        return NULL;
    int fd = socket(ep->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct bconn *c = calloc(1, sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->pool = p;
    c->io.fd = fd;
    c->io.on_event = bconn_event;
    c->io.on_timeout = bconn_timeout;
    c->io.destroy = bconn_destroy;
    c->connecting = true;
    int rc = connect(fd, (const struct sockaddr *)&ep->sa, ep->salen);
    if ((rc != 0 && errno != EINPROGRESS) || px_io_add(l, &c->io, EPOLLOUT | EPOLLIN) != 0) {
        /* refused at once (loopback): the caller decides between a retry and 502 */
        close(fd);
        free(c);
        return NULL;
    }
    c->io.deadline = px_now_ms() + px_loop_settings(l)->connect_ms;
    __atomic_fetch_add(&px_stat_backend_connects, 1, __ATOMIC_RELAXED);
    return c;
}

static void up_free(struct px_up *x)
{
    px_buf_free(&x->head);
    free(x);
}

/* Ends the exchange with an error and frees it; the connection is closed. */
static void up_fail(struct px_up *x, int status)
{
    struct bconn *c = x->c;
    if (c) {
        c->x = NULL;
        x->c = NULL;
        px_io_kill(&c->io);
    }
    const struct px_up_cbs *cbs = x->cbs;
    void *ctx = x->ctx;
    int st = x->head_delivered ? 0 : status;
    up_free(x);
    cbs->on_error(ctx, st);
}

static void bconn_want(struct bconn *c)
{
    uint32_t ev = 0;
    if (c->connecting || px_buf_size(&c->out))
        ev |= EPOLLOUT;
    if (!c->connecting && !(c->x && c->x->paused))
        ev |= EPOLLIN | EPOLLRDHUP;
    px_io_mod(&c->io, ev);
}

static void up_attach(struct px_up *x, struct bconn *c)
{
    x->c = c;
    c->x = x;
}

/* The connection broke before any response byte (or the connect failed): retry once if
 * nothing is lost, else fail with status. */
static void up_broken(struct px_up *x, int status)
{
    struct bconn *c = x->c;
    if (!x->retried && c && !c->got_any && (!c->wrote_any || x->body == H1_BODY_NONE)) {
        struct px_buf out = {0};
        if (!c->wrote_any) {
            out = c->out; /* nothing was sent: move every byte over */
            memset(&c->out, 0, sizeof c->out);
        } else if (px_buf_add(&out, x->head.p + x->head.off, px_buf_size(&x->head)) != 0) {
            goto fail;
        }
        struct bconn *nc = bconn_connect(x->l, &x->alt);
        if (!nc) {
            px_buf_free(&out);
            goto fail;
        }
        x->retried = true;
        c->x = NULL;
        px_io_kill(&c->io);
        px_buf_free(&nc->out);
        nc->out = out;
        up_attach(x, nc);
        bconn_want(nc);
        return;
    }
fail:
    up_fail(x, status);
}

/* The response is complete: the connection goes back to the pool when it can. */
static void up_done(struct bconn *c)
{
    struct px_up *x = c->x;
    bool reuse =
        c->keepalive && x->body_done && px_buf_size(&c->in) == 0 && px_buf_size(&c->out) == 0;
    c->x = NULL;
    x->c = NULL;
    const struct px_loop *l = c->io.loop;
    if (reuse && c->pool->nidle < px_loop_settings(l)->pool_max_idle) {
        c->pnext = c->pool->idle;
        c->pool->idle = c;
        c->pool->nidle++;
        c->io.deadline = px_now_ms() + px_loop_settings(l)->pool_idle_ms;
        px_io_mod(&c->io, EPOLLIN | EPOLLRDHUP); /* a close by the backend is noticed */
    } else {
        px_io_kill(&c->io);
    }
    const struct px_up_cbs *cbs = x->cbs;
    void *ctx = x->ctx;
    up_free(x);
    cbs->on_end(ctx);
}

/* Delivers body bytes; false when the exchange is gone (the frontend cancelled). */
static bool deliver(struct bconn *c, struct px_up *x, const char *p, size_t n)
{
    if (n)
        x->cbs->on_data(x->ctx, p, n);
    return c->x == x && !c->io.dead;
}

/* Parses and forwards what is in c->in. Returns when more bytes are needed, the exchange
 * ended, or the frontend paused it. */
static void process_in(struct bconn *c)
{
    while (c->x && !c->x->paused && !c->io.dead) {
        struct px_up *x = c->x;
        struct px_buf *in = &c->in;
        if (c->rs == R_HEAD) {
            if (!px_buf_size(in))
                return;
            size_t end = h1_head_end(in->p + in->off, px_buf_size(in), &c->scan);
            if (!end) {
                if (px_buf_size(in) > MAX_RESPONSE_HEAD)
                    up_fail(x, 502);
                return;
            }
            struct h1_message *m = malloc(sizeof *m);
            if (!m || h1_parse_response(in->p + in->off, end, x->head_method, m) != 0) {
                free(m);
                up_fail(x, 502);
                return;
            }
            c->scan = 0;
            if (m->status < 200) { /* 100 Continue and friends: not forwarded */
                free(m);
                px_buf_consume(in, end);
                continue;
            }
            c->keepalive = !m->conn_close && m->framing != H1_BODY_CLOSE;
            c->rs = m->framing == H1_BODY_LENGTH    ? R_LENGTH
                    : m->framing == H1_BODY_CHUNKED ? R_CHUNKED
                    : m->framing == H1_BODY_CLOSE   ? R_CLOSE
                                                    : R_HEAD;
            c->remaining = m->content_length;
            h1_chunked_init(&c->ch);
            x->head_delivered = true;
            x->cbs->on_head(x->ctx, m);
            free(m);
            if (c->x != x || c->io.dead)
                return;
            px_buf_consume(in, end);
            if (c->rs == R_HEAD) { /* no body */
                up_done(c);
                return;
            }
            continue;
        }
        size_t avail = px_buf_size(in);
        if (!avail)
            return;
        const char *p = in->p + in->off;
        if (c->rs == R_LENGTH) {
            size_t n = avail < c->remaining ? avail : (size_t)c->remaining;
            c->remaining -= n;
            px_buf_consume(in, n);
            if (!deliver(c, x, p, n))
                return;
            if (c->remaining == 0) {
                c->rs = R_HEAD;
                up_done(c);
                return;
            }
        } else if (c->rs == R_CHUNKED) {
            size_t used;
            const char *d;
            size_t dlen;
            int rc = h1_chunked_feed(&c->ch, p, avail, &used, &d, &dlen);
            if (rc < 0) {
                up_fail(x, 502);
                return;
            }
            px_buf_consume(in, used);
            if (!deliver(c, x, d, dlen))
                return;
            if (rc == 1) {
                c->rs = R_HEAD;
                up_done(c);
                return;
            }
        } else { /* R_CLOSE: everything until the backend closes */
            px_buf_consume(in, avail);
            if (!deliver(c, x, p, avail))
                return;
        }
    }
}

static void on_eof(struct bconn *c)
{
    struct px_up *x = c->x;
    if (!x) {
        bconn_close(c);
        return;
    }
    if (c->rs == R_CLOSE) {
        c->keepalive = false;
        c->rs = R_HEAD;
        up_done(c);
        return;
    }
    if (!c->got_any)
        up_broken(x, 502);
    else
        up_fail(x, 502);
}

static void bconn_event(struct px_io *io, uint32_t events)
{
    struct bconn *c = (struct bconn *)io;
    if (!c->x) { /* idle: the backend closed it, or sent what nobody asked for */
        bconn_close(c);
        return;
    }
    struct px_up *x = c->x;
    int64_t read_deadline = px_now_ms() + px_loop_settings(io->loop)->read_ms;
    if (c->connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err || (events & (EPOLLERR | EPOLLHUP))) {
            up_broken(x, 502);
            return;
        }
        if (!(events & EPOLLOUT))
            return;
        c->connecting = false;
        io->deadline = read_deadline;
    }
    if (events & EPOLLOUT) {
        size_t before = px_buf_size(&c->out);
        if (px_buf_flush(io->fd, &c->out) != 0) {
            up_broken(x, 502);
            return;
        }
        if (px_buf_size(&c->out) != before) {
            c->wrote_any = true;
            io->deadline = read_deadline;
        }
        if (!px_buf_size(&c->out) && !x->body_done && x->cbs->on_drain) {
            x->cbs->on_drain(x->ctx);
            if (c->x != x || c->io.dead)
                return;
        }
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        for (;;) {
            if (x->paused)
                break;
            if (px_buf_reserve(&c->in, READ_CHUNK) != 0) {
                up_fail(x, 502);
                return;
            }
            size_t room = c->in.cap - c->in.len;
            ssize_t n = recv(io->fd, c->in.p + c->in.len, room, 0);
            if (n > 0) {
                c->in.len += (size_t)n;
                c->got_any = true;
                io->deadline = read_deadline;
                process_in(c);
                if (c->x != x || c->io.dead)
                    return;
                if ((size_t)n < room)
                    break; /* drained: the poll says when more comes (saves a recv) */
                continue;
            }
            if (n == 0) {
                on_eof(c);
                return;
            }
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                break;
            if (!c->got_any)
                up_broken(x, 502);
            else
                up_fail(x, 502);
            return;
        }
    }
    bconn_want(c);
}

static void bconn_timeout(struct px_io *io)
{
    struct bconn *c = (struct bconn *)io;
    if (!c->x) { /* idle too long in the pool */
        bconn_close(c);
        return;
    }
    if (c->x->paused)
        return; /* the client is slow, not the backend */
    if (c->connecting)
        up_broken(c->x, 504);
    else
        up_fail(c->x, 504);
}

struct px_up *px_up_start(struct px_loop *l, struct px_target *t, struct px_buf *head,
                          enum h1_framing body, bool head_method, const struct px_up_cbs *cbs,
                          void *ctx)
{
    const struct px_endpoint *ep = &t->eps[t->rr++ % t->n];
    struct px_up *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->l = l;
    x->cbs = cbs;
    x->ctx = ctx;
    x->body = body;
    x->body_done = body == H1_BODY_NONE;
    x->head_method = head_method;
    x->alt = t->eps[t->rr % t->n];
    if (body == H1_BODY_NONE && px_buf_add(&x->head, head->p + head->off, px_buf_size(head)) != 0)
        goto fail;
    struct bconn *c = NULL;
    struct pool *p = pool_get(l, ep->key);
    if (p && p->idle) {
        c = p->idle;
        p->idle = c->pnext;
        p->nidle--;
        c->pnext = NULL;
        c->rs = R_HEAD;
        c->got_any = c->wrote_any = false;
        c->io.deadline = px_now_ms() + px_loop_settings(l)->read_ms;
        __atomic_fetch_add(&px_stat_backend_reuses, 1, __ATOMIC_RELAXED);
    } else {
        c = bconn_connect(l, ep);
        if (!c && t->n > 1) { /* refused at once: the retry, now */
            x->retried = true;
            c = bconn_connect(l, &x->alt);
        }
        if (!c)
            goto fail;
    }
    px_buf_free(&c->out); /* a pooled connection's (empty) buffer */
    c->out = *head;
    memset(head, 0, sizeof *head);
    up_attach(x, c);
    /* a pooled connection sends at once: usually no poll change is needed at all */
    if (!c->connecting) {
        /* an error (the backend closed the pooled connection) shows again on the next
         * poll, and the retry rule looks at whether any byte went out */
        size_t before = px_buf_size(&c->out);
        (void)px_buf_flush(c->io.fd, &c->out);
        c->wrote_any = px_buf_size(&c->out) != before;
        bconn_want(c);
    }
    return x;
fail:
    up_free(x);
    return NULL;
}

void px_up_body(struct px_up *x, const char *p, size_t n)
{
    struct bconn *c = x->c;
    if (!c || n == 0)
        return;
    if (x->body == H1_BODY_CHUNKED)
        px_buf_printf(&c->out, "%zx\r\n", n);
    px_buf_add(&c->out, p, n);
    if (x->body == H1_BODY_CHUNKED)
        px_buf_add(&c->out, "\r\n", 2);
    bconn_want(c);
}

void px_up_body_end(struct px_up *x)
{
    struct bconn *c = x->c;
    if (x->body_done)
        return;
    x->body_done = true;
    if (c && x->body == H1_BODY_CHUNKED) {
        px_buf_add(&c->out, "0\r\n\r\n", 5);
        bconn_want(c);
    }
}

size_t px_up_pending(const struct px_up *x)
{
    return x->c ? px_buf_size(&x->c->out) : 0;
}

void px_up_pause(struct px_up *x, bool paused)
{
    if (x->paused == paused)
        return;
    x->paused = paused;
    struct bconn *c = x->c;
    if (!c)
        return;
    if (!paused) {
        c->io.deadline = px_now_ms() + px_loop_settings(c->io.loop)->read_ms;
        process_in(c); /* bytes read before the pause */
        if (c->x != x || c->io.dead)
            return;
    }
    bconn_want(c);
}

void px_up_cancel(struct px_up *x)
{
    struct bconn *c = x->c;
    if (c) {
        c->x = NULL;
        px_io_kill(&c->io);
    }
    up_free(x);
}
