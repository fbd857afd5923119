/* Fuzz target for the ingress's HTTP/1 parser: the input as a request head, as a response
 * head, and (after the head, or whole) as a chunked body fed in pieces whose sizes come
 * from the first byte. Checks the invariants the proxy relies on: results point inside
 * the input, consumption never exceeds what was given, a split feed decodes the same
 * bytes as a whole one. Copies the input into an exact-size buffer so ASan sees reads
 * past it. */
#include "ingress/http1_parse.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *buf, size_t len, struct h1_str s)
{
    if (s.len && (s.p < buf || s.p + s.len > buf + len))
        abort();
}

/* Decodes in pieces of `step`; returns the decoded length (-1 on error), into out. */
static long decode(const char *in, size_t len, size_t step, char *out)
{
    struct h1_chunked c;
    h1_chunked_init(&c);
    size_t pos = 0, o = 0;
    int rc = 0;
    while (pos < len && rc == 0) {
        size_t avail = len - pos < step ? len - pos : step;
        size_t off = 0;
        while (off < avail && rc == 0) {
            size_t used, dlen;
            const char *d;
            rc = h1_chunked_feed(&c, in + pos + off, avail - off, &used, &d, &dlen);
            if (rc < 0)
                return -1;
            if (used > avail - off || dlen > used)
                abort();
            if (dlen) {
                if (d < in || d + dlen > in + len)
                    abort();
                memcpy(out + o, d, dlen);
                o += dlen;
            }
            if (used == 0 && rc == 0)
                abort(); /* no progress */
            off += used;
        }
        pos += off;
    }
    return (long)o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t step = (size_t)(data[0] % 16) + 1;
    char *buf = malloc(size);
    struct h1_message *m = malloc(sizeof *m);
    char *a = malloc(size), *b = malloc(size);
    if (!buf || !m || !a || !b)
        goto out;
    memcpy(buf, data, size);
    size_t scan = 0;
    size_t end = h1_head_end(buf, size, &scan);
    if (end > size)
        abort();
    size_t head = end ? end : size;
    if (h1_parse_request(buf, head, m) == 0) {
        inside(buf, head, m->method);
        inside(buf, head, m->target);
        if (m->nheaders > H1_MAX_HEADERS)
            abort();
        for (size_t i = 0; i < m->nheaders; i++) {
            inside(buf, head, m->headers[i].name);
            inside(buf, head, m->headers[i].value);
        }
        if (m->framing == H1_BODY_CLOSE)
            abort(); /* requests are never close-delimited */
    }
    if (h1_parse_response(buf, head, data[0] & 1, m) == 0 && (m->status < 100 || m->status > 999))
        abort();
    /* the body after the head, else the whole input, split two ways */
    const char *body = end ? buf + end : buf;
    size_t blen = end ? size - end : size;
    long n1 = decode(body, blen, step, a);
    long n2 = decode(body, blen, blen ? blen : 1, b);
    if (n1 != n2 || (n1 > 0 && memcmp(a, b, (size_t)n1) != 0))
        abort();
out:
    free(buf);
    free(m);
    free(a);
    free(b);
    return 0;
}
