/* Header rewriting shared by both frontends: what goes to the backend (hop-by-hop headers
 * out, X-Forwarded-* in, our own framing) and the small error answers. */
#include "ingress/proxy.h"

#include <string.h>

/* RFC 9110 7.6.1: the connection-specific headers, plus the ones whose framing role we
 * take over (Content-Length, Transfer-Encoding) or answer ourselves (Expect). */
static const char *const hop[] = {
    "connection",          "keep-alive",     "proxy-connection", "te",
    "transfer-encoding",   "upgrade",        "trailer",          "proxy-authenticate",
    "proxy-authorization", "content-length", "expect",           "http2-settings"};

bool px_hop_by_hop(struct h1_str name, const struct h1_header *h, size_t n)
{
    for (size_t i = 0; i < sizeof hop / sizeof *hop; i++)
        if (h1_str_ieq(name, hop[i]))
            return true;
    /* and every header the Connection header names */
    char lower[64];
    if (name.len >= sizeof lower)
        return false;
    for (size_t i = 0; i < name.len; i++)
        lower[i] = (char)(name.p[i] >= 'A' && name.p[i] <= 'Z' ? name.p[i] + 32 : name.p[i]);
    lower[name.len] = 0;
    for (size_t i = 0; i < n; i++)
        if (h1_str_ieq(h[i].name, "connection") && h1_list_has(h[i].value, lower))
            return true;
    return false;
}

int px_request_head(struct px_buf *out, struct h1_str method, struct h1_str target,
                    struct h1_str host, const struct h1_header *h, size_t n, const char *client_ip,
                    const char *proto, enum h1_framing body, uint64_t content_length)
{
    int rc = 0;
    rc |= px_buf_add(out, method.p, method.len);
    rc |= px_buf_add(out, " ", 1);
    rc |= px_buf_add(out, target.p, target.len);
    rc |= px_buf_str(out, " HTTP/1.1\r\nHost: ");
    rc |= px_buf_add(out, host.p, host.len);
    rc |= px_buf_add(out, "\r\n", 2);
    struct h1_str xff = {NULL, 0};
    for (size_t i = 0; i < n; i++) {
        struct h1_str nm = h[i].name;
        if (px_hop_by_hop(nm, h, n) || h1_str_ieq(nm, "host"))
            continue;
        if (h1_str_ieq(nm, "x-forwarded-for")) {
            xff = h[i].value; /* the last one; appended to below */
            continue;
        }
        if (h1_str_ieq(nm, "x-forwarded-host") || h1_str_ieq(nm, "x-forwarded-proto") ||
            h1_str_ieq(nm, "x-real-ip"))
            continue; /* ours replace the client's */
        rc |= px_buf_add(out, nm.p, nm.len);
        rc |= px_buf_add(out, ": ", 2);
        rc |= px_buf_add(out, h[i].value.p, h[i].value.len);
        rc |= px_buf_add(out, "\r\n", 2);
    }
    rc |= px_buf_str(out, "X-Forwarded-For: ");
    if (xff.len) {
        rc |= px_buf_add(out, xff.p, xff.len);
        rc |= px_buf_add(out, ", ", 2);
    }
    rc |= px_buf_printf(out, "%s\r\nX-Real-IP: %s\r\nX-Forwarded-Proto: %s\r\nX-Forwarded-Host: ",
                        client_ip, client_ip, proto);
    rc |= px_buf_add(out, host.p, host.len);
    rc |= px_buf_add(out, "\r\n", 2);
    if (body == H1_BODY_LENGTH)
        rc |= px_buf_printf(out, "Content-Length: %llu\r\n", (unsigned long long)content_length);
    else if (body == H1_BODY_CHUNKED)
        rc |= px_buf_str(out, "Transfer-Encoding: chunked\r\n");
    rc |= px_buf_add(out, "\r\n", 2);
    return rc ? -1 : 0;
}
