/* The HTTP/2 frontend (cleartext, prior knowledge): nghttp2's server session does the
 * framing; each stream becomes one exchange on a backend HTTP/1.1 connection, so many
 * streams of one client spread over pooled backend connections.
 *
 * nghttp2 does no I/O here: bytes read are fed with mem_recv, bytes to send are pulled
 * with mem_send into the connection's output buffer. Response bodies wait in a
 * per-stream buffer that the data provider drains; above OUT_HIGH the backend is paused.
 * Request bodies are passed on as they come (nghttp2's automatic flow control). */
#include "ingress/proxy.h"
#include "lib/httpstatus.h"

#include <errno.h>
#include <nghttp2/nghttp2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define OUT_HIGH (256 * 1024)
#define MAX_STREAMS 128

struct h2stream;

struct h2conn {
    struct px_io io;
    char ip[48];
    nghttp2_session *s;
    struct px_buf out;
    struct h2stream *streams; /* every open stream (nghttp2_session_del does not tell) */
    int nstreams;
    bool flushing, again;           /* h2_flush is on the stack; run it once more */
    unsigned long resets, answered; /* streams the client reset early, streams answered */
};

struct h2stream {
    struct h2conn *c;
    struct h2stream *prev, *next;
    int32_t id;
    /* request */
    char *method, *path, *authority, *scheme, *cookie;
    struct h1_header *hdrs; /* names and values malloc'd */
    size_t nhdrs, caphdrs, hdr_bytes;
    int64_t clen;
    bool end_stream, bad;
    struct px_up *x;
    /* response */
    struct px_buf resp;
    bool resp_end, deferred, responded;
    bool unpause;   /* the client took enough: resume the backend after mem_send */
    size_t unacked; /* request body bytes received but not yet given back to the window */
};

static void h2_flush(struct h2conn *c);

static void stream_free(struct h2stream *st)
{
    if (st->x) {
        struct px_up *x = st->x;
        st->x = NULL;
        px_up_cancel(x);
    }
    if (st->prev)
        st->prev->next = st->next;
    else
        st->c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    st->c->nstreams--;
    for (size_t i = 0; i < st->nhdrs; i++) {
        free((char *)st->hdrs[i].name.p);
        free((char *)st->hdrs[i].value.p);
    }
    free(st->hdrs);
    free(st->method);
    free(st->path);
    free(st->authority);
    free(st->scheme);
    free(st->cookie);
    px_buf_free(&st->resp);
    free(st);
}

/* ---- response side ---- */
static ssize_t read_body(nghttp2_session *s, int32_t id, uint8_t *buf, size_t len, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    (void)s, (void)id, (void)ud;
    struct h2stream *st = src->ptr;
    size_t n = px_buf_size(&st->resp);
    if (n > len)
        n = len;
    if (n)
        memcpy(buf, st->resp.p + st->resp.off, n);
    px_buf_consume(&st->resp, n);
    if (!px_buf_size(&st->resp)) {
        if (st->resp_end)
            *flags |= NGHTTP2_DATA_FLAG_EOF;
        else if (n == 0) {
            st->deferred = true;
            return NGHTTP2_ERR_DEFERRED;
        }
    }
    if (st->x && px_buf_size(&st->resp) < OUT_HIGH / 2)
        st->unpause = true; /* not here: it would call back into nghttp2 */
    return (ssize_t)n;
}

static void submit(struct h2stream *st, int status, const nghttp2_nv *extra, size_t nextra,
                   bool body)
{
    char code[4];
    snprintf(code, sizeof code, "%d", status);
    nghttp2_nv *nva = calloc(nextra + 1, sizeof *nva);
    if (!nva)
        return;
    nva[0] =
        (nghttp2_nv){(uint8_t *)":status", (uint8_t *)code, 7, strlen(code), NGHTTP2_NV_FLAG_NONE};
    if (nextra)
        memcpy(nva + 1, extra, nextra * sizeof *nva);
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = read_body};
    st->responded = true;
    nghttp2_submit_response(st->c->s, st->id, nva, nextra + 1, body ? &prd : NULL);
    free(nva);
}

