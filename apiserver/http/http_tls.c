/* TLS listener with ALPN, HTTP/2 through nghttp2 and HTTP/1.1; see http_tls.h.
 *
 * One thread per connection. An HTTP/2 connection thread runs the nghttp2 session: it reads
 * frames, answers each complete request by calling kc_api_serve(), and feeds watch streams
 * through deferred data providers that it resumes when their watch has bytes, so a watch
 * never holds up the other streams of its connection. */
#include "apiserver/http/http_tls.h"

#include "apiserver/auth/authz.h"
#include "apiserver/auth/satoken.h"
#include "apiserver/http/request.h"
#include "apiserver/http/tunnel.h"
#include "apiserver/server.h"
#include "lib/httpstatus.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_HEADERS 100
#define MAX_HEADER_BYTES (64 * 1024)
#define MAX_STREAMS 250       /* concurrent streams per HTTP/2 connection */
#define MAX_CONNECTIONS 10000 /* connections served at once; more are closed at accept */
#define MAX_RESETS_PER_SECOND 200

struct kc_tls_server {
    struct kc_server *srv;
    SSL_CTX *ctx;
    int lfd;
    pthread_t acceptor;
    volatile int stopping;
    int conns; /* live connection threads, atomic */
};

/* ---- identity ---- */

struct identity {
    bool authenticated;
    char user[256];
    char groups[8][128];
    int ngroups;
};

static void peer_identity(SSL *ssl, struct identity *id)
{
    memset(id, 0, sizeof *id);
    X509 *crt = SSL_get1_peer_certificate(ssl);
    if (!crt)
        return;
    if (SSL_get_verify_result(ssl) == X509_V_OK) {
        X509_NAME *n = X509_get_subject_name(crt);
        X509_NAME_get_text_by_NID(n, NID_commonName, id->user, sizeof id->user);
        int idx = -1;
        while ((idx = X509_NAME_get_index_by_NID(n, NID_organizationName, idx)) >= 0 &&
               id->ngroups < 7) {
            ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, idx));
            snprintf(id->groups[id->ngroups++], sizeof id->groups[0], "%.*s", ASN1_STRING_length(s),
                     (const char *)ASN1_STRING_get0_data(s));
        }
        snprintf(id->groups[id->ngroups++], sizeof id->groups[0], "system:authenticated");
        id->authenticated = id->user[0] != 0;
    }
    X509_free(crt);
}

static void apply_identity(struct kc_request *req, const struct identity *id)
{
    req->authenticated = id->authenticated;
    req->user = id->user;
    req->ngroups = id->ngroups;
    for (int i = 0; i < id->ngroups; i++)
        req->groups[i] = id->groups[i];
}

/* ---- parsed requests (shared by h1 and h2) ---- */

struct kv {
    char *name, *value;
};

struct parsed {
    char *method;
    char *path; /* decoded, without query */
    struct kv *query;
    size_t nquery;
    struct kv *headers;
    size_t nheaders;
    size_t header_bytes;
    char *body;
    size_t body_len, body_cap;
    bool too_large;
};

