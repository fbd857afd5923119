/* The proxy's event loop: listeners, epoll dispatch, deadlines, deferred frees, and the
 * routing table swapped in when the informers report a change. One thread owns all of it,
 * so no connection state is locked; other threads only touch the eventfd. */
#include "ingress/ingress_routes.h"
#include "ingress/proxy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTEN 8

struct listener {
    struct px_io io;
};

struct px_loop {
    int ep, evfd;
    struct px_settings s;
    struct listener lis[MAX_LISTEN];
    int nlis;
    struct px_io live; /* list head */
    struct px_io *garbage;
    atomic_int dirty, stop;
    px_build_fn build;
    void *build_ctx;
    struct ing_routes *routes;
    int64_t next_scan;
    struct px_io wake; /* the eventfd */
    void *pools;       /* proxy_upstream.c's */
};

void **px_loop_pools(struct px_loop *l)
{
    return &l->pools;
}

unsigned long px_stat_backend_connects, px_stat_backend_reuses;

int64_t px_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const struct px_settings *px_loop_settings(const struct px_loop *l)
{
    return &l->s;
}

/* ---- buffers ---- */
int px_buf_reserve(struct px_buf *b, size_t n)
{
    if (b->off && b->off == b->len)
        b->off = b->len = 0;
    if (b->len + n > b->cap) {
        if (b->off) { /* slide down before growing */
            memmove(b->p, b->p + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        if (b->len + n > b->cap) {
            size_t cap = b->cap ? b->cap : 4096;
            while (cap < b->len + n)
                cap *= 2;
            char *p = realloc(b->p, cap);
            if (!p)
                return -1;
            b->p = p;
            b->cap = cap;
        }
    }
    return 0;
}

int px_buf_add(struct px_buf *b, const void *d, size_t n)
{
    if (px_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
    return 0;
}

int px_buf_str(struct px_buf *b, const char *s)
{
    return px_buf_add(b, s, strlen(s));
}

int px_buf_printf(struct px_buf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    if ((size_t)n < sizeof tmp)
        return px_buf_add(b, tmp, (size_t)n);
    char *big = malloc((size_t)n + 1);
    if (!big)
        return -1;
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = px_buf_add(b, big, (size_t)n);
    free(big);
    return rc;
}

void px_buf_consume(struct px_buf *b, size_t n)
{
    b->off += n;
    if (b->off >= b->len)
        b->off = b->len = 0;
}

void px_buf_free(struct px_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

int px_buf_flush(int fd, struct px_buf *b)
{
    while (px_buf_size(b)) {
        ssize_t n = send(fd, b->p + b->off, px_buf_size(b), MSG_NOSIGNAL);
        if (n > 0) {
            px_buf_consume(b, (size_t)n);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    return 0;
}

/* ---- registration ---- */
int px_io_add(struct px_loop *l, struct px_io *io, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.ptr = io};
    io->loop = l;
    io->events = events;
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, io->fd, &ev) != 0)
        return -1;
    io->next = l->live.next;
    io->prev = &l->live;
    l->live.next->prev = io;
    l->live.next = io;
    return 0;
}

void px_io_mod(struct px_io *io, uint32_t events)
{
    if (io->dead || io->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = io};
    io->events = events;
    epoll_ctl(io->loop->ep, EPOLL_CTL_MOD, io->fd, &ev);
}

static void unlink_io(struct px_io *io)
{
    io->prev->next = io->next;
    io->next->prev = io->prev;
    io->dead = true;
    io->gnext = io->loop->garbage;
    io->loop->garbage = io;
}

void px_io_kill(struct px_io *io)
{
    if (io->dead)
        return;
    if (io->fd >= 0) {
        epoll_ctl(io->loop->ep, EPOLL_CTL_DEL, io->fd, NULL);
        close(io->fd);
        io->fd = -1;
    }
    unlink_io(io);
}

int px_io_detach(struct px_io *io)
{
    int fd = io->fd;
    epoll_ctl(io->loop->ep, EPOLL_CTL_DEL, fd, NULL);
    io->fd = -1;
    unlink_io(io);
    return fd;
}

static void collect_garbage(struct px_loop *l)
{
    while (l->garbage) {
        struct px_io *io = l->garbage;
        l->garbage = io->gnext;
        io->destroy(io);
    }
}

/* ---- routing ---- */
static void free_target(void *ctx, struct ing_backend_ref *b)
{
    (void)ctx;
    free(b->resolved);
    b->resolved = NULL;
}

static void routes_free(struct ing_routes *r)
{
    if (!r)
        return;
    ing_routes_foreach_backend(r, free_target, NULL);
    ing_routes_free(r);
}

/* Carries each backend's round-robin position from the old table to the new one, so a
 * change elsewhere does not send the next request of every backend to its first pod. */
static void carry_rr(void *ctx, struct ing_backend_ref *nb)
{
    struct px_target *nt = nb->resolved;
    struct px_target *ot = ctx;
    if (nt && strcmp(nt->key, ot->key) == 0)
        nt->rr = ot->rr;
}

static void carry_rr_from(void *ctx, struct ing_backend_ref *ob)
{
    if (ob->resolved)
        ing_routes_foreach_backend(ctx, carry_rr, ob->resolved);
}

static void rebuild(struct px_loop *l)
{
    struct ing_routes *r = l->build(l->build_ctx);
    if (!r)
        return; /* keep serving the old table */
    if (l->routes)
        ing_routes_foreach_backend(l->routes, carry_rr_from, r);
    routes_free(l->routes);
    l->routes = r;
}

struct px_target *px_route(struct px_loop *l, const char *host, const char *path, int *status)
{
    struct ing_backend_ref *b = l->routes ? ing_routes_match(l->routes, host, path) : NULL;
    if (!b) {
        *status = 404;
        return NULL;
    }
    struct px_target *t = b->resolved;
    if (!t || t->n == 0) {
        *status = 503;
        return NULL;
    }
    return t;
}

/* ---- listeners ---- */
static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void on_accept(struct px_io *io, uint32_t events)
{
    (void)events;
    for (int i = 0; i < 64; i++) {
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(io->fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or out of descriptors: try again on the next event */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char ip[INET6_ADDRSTRLEN] = "";
        if (sa.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip, sizeof ip);
        else if (sa.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&sa)->sin6_addr, ip, sizeof ip);
        /* the HTTP/1 frontend looks at the first bytes and hands HTTP/2 over */
        px_http1_accept(io->loop, fd, ip, NULL, 0);
    }
}

static void listener_destroy(struct px_io *io)
{
    (void)io;
}

/* "addr:port", "[v6]:port" or ":port" into sa. 0 or -1. */
static int parse_listen(const char *s, struct sockaddr_storage *sa, socklen_t *len)
{
    char host[128];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof host)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = 0;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return -1;
    memset(sa, 0, sizeof *sa);
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']')
            return -1;
        host[n - 1] = 0;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host + 1, &s6->sin6_addr) != 1)
            return -1;
        *len = sizeof *s6;
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
    s4->sin_family = AF_INET;
    s4->sin_port = htons((uint16_t)port);
    if (host[0] && inet_pton(AF_INET, host, &s4->sin_addr) != 1)
        return -1;
    *len = sizeof *s4;
    return 0;
}