static void answer(struct h2stream *st, int status, const char *why)
{
    char len[24];
    px_buf_printf(&st->resp, "%d %s%s%s\n", status, kc_http_reason(status), why ? ": " : "",
                  why ? why : "");
    snprintf(len, sizeof len, "%zu", px_buf_size(&st->resp));
    nghttp2_nv nv[] = {
        {(uint8_t *)"content-type", (uint8_t *)"text/plain; charset=utf-8", 12, 25, 0},
        {(uint8_t *)"content-length", (uint8_t *)len, 14, strlen(len), 0},
    };
    st->resp_end = true;
    submit(st, status, nv, 2, strcmp(st->method ? st->method : "", "HEAD") != 0);
}

static void up_head(void *ctx, const struct h1_message *r)
{
    struct h2stream *st = ctx;
    nghttp2_nv nv[H1_MAX_HEADERS + 1] = {{0}};
    char *names[H1_MAX_HEADERS];
    size_t n = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct h1_header *h = &r->headers[i];
        bool cl = h1_str_ieq(h->name, "content-length");
        if (!cl && px_hop_by_hop(h->name, r->headers, r->nheaders))
            continue;
        /* HTTP/2 field names are lowercase */
        char *nm = malloc(h->name.len + 1);
        if (!nm)
            break;
        for (size_t k = 0; k < h->name.len; k++)
            nm[k] = (char)(h->name.p[k] >= 'A' && h->name.p[k] <= 'Z' ? h->name.p[k] + 32
                                                                      : h->name.p[k]);
        nm[h->name.len] = 0;
        names[n] = nm;
        nv[n] = (nghttp2_nv){(uint8_t *)nm, (uint8_t *)h->value.p, h->name.len, h->value.len,
                             NGHTTP2_NV_FLAG_NONE};
        n++;
    }
    submit(st, r->status, nv, n, r->framing != H1_BODY_NONE);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    /* HEADERS go out with the first DATA (one send); if no data follows, the poll for
     * writability flushes them */
    if (r->framing == H1_BODY_NONE)
        h2_flush(st->c);
    else if (!st->c->io.dead)
        px_io_mod(&st->c->io, st->c->io.events | EPOLLOUT);
}

static void up_data(void *ctx, const char *p, size_t n)
{
    struct h2stream *st = ctx;
    px_buf_add(&st->resp, p, n);
    if (st->deferred) {
        st->deferred = false;
        nghttp2_session_resume_data(st->c->s, st->id);
    }
    if (px_buf_size(&st->resp) > OUT_HIGH && st->x)
        px_up_pause(st->x, true);
    h2_flush(st->c);
}

static void up_end(void *ctx)
{
    struct h2stream *st = ctx;
    st->x = NULL;
    st->c->answered++;
    st->resp_end = true;
    if (st->deferred) {
        st->deferred = false;
        nghttp2_session_resume_data(st->c->s, st->id);
    }
    h2_flush(st->c);
}

