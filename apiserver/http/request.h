/* A transport-neutral HTTP request and response. The HTTP/1.1 front end (libmicrohttpd)
 * fills a kc_request and calls kc_api_serve(); a future HTTP/2 front end does the same.
 */
#ifndef KUBEC_HTTP_REQUEST_H
#define KUBEC_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct kc_server;
struct kc_watch_stream;
struct kc_tunnel;

struct kc_request {
    const char *method;
    const char *path; /* URL-decoded path, no query */
    /* Query and header lookup (first value; NULL when absent). */
    const char *(*query)(void *transport, const char *key);
    const char *(*header)(void *transport, const char *name);
    /* Every value of a query parameter, in order (?command=a&command=b); NULL: only the
     * first, through query. */
    void (*query_each)(void *transport, const char *key, void (*fn)(void *arg, const char *v),
                       void *arg);
    void *transport;
    bool can_upgrade; /* HTTP/1.1: a handler may answer with a tunnel (101) */
    const char *body;
    size_t body_len;
    bool body_too_large; /* the front end stopped reading past the limit */
    /* Who is asking (set by the transport's authentication). */
    bool authenticated;
    const char *user;
    const char *groups[8];
    int ngroups;
};

#define KC_MAX_WARNINGS 8

struct kc_response {
    int code;
    char content_type[128];
    char *body; /* malloc'd, owned */
    size_t body_len;
    char *warnings[KC_MAX_WARNINGS]; /* Warning header texts, owned */
    int nwarnings;
    char etag[40];        /* ETag header when non-empty */
    bool cache_immutable; /* Cache-Control: public, immutable (hash-addressed documents) */
    int retry_after;      /* Retry-After header (seconds) when > 0 */
    /* Set instead of body for streaming responses (watch). Owned. */
    struct kc_watch_stream *stream;
    /* Set instead of body when the request switches protocols (pods/exec): the transport
     * answers 101 and relays (http/tunnel.h). Owned. */
    struct kc_tunnel *tunnel;
};

const char *kc_req_query(const struct kc_request *r, const char *key);
const char *kc_req_header(const struct kc_request *r, const char *name);
/* Calls fn with each value of the query parameter key, in order. */
void kc_req_query_each(const struct kc_request *r, const char *key,
                       void (*fn)(void *arg, const char *v), void *arg);

void kc_response_release(struct kc_response *resp);
/* Takes ownership of body. */
void kc_response_set(struct kc_response *resp, int code, const char *ctype, char *body, size_t len);
void kc_response_warn(struct kc_response *resp, const char *text);

/* Serves one API request. */
void kc_api_serve(struct kc_server *srv, const struct kc_request *req, struct kc_response *resp);

/* Watch streams: fills buf with the next bytes, blocking until some are available.
 * Returns the byte count, 0 at a clean end of stream, -1 on error. */
ssize_t kc_watch_stream_read(struct kc_watch_stream *ws, char *buf, size_t max);
/* Non-blocking variant for event-driven transports: >0 bytes, 0 when nothing is ready
 * now, -1 at the end of the stream. */
ssize_t kc_watch_stream_read_nb(struct kc_watch_stream *ws, char *buf, size_t max);
/* Lets the stream notice a client that went away (checked while idle). */
void kc_watch_stream_set_alive_check(struct kc_watch_stream *ws, bool (*alive)(void *), void *arg);
void kc_watch_stream_free(struct kc_watch_stream *ws);

/* Streaming bodies that are not watches (pods/log) go through the same transport path: a
 * kc_watch_stream made from a source hands out the source's bytes. */
struct kc_stream_source_ops {
    /* Up to max bytes into buf, waiting at most wait_ms for some (0: do not wait). Returns
     * the byte count, 0 when nothing came in time, -1 at the end of the stream. */
    ssize_t (*read)(void *src, char *buf, size_t max, int wait_ms);
    void (*free)(void *src);
};
/* A stream reading src (owned by the stream from then on, freed through ops->free);
 * it also ends when srv stops. */
struct kc_watch_stream *kc_watch_stream_from_source(struct kc_server *srv,
                                                    const struct kc_stream_source_ops *ops,
                                                    void *src);

#endif
