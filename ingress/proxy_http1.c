/* The HTTP/1.x frontend: one client connection, one request at a time (requests that
 * arrive early wait in the input buffer, so pipelining works, serially). Detects the
 * HTTP/2 connection preface on a fresh connection and hands the socket to proxy_h2.c.
 *
 * Output is buffered per connection; above OUT_HIGH the backend is paused until the client
 * has taken the bytes. Request bodies flow the other way with the same bound. */
#include "ingress/proxy.h"
#include "lib/httpstatus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#define OUT_HIGH (256 * 1024)
#define READ_CHUNK (16 * 1024)
#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24

/* F_CLOSING: the last answer is going out; F_LINGER: it went out, our side is shut down
 * and what the client still sends is read and dropped for a moment, so that closing with
 * unread bytes does not reset the connection and destroy the answer in flight. */
enum fstate { F_HEAD, F_BODY, F_CLOSING, F_LINGER };
enum rframing { RESP_RAW, RESP_CHUNKED };

struct fconn {
    struct px_io io;
    char ip[48];
    struct px_buf in, out;
    size_t scan;
    enum fstate st;
    struct px_up *x;
    bool sniffed, peer_eof, close_after, head_method, read_paused, resp_started;
    bool in_process; /* fc_process is on the stack: finish_request must not recurse */
    int minor;
    /* request body */
    enum h1_framing body;
    uint64_t body_left;
    struct h1_chunked ch;
    bool body_done;
    /* response */
    enum rframing rf;
};

static void fc_process(struct fconn *f);
static void fc_want(struct fconn *f);

static void fc_destroy(struct px_io *io)
{
    struct fconn *f = (struct fconn *)io;
    px_buf_free(&f->in);
    px_buf_free(&f->out);
    free(f);
}

static void fc_close(struct fconn *f)
{
    if (f->x) {
        struct px_up *x = f->x;
        f->x = NULL;
        px_up_cancel(x);
    }
    px_io_kill(&f->io);
}

#define LINGER_MS 2000

static void fc_linger(struct fconn *f)
{
    if (f->x) {
        struct px_up *x = f->x;
        f->x = NULL;
        px_up_cancel(x);
    }
    if (f->peer_eof) {
        fc_close(f);
        return;
    }
    shutdown(f->io.fd, SHUT_WR);
    f->st = F_LINGER;
    f->io.deadline = px_now_ms() + LINGER_MS;
    px_io_mod(&f->io, EPOLLIN | EPOLLRDHUP);
}

/* Sends what can be sent now; closes on a write error. false when the connection died. */
static bool fc_flush(struct fconn *f)
{
    if (f->io.dead)
        return false;
    if (px_buf_flush(f->io.fd, &f->out) != 0) {
        fc_close(f);
        return false;
    }
    return true;
}

static void fc_error(struct fconn *f, int status, const char *why)
{
    char body[256];
    int n = snprintf(body, sizeof body, "%d %s%s%s\n", status, kc_http_reason(status),
                     why ? ": " : "", why ? why : "");
    px_buf_printf(&f->out,
                  "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Content-Length: %d\r\n%s\r\n%s",
                  status, kc_http_reason(status), n, f->close_after ? "Connection: close\r\n" : "",
                  f->head_method ? "" : body);
}