static void up_error(void *ctx, int status)
{
    struct h2stream *st = ctx;
    st->x = NULL;
    if (status && !st->responded)
        answer(st, status,
               status == 504 ? "the backend did not answer in time"
                             : "the backend connection failed");
    else
        nghttp2_submit_rst_stream(st->c->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    h2_flush(st->c);
}

static void up_drain(void *ctx)
{
    struct h2stream *st = ctx;
    if (st->unacked) {
        nghttp2_session_consume(st->c->s, st->id, st->unacked);
        st->unacked = 0;
        h2_flush(st->c);
    }
}

static const struct px_up_cbs up_cbs = {up_head, up_data, up_end, up_error, up_drain};

/* ---- request side ---- */
static void start(struct h2stream *st)
{
    struct h2conn *c = st->c;
    if (st->bad || !st->method || !st->path || (!st->authority && !st->scheme)) {
        answer(st, 400, "malformed request");
        return;
    }
    const char *auth = st->authority ? st->authority : "";
    for (size_t i = 0; !*auth && i < st->nhdrs; i++)
        if (h1_str_ieq(st->hdrs[i].name, "host"))
            auth = st->hdrs[i].value.p;
    char host[256];
    size_t k = 0;
    bool v6 = auth[0] == '[';
    for (; auth[k] && k + 1 < sizeof host; k++) {
        if ((auth[k] == ':' && !v6) || (v6 && k && auth[k - 1] == ']'))
            break;
        host[k] = (char)(auth[k] >= 'A' && auth[k] <= 'Z' ? auth[k] + 32 : auth[k]);
    }
    host[k] = 0;
    size_t plen = strcspn(st->path, "?#");
    char *path = strndup(st->path, plen);
    int status = 0;
    struct px_target *t = path ? px_route(c->io.loop, host, path, &status) : NULL;
    free(path);
    if (!t) {
        answer(st, status ? status : 500,
               status == 404 ? "no Ingress rule matches this host and path"
                             : "the backend service has no ready endpoint");
        return;
    }
    enum h1_framing body = st->end_stream  ? H1_BODY_NONE
                           : st->clen >= 0 ? H1_BODY_LENGTH
                                           : H1_BODY_CHUNKED;
    if (body == H1_BODY_LENGTH && st->clen == 0)
        body = H1_BODY_NONE;
    /* cookies arrive split in HTTP/2 (RFC 9113 8.2.3); HTTP/1.1 wants one header */
    size_t nh = st->nhdrs;
    if (st->cookie) {
        struct h1_header *h = realloc(st->hdrs, (st->nhdrs + 1) * sizeof *h);
        if (h) {
            st->hdrs = h;
            h[nh].name = (struct h1_str){strdup("cookie"), 6};
            h[nh].value = (struct h1_str){st->cookie, strlen(st->cookie)};
            st->cookie = NULL;
            st->nhdrs = ++nh;
        }
    }
    struct px_buf head = {0};
    struct h1_str m = {st->method, strlen(st->method)}, tg = {st->path, strlen(st->path)},
                  hs = {auth, strlen(auth)};
    if (px_request_head(&head, m, tg, hs, st->hdrs, nh, c->ip, "http", body,
                        (uint64_t)(st->clen > 0 ? st->clen : 0)) != 0) {
        px_buf_free(&head);
        answer(st, 500, NULL);
        return;
    }
    st->x = px_up_start(c->io.loop, t, &head, body, strcmp(st->method, "HEAD") == 0, &up_cbs, st);
    px_buf_free(&head);
    if (!st->x)
        answer(st, 502, "cannot connect to the backend");
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct h2conn *c = ud;
    if (fr->hd.type != NGHTTP2_HEADERS || fr->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct h2stream *st = calloc(1, sizeof *st);
    if (!st)
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    st->c = c;
    st->id = fr->hd.stream_id;
    st->clen = -1;
    st->next = c->streams;
    if (c->streams)
        c->streams->prev = st;
    c->streams = st;
    c->nstreams++;
    nghttp2_session_set_stream_user_data(s, st->id, st);
    return 0;
}

static char *dupn(const uint8_t *p, size_t n)
{
    return strndup((const char *)p, n);
}

static int on_header(nghttp2_session *s, const nghttp2_frame *fr, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)flags;
    struct h2conn *c = ud;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
    if (!st || fr->hd.type != NGHTTP2_HEADERS || st->x)
        return 0; /* trailers: dropped */
    st->hdr_bytes += namelen + valuelen + 32;
    if (st->hdr_bytes > px_loop_settings(c->io.loop)->max_header)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    char **pseudo = NULL;
    if (namelen && name[0] == ':') {
        if (namelen == 7 && !memcmp(name, ":method", 7))
            pseudo = &st->method;
        else if (namelen == 5 && !memcmp(name, ":path", 5))
            pseudo = &st->path;
        else if (namelen == 10 && !memcmp(name, ":authority", 10))
            pseudo = &st->authority;
        else if (namelen == 7 && !memcmp(name, ":scheme", 7))
            pseudo = &st->scheme;
        else
            st->bad = true; /* :protocol and friends: not supported */
        if (pseudo) {
            free(*pseudo);
            *pseudo = dupn(value, valuelen);
        }
        return 0;
    }
    if (namelen == 6 && !memcmp(name, "cookie", 6)) {
        size_t old = st->cookie ? strlen(st->cookie) : 0;
        char *ck = realloc(st->cookie, old + valuelen + 3);
        if (!ck)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        if (old)
            memcpy(ck + old, "; ", 2), old += 2;
        memcpy(ck + old, value, valuelen);
        ck[old + valuelen] = 0;
        st->cookie = ck;
        return 0;
    }
    if (namelen == 14 && !memcmp(name, "content-length", 14)) {
        char *end;
        char *v = dupn(value, valuelen);
        long long n = v ? strtoll(v, &end, 10) : -1;
        if (!v || !*v || *end || n < 0)
            st->bad = true;
        else
            st->clen = n;
        free(v);
    }
    if (st->nhdrs == st->caphdrs) {
        size_t cap = st->caphdrs ? st->caphdrs * 2 : 16;
        if (cap > H1_MAX_HEADERS * 2)
            return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
        void *p = realloc(st->hdrs, cap * sizeof *st->hdrs);
        if (!p)
            return NGHTTP2_ERR_CALLBACK_FAILURE;
        st->hdrs = p;
        st->caphdrs = cap;
    }
    char *n = dupn(name, namelen), *v = dupn(value, valuelen);
    if (!n || !v) {
        free(n);
        free(v);
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    st->hdrs[st->nhdrs++] = (struct h1_header){{n, namelen}, {v, valuelen}};
    return 0;
}

/* Streams reset by the client before their answer was complete. Each one costs a backend
 * connection (an exchange cut in the middle cannot go back to the pool), so a client that
 * mostly resets ("rapid reset") is sent away. */
#define RESET_ALLOWANCE 100

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *fr, void *ud)
{
    struct h2conn *c = ud;
    if (fr->hd.type == NGHTTP2_RST_STREAM) {
        struct h2stream *rs = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
        if (rs && !rs->resp_end && ++c->resets > RESET_ALLOWANCE && c->resets > c->answered)
            nghttp2_session_terminate_session(s, NGHTTP2_ENHANCE_YOUR_CALM);
        return 0;
    }
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, fr->hd.stream_id);
    if (!st)
        return 0;
    bool end = fr->hd.flags & NGHTTP2_FLAG_END_STREAM;
    if (fr->hd.type == NGHTTP2_HEADERS && fr->headers.cat == NGHTTP2_HCAT_REQUEST) {
        st->end_stream = end;
        start(st);
        return 0;
    }
    if ((fr->hd.type == NGHTTP2_DATA || fr->hd.type == NGHTTP2_HEADERS) && end && st->x)
        px_up_body_end(st->x);
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    (void)flags, (void)ud;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (!st || !st->x) {
        nghttp2_session_consume(s, id, len); /* dropped: the window must not shrink */
        return 0;
    }
    px_up_body(st->x, (const char *)data, len);
    /* flow control: the window opens again once the backend took the bytes, so a fast
     * uploader cannot fill our memory with what a slow backend has not read */
    st->unacked += len;
    if (px_up_pending(st->x) <= OUT_HIGH) {
        nghttp2_session_consume(s, id, st->unacked);
        st->unacked = 0;
    }
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t err, void *ud)
{
    (void)err;
    struct h2conn *c = ud;
    struct h2stream *st = nghttp2_session_get_stream_user_data(s, id);
    if (st) {
        nghttp2_session_set_stream_user_data(s, id, NULL);
        stream_free(st);
    }
    if (!c->nstreams)
        c->io.deadline = px_now_ms() + px_loop_settings(c->io.loop)->client_idle_ms;
    return 0;
}

