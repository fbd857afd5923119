/* HTTP/1.x head and chunked-body parsing; see http1_parse.h. Strict where leniency would
 * let a request mean different things to us and to the backend (request smuggling):
 * no whitespace before the colon, no folded lines, no Content-Length next to
 * Transfer-Encoding, one Content-Length value. */
#include "ingress/http1_parse.h"

#include <string.h>

size_t h1_head_end(const char *buf, size_t len, size_t *scan)
{
    size_t i = *scan;
    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    /* the last bytes may start the blank line: look at them again next time */
    *scan = len > 3 ? len - 3 : 0;
    return 0;
}

static bool is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool h1_str_ieq(struct h1_str s, const char *lower)
{
    size_t n = strlen(lower);
    if (s.len != n)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c + 32);
        if (c != (unsigned char)lower[i])
            return false;
    }
    return true;
}

bool h1_list_has(struct h1_str s, const char *lower)
{
    size_t i = 0;
    while (i < s.len) {
        while (i < s.len && (s.p[i] == ' ' || s.p[i] == '\t' || s.p[i] == ','))
            i++;
        size_t start = i;
        while (i < s.len && s.p[i] != ',')
            i++;
        size_t end = i;
        while (end > start && (s.p[end - 1] == ' ' || s.p[end - 1] == '\t'))
            end--;
        struct h1_str tok = {s.p + start, end - start};
        if (tok.len && h1_str_ieq(tok, lower))
            return true;
    }
    return false;
}

/* The line starting at *pos: sets *line (without CR LF) and advances *pos. false when no
 * line ending is left. */
static bool next_line(const char *buf, size_t len, size_t *pos, struct h1_str *line)
{
    const char *nl = memchr(buf + *pos, '\n', len - *pos);
    if (!nl)
        return false;
    size_t end = (size_t)(nl - buf);
    line->p = buf + *pos;
    line->len = end - *pos;
    if (line->len && line->p[line->len - 1] == '\r')
        line->len--;
    *pos = end + 1;
    return true;
}

static int parse_version(struct h1_str v, int *minor)
{
    if (v.len != 8 || memcmp(v.p, "HTTP/1.", 7) != 0 || v.p[7] < '0' || v.p[7] > '9')
        return H1_EBAD;
    *minor = v.p[7] - '0';
    return 0;
}

