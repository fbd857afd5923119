/* The request head the ingress sends to a backend: hop-by-hop headers (fixed ones and the
 * ones Connection names) dropped, X-Forwarded-For appended to, our X-Forwarded-* and
 * X-Real-IP replacing the client's, the body framing chosen by the proxy. */
#include "check.h"
#include "ingress/proxy.h"
#include "lib/httpstatus.h"

#include <stdlib.h>

static char *head_of(const char *req, enum h1_framing body, uint64_t len)
{
    static char out[4096];
    struct h1_message *m = malloc(sizeof *m);
    size_t scan = 0;
    size_t end = h1_head_end(req, strlen(req), &scan);
    struct px_buf b = {0};
    out[0] = 0;
    if (end && h1_parse_request(req, end, m) == 0 &&
        px_request_head(&b, m->method, m->target, *m->host, m->headers, m->nheaders, "10.0.0.9",
                        "http", body, len) == 0)
        snprintf(out, sizeof out, "%.*s", (int)px_buf_size(&b), b.p + b.off);
    px_buf_free(&b);
    free(m);
    return out;
}

int main(void)
{
    CHECK_STR(
        head_of("GET /a?b HTTP/1.1\r\nHost: Foo.com\r\nAccept: */*\r\n\r\n", H1_BODY_NONE, 0),
        "GET /a?b HTTP/1.1\r\nHost: Foo.com\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.9\r\n"
        "X-Real-IP: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: Foo.com\r\n\r\n");
    /* hop-by-hop: the fixed list and what Connection names; the client's framing headers
     * are replaced by ours */
    CHECK_STR(
        head_of("POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, X-Private\r\n"
                "X-Private: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nUpgrade: h2c\r\n"
                "Proxy-Authorization: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n"
                "X-Kept: yes\r\n\r\n",
                H1_BODY_CHUNKED, 0),
        "POST / HTTP/1.1\r\nHost: a\r\nX-Kept: yes\r\nX-Forwarded-For: 10.0.0.9\r\n"
        "X-Real-IP: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: a\r\n"
        "Transfer-Encoding: chunked\r\n\r\n");
    /* X-Forwarded-For is appended to; the client's X-Real-IP and X-Forwarded-Host are not
     * believed */
    CHECK_STR(
        head_of("PUT /x HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4\r\nX-Real-IP: 6.6.6.6\r\n"
                "X-Forwarded-Host: evil\r\nContent-Length: 3\r\n\r\n",
                H1_BODY_LENGTH, 3),
        "PUT /x HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 1.2.3.4, 10.0.0.9\r\n"
        "X-Real-IP: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n"
        "Content-Length: 3\r\n\r\n");
    struct h1_header hs[] = {{{"Connection", 10}, {"close, X-A", 10}}, {{"x-a", 3}, {"1", 1}}};
    CHECK(px_hop_by_hop((struct h1_str){"X-A", 3}, hs, 2));
    CHECK(px_hop_by_hop((struct h1_str){"connection", 10}, hs, 2));
    CHECK(!px_hop_by_hop((struct h1_str){"X-B", 3}, hs, 2));
    CHECK_STR(kc_http_reason(503), "Service Unavailable");
    CHECK_STR(kc_http_reason(431), "Request Header Fields Too Large");
    CHECK_DONE();
}