static void on_wake(struct px_io *io, uint32_t events)
{
    (void)events;
    uint64_t v;
    if (read(io->fd, &v, sizeof v) < 0 && errno != EAGAIN)
        return;
}

struct px_loop *px_loop_new(const struct px_settings *s, char **addrs, int nlisten,
                            px_build_fn build, void *build_ctx, char *err, size_t errlen)
{
    struct px_loop *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->s = *s;
    l->build = build;
    l->build_ctx = build_ctx;
    l->live.next = l->live.prev = &l->live;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->ep < 0 || l->evfd < 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        goto fail;
    }
    l->wake = (struct px_io){.fd = l->evfd, .on_event = on_wake, .destroy = listener_destroy};
    if (px_io_add(l, &l->wake, EPOLLIN) != 0) {
        snprintf(err, errlen, "epoll: %s", strerror(errno));
        goto fail;
    }
    for (int i = 0; i < nlisten && i < MAX_LISTEN; i++) {
        struct sockaddr_storage sa;
        socklen_t salen;
        if (parse_listen(addrs[i], &sa, &salen) != 0) {
            snprintf(err, errlen, "bad listen address %s (want ip:port)", addrs[i]);
            goto fail;
        }
        int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd >= 0 && s->reuseport) /* the kernel spreads connections over the loops */
            setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sa, salen) != 0 || listen(fd, 1024) != 0) {
            snprintf(err, errlen, "listen on %s: %s", addrs[i], strerror(errno));
            if (fd >= 0)
                close(fd);
            goto fail;
        }
        set_nonblock(fd);
        struct listener *li = &l->lis[l->nlis++];
        li->io = (struct px_io){.fd = fd, .on_event = on_accept, .destroy = listener_destroy};
        if (px_io_add(l, &li->io, EPOLLIN) != 0) {
            snprintf(err, errlen, "epoll: %s", strerror(errno));
            goto fail;
        }
    }
    atomic_store(&l->dirty, 1);
    return l;
fail:
    px_loop_free(l);
    return NULL;
}

void px_loop_wake(struct px_loop *l)
{
    atomic_store(&l->dirty, 1);
    uint64_t one = 1;
    if (write(l->evfd, &one, sizeof one) < 0) {
        /* the counter is full: the loop is awake already */
    }
}

void px_loop_stop(struct px_loop *l)
{
    atomic_store(&l->stop, 1);
    px_loop_wake(l);
}

/* Deadlines are checked once per 100 ms: timeouts here are seconds long. */
static void scan_deadlines(struct px_loop *l, int64_t now)
{
    for (struct px_io *io = l->live.next, *next; io != &l->live; io = next) {
        next = io->next;
        if (io->deadline && io->deadline <= now && !io->dead && io->on_timeout) {
            io->deadline = 0;
            io->on_timeout(io);
        }
    }
}

int px_loop_run(struct px_loop *l)
{
    struct epoll_event evs[128];
    while (!atomic_load(&l->stop)) {
        if (atomic_exchange(&l->dirty, 0))
            rebuild(l);
        int n = epoll_wait(l->ep, evs, 128, 100);
        if (n < 0 && errno != EINTR)
            return -1;
        for (int i = 0; i < n; i++) {
            struct px_io *io = evs[i].data.ptr;
            if (!io->dead)
                io->on_event(io, evs[i].events);
        }
        int64_t now = px_now_ms();
        if (now >= l->next_scan) {
            scan_deadlines(l, now);
            l->next_scan = now + 100;
        }
        collect_garbage(l);
    }
    return 0;
}

void px_loop_free(struct px_loop *l)
{
    if (!l)
        return;
    /* every connection still open is closed and freed */
    while (l->live.next != &l->live)
        px_io_kill(l->live.next);
    collect_garbage(l);
    px_pools_free(l);
    if (l->ep >= 0)
        close(l->ep);
    if (l->evfd >= 0 && !l->wake.loop) /* once registered, killing it closed it */
        close(l->evfd);
    routes_free(l->routes);
    free(l);
}