static int parse_u64(struct h1_str s, uint64_t *out)
{
    uint64_t v = 0;
    if (s.len == 0 || s.len > 18)
        return H1_EBAD;
    for (size_t i = 0; i < s.len; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return H1_EBAD;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    *out = v;
    return 0;
}

/* Header lines from pos to the blank line; fills m->headers and the framing facts. */
static int parse_headers(const char *buf, size_t len, size_t pos, struct h1_message *m,
                         bool *has_te, bool *te_chunked, bool *has_cl)
{
    struct h1_str line;
    bool keep_alive = false;
    *has_te = *te_chunked = *has_cl = false;
    m->nheaders = 0;
    m->host = NULL;
    m->conn_close = false;
    m->expect_continue = false;
    m->content_length = 0;
    for (;;) {
        if (!next_line(buf, len, &pos, &line))
            return H1_EBAD;
        if (line.len == 0)
            break;
        if (line.p[0] == ' ' || line.p[0] == '\t')
            return H1_EBAD; /* obsolete line folding */
        const char *colon = memchr(line.p, ':', line.len);
        if (!colon || colon == line.p)
            return H1_EBAD;
        struct h1_str name = {line.p, (size_t)(colon - line.p)};
        for (size_t i = 0; i < name.len; i++)
            if (!is_tchar((unsigned char)name.p[i]))
                return H1_EBAD;
        const char *v = colon + 1, *e = line.p + line.len;
        while (v < e && (*v == ' ' || *v == '\t'))
            v++;
        while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        for (const char *q = v; q < e; q++)
            if ((unsigned char)*q < 0x20 && *q != '\t')
                return H1_EBAD;
        if (m->nheaders == H1_MAX_HEADERS)
            return H1_ETOOLARGE;
        struct h1_header *h = &m->headers[m->nheaders++];
        h->name = name;
        h->value = (struct h1_str){v, (size_t)(e - v)};
        if (h1_str_ieq(name, "content-length")) {
            uint64_t n;
            if (parse_u64(h->value, &n) != 0)
                return H1_EBAD;
            if (*has_cl && n != m->content_length)
                return H1_EBAD;
            *has_cl = true;
            m->content_length = n;
        } else if (h1_str_ieq(name, "transfer-encoding")) {
            if (*has_te)
                return H1_ENOTIMPL; /* several lines: not worth the risk */
            *has_te = true;
            *te_chunked = h1_str_ieq(h->value, "chunked");
        } else if (h1_str_ieq(name, "connection")) {
            if (h1_list_has(h->value, "close"))
                m->conn_close = true;
            if (h1_list_has(h->value, "keep-alive"))
                keep_alive = true;
        } else if (h1_str_ieq(name, "host")) {
            if (m->host)
                return H1_EBAD;
            m->host = &h->value;
        } else if (h1_str_ieq(name, "expect")) {
            m->expect_continue = h1_str_ieq(h->value, "100-continue");
        }
    }
    if (m->minor == 0 && !keep_alive)
        m->conn_close = true;
    return 0;
}

int h1_parse_request(const char *buf, size_t len, struct h1_message *m)
{
    size_t pos = 0;
    struct h1_str line;
    memset(m, 0, offsetof(struct h1_message, headers));
    /* a robust server ignores empty lines before a request line (RFC 9112 2.2) */
    do {
        if (!next_line(buf, len, &pos, &line))
            return H1_EBAD;
    } while (line.len == 0 && pos < len);
    const char *sp1 = memchr(line.p, ' ', line.len);
    if (!sp1 || sp1 == line.p)
        return H1_EBAD;
    m->method = (struct h1_str){line.p, (size_t)(sp1 - line.p)};
    for (size_t i = 0; i < m->method.len; i++)
        if (!is_tchar((unsigned char)m->method.p[i]))
            return H1_EBAD;
    const char *t = sp1 + 1, *end = line.p + line.len;
    const char *sp2 = memchr(t, ' ', (size_t)(end - t));
    if (!sp2 || sp2 == t)
        return H1_EBAD;
    m->target = (struct h1_str){t, (size_t)(sp2 - t)};
    for (size_t i = 0; i < m->target.len; i++) {
        unsigned char c = (unsigned char)m->target.p[i];
        if (c <= 0x20 || c == 0x7f)
            return H1_EBAD;
    }
    if (parse_version((struct h1_str){sp2 + 1, (size_t)(end - sp2 - 1)}, &m->minor) != 0)
        return H1_EBAD;
    bool has_te, te_chunked, has_cl;
    int rc = parse_headers(buf, len, pos, m, &has_te, &te_chunked, &has_cl);
    if (rc != 0)
        return rc;
    if (has_te && has_cl)
        return H1_EBAD;
    if (has_te)
        return te_chunked ? (m->framing = H1_BODY_CHUNKED, 0) : H1_ENOTIMPL;
    m->framing = has_cl && m->content_length > 0 ? H1_BODY_LENGTH : H1_BODY_NONE;
    if (m->minor >= 1 && !m->host)
        return H1_EBAD; /* RFC 9112 3.2: HTTP/1.1 requests carry Host */
    return 0;
}

int h1_parse_response(const char *buf, size_t len, bool head_request, struct h1_message *m)
{
    size_t pos = 0;
    struct h1_str line;
    memset(m, 0, offsetof(struct h1_message, headers));
    if (!next_line(buf, len, &pos, &line))
        return H1_EBAD;
    if (line.len < 12 || parse_version((struct h1_str){line.p, 8}, &m->minor) != 0 ||
        line.p[8] != ' ')
        return H1_EBAD;
    int st = 0;
    for (int i = 9; i < 12; i++) {
        if (line.p[i] < '0' || line.p[i] > '9')
            return H1_EBAD;
        st = st * 10 + (line.p[i] - '0');
    }
    if (st < 100 || (line.len > 12 && line.p[12] != ' '))
        return H1_EBAD;
    m->status = st;
    bool has_te, te_chunked, has_cl;
    int rc = parse_headers(buf, len, pos, m, &has_te, &te_chunked, &has_cl);
    if (rc != 0 && rc != H1_ENOTIMPL)
        return rc;
    if (head_request || st < 200 || st == 204 || st == 304)
        m->framing = H1_BODY_NONE;
    else if (has_te)
        /* a response coding other than chunked runs to the close (RFC 9112 6.3) */
        m->framing = te_chunked ? H1_BODY_CHUNKED : H1_BODY_CLOSE;
    else if (has_cl)
        m->framing = m->content_length ? H1_BODY_LENGTH : H1_BODY_NONE;
    else
        m->framing = H1_BODY_CLOSE;
    return 0;
}

/* ---- chunked ---- */
enum {
    CH_SIZE,      /* hex digits */
    CH_EXT,       /* ;extensions up to the line end */
    CH_SIZE_LF,   /* after CR of the size line */
    CH_DATA,      /* chunk data */
    CH_DATA_CR,   /* CR after data */
    CH_DATA_LF,   /* LF after data */
    CH_TRAILER,   /* start of a trailer line (or the final blank line) */
    CH_TRAILER_L, /* inside a trailer line */
    CH_TRAILER_LF,
    CH_END_LF, /* LF of the final blank line */
    CH_DONE,
};

#define CH_MAX_LINE 4096

void h1_chunked_init(struct h1_chunked *c)
{
    memset(c, 0, sizeof *c);
    c->state = CH_SIZE;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* After a size line: data, or the trailer section when the size was 0. */
static void size_done(struct h1_chunked *c)
{
    c->state = c->remaining ? CH_DATA : CH_TRAILER;
    c->line = 0;
}

int h1_chunked_feed(struct h1_chunked *c, const char *in, size_t len, size_t *used,
                    const char **data, size_t *dlen)
{
    *dlen = 0;
    *data = NULL;
    size_t i = 0;
    if (c->state == CH_DONE) {
        *used = 0;
        return 1;
    }
    if (c->state == CH_DATA) {
        size_t n = len < c->remaining ? len : (size_t)c->remaining;
        c->remaining -= n;
        *data = in;
        *dlen = n;
        *used = n;
        if (c->remaining == 0)
            c->state = CH_DATA_CR;
        return 0;
    }
    for (; i < len; i++) {
        char ch = in[i];
        switch (c->state) {
        case CH_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                if (++c->digits > 15)
                    return H1_EBAD;
                c->remaining = c->remaining * 16 + (uint64_t)v;
            } else if (c->digits == 0) {
                return H1_EBAD;
            } else if (ch == ';' || ch == ' ' || ch == '\t') {
                c->state = CH_EXT;
            } else if (ch == '\r') {
                c->state = CH_SIZE_LF;
            } else if (ch == '\n') {
                size_done(c);
            } else {
                return H1_EBAD;
            }
            break;
        }
        case CH_EXT:
            if (++c->line > CH_MAX_LINE)
                return H1_EBAD;
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == '\n')
                size_done(c);
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                return H1_EBAD;
            size_done(c);
            break;
        case CH_DATA:
            /* data starts at i: hand it out on the next call */
            *used = i;
            return 0;
        case CH_DATA_CR:
            if (ch == '\n') {
                c->state = CH_SIZE;
                c->digits = 0;
                c->remaining = 0;
            } else if (ch == '\r') {
                c->state = CH_DATA_LF;
            } else {
                return H1_EBAD;
            }
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                return H1_EBAD;
            c->state = CH_SIZE;
            c->digits = 0;
            c->remaining = 0;
            break;
        case CH_TRAILER:
            if (ch == '\r') {
                c->state = CH_END_LF;
            } else if (ch == '\n') {
                c->state = CH_DONE;
                *used = i + 1;
                return 1;
            } else {
                c->state = CH_TRAILER_L;
                c->line = 1;
            }
            break;
        case CH_TRAILER_L:
            if (++c->line > CH_MAX_LINE)
                return H1_EBAD;
            if (ch == '\r')
                c->state = CH_TRAILER_LF;
            else if (ch == '\n')
                c->state = CH_TRAILER;
            break;
        case CH_TRAILER_LF:
            if (ch != '\n')
                return H1_EBAD;
            c->state = CH_TRAILER;
            break;
        case CH_END_LF:
            if (ch != '\n')
                return H1_EBAD;
            c->state = CH_DONE;
            *used = i + 1;
            return 1;
        default:
            return H1_EBAD;
        }
    }
    *used = i;
    return 0;
}
