/* The proxy's internals shared by its files: the event loop (proxy_loop.c), the backend
 * side (proxy_upstream.c) and the two frontends (proxy_http1.c, proxy_h2.c).
 *
 * Threads: everything here runs on the loop's one thread, except px_loop_wake(), which
 * other threads call to tell the loop its configuration changed.
 *
 * Lifetime: a connection is never freed while a callback may still hold it: px_io_kill()
 * closes the socket and marks it dead, and the loop frees it after the current batch of
 * events. Code that calls out (a frontend into the upstream or back) re-checks `dead`. */
#ifndef KUBEC_INGRESS_PROXY_H
#define KUBEC_INGRESS_PROXY_H

#include "ingress/http1_parse.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct px_loop;
struct px_io;

typedef void (*px_event_fn)(struct px_io *io, uint32_t events);
typedef void (*px_io_fn)(struct px_io *io);

/* The first member of every object the loop polls. */
struct px_io {
    int fd;
    struct px_loop *loop;
    px_event_fn on_event;
    px_io_fn on_timeout; /* called once deadline (ms, px_now_ms clock) passes; 0 = none */
    px_io_fn destroy;    /* frees the object (after px_io_kill) */
    int64_t deadline;
    uint32_t events;
    bool dead;
    struct px_io *prev, *next; /* the loop's list of live objects */
    struct px_io *gnext;       /* the loop's list of dead ones */
};

int64_t px_now_ms(void);
/* Registers io (fd set) for events; 0 or -1. */
int px_io_add(struct px_loop *l, struct px_io *io, uint32_t events);
void px_io_mod(struct px_io *io, uint32_t events);
/* Closes the socket, marks io dead; destroy() runs after the current events. */
void px_io_kill(struct px_io *io);

/* ---- byte buffers: data is p[off..len) ---- */
struct px_buf {
    char *p;
    size_t off, len, cap;
};
int px_buf_add(struct px_buf *b, const void *d, size_t n);
int px_buf_str(struct px_buf *b, const char *s);
__attribute__((format(printf, 2, 3))) int px_buf_printf(struct px_buf *b, const char *fmt, ...);
static inline size_t px_buf_size(const struct px_buf *b)
{
    return b->len - b->off;
}
void px_buf_consume(struct px_buf *b, size_t n);
/* Room for n more bytes at p + len. 0 or -1. */
int px_buf_reserve(struct px_buf *b, size_t n);
void px_buf_free(struct px_buf *b);
/* Writes what the socket takes: 0 (all written or would block), -1 on error. */
int px_buf_flush(int fd, struct px_buf *b);

/* ---- limits and settings (main_ingress.c fills them) ---- */
struct px_settings {
    size_t max_header;  /* request head limit (431 beyond) */
    int client_idle_ms; /* keep-alive idle and head read */
    int connect_ms;     /* backend connect */
    int read_ms;        /* backend silence while a response is due */
    int pool_idle_ms;   /* idle pooled backend connection */
    int pool_max_idle;  /* idle connections kept per endpoint */
    int listen_port;    /* of the first listen address */
    bool reuseport;     /* several loops share the listen addresses (SO_REUSEPORT) */
};
const struct px_settings *px_loop_settings(const struct px_loop *l);

/* ---- routing: what the frontends ask the loop ---- */
struct px_endpoint {
    struct sockaddr_storage sa;
    socklen_t salen;
    char key[64]; /* "ip:port", the pool key */
};

/* The ready endpoints of one backend reference (the `resolved` of an ing_backend_ref). */
struct px_target {
    char key[320]; /* ns/service:port, to carry the round-robin counter across rebuilds */
    unsigned rr;
    size_t n;
    struct px_endpoint eps[];
};

/* The target for a request, or NULL with *status 404 (no rule) or 503 (no endpoint). */
struct px_target *px_route(struct px_loop *l, const char *host, const char *path, int *status);