static void parsed_free(struct parsed *p)
{
    free(p->method);
    free(p->path);
    for (size_t i = 0; i < p->nquery; i++) {
        free(p->query[i].name);
        free(p->query[i].value);
    }
    free(p->query);
    for (size_t i = 0; i < p->nheaders; i++) {
        free(p->headers[i].name);
        free(p->headers[i].value);
    }
    free(p->headers);
    free(p->body);
    memset(p, 0, sizeof *p);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *url_decode(const char *s, size_t n, bool plus_space)
{
    char *o = malloc(n + 1);
    size_t j = 0;
    if (!o)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            o[j++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else if (plus_space && s[i] == '+') {
            o[j++] = ' ';
        } else {
            o[j++] = s[i];
        }
    }
    o[j] = 0;
    return o;
}

static void add_kv(struct kv **arr, size_t *n, char *name, char *value)
{
    *arr = realloc(*arr, (*n + 1) * sizeof **arr);
    if (!*arr)
        abort();
    (*arr)[*n].name = name;
    (*arr)[(*n)++].value = value;
}

static void set_target(struct parsed *p, const char *target, size_t n)
{
    const char *q = memchr(target, '?', n);
    size_t plen = q ? (size_t)(q - target) : n;
    p->path = url_decode(target, plen, false);
    if (!q)
        return;
    const char *s = q + 1, *end = target + n;
    while (s < end) {
        const char *amp = memchr(s, '&', (size_t)(end - s));
        const char *e = amp ? amp : end;
        const char *eq = memchr(s, '=', (size_t)(e - s));
        if (e > s)
            add_kv(&p->query, &p->nquery, url_decode(s, (size_t)((eq ? eq : e) - s), true),
                   eq ? url_decode(eq + 1, (size_t)(e - eq - 1), true) : strdup(""));
        s = e + 1;
    }
}

static const char *lookup(const struct kv *arr, size_t n, const char *name, bool ci)
{
    for (size_t i = 0; i < n; i++)
        if (ci ? !strcasecmp(arr[i].name, name) : !strcmp(arr[i].name, name))
            return arr[i].value;
    return NULL;
}

static const char *p_query(void *t, const char *key)
{
    struct parsed *p = t;
    return lookup(p->query, p->nquery, key, false);
}

static const char *p_header(void *t, const char *name)
{
    struct parsed *p = t;
    return lookup(p->headers, p->nheaders, name, true);
}

static void p_query_each(void *t, const char *key, void (*fn)(void *arg, const char *v), void *arg)
{
    struct parsed *p = t;
    for (size_t i = 0; i < p->nquery; i++)
        if (!strcmp(p->query[i].name, key))
            fn(arg, p->query[i].value);
}

static bool body_append(struct parsed *p, const void *data, size_t n, size_t max)
{
    if (p->too_large)
        return false;
    if (p->body_len + n > max) {
        p->too_large = true;
        free(p->body);
        p->body = NULL;
        p->body_len = p->body_cap = 0;
        return false;
    }
    if (p->body_len + n + 1 > p->body_cap) {
        size_t cap = p->body_cap ? p->body_cap : 4096;
        while (cap < p->body_len + n + 1)
            cap *= 2;
        p->body = realloc(p->body, cap);
        if (!p->body)
            abort();
        p->body_cap = cap;
    }
    memcpy(p->body + p->body_len, data, n);
    p->body_len += n;
    p->body[p->body_len] = 0;
    return true;
}

static void serve(struct kc_server *srv, struct parsed *p, const struct identity *id, bool h1,
                  struct kc_response *resp)
{
    struct kc_request req = {
        .method = p->method ? p->method : "GET",
        .path = p->path ? p->path : "/",
        .query = p_query,
        .header = p_header,
        .query_each = p_query_each,
        .transport = p,
        .can_upgrade = h1,
        .body = p->body ? p->body : "",
        .body_len = p->body_len,
        .body_too_large = p->too_large,
    };
    apply_identity(&req, id);
    memset(resp, 0, sizeof *resp);
    /* a bearer token, when there is no client certificate */
    struct identity tok;
    const char *auth = lookup(p->headers, p->nheaders, "Authorization", true);
    if (!id->authenticated && auth && !strncasecmp(auth, "Bearer ", 7)) {
        memset(&tok, 0, sizeof tok);
        if (!kc_token_lookup(auth + 7, tok.user, sizeof tok.user, tok.groups, &tok.ngroups) &&
            !kc_satoken_verify(srv, auth + 7, tok.user, sizeof tok.user, tok.groups,
                               &tok.ngroups)) {
            const char *j = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
                            "\"status\":\"Failure\",\"message\":\"Unauthorized\",\"reason\":"
                            "\"Unauthorized\",\"code\":401}";
            kc_response_set(resp, 401, "application/json", strdup(j), strlen(j));
            return;
        }
        tok.authenticated = true;
        apply_identity(&req, &tok);
    }
    kc_api_serve(srv, &req, resp);
}

/* ---- TLS I/O ---- */

struct conn {
    struct kc_tls_server *t;
    SSL *ssl;
    int fd;
    struct identity id;
};

static bool write_all(struct conn *c, const void *data, size_t n)
{
    const char *p = data;
    while (n) {
        int w = SSL_write(c->ssl, p, n > (1 << 30) ? 1 << 30 : (int)n);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool conn_alive(void *arg)
{
    struct conn *c = arg;
    struct pollfd pfd = {.fd = c->fd, .events = POLLRDHUP};
    return !(poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)));
}

/* ---- HTTP/1.1 ---- */

static bool h1_respond(struct conn *c, struct kc_response *resp, bool keep)
{
    char head[4096];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Cache-Control: %s\r\n%s%s%s",
                     resp->code, kc_http_reason(resp->code), resp->content_type,
                     resp->cache_immutable ? "public, immutable" : "no-cache, private",
                     resp->etag[0] ? "Etag: " : "", resp->etag, resp->etag[0] ? "\r\n" : "");
    if (resp->retry_after > 0)
        n += snprintf(head + n, sizeof head - (size_t)n, "Retry-After: %d\r\n", resp->retry_after);
    for (int i = 0; i < resp->nwarnings && n < (int)sizeof head - 600; i++)
        n += snprintf(head + n, sizeof head - (size_t)n, "Warning: %s\r\n", resp->warnings[i]);
    if (resp->stream) {
        n += snprintf(head + n, sizeof head - (size_t)n, "Transfer-Encoding: chunked\r\n\r\n");
        if (!write_all(c, head, (size_t)n))
            return false;
        kc_watch_stream_set_alive_check(resp->stream, conn_alive, c);
        char buf[16384];
        for (;;) {
            ssize_t r = kc_watch_stream_read(resp->stream, buf, sizeof buf);
            if (r <= 0)
                break;
            char sz[32];
            int sn = snprintf(sz, sizeof sz, "%zx\r\n", (size_t)r);
            if (!write_all(c, sz, (size_t)sn) || !write_all(c, buf, (size_t)r) ||
                !write_all(c, "\r\n", 2))
                return false;
        }
        return write_all(c, "0\r\n\r\n", 5) && keep;
    }
    n += snprintf(head + n, sizeof head - (size_t)n, "Content-Length: %zu\r\n%s\r\n",
                  resp->body_len, keep ? "" : "Connection: close\r\n");
    return write_all(c, head, (size_t)n) && write_all(c, resp->body, resp->body_len) && keep;
}

