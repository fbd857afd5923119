/* The HTTP/1 parser of the ingress proxy: request and response heads, framing rules that
 * matter against request smuggling, and the incremental chunked decoder fed in every
 * split. */
#include "check.h"
#include "ingress/http1_parse.h"

#include <stdlib.h>

static int req(const char *s, struct h1_message *m)
{
    size_t scan = 0, len = strlen(s);
    size_t end = h1_head_end(s, len, &scan);
    if (!end)
        return 99; /* incomplete */
    return h1_parse_request(s, end, m);
}

static void test_head_end(void)
{
    const char *s = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
    size_t scan = 0;
    CHECK_INT(h1_head_end(s, strlen(s), &scan), strlen(s) - 4);
    /* growing buffer: found once complete, whatever the split */
    for (size_t cut = 0; cut < strlen(s) - 4; cut++) {
        scan = 0;
        CHECK_INT(h1_head_end(s, cut, &scan), 0);
        CHECK_INT(h1_head_end(s, strlen(s), &scan), strlen(s) - 4);
    }
    scan = 0;
    CHECK_INT(h1_head_end("GET / HTTP/1.0\n\n", 16, &scan), 16);
}

static void test_requests(void)
{
    struct h1_message *m = malloc(sizeof *m);
    CHECK_INT(req("GET /a?b=c HTTP/1.1\r\nHost: Foo.com:80\r\nX-A:  v  \r\n\r\n", m), 0);
    CHECK(h1_str_ieq(m->method, "get"));
    CHECK_INT(m->target.len, 6);
    CHECK_INT(m->minor, 1);
    CHECK_INT(m->nheaders, 2);
    CHECK(m->host && m->host->len == 10);
    CHECK_INT(m->headers[1].value.len, 1); /* trimmed */
    CHECK_INT(m->framing, H1_BODY_NONE);
    CHECK(!m->conn_close);

    CHECK_INT(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", m), 0);
    CHECK_INT(m->framing, H1_BODY_LENGTH);
    CHECK_INT(m->content_length, 12);
    CHECK_INT(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", m), 0);
    CHECK_INT(m->framing, H1_BODY_NONE);
    CHECK_INT(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", m), 0);
    CHECK_INT(m->framing, H1_BODY_CHUNKED);
    CHECK_INT(
        req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", m), 0);
    CHECK_INT(
        req("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", m),
        0);
    CHECK(m->expect_continue);
    /* HTTP/1.0: close unless keep-alive; Host optional */
    CHECK_INT(req("GET / HTTP/1.0\r\n\r\n", m), 0);
    CHECK(m->conn_close);
    CHECK(m->host == NULL);
    CHECK_INT(req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", m), 0);
    CHECK(!m->conn_close);
    CHECK_INT(req("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, close\r\n\r\n", m), 0);
    CHECK(m->conn_close);
    /* bare LF line endings are accepted; leading empty lines are skipped */
    CHECK_INT(req("GET / HTTP/1.1\nHost: a\n\n", m), 0);
    CHECK_INT(req("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", m), 0);

    /* malformed */
    CHECK_INT(req("GET / HTTP/1.1\r\n\r\n", m), H1_EBAD); /* no Host */
    CHECK_INT(req("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("GET /\r\nHost: a\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("GET / HTTP/2.0\r\nHost: a\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("GET / HTTP/1.1\r\nHost : a\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("GET / HTTP/1.1\r\nHost: a\r\nX: a\001b\r\n\r\n", m), H1_EBAD);
    CHECK_INT(
        req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", m),
        H1_EBAD);
    CHECK_INT(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", m), H1_EBAD);
    CHECK_INT(req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", m),
              H1_EBAD);
    CHECK_INT(
        req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            m),
        H1_EBAD);
    CHECK_INT(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", m), H1_ENOTIMPL);
    CHECK_INT(req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", m),
              H1_ENOTIMPL);
    /* too many headers */
    char *big = malloc(200 * 8 + 64);
    strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 120; i++)
        strcat(big, "X: y\r\n");
    strcat(big, "\r\n");
    CHECK_INT(req(big, m), H1_ETOOLARGE);
    free(big);
    free(m);
}

static void test_responses(void)
{
    struct h1_message *m = malloc(sizeof *m);
    const char *r1 = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    CHECK_INT(h1_parse_response(r1, strlen(r1), false, m), 0);
    CHECK_INT(m->status, 200);
    CHECK_INT(m->framing, H1_BODY_LENGTH);
    CHECK_INT(h1_parse_response(r1, strlen(r1), true, m), 0); /* HEAD: no body */
    CHECK_INT(m->framing, H1_BODY_NONE);
    const char *r2 = "HTTP/1.1 204 No Content\r\n\r\n";
    CHECK_INT(h1_parse_response(r2, strlen(r2), false, m), 0);
    CHECK_INT(m->framing, H1_BODY_NONE);
    const char *r3 = "HTTP/1.0 200 OK\r\n\r\n";
    CHECK_INT(h1_parse_response(r3, strlen(r3), false, m), 0);
    CHECK_INT(m->framing, H1_BODY_CLOSE);
    CHECK(m->conn_close);
    const char *r4 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n";
    CHECK_INT(h1_parse_response(r4, strlen(r4), false, m), 0);
    CHECK_INT(m->framing, H1_BODY_CHUNKED);
    const char *r5 = "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n";
    CHECK_INT(h1_parse_response(r5, strlen(r5), false, m), 0);
    CHECK_INT(m->framing, H1_BODY_NONE);
    const char *r6 = "HTTP/1.1 100 Continue\r\n\r\n";
    CHECK_INT(h1_parse_response(r6, strlen(r6), false, m), 0);
    CHECK_INT(m->status, 100);
    const char *r7 = "HTTP/1.1 200\r\n\r\n"; /* no reason phrase */
    CHECK_INT(h1_parse_response(r7, strlen(r7), false, m), 0);
    const char *bad[] = {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
                         "HTTP/1.1 099 X\r\n\r\n", "ICY 200 OK\r\n\r\n",
                         "HTTP/1.1 2000 OK\r\n\r\n"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(h1_parse_response(bad[i], strlen(bad[i]), false, m), H1_EBAD);
    free(m);
}

/* Decodes s fed in pieces of `step` bytes; returns the data or "ERR" / "INCOMPLETE". */
static const char *chunked(const char *s, size_t step, size_t *rest)
{
    static char out[1024];
    size_t o = 0, len = strlen(s), pos = 0;
    struct h1_chunked c;
    h1_chunked_init(&c);
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t avail = len - pos < step ? len - pos : step;
        size_t off = 0;
        while (off < avail && rc == 0) {
            size_t used, dlen;
            const char *d;
            rc = h1_chunked_feed(&c, s + pos + off, avail - off, &used, &d, &dlen);
            if (rc < 0)
                return "ERR";
            if (dlen)
                memcpy(out + o, d, dlen);
            o += dlen;
            off += used;
        }
        pos += off;
    }
    out[o] = 0;
    if (rest)
        *rest = len - pos;
    return rc == 1 ? out : "INCOMPLETE";
}

static void test_chunked(void)
{
    const char *ok = "5\r\nhello\r\n7;ext=1\r\n, world\r\nA\r\n0123456789\r\n0\r\n\r\n";
    for (size_t step = 1; step <= strlen(ok); step++) {
        size_t rest = 9;
        CHECK_STR(chunked(ok, step, &rest), "hello, world0123456789");
        CHECK_INT(rest, 0);
    }
    /* trailers are consumed and dropped; bytes after the end are not taken */
    size_t rest;
    CHECK_STR(chunked("3\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\nGET", 1, &rest), "abc");
    CHECK_INT(rest, 3);
    CHECK_STR(chunked("3\nabc\n0\n\n", 2, NULL), "abc"); /* bare LF */
    CHECK_STR(chunked("0\r\n\r\n", 1, NULL), "");
    CHECK_STR(chunked("3\r\nabc\r\n", 4, NULL), "INCOMPLETE");
    CHECK_STR(chunked("zz\r\n", 1, NULL), "ERR");
    CHECK_STR(chunked("\r\n", 1, NULL), "ERR");
    CHECK_STR(chunked("3\r\nabcX\r\n", 1, NULL), "ERR");
    CHECK_STR(chunked("1234567890abcdef0\r\n", 3, NULL), "ERR"); /* size overflow */
    CHECK_STR(chunked("3 x\r\nabc\r\n0\r\n\r\n", 5, NULL), "abc");
}

int main(void)
{
    test_head_end();
    test_requests();
    test_responses();
    test_chunked();
    CHECK_DONE();
}