/* ---- the backend side: one request/response exchange ---- */
struct px_up;
struct px_up_cbs {
    /* The response head (pointers valid for the call only). */
    void (*on_head)(void *ctx, const struct h1_message *resp);
    void (*on_data)(void *ctx, const char *p, size_t n);
    void (*on_end)(void *ctx);
    /* Failed: status 502 or 504 when no head was delivered yet, 0 after (abort). The
     * exchange is gone after this call, as after on_end. */
    void (*on_error)(void *ctx, int status);
    /* The request body written so far has gone out (for frontends that paused reading). */
    void (*on_drain)(void *ctx);
};

/* Starts an exchange on a pooled or new connection to the next endpoint of t (round
 * robin). head: the request head, TAKEN (emptied). body: H1_BODY_NONE, _LENGTH or
 * _CHUNKED (the body then follows through px_up_body). NULL on failure (answer 502). */
struct px_up *px_up_start(struct px_loop *l, struct px_target *t, struct px_buf *head,
                          enum h1_framing body, bool head_method, const struct px_up_cbs *cbs,
                          void *ctx);
/* Body bytes (decoded), and its end. */
void px_up_body(struct px_up *x, const char *p, size_t n);
void px_up_body_end(struct px_up *x);
/* Request body bytes not yet written to the backend. */
size_t px_up_pending(const struct px_up *x);
/* Stops / restarts reading the response (the frontend's output is full). */
void px_up_pause(struct px_up *x, bool paused);
/* The frontend is gone: drop the exchange (and its connection unless reusable). */
void px_up_cancel(struct px_up *x);

/* The loop's backend connection pools (opaque to the loop), and their release once every
 * connection is gone (px_loop_free). */
void **px_loop_pools(struct px_loop *l);
void px_pools_free(struct px_loop *l);

/* Backend connections accepted by the loop so far, and reused from the pool (metrics). */
extern unsigned long px_stat_backend_connects, px_stat_backend_reuses;

/* A request head for the backend: method, target, Host, the client's headers without
 * hop-by-hop ones, X-Forwarded-*, X-Real-IP, then the framing of the body. 0 or -1. */
int px_request_head(struct px_buf *out, struct h1_str method, struct h1_str target,
                    struct h1_str host, const struct h1_header *h, size_t n, const char *client_ip,
                    const char *proto, enum h1_framing body, uint64_t content_length);
/* True for headers a proxy must not forward (hop-by-hop), given the Connection values. */
bool px_hop_by_hop(struct h1_str name, const struct h1_header *h, size_t n);
/* A small text/plain error body for status. */

/* ---- frontends ---- */
/* Takes over an accepted socket whose first bytes (buf, may be empty) were already read. */
void px_http1_accept(struct px_loop *l, int fd, const char *client_ip, const char *buf, size_t len);
void px_h2_accept(struct px_loop *l, int fd, const char *client_ip, const char *buf, size_t len);

#endif

/* ---- the loop (main_ingress.c) ---- */
struct ing_routes;
/* Builds a routing table whose backend refs' `resolved` are malloc'd px_targets (or NULL
 * for a backend without endpoints); called on the loop thread after px_loop_wake(). The
 * loop owns the result and frees it (targets with free()). */
typedef struct ing_routes *(*px_build_fn)(void *ctx);

/* Listens on every "addr:port" (IPv4, or [v6]:port). NULL after writing err. */
struct px_loop *px_loop_new(const struct px_settings *s, char **listen, int nlisten,
                            px_build_fn build, void *build_ctx, char *err, size_t errlen);
/* Any thread: the routing inputs changed; rebuild soon. */
void px_loop_wake(struct px_loop *l);
/* Any thread: px_loop_run returns. */
void px_loop_stop(struct px_loop *l);
/* Runs until px_loop_stop. 0, or -1 when the poller fails. */
int px_loop_run(struct px_loop *l);
void px_loop_free(struct px_loop *l);
/* Detaches io's socket from the loop without closing it (handing it to another frontend);
 * io is dead afterwards. Returns the fd. */
int px_io_detach(struct px_io *io);