/* ---- upgrades over TLS: the relay reads and writes through the SSL object ---- */

struct tls_io {
    struct conn *c;
    int retry_len; /* the length of an SSL_write to repeat (it wanted to write) */
};

static ssize_t tls_read(void *ctx, void *buf, size_t n)
{
    struct tls_io *io = ctx;
    int r = SSL_read(io->c->ssl, buf, n > INT32_MAX ? INT32_MAX : (int)n);
    if (r > 0)
        return r;
    int e = SSL_get_error(io->c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return KC_TUNNEL_AGAIN;
    return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
}

static ssize_t tls_write(void *ctx, const void *buf, size_t n)
{
    struct tls_io *io = ctx;
    /* OpenSSL wants a write that could not finish repeated with the same length */
    int len = io->retry_len ? io->retry_len : n > INT32_MAX ? INT32_MAX : (int)n;
    int w = SSL_write(io->c->ssl, buf, len);
    if (w > 0) {
        io->retry_len = 0;
        return w;
    }
    int e = SSL_get_error(io->c->ssl, w);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        io->retry_len = len;
        return KC_TUNNEL_AGAIN;
    }
    return -1;
}

static bool tls_pending(void *ctx)
{
    struct tls_io *io = ctx;
    return SSL_pending(io->c->ssl) > 0;
}

/* Answers 101 with the tunnel's headers and relays; early: what the client sent after its
 * request. */