/* ---- upstream callbacks ---- */
static void on_head(void *ctx, const struct h1_message *r)
{
    struct fconn *f = ctx;
    struct px_buf *o = &f->out;
    f->resp_started = true;
    px_buf_printf(o, "HTTP/1.%d %d %s\r\n", f->minor ? 1 : 0, r->status, kc_http_reason(r->status));
    const struct h1_str *cl = NULL;
    for (size_t i = 0; i < r->nheaders; i++) {
        const struct h1_header *h = &r->headers[i];
        if (h1_str_ieq(h->name, "content-length"))
            cl = &h->value;
        if (px_hop_by_hop(h->name, r->headers, r->nheaders))
            continue;
        px_buf_add(o, h->name.p, h->name.len);
        px_buf_add(o, ": ", 2);
        px_buf_add(o, h->value.p, h->value.len);
        px_buf_add(o, "\r\n", 2);
    }
    f->rf = RESP_RAW;
    if (r->framing == H1_BODY_LENGTH) {
        px_buf_printf(o, "Content-Length: %llu\r\n", (unsigned long long)r->content_length);
    } else if (r->framing == H1_BODY_NONE) {
        /* HEAD and 304 answers keep the length of what a GET would have got */
        if (cl && (f->head_method || r->status == 304)) {
            px_buf_str(o, "Content-Length: ");
            px_buf_add(o, cl->p, cl->len);
            px_buf_add(o, "\r\n", 2);
        } else if (r->status != 204 && r->status != 304) {
            px_buf_str(o, "Content-Length: 0\r\n");
        }
    } else if (f->minor >= 1) {
        f->rf = RESP_CHUNKED;
        px_buf_str(o, "Transfer-Encoding: chunked\r\n");
    } else {
        f->close_after = true; /* an HTTP/1.0 client reads to the close */
    }
    if (!f->body_done)
        f->close_after = true; /* the backend answered before the body was read */
    if (f->close_after)
        px_buf_str(o, "Connection: close\r\n");
    else if (f->minor == 0)
        px_buf_str(o, "Connection: keep-alive\r\n");
    px_buf_add(o, "\r\n", 2);
    /* not sent yet: the body that usually came in the same read goes out with it (one
     * send); if none follows, the poll for writability sends the head on its own */
    fc_want(f);
}

static void on_data(void *ctx, const char *p, size_t n)
{
    struct fconn *f = ctx;
    if (f->rf == RESP_CHUNKED)
        px_buf_printf(&f->out, "%zx\r\n", n);
    px_buf_add(&f->out, p, n);
    if (f->rf == RESP_CHUNKED)
        px_buf_add(&f->out, "\r\n", 2);
    if (!fc_flush(f))
        return;
    if (px_buf_size(&f->out) > OUT_HIGH && f->x) {
        px_up_pause(f->x, true);
        fc_want(f);
    }
}

static void finish_request(struct fconn *f)
{
    f->x = NULL;
    if (f->close_after || !f->body_done || f->peer_eof) {
        f->st = F_CLOSING;
    } else {
        f->st = F_HEAD;
        f->io.deadline = px_now_ms() + px_loop_settings(f->io.loop)->client_idle_ms;
    }
    if (!fc_flush(f))
        return;
    if (f->st == F_CLOSING && !px_buf_size(&f->out)) {
        fc_linger(f);
        return;
    }
    fc_want(f);
    if (f->st == F_HEAD && !f->in_process)
        fc_process(f); /* a request that came early */
}

static void on_end(void *ctx)
{
    struct fconn *f = ctx;
    if (f->rf == RESP_CHUNKED)
        px_buf_add(&f->out, "0\r\n\r\n", 5);
    finish_request(f);
}

static void on_error(void *ctx, int status)
{
    struct fconn *f = ctx;
    f->x = NULL;
    if (!status) { /* the response was cut: the client must see it was */
        fc_close(f);
        return;
    }
    if (!f->body_done)
        f->close_after = true;
    fc_error(f, status,
             status == 504 ? "the backend did not answer in time"
                           : "the backend connection failed");
    finish_request(f);
}

static void on_drain(void *ctx)
{
    struct fconn *f = ctx;
    if (f->read_paused) {
        f->read_paused = false;
        fc_want(f);
        fc_process(f);
    }
}

static const struct px_up_cbs up_cbs = {on_head, on_data, on_end, on_error, on_drain};