/* ---- the connection ---- */
static void h2_destroy(struct px_io *io)
{
    struct h2conn *c = (struct h2conn *)io;
    nghttp2_session_del(c->s); /* no callbacks: our streams are freed below */
    while (c->streams)
        stream_free(c->streams);
    px_buf_free(&c->out);
    free(c);
}

static void h2_close(struct h2conn *c)
{
    px_io_kill(&c->io);
}

static void h2_flush(struct h2conn *c)
{
    if (c->io.dead)
        return;
    if (c->flushing) {
        c->again = true;
        return;
    }
    c->flushing = true;
    do {
        c->again = false;
        while (px_buf_size(&c->out) < OUT_HIGH) {
            const uint8_t *data;
            ssize_t n = nghttp2_session_mem_send(c->s, &data);
            if (n < 0) {
                c->flushing = false;
                h2_close(c);
                return;
            }
            if (n == 0)
                break;
            px_buf_add(&c->out, data, (size_t)n);
        }
        for (struct h2stream *st = c->streams; st && !c->io.dead; st = st->next) {
            if (st->unpause && st->x) {
                st->unpause = false;
                px_up_pause(st->x, false); /* may deliver data: then once more */
            }
        }
    } while (c->again && !c->io.dead);
    c->flushing = false;
    if (c->io.dead)
        return;
    if (px_buf_flush(c->io.fd, &c->out) != 0) {
        h2_close(c);
        return;
    }
    if (!px_buf_size(&c->out) && !nghttp2_session_want_read(c->s) &&
        !nghttp2_session_want_write(c->s)) {
        h2_close(c);
        return;
    }
    uint32_t ev = EPOLLIN | EPOLLRDHUP;
    if (px_buf_size(&c->out) || nghttp2_session_want_write(c->s))
        ev |= EPOLLOUT;
    px_io_mod(&c->io, ev);
}