static void h1_relay(struct conn *c, struct kc_tunnel *t, const char *early, size_t n)
{
    char head[4096];
    int len =
        snprintf(head, sizeof head, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n");
    for (size_t i = 0; i < kc_tunnel_header_count(t) && len < (int)sizeof head - 1100; i++) {
        const char *name, *value;
        kc_tunnel_header(t, i, &name, &value);
        len += snprintf(head + len, sizeof head - (size_t)len, "%s: %.1000s\r\n", name, value);
    }
    len += snprintf(head + len, sizeof head - (size_t)len, "\r\n");
    if (!write_all(c, head, (size_t)len))
        return;
    int flags = fcntl(c->fd, F_GETFL);
    SSL_set_mode(c->ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    struct tls_io io = {c, 0};
    struct kc_tunnel_client client = {c->fd, tls_read, tls_write, tls_pending, &io};
    kc_tunnel_relay(t, &client, early, n);
    fcntl(c->fd, F_SETFL, flags); /* blocking again, for the TLS shutdown */
}

static void serve_h1(struct conn *c)
{
    char buf[MAX_HEADER_BYTES + 1];
    size_t len = 0;
    for (;;) {
        struct parsed p;
        memset(&p, 0, sizeof p);
        char *end = NULL;
        while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
            if (len >= MAX_HEADER_BYTES) {
                const char *r = "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: "
                                "0\r\nConnection: close\r\n\r\n";
                write_all(c, r, strlen(r));
                return;
            }
            int r = SSL_read(c->ssl, buf + len, (int)(MAX_HEADER_BYTES - len));
            if (r <= 0)
                return;
            len += (size_t)r;
        }
        *end = 0;
        /* request line */
        char *line_end = strstr(buf, "\r\n");
        char *sp1 = line_end ? memchr(buf, ' ', (size_t)(line_end - buf)) : NULL;
        char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
        if (!sp1 || !sp2) {
            const char *r =
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            write_all(c, r, strlen(r));
            return;
        }
        p.method = strndup(buf, (size_t)(sp1 - buf));
        set_target(&p, sp1 + 1, (size_t)(sp2 - sp1 - 1));
        bool keep = true;
        size_t content_length = 0;
        bool chunked = false;
        for (char *h = line_end + 2; h && *h;) {
            char *e = strstr(h, "\r\n");
            size_t hl = e ? (size_t)(e - h) : strlen(h);
            char *colon = memchr(h, ':', hl);
            if (colon && p.nheaders < MAX_HEADERS) {
                char *v = colon + 1;
                while (*v == ' ' || *v == '\t')
                    v++;
                char *name = strndup(h, (size_t)(colon - h));
                char *value = strndup(v, hl - (size_t)(v - h));
                if (!strcasecmp(name, "Content-Length"))
                    content_length = strtoull(value, NULL, 10);
                else if (!strcasecmp(name, "Transfer-Encoding") && strcasestr(value, "chunked"))
                    chunked = true;
                else if (!strcasecmp(name, "Connection") && !strcasecmp(value, "close"))
                    keep = false;
                add_kv(&p.headers, &p.nheaders, name, value);
            }
            h = e ? e + 2 : NULL;
        }
        /* body: whatever followed the head, then the rest */
        size_t head_len = (size_t)(end - buf) + 4;
        size_t have = len - head_len;
        if (chunked) {
            const char *r =
                "HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            write_all(c, r, strlen(r));
            parsed_free(&p);
            return;
        }
        size_t take = have < content_length ? have : content_length;
        size_t max = c->t->srv->opt.max_body;
        body_append(&p, buf + head_len, take, max);
        size_t left = content_length - take;
        while (left) {
            char tmp[16384];
            int r = SSL_read(c->ssl, tmp, (int)(left < sizeof tmp ? left : sizeof tmp));
            if (r <= 0) {
                parsed_free(&p);
                return;
            }
            body_append(&p, tmp, (size_t)r, max);
            left -= (size_t)r;
        }
        memmove(buf, buf + head_len + take, have - take);
        len = have - take;
        struct kc_response resp;
        serve(c->t->srv, &p, &c->id, true, &resp);
        if (resp.tunnel) { /* switched protocols: the connection is the tunnel's now */
            h1_relay(c, resp.tunnel, buf, len);
            kc_response_release(&resp);
            parsed_free(&p);
            return;
        }
        bool ok = h1_respond(c, &resp, keep);
        kc_response_release(&resp);
        parsed_free(&p);
        if (!ok)
            return;
    }
}

/* ---- HTTP/2 ---- */

struct h2_stream {
    int32_t id;
    struct parsed req;
    struct kc_response resp;
    size_t sent;
    bool deferred;
    bool answered;
    struct h2_stream *next; /* in the connection's list */
};

struct h2_conn {
    struct conn *c;
    nghttp2_session *session;
    struct h2_stream *streams;
    time_t reset_window;
    int resets;
    bool abuse;
};

static ssize_t h2_send(nghttp2_session *s, const uint8_t *data, size_t n, int flags, void *user)
{
    struct h2_conn *h = user;
    return write_all(h->c, data, n) ? (ssize_t)n : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static ssize_t h2_read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t max,
                            uint32_t *flags, nghttp2_data_source *src, void *user)
{
    struct h2_stream *st = src->ptr;
    if (st->resp.stream) {
        ssize_t r = kc_watch_stream_read_nb(st->resp.stream, (char *)buf, max);
        if (r < 0) {
            *flags |= NGHTTP2_DATA_FLAG_EOF;
            return 0;
        }
        if (r == 0) {
            st->deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
        return r;
    }
    size_t n = st->resp.body_len - st->sent;
    if (n > max)
        n = max;
    memcpy(buf, st->resp.body + st->sent, n);
    st->sent += n;
    if (st->sent == st->resp.body_len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

static void h2_answer(struct h2_conn *h, struct h2_stream *st)
{
    char status[8], retry[16];
    nghttp2_nv nv[5 + KC_MAX_WARNINGS];
    size_t n = 0;
    st->answered = true;
    serve(h->c->t->srv, &st->req, &h->c->id, false, &st->resp);
    snprintf(status, sizeof status, "%d", st->resp.code);
#define NV(k, v)                                                                                   \
    nv[n++] =                                                                                      \
        (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), NGHTTP2_NV_FLAG_NONE}
    NV(":status", status);
    NV("content-type", st->resp.content_type);
    NV("cache-control", st->resp.cache_immutable ? "public, immutable" : "no-cache, private");
    if (st->resp.etag[0])
        NV("etag", st->resp.etag);
    if (st->resp.retry_after > 0) {
        snprintf(retry, sizeof retry, "%d", st->resp.retry_after);
        NV("retry-after", retry);
    }
    for (int i = 0; i < st->resp.nwarnings; i++)
        NV("warning", st->resp.warnings[i]);
#undef NV
    if (st->resp.stream)
        kc_watch_stream_set_alive_check(st->resp.stream, conn_alive, h->c);
    nghttp2_data_provider prov = {.source.ptr = st, .read_callback = h2_read_body};
    nghttp2_submit_response(h->session, st->id, nv, n, &prov);
}

static int h2_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct h2_conn *h = user;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    /* Rapid reset costs nothing extra here: each request is answered before the next
     * frame is read, so a cancelled stream did no more work than a normal one. Streams
     * reset by the client are still counted (see h2_stream_close). */
    struct h2_stream *st = calloc(1, sizeof *st);
    if (!st)
        abort();
    st->id = f->hd.stream_id;
    st->next = h->streams;
    h->streams = st;
    nghttp2_session_set_stream_user_data(s, st->id, st);
    return 0;
}

static int h2_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user)
{
    struct h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
    if (!st)
        return 0;
    st->req.header_bytes += namelen + valuelen;
    if (st->req.nheaders >= MAX_HEADERS || st->req.header_bytes > MAX_HEADER_BYTES)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets just this stream */
    if (namelen == 7 && !memcmp(name, ":method", 7))
        st->req.method = strndup((const char *)value, valuelen);
    else if (namelen == 5 && !memcmp(name, ":path", 5))
        set_target(&st->req, (const char *)value, valuelen);
    else if (name[0] != ':')
        add_kv(&st->req.headers, &st->req.nheaders, strndup((const char *)name, namelen),
               strndup((const char *)value, valuelen));
    return 0;
}

static int h2_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *user)
{
    struct h2_conn *h = user;
    struct h2_stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st)
        body_append(&st->req, data, len, h->c->t->srv->opt.max_body);
    return 0;
}

