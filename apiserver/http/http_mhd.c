/* HTTP/1.1 front end on libmicrohttpd: one thread per connection (blocking watch streams
 * are simple there), request bodies capped at the configured size, chunked streaming for
 * watches, upgrades (pods/exec) relayed in the connection's thread. Everything
 * API-specific happens in kc_api_serve(). */
#include "apiserver/http/http_mhd.h"

#include "apiserver/http/request.h"
#include "apiserver/http/tunnel.h"
#include "apiserver/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kc_http_server {
    struct MHD_Daemon *d;
    struct kc_server *srv;
};

struct conn_ctx {
    char *body;
    size_t len, cap;
    bool too_large;
    struct kc_tunnel *tunnel; /* an upgrade being relayed (pods/exec) */
};

static const char *mhd_query(void *t, const char *key)
{
    return MHD_lookup_connection_value(t, MHD_GET_ARGUMENT_KIND, key);
}

static const char *mhd_header(void *t, const char *name)
{
    return MHD_lookup_connection_value(t, MHD_HEADER_KIND, name);
}

struct each {
    const char *key;
    void (*fn)(void *arg, const char *v);
    void *arg;
};

static enum MHD_Result each_value(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value)
{
    struct each *e = cls;
    if (strcmp(key, e->key) == 0)
        e->fn(e->arg, value ? value : "");
    return MHD_YES;
}

static void mhd_query_each(void *t, const char *key, void (*fn)(void *arg, const char *v),
                           void *arg)
{
    struct each e = {key, fn, arg};
    MHD_get_connection_values(t, MHD_GET_ARGUMENT_KIND, each_value, &e);
}

/* After the 101: the client's socket relayed to the backend, in the connection's thread. */
static void on_upgraded(void *cls, struct MHD_Connection *conn, void *con_cls, const char *extra,
                        size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
    struct conn_ctx *c = cls;
    struct kc_tunnel_client client;
    kc_tunnel_client_socket(&client, sock);
    kc_tunnel_relay(c->tunnel, &client, extra, extra_len);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
}

struct stream_ctx {
    struct kc_watch_stream *ws;
    int fd;
};

/* A peer that closed its side shows up as POLLRDHUP/POLLHUP while we wait for events. */
static bool peer_alive(void *arg)
{
    struct stream_ctx *sc = arg;
    struct pollfd p = {.fd = sc->fd, .events = POLLRDHUP};
    if (sc->fd < 0)
        return true;
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
        return false;
    return true;
}

static ssize_t stream_reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream_ctx *sc = cls;
    ssize_t n = kc_watch_stream_read(sc->ws, buf, max);
    if (n == 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (n < 0)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    return n;
}

static void stream_free(void *cls)
{
    struct stream_ctx *sc = cls;
    kc_watch_stream_free(sc->ws);
    free(sc);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct kc_http_server *h = cls;
    struct conn_ctx *c = *con_cls;
    if (!c) {
        c = calloc(1, sizeof *c);
        if (!c)
            return MHD_NO;
        *con_cls = c;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        if (!c->too_large && c->len + n > h->srv->opt.max_body) {
            c->too_large = true;
            free(c->body);
            c->body = NULL;
            c->len = c->cap = 0;
        }
        if (!c->too_large) {
            if (c->len + n + 1 > c->cap) {
                size_t cap = c->cap ? c->cap : 4096;
                while (cap < c->len + n + 1)
                    cap *= 2;
                char *nb = realloc(c->body, cap);
                if (!nb)
                    return MHD_NO;
                c->body = nb;
                c->cap = cap;
            }
            memcpy(c->body + c->len, upload, n);
            c->len += n;
            c->body[c->len] = 0;
        }
        *upload_size = 0;
        return MHD_YES;
    }

    struct kc_request req = {
        .method = method,
        .path = url,
        .query = mhd_query,
        .header = mhd_header,
        .query_each = mhd_query_each,
        .transport = conn,
        .can_upgrade = true,
        .body = c->body ? c->body : "",
        .body_len = c->len,
        .body_too_large = c->too_large,
        /* the plain-HTTP loopback port is for local tools and tests: it trusts its clients
         * as the real insecure port did (system:masters) */
        .authenticated = true,
        .user = "system:unsecured",
        .groups = {"system:masters", "system:authenticated"},
        .ngroups = 2,
    };
    struct kc_response resp;
    memset(&resp, 0, sizeof resp);
    kc_api_serve(h->srv, &req, &resp);

    struct MHD_Response *r;
    if (resp.tunnel) {
        /* the tunnel is the connection's until on_completed (the relay runs before it) */
        c->tunnel = resp.tunnel;
        resp.tunnel = NULL;
        kc_response_release(&resp);
        r = MHD_create_response_for_upgrade(on_upgraded, c);
        if (!r)
            return MHD_NO;
        for (size_t i = 0; i < kc_tunnel_header_count(c->tunnel); i++) {
            const char *name, *value;
            kc_tunnel_header(c->tunnel, i, &name, &value);
            MHD_add_response_header(r, name, value);
        }
        enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
        MHD_destroy_response(r);
        return ret;
    }
    if (resp.stream) {
        struct stream_ctx *sc = calloc(1, sizeof *sc);
        if (!sc) {
            kc_response_release(&resp);
            return MHD_NO;
        }
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        sc->fd = ci ? ci->connect_fd : -1;
        sc->ws = resp.stream;
        resp.stream = NULL;
        kc_watch_stream_set_alive_check(sc->ws, peer_alive, sc);
        r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_reader, sc,
                                              stream_free);
    } else {
        r = MHD_create_response_from_buffer(resp.body_len, resp.body, MHD_RESPMEM_MUST_FREE);
        resp.body = NULL;
    }
    if (!r) {
        kc_response_release(&resp);
        return MHD_NO;
    }
    if (resp.content_type[0])
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, resp.content_type);
    MHD_add_response_header(r, "Cache-Control",
                            resp.cache_immutable ? "public, immutable" : "no-cache, private");
    if (resp.etag[0])
        MHD_add_response_header(r, "Etag", resp.etag);
    if (resp.retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", resp.retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    for (int i = 0; i < resp.nwarnings; i++)
        MHD_add_response_header(r, "Warning", resp.warnings[i]);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)resp.code, r);
    MHD_destroy_response(r);
    kc_response_release(&resp);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct conn_ctx *c = *con_cls;
    if (c) {
        free(c->body);
        kc_tunnel_free(c->tunnel);
        free(c);
        *con_cls = NULL;
    }
}

int kc_http_start(struct kc_server *srv, const char *addr, int port, struct kc_http_server **out,
                  char *err, size_t errlen)
{
    struct kc_http_server *h = calloc(1, sizeof *h);
    struct sockaddr_in sa;
    if (!h)
        abort();
    h->srv = srv;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "invalid bind address %s", addr);
        free(h);
        return -1;
    }
    h->d = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
            MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE,
        (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_CONNECTION_LIMIT, (unsigned)20000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_THREAD_STACK_SIZE,
        (size_t)(512 * 1024), MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1, MHD_OPTION_END);
    if (!h->d) {
        snprintf(err, errlen, "cannot listen on %s:%d", addr, port);
        free(h);
        return -1;
    }
    *out = h;
    return 0;
}

void kc_http_stop(struct kc_http_server *h)
{
    if (!h)
        return;
    MHD_stop_daemon(h->d);
    free(h);
}