static void h2_event(struct px_io *io, uint32_t events)
{
    struct h2conn *c = (struct h2conn *)io;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        for (;;) {
            uint8_t buf[16384];
            ssize_t n = recv(io->fd, buf, sizeof buf, 0);
            if (n > 0) {
                if (nghttp2_session_mem_recv(c->s, buf, (size_t)n) < 0) {
                    h2_close(c);
                    return;
                }
                if (io->dead)
                    return;
                if ((size_t)n < sizeof buf)
                    break; /* drained: the poll says when more comes */
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            h2_close(c);
            return;
        }
    }
    h2_flush(c);
}

static void h2_timeout(struct px_io *io)
{
    struct h2conn *c = (struct h2conn *)io;
    if (c->nstreams)
        return;
    nghttp2_session_terminate_session(c->s, NGHTTP2_NO_ERROR);
    h2_flush(c);
    if (!io->dead)
        h2_close(c);
}

void px_h2_accept(struct px_loop *l, int fd, const char *client_ip, const char *buf, size_t len)
{
    struct h2conn *c = calloc(1, sizeof *c);
    nghttp2_session_callbacks *cbs = NULL;
    if (!c || nghttp2_session_callbacks_new(&cbs) != 0)
        goto fail;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_option *opt = NULL;
    if (nghttp2_option_new(&opt) != 0)
        goto fail;
    nghttp2_option_set_no_auto_window_update(opt, 1); /* see on_data_chunk */
    int rc = nghttp2_session_server_new2(&c->s, cbs, c, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cbs);
    cbs = NULL;
    if (rc != 0)
        goto fail;
    snprintf(c->ip, sizeof c->ip, "%s", client_ip);
    c->io.fd = fd;
    c->io.on_event = h2_event;
    c->io.on_timeout = h2_timeout;
    c->io.destroy = h2_destroy;
    c->io.deadline = px_now_ms() + px_loop_settings(l)->client_idle_ms;
    if (px_io_add(l, &c->io, EPOLLIN | EPOLLRDHUP) != 0) {
        nghttp2_session_del(c->s);
        goto fail;
    }
    nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, MAX_STREAMS}};
    nghttp2_submit_settings(c->s, NGHTTP2_FLAG_NONE, iv, 1);
    if (len && nghttp2_session_mem_recv(c->s, (const uint8_t *)buf, len) < 0) {
        h2_close(c);
        return;
    }
    h2_flush(c);
    return;
fail:
    nghttp2_session_callbacks_del(cbs); /* NULL is fine */
    free(c);
    close(fd);
}