static int h2_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct h2_conn *h = user;
    if (f->hd.type == NGHTTP2_RST_STREAM) {
        /* rapid reset: many streams opened and cancelled are answered with GOAWAY */
        time_t now = time(NULL);
        if (now != h->reset_window) {
            h->reset_window = now;
            h->resets = 0;
        }
        if (++h->resets > MAX_RESETS_PER_SECOND) {
            h->abuse = true;
            nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s),
                                  NGHTTP2_ENHANCE_YOUR_CALM, NULL, 0);
        }
        return 0;
    }
    if ((f->hd.type == NGHTTP2_HEADERS || f->hd.type == NGHTTP2_DATA) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        struct h2_stream *st = nghttp2_session_get_stream_user_data(s, f->hd.stream_id);
        if (st && !st->answered)
            h2_answer(h, st);
    }
    return 0;
}

static int h2_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    struct h2_conn *h = user;
    if (code != NGHTTP2_NO_ERROR) {
        time_t now = time(NULL);
        if (now != h->reset_window) {
            h->reset_window = now;
            h->resets = 0;
        }
        if (++h->resets > MAX_RESETS_PER_SECOND && !h->abuse) {
            h->abuse = true;
            nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s),
                                  NGHTTP2_ENHANCE_YOUR_CALM, NULL, 0);
        }
    }
    for (struct h2_stream **pp = &h->streams; *pp; pp = &(*pp)->next) {
        if ((*pp)->id != id)
            continue;
        struct h2_stream *st = *pp;
        *pp = st->next;
        kc_response_release(&st->resp);
        parsed_free(&st->req);
        free(st);
        break;
    }
    return 0;
}