/* ---- requests ---- */
static void lower_host(char *dst, size_t len, struct h1_str h)
{
    size_t n = 0;
    /* "[v6]:port" keeps the brackets; "name:port" drops the port */
    bool v6 = h.len && h.p[0] == '[';
    for (size_t i = 0; i < h.len && n + 1 < len; i++) {
        char c = h.p[i];
        if (c == ':' && !v6)
            break;
        if (c == ']' && v6) {
            dst[n++] = c;
            break;
        }
        dst[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    dst[n] = 0;
}

/* Answers the request ourselves (no backend); the body, if any, is not read. */
static void answer(struct fconn *f, int status, const char *why)
{
    if (f->body != H1_BODY_NONE)
        f->close_after = true;
    f->body_done = true;
    fc_error(f, status, why);
    finish_request(f);
}

static void start_request(struct fconn *f, const struct h1_message *m, size_t headlen)
{
    f->minor = m->minor;
    f->close_after = m->conn_close;
    f->head_method = h1_str_ieq(m->method, "head");
    f->body = m->framing;
    f->body_left = m->content_length;
    f->body_done = m->framing == H1_BODY_NONE;
    f->resp_started = false;
    h1_chunked_init(&f->ch);
    f->io.deadline = 0;

    struct h1_str target = m->target, host = m->host ? *m->host : (struct h1_str){"", 0};
    /* absolute-form (RFC 9112 3.2.2): the authority in the target wins over Host */
    if (target.len > 7 && (memcmp(target.p, "http://", 7) == 0 ||
                           (target.len > 8 && memcmp(target.p, "https://", 8) == 0))) {
        const char *a = memchr(target.p, '/', target.len) + 2;
        const char *end = target.p + target.len;
        const char *slash = memchr(a, '/', (size_t)(end - a));
        host = (struct h1_str){a, (size_t)((slash ? slash : end) - a)};
        target = slash ? (struct h1_str){slash, (size_t)(end - slash)} : (struct h1_str){"/", 1};
    }
    if (target.p[0] != '/') {
        f->close_after = true;
        px_buf_consume(&f->in, headlen);
        answer(f, 400, "the request target must be a path");
        return;
    }
    char hostbuf[256];
    lower_host(hostbuf, sizeof hostbuf, host);
    /* the path ends at '?' or '#' (target is not NUL-terminated: it points into f->in) */
    size_t plen = 0;
    while (plen < target.len && target.p[plen] != '?' && target.p[plen] != '#')
        plen++;
    char *path = strndup(target.p, plen);
    int status = 0;
    struct px_target *t = path ? px_route(f->io.loop, hostbuf, path, &status) : NULL;
    free(path);
    if (!t) {
        px_buf_consume(&f->in, headlen);
        answer(f, status ? status : 500,
               status == 404 ? "no Ingress rule matches this host and path"
                             : "the backend service has no ready endpoint");
        return;
    }
    struct px_buf head = {0};
    if (px_request_head(&head, m->method, target, host, m->headers, m->nheaders, f->ip, "http",
                        m->framing, m->content_length) != 0) {
        px_buf_free(&head);
        px_buf_consume(&f->in, headlen);
        answer(f, 500, NULL);
        return;
    }
    bool expect = m->expect_continue && m->minor >= 1 && m->framing != H1_BODY_NONE;
    px_buf_consume(&f->in, headlen); /* m points into f->in: not used after this */
    f->x = px_up_start(f->io.loop, t, &head, f->body, f->head_method, &up_cbs, f);
    px_buf_free(&head);
    if (!f->x) {
        answer(f, 502, "cannot connect to the backend");
        return;
    }
    if (expect) /* we take the body whatever the backend would say */
        px_buf_str(&f->out, "HTTP/1.1 100 Continue\r\n\r\n");
    f->st = f->body_done ? F_HEAD : F_BODY;
    if (f->body_done)
        px_up_body_end(f->x);
}

/* Feeds request body bytes from f->in to the exchange. false when the connection died. */
static bool feed_body(struct fconn *f)
{
    while (px_buf_size(&f->in) && f->st == F_BODY) {
        if (f->x && px_up_pending(f->x) > OUT_HIGH) {
            f->read_paused = true; /* on_drain resumes */
            return true;
        }
        const char *p = f->in.p + f->in.off;
        size_t avail = px_buf_size(&f->in);
        const char *d = p;
        size_t dlen = 0, used = 0;
        int done = 0;
        if (f->body == H1_BODY_LENGTH) {
            used = dlen = avail < f->body_left ? avail : (size_t)f->body_left;
            f->body_left -= dlen;
            done = f->body_left == 0;
        } else {
            done = h1_chunked_feed(&f->ch, p, avail, &used, &d, &dlen);
            if (done < 0) {
                f->close_after = true;
                if (f->resp_started) { /* too late for a clean answer */
                    fc_close(f);
                    return false;
                }
                if (f->x) {
                    struct px_up *x = f->x;
                    f->x = NULL;
                    px_up_cancel(x);
                }
                fc_error(f, 400, "malformed chunked body");
                f->st = F_CLOSING;
                if (!fc_flush(f))
                    return false;
                if (!px_buf_size(&f->out))
                    fc_linger(f);
                return false;
            }
        }
        if (f->x && dlen)
            px_up_body(f->x, d, dlen);
        px_buf_consume(&f->in, used);
        if (done) {
            f->body_done = true;
            f->st = F_HEAD;
            if (f->x)
                px_up_body_end(f->x);
            else
                finish_request(f); /* the answer was sent already; now it may go on */
        }
    }
    return !f->io.dead;
}

static void fc_process_once(struct fconn *f);

static void fc_process(struct fconn *f)
{
    if (f->in_process)
        return;
    f->in_process = true;
    fc_process_once(f);
    f->in_process = false; /* f is not freed before the loop's batch ends */
}

static void fc_process_once(struct fconn *f)
{
    const struct px_settings *s = px_loop_settings(f->io.loop);
    while (!f->io.dead) {
        if (!f->sniffed) {
            size_t n = px_buf_size(&f->in);
            size_t cmp = n < H2_PREFACE_LEN ? n : H2_PREFACE_LEN;
            if (memcmp(f->in.p + f->in.off, H2_PREFACE, cmp) == 0) {
                if (n < H2_PREFACE_LEN)
                    return; /* maybe HTTP/2: wait for the whole preface */
                /* HTTP/2 with prior knowledge: the h2 frontend takes the socket */
                int fd = px_io_detach(&f->io);
                px_h2_accept(f->io.loop, fd, f->ip, f->in.p + f->in.off, n);
                return;
            }
            f->sniffed = true;
        }
        if (f->st == F_BODY) {
            if (!feed_body(f) || f->st == F_BODY)
                return;
            continue;
        }
        if (f->st != F_HEAD || f->x)
            return; /* closing, or the previous response is still going out */
        size_t n = px_buf_size(&f->in);
        if (!n)
            return;
        size_t end = h1_head_end(f->in.p + f->in.off, n, &f->scan);
        if (!end) {
            if (n > s->max_header) {
                f->close_after = true;
                f->body = H1_BODY_NONE;
                f->minor = 1;
                answer(f, 431, "the request head is too large");
            }
            return;
        }
        f->scan = 0;
        struct h1_message *m = malloc(sizeof *m);
        int rc = m ? h1_parse_request(f->in.p + f->in.off, end, m) : H1_EBAD;
        if (rc == 0 && end > s->max_header)
            rc = H1_ETOOLARGE;
        if (rc != 0) {
            free(m);
            f->close_after = true;
            f->body = H1_BODY_NONE;
            f->minor = 1;
            f->head_method = false;
            px_buf_consume(&f->in, px_buf_size(&f->in));
            answer(f,
                   rc == H1_ETOOLARGE  ? 431
                   : rc == H1_ENOTIMPL ? 501
                                       : 400,
                   rc == H1_EBAD ? "malformed request" : NULL);
            return;
        }
        start_request(f, m, end);
        free(m);
    }
}

static void fc_want(struct fconn *f)
{
    if (f->io.dead || f->st == F_LINGER)
        return;
    uint32_t ev = 0;
    if (px_buf_size(&f->out))
        ev |= EPOLLOUT;
    bool head_full =
        f->st == F_HEAD && px_buf_size(&f->in) > px_loop_settings(f->io.loop)->max_header;
    if (!f->peer_eof && !f->read_paused && f->st != F_CLOSING && !head_full &&
        px_buf_size(&f->out) <= OUT_HIGH)
        ev |= EPOLLIN | EPOLLRDHUP;
    px_io_mod(&f->io, ev);
}

static void fc_event(struct px_io *io, uint32_t events)
{
    struct fconn *f = (struct fconn *)io;
    const struct px_settings *s = px_loop_settings(io->loop);
    if (f->st == F_LINGER) {
        char buf[16384];
        for (;;) {
            ssize_t n = recv(io->fd, buf, sizeof buf, 0);
            if (n > 0)
                continue;
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                return;
            fc_close(f);
            return;
        }
    }
    if (events & EPOLLOUT) {
        if (!fc_flush(f))
            return;
        if (f->st == F_CLOSING && !px_buf_size(&f->out)) {
            fc_linger(f);
            return;
        }
        if (f->x && px_buf_size(&f->out) < OUT_HIGH / 2) {
            px_up_pause(f->x, false);
            if (io->dead)
                return;
        }
    }
    if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && !f->peer_eof) {
        while (!f->read_paused && !io->dead) {
            if (px_buf_size(&f->in) > s->max_header + READ_CHUNK && f->st == F_HEAD)
                break; /* the head limit answers below; stop taking bytes */
            if (px_buf_reserve(&f->in, READ_CHUNK) != 0) {
                fc_close(f);
                return;
            }
            size_t room = f->in.cap - f->in.len;
            bool fresh = px_buf_size(&f->in) == 0;
            ssize_t n = recv(io->fd, f->in.p + f->in.len, room, 0);
            if (n > 0) {
                f->in.len += (size_t)n;
                /* a head gets client_idle_ms from its first byte, not from its last: a
                 * client sending a byte now and then cannot hold the connection forever */
                if (!f->x && f->st == F_HEAD && fresh)
                    io->deadline = px_now_ms() + s->client_idle_ms;
                fc_process(f);
                if ((size_t)n < room)
                    break; /* drained: the poll says when more comes (saves a recv) */
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                break;
            /* EOF or reset: done unless a response is still due (a half-closed client) */
            f->peer_eof = true;
            if (n < 0 || (!f->x && !px_buf_size(&f->out)) || f->st == F_BODY) {
                fc_close(f);
                return;
            }
            break;
        }
    }
    if (!io->dead)
        fc_want(f);
}

static void fc_timeout(struct px_io *io)
{
    struct fconn *f = (struct fconn *)io;
    if (f->x && f->st != F_LINGER)
        return; /* the backend's own deadlines apply */
    fc_close(f);
}

void px_http1_accept(struct px_loop *l, int fd, const char *client_ip, const char *buf, size_t len)
{
    struct fconn *f = calloc(1, sizeof *f);
    if (!f || (len && px_buf_add(&f->in, buf, len) != 0)) {
        free(f);
        close(fd);
        return;
    }
    snprintf(f->ip, sizeof f->ip, "%s", client_ip);
    f->io.fd = fd;
    f->io.on_event = fc_event;
    f->io.on_timeout = fc_timeout;
    f->io.destroy = fc_destroy;
    f->io.deadline = px_now_ms() + px_loop_settings(l)->client_idle_ms;
    f->body_done = true;
    if (px_io_add(l, &f->io, EPOLLIN | EPOLLRDHUP) != 0) {
        px_buf_free(&f->in);
        free(f);
        close(fd);
    }
}
