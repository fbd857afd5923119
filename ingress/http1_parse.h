/* HTTP/1.x message heads and chunked bodies, parsed without I/O so the proxy, the tests and
 * the fuzzer drive the same code.
 *
 * A head is parsed once it is complete (the caller looks for the blank line first with
 * h1_head_end()); the results point INTO the caller's buffer (no copies, no allocation),
 * so they live as long as that buffer is left unchanged.
 *
 * Return convention: > 0 the length of the head, 0 incomplete (need more bytes), or a
 * negative H1_E* code. */
#ifndef KUBEC_INGRESS_HTTP1_PARSE_H
#define KUBEC_INGRESS_HTTP1_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define H1_MAX_HEADERS 100

enum h1_error {
    H1_EBAD = -1,      /* malformed: answer 400 */
    H1_ETOOLARGE = -2, /* head over the limit: answer 431 */
    H1_ENOTIMPL = -3,  /* a transfer coding we do not implement: answer 501 */
};

struct h1_str {
    const char *p;
    size_t len;
};

struct h1_header {
    struct h1_str name, value;
};

/* Body framing of a message. */
enum h1_framing {
    H1_BODY_NONE,    /* no body */
    H1_BODY_LENGTH,  /* content_length bytes */
    H1_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    H1_BODY_CLOSE,   /* responses only: until the connection closes */
};

struct h1_message {
    /* request: method and target; response: status (reason ignored) */
    struct h1_str method, target;
    int status;
    int minor; /* HTTP/1.minor */
    struct h1_header headers[H1_MAX_HEADERS];
    size_t nheaders;
    enum h1_framing framing;
    uint64_t content_length;
    bool conn_close;           /* Connection: close, or HTTP/1.0 without keep-alive */
    bool expect_continue;      /* Expect: 100-continue */
    const struct h1_str *host; /* the Host header, or NULL (points into headers[]) */
};

/* Index just past the "\r\n\r\n" (or "\n\n") ending a head within buf[0..len), searching
 * from *scan (updated, so repeated calls on a growing buffer stay linear); 0 if absent. */
size_t h1_head_end(const char *buf, size_t len, size_t *scan);

/* Parses a complete request head buf[0..len) (len from h1_head_end). 0 or H1_E*. */
int h1_parse_request(const char *buf, size_t len, struct h1_message *m);
/* Parses a complete response head; `head_request` and the status decide whether there is
 * a body at all. 0 or H1_E*. */
int h1_parse_response(const char *buf, size_t len, bool head_request, struct h1_message *m);

/* Case-insensitive comparison of a token with a NUL-terminated lowercase name. */
bool h1_str_ieq(struct h1_str s, const char *lower);
/* True when the comma-separated list s holds the token (case-insensitive). */
bool h1_list_has(struct h1_str s, const char *lower);

/* ---- chunked transfer coding, incremental ---- */
struct h1_chunked {
    int state;
    uint64_t remaining; /* data bytes left in the current chunk */
    unsigned digits;
    unsigned line; /* bytes of the current size or trailer line (bounded) */
};

void h1_chunked_init(struct h1_chunked *c);
/* Consumes a prefix of in[0..len): sets *used to the bytes taken and, when that prefix was
 * chunk data, *data / *dlen to it (else *dlen = 0). Returns 1 once the last chunk and its
 * trailers are consumed (nothing more is taken after that), 0 to go on, H1_EBAD. Loop
 * while *used < len. */
int h1_chunked_feed(struct h1_chunked *c, const char *in, size_t len, size_t *used,
                    const char **data, size_t *dlen);

#endif