static void serve_h2(struct conn *c)
{
    struct h2_conn h = {.c = c};
    nghttp2_session_callbacks *cb;
    nghttp2_option *opt;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, h2_send);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, h2_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, h2_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, h2_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, h2_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, h2_stream_close);
    nghttp2_option_new(&opt);
    nghttp2_option_set_max_outbound_ack(opt, 1000); /* SETTINGS/PING floods */
    nghttp2_option_set_max_settings(opt, 32);
    nghttp2_session_server_new2(&h.session, cb, &h, opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_option_del(opt);
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BYTES},
    };
    nghttp2_submit_settings(h.session, NGHTTP2_FLAG_NONE, settings, 3);
    nghttp2_session_set_local_window_size(h.session, NGHTTP2_FLAG_NONE, 0, 8 << 20);
    unsigned char buf[16384];
    bool goaway_sent = false;
    while (nghttp2_session_want_read(h.session) || nghttp2_session_want_write(h.session)) {
        if (nghttp2_session_send(h.session) != 0)
            break;
        if (c->t->stopping && !goaway_sent) {
            nghttp2_submit_goaway(h.session, NGHTTP2_FLAG_NONE,
                                  nghttp2_session_get_last_proc_stream_id(h.session),
                                  NGHTTP2_NO_ERROR, NULL, 0);
            goaway_sent = true;
            continue;
        }
        if (goaway_sent || h.abuse) {
            nghttp2_session_send(h.session);
            break;
        }
        bool any_deferred = false;
        for (struct h2_stream *st = h.streams; st; st = st->next)
            any_deferred |= st->deferred;
        int timeout = any_deferred ? 20 : 500;
        if (SSL_pending(c->ssl) == 0) {
            struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
            int pr = poll(&pfd, 1, timeout);
            if (pr < 0 && errno != EINTR)
                break;
            if (pr > 0 && (pfd.revents & (POLLHUP | POLLERR)) && !(pfd.revents & POLLIN))
                break;
            if (pr > 0 && (pfd.revents & POLLIN)) {
                int r = SSL_read(c->ssl, buf, sizeof buf);
                if (r <= 0)
                    break;
                if (nghttp2_session_mem_recv(h.session, buf, (size_t)r) < 0)
                    break;
            }
        } else {
            int r = SSL_read(c->ssl, buf, sizeof buf);
            if (r <= 0)
                break;
            if (nghttp2_session_mem_recv(h.session, buf, (size_t)r) < 0)
                break;
        }
        /* resume watches that have something to say */
        for (struct h2_stream *st = h.streams; st; st = st->next) {
            if (st->deferred) {
                st->deferred = false;
                nghttp2_session_resume_data(h.session, st->id);
            }
        }
    }
    nghttp2_session_del(h.session);
    while (h.streams) {
        struct h2_stream *st = h.streams;
        h.streams = st->next;
        kc_response_release(&st->resp);
        parsed_free(&st->req);
        free(st);
    }
}

/* ---- accept and dispatch ---- */

static void *conn_main(void *arg)
{
    struct conn *c = arg;
    struct timeval tv = {30, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (SSL_accept(c->ssl) == 1) {
        struct timeval none = {0, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
        peer_identity(c->ssl, &c->id);
        const unsigned char *alpn = NULL;
        unsigned alen = 0;
        SSL_get0_alpn_selected(c->ssl, &alpn, &alen);
        if (alen == 2 && !memcmp(alpn, "h2", 2))
            serve_h2(c);
        else
            serve_h1(c);
        SSL_shutdown(c->ssl);
    }
    SSL_free(c->ssl);
    close(c->fd);
    __atomic_sub_fetch(&c->t->conns, 1, __ATOMIC_SEQ_CST);
    free(c);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct kc_tls_server *t = arg;
    while (!t->stopping) {
        struct pollfd pfd = {.fd = t->lfd, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        int fd = accept(t->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        if (__atomic_load_n(&t->conns, __ATOMIC_SEQ_CST) >= MAX_CONNECTIONS) {
            close(fd);
            continue;
        }
        struct conn *c = calloc(1, sizeof *c);
        if (!c)
            abort();
        c->t = t;
        c->fd = fd;
        c->ssl = SSL_new(t->ctx);
        SSL_set_fd(c->ssl, fd);
        __atomic_add_fetch(&t->conns, 1, __ATOMIC_SEQ_CST);
        pthread_t th;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, 512 * 1024);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&th, &at, conn_main, c) != 0) {
            SSL_free(c->ssl);
            close(fd);
            __atomic_sub_fetch(&t->conns, 1, __ATOMIC_SEQ_CST);
            free(c);
        }
        pthread_attr_destroy(&at);
    }
    return NULL;
}

/* ALPN: h2 first, then http/1.1; a client without ALPN gets HTTP/1.1 */
static int select_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char prefs[] = "\x02h2\x08http/1.1";
    if (SSL_select_next_proto((unsigned char **)out, outlen, prefs, sizeof prefs - 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_NOACK;
}

int kc_tls_start(struct kc_server *srv, const char *addr, int port, const char *cert,
                 const char *key, const char *client_ca, struct kc_tls_server **out, char *err,
                 size_t errlen)
{
    struct kc_tls_server *t = calloc(1, sizeof *t);
    if (!t)
        abort();
    t->srv = srv;
    t->ctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_cipher_list(t->ctx, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL:!MD5:!RC4");
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert) != 1 ||
        SSL_CTX_use_PrivateKey_file(t->ctx, key, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "cannot load the serving certificate %s / %s", cert, key);
        goto fail;
    }
    if (client_ca) {
        if (SSL_CTX_load_verify_locations(t->ctx, client_ca, NULL) != 1) {
            snprintf(err, errlen, "cannot load the client CA %s", client_ca);
            goto fail;
        }
        SSL_CTX_set_client_CA_list(t->ctx, SSL_load_client_CA_file(client_ca));
        /* optional: clients without a certificate may still use a token */
        SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
    }
    SSL_CTX_set_alpn_select_cb(t->ctx, select_alpn, NULL);

    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        snprintf(err, errlen, "invalid --bind-address %s", addr);
        goto fail;
    }
    t->lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(t->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (t->lfd < 0 || bind(t->lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
        listen(t->lfd, 1024) != 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", addr, port, strerror(errno));
        if (t->lfd >= 0)
            close(t->lfd);
        goto fail;
    }
    if (pthread_create(&t->acceptor, NULL, accept_main, t) != 0) {
        snprintf(err, errlen, "cannot start the TLS acceptor");
        close(t->lfd);
        goto fail;
    }
    *out = t;
    return 0;
fail:
    SSL_CTX_free(t->ctx);
    free(t);
    return -1;
}

void kc_tls_stop(struct kc_tls_server *t)
{
    if (!t)
        return;
    t->stopping = 1;
    pthread_join(t->acceptor, NULL);
    close(t->lfd);
    /* connection threads notice `stopping` (h2 sends GOAWAY) or end with their client */
    for (int i = 0; i < 50 && __atomic_load_n(&t->conns, __ATOMIC_SEQ_CST) > 0; i++)
        usleep(100 * 1000);
    /* a connection still running keeps t; leaking it at exit beats freeing it under them */
    if (__atomic_load_n(&t->conns, __ATOMIC_SEQ_CST) == 0) {
        SSL_CTX_free(t->ctx);
        free(t);
    }
}
