#include "lib/jsonx.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *kc_json_path(const json_t *o, const char *path)
{
    const char *p = path;
    json_t *cur = (json_t *)o;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[128];
        if (!json_is_object(cur) || n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = 0;
        cur = json_object_get(cur, key);
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

const char *kc_json_str(const json_t *o, const char *path)
{
    return json_string_value(kc_json_path(o, path));
}

long long kc_json_int(const json_t *o, const char *path, long long def)
{
    json_t *v = kc_json_path(o, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

bool kc_json_bool(const json_t *o, const char *path, bool def)
{
    json_t *v = kc_json_path(o, path);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *kc_json_ensure_obj(json_t *o, const char *key)
{
    json_t *c = json_object_get(o, key);
    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(o, key, c);
    }
    return c;
}

void kc_json_default_str(json_t *o, const char *key, const char *value)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        json_object_set_new(o, key, json_string(value));
}

void kc_json_default_int(json_t *o, const char *key, long long value)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        json_object_set_new(o, key, json_integer(value));
}

bool kc_json_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    return json_equal((json_t *)a, (json_t *)b);
}

/* A shallow copy of obj without status and the per-write metadata. New reference. */
static json_t *without_status(const json_t *obj)
{
    json_t *c = json_copy((json_t *)obj);
    json_t *meta = json_copy(json_object_get(c, "metadata"));
    json_object_del(c, "status");
    if (meta) {
        json_object_del(meta, "resourceVersion");
        json_object_del(meta, "managedFields");
        json_object_set_new(c, "metadata", meta);
    }
    return c;
}

bool kc_json_only_status_changed(const json_t *old_obj, const json_t *new_obj)
{
    json_t *a = without_status(old_obj), *b = without_status(new_obj);
    bool same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}

/* ---- dropping members from JSON text ---- */

#define DROP_MAX_SPANS 64

struct drop_ctx {
    const char *s;
    size_t n;
    size_t spans[DROP_MAX_SPANS][2]; /* [start, end) to remove, in increasing order */
    int nspans;
    bool bad; /* not well-formed, or too many spans: leave the text alone */
};

static size_t skip_ws(const struct drop_ctx *c, size_t i)
{
    while (i < c->n && (c->s[i] == ' ' || c->s[i] == '\t' || c->s[i] == '\n' || c->s[i] == '\r'))
        i++;
    return i;
}

/* s[i] is the opening quote; returns the index after the closing one. */
static size_t skip_string(struct drop_ctx *c, size_t i)
{
    for (i++; i < c->n; i++) {
        if (c->s[i] == '\\')
            i++;
        else if (c->s[i] == '"')
            return i + 1;
    }
    c->bad = true;
    return c->n;
}

/* Skips the value at i (after white space); returns the index after it. */
static size_t skip_value(struct drop_ctx *c, size_t i)
{
    i = skip_ws(c, i);
    if (i >= c->n) {
        c->bad = true;
        return c->n;
    }
    char ch = c->s[i];
    if (ch == '"')
        return skip_string(c, i);
    if (ch != '{' && ch != '[') {
        while (i < c->n && !strchr(",}] \t\r\n", c->s[i]))
            i++;
        return i;
    }
    int depth = 0;
    for (; i < c->n; i++) {
        ch = c->s[i];
        if (ch == '"') {
            i = skip_string(c, i) - 1;
        } else if (ch == '{' || ch == '[') {
            depth++;
        } else if (ch == '}' || ch == ']') {
            if (--depth == 0)
                return i + 1;
        }
    }
    c->bad = true;
    return c->n;
}

static void add_span(struct drop_ctx *c, size_t a, size_t b)
{
    if (c->nspans == DROP_MAX_SPANS) {
        c->bad = true;
        return;
    }
    c->spans[c->nspans][0] = a;
    c->spans[c->nspans][1] = b;
    c->nspans++;
}

/* Walks the value at i along path; returns the index after the value. */
static size_t drop_walk(struct drop_ctx *c, size_t i, const char *const *path)
{
    i = skip_ws(c, i);
    if (c->bad || !*path || i >= c->n)
        return skip_value(c, i);
    bool elements = strcmp(*path, "[]") == 0;
    if (c->s[i] != (elements ? '[' : '{'))
        return skip_value(c, i);
    i = skip_ws(c, i + 1);
    if (i < c->n && c->s[i] == (elements ? ']' : '}'))
        return i + 1;
    size_t prev_end = 0; /* where the previous member's value ended (0: first member) */
    while (!c->bad && i < c->n) {
        size_t start = i, end;
        bool dropped_first = false;
        if (elements) {
            end = drop_walk(c, i, path + 1);
        } else {
            if (c->s[i] != '"') {
                c->bad = true;
                break;
            }
            size_t kend = skip_string(c, i);
            size_t klen = kend - i - 2;
            bool match = strlen(*path) == klen && memcmp(c->s + i + 1, *path, klen) == 0;
            size_t v = skip_ws(c, kend);
            if (v >= c->n || c->s[v] != ':') {
                c->bad = true;
                break;
            }
            if (match && !path[1]) {
                end = skip_value(c, v + 1);
                size_t after = skip_ws(c, end);
                if (prev_end) /* ",member": from the end of the previous value */
                    add_span(c, prev_end, end);
                else if (after < c->n && c->s[after] == ',') { /* first of several: "member," */
                    add_span(c, start, after + 1);
                    dropped_first = true; /* the next member is first now */
                } else                    /* the only member */
                    add_span(c, start, end);
            } else {
                end = match ? drop_walk(c, v + 1, path + 1) : skip_value(c, v + 1);
            }
        }
        prev_end = dropped_first ? 0 : end;
        i = skip_ws(c, end);
        if (i >= c->n) {
            c->bad = true;
            break;
        }
        if (c->s[i] == ',') {
            i = skip_ws(c, i + 1);
            continue;
        }
        if (c->s[i] == (elements ? ']' : '}'))
            return i + 1;
        c->bad = true;
    }
    return c->n;
}

size_t kc_json_text_drop(char *s, size_t n, const char *const *path)
{
    struct drop_ctx c = {.s = s, .n = n};
    drop_walk(&c, 0, path);
    if (c.bad || c.nspans == 0)
        return n;
    /* Spans come in text order and never overlap; the first member's span may be
     * followed by the next member's, which starts after its comma. */
    size_t w = c.spans[0][0], r = c.spans[0][1];
    for (int k = 1; k < c.nspans; k++) {
        memmove(s + w, s + r, c.spans[k][0] - r);
        w += c.spans[k][0] - r;
        r = c.spans[k][1];
    }
    memmove(s + w, s + r, n - r);
    return w + n - r;
}

/* ---- fast compact serialization ---- */

#define DUMP_MAX_DEPTH 2048

struct dumpbuf {
    char *s;
    size_t n, cap;
};

static void db_reserve(struct dumpbuf *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 1024;
    while (cap < b->n + more + 1)
        cap *= 2;
    b->s = realloc(b->s, cap);
    if (!b->s)
        abort();
    b->cap = cap;
}

static void db_add(struct dumpbuf *b, const char *s, size_t n)
{
    db_reserve(b, n);
    memcpy(b->s + b->n, s, n);
    b->n += n;
}

/* The length of the valid UTF-8 sequence at s (jansson's utf8_iterate rules), 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t left)
{
    unsigned char u = s[0];
    size_t count;
    uint32_t v;
    if (u < 0x80)
        return 1;
    if (u >= 0xC2 && u <= 0xDF) {
        count = 2;
        v = u & 0x1F;
    } else if (u >= 0xE0 && u <= 0xEF) {
        count = 3;
        v = u & 0xF;
    } else if (u >= 0xF0 && u <= 0xF4) {
        count = 4;
        v = u & 0x7;
    } else {
        return 0;
    }
    if (count > left)
        return 0;
    for (size_t i = 1; i < count; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        v = (v << 6) + (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (count == 3 && v < 0x800) ||
        (count == 4 && v < 0x10000))
        return 0;
    return count;
}

static int dump_str(struct dumpbuf *b, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len, *run = s;
    db_reserve(b, len + 2);
    b->s[b->n++] = '"';
    while (s < end) {
        unsigned char c = *s;
        if (c >= 0x20 && c != '"' && c != '\\') {
            if (c < 0x80) {
                s++;
            } else {
                size_t k = utf8_seq(s, (size_t)(end - s));
                if (!k)
                    return -1;
                s += k;
            }
            continue;
        }
        db_add(b, (const char *)run, (size_t)(s - run));
        char esc[8];
        size_t n = 2;
        esc[0] = '\\';
        switch (c) {
        case '\\':
            esc[1] = '\\';
            break;
        case '"':
            esc[1] = '"';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04X", (unsigned)c);
            break;
        }
        db_add(b, esc, n);
        run = ++s;
    }
    db_add(b, (const char *)run, (size_t)(s - run));
    db_add(b, "\"", 1);
    return 0;
}

static int dump_value(struct dumpbuf *b, const json_t *j, int depth)
{
    char num[64];
    if (!j || depth > DUMP_MAX_DEPTH)
        return -1;
    switch (json_typeof(j)) {
    case JSON_NULL:
        db_add(b, "null", 4);
        return 0;
    case JSON_TRUE:
        db_add(b, "true", 4);
        return 0;
    case JSON_FALSE:
        db_add(b, "false", 5);
        return 0;
    case JSON_INTEGER: {
        int n = snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        db_add(b, num, (size_t)n);
        return 0;
    }
    case JSON_REAL: {
        /* rare in API objects: jansson's own formatting, for the same digits */
        char *r = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!r)
            return -1;
        db_add(b, r, strlen(r));
        free(r);
        return 0;
    }
    case JSON_STRING:
        return dump_str(b, json_string_value(j), json_string_length(j));
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        db_add(b, "[", 1);
        for (size_t i = 0; i < n; i++) {
            if (i)
                db_add(b, ",", 1);
            if (dump_value(b, json_array_get(j, i), depth + 1))
                return -1;
        }
        db_add(b, "]", 1);
        return 0;
    }
    case JSON_OBJECT: {
        db_add(b, "{", 1);
        bool first = true;
        for (void *it = json_object_iter((json_t *)j); it;
             it = json_object_iter_next((json_t *)j, it)) {
            if (!first)
                db_add(b, ",", 1);
            first = false;
            if (dump_str(b, json_object_iter_key(it), json_object_iter_key_len(it)))
                return -1;
            db_add(b, ":", 1);
            if (dump_value(b, json_object_iter_value(it), depth + 1))
                return -1;
        }
        db_add(b, "}", 1);
        return 0;
    }
    }
    return -1;
}

char *kc_json_dumps(const json_t *j, size_t *len)
{
    struct dumpbuf b = {0};
    if (dump_value(&b, j, 0) != 0) {
        free(b.s);
        return NULL;
    }
    db_reserve(&b, 0);
    b.s[b.n] = 0;
    if (len)
        *len = b.n;
    return b.s;
}

/* ---- fast parsing ---- */

#define LOAD_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH, counted the same way */

struct loader {
    const char *p, *end;
    bool nodup; /* a duplicated member fails */
    char *tmp;  /* decoded strings with escapes */
    size_t tmpcap;
};

static void load_ws(struct loader *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
        l->p++;
}

static int hex4(const char *s, int32_t *out)
{
    int32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v += c - '0';
        else if (c >= 'a' && c <= 'f')
            v += c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v += c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(int32_t cp, char *b)
{
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 + (cp >> 6));
        b[1] = (char)(0x80 + (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 + (cp >> 12));
        b[1] = (char)(0x80 + ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 + (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 + (cp >> 18));
    b[1] = (char)(0x80 + ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 + ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 + (cp & 0x3F));
    return 4;
}

/* l->p at the opening quote. The string's bytes in *s, *n (in the input when it has no
 * escapes, else in l->tmp); l->p after the closing quote. -1 on any error. */
static int load_string(struct loader *l, const char **s, size_t *n)
{
    const unsigned char *p = (const unsigned char *)l->p + 1, *end = (const unsigned char *)l->end;
    const unsigned char *start = p;
    while (p < end && *p != '"' && *p != '\\') {
        if (*p < 0x20)
            return -1;
        if (*p < 0x80) {
            p++;
        } else {
            size_t k = utf8_seq(p, (size_t)(end - p));
            if (!k)
                return -1;
            p += k;
        }
    }
    if (p >= end)
        return -1;
    if (*p == '"') {
        *s = (const char *)start;
        *n = (size_t)(p - start);
        l->p = (const char *)p + 1;
        return 0;
    }
    /* escapes: decode into tmp (never longer than the source) */
    size_t need = (size_t)(end - start);
    if (need + 1 > l->tmpcap) {
        l->tmp = realloc(l->tmp, need + 1);
        if (!l->tmp)
            abort();
        l->tmpcap = need + 1;
    }
    char *t = l->tmp;
    memcpy(t, start, (size_t)(p - start));
    t += p - start;
    while (p < end && *p != '"') {
        if (*p == '\\') {
            if (end - p < 2)
                return -1;
            unsigned char c = p[1];
            p += 2;
            switch (c) {
            case '"':
            case '\\':
            case '/':
                *t++ = (char)c;
                break;
            case 'b':
                *t++ = '\b';
                break;
            case 'f':
                *t++ = '\f';
                break;
            case 'n':
                *t++ = '\n';
                break;
            case 'r':
                *t++ = '\r';
                break;
            case 't':
                *t++ = '\t';
                break;
            case 'u': {
                int32_t v, v2;
                if (end - p < 4 || hex4((const char *)p, &v))
                    return -1;
                p += 4;
                if (v >= 0xD800 && v <= 0xDBFF) {
                    if (end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
                        hex4((const char *)p + 2, &v2) || v2 < 0xDC00 || v2 > 0xDFFF)
                        return -1;
                    p += 6;
                    v = ((v - 0xD800) << 10) + (v2 - 0xDC00) + 0x10000;
                } else if (v >= 0xDC00 && v <= 0xDFFF) {
                    return -1;
                }
                t += utf8_put(v, t);
                break;
            }
            default:
                return -1;
            }
        } else if (*p < 0x20) {
            return -1;
        } else if (*p < 0x80) {
            *t++ = (char)*p++;
        } else {
            size_t k = utf8_seq(p, (size_t)(end - p));
            if (!k)
                return -1;
            memcpy(t, p, k);
            t += k;
            p += k;
        }
    }
    if (p >= end)
        return -1;
    *s = l->tmp;
    *n = (size_t)(t - l->tmp);
    l->p = (const char *)p + 1;
    return 0;
}

/* A number as jansson's lexer reads it: integers through strtoll, reals through strtod. */
static json_t *load_number(struct loader *l)
{
    const char *p = l->p, *end = l->end, *start = p;
    bool real = false;
    if (p < end && *p == '-')
        p++;
    if (p < end && *p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return NULL;
    } else if (p < end && *p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    } else {
        return NULL;
    }
    if (p < end && *p == '.') {
        real = true;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        real = true;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p >= end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    char small[64], *text = small;
    size_t n = (size_t)(p - start);
    if (n + 1 > sizeof small) {
        text = malloc(n + 1);
        if (!text)
            abort();
    }
    memcpy(text, start, n);
    text[n] = 0;
    json_t *v = NULL;
    errno = 0;
    if (!real) {
        long long i = strtoll(text, NULL, 10);
        if (errno != ERANGE)
            v = json_integer((json_int_t)i);
    } else {
        double d = strtod(text, NULL);
        if (!((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE))
            v = json_real(d);
    }
    if (text != small)
        free(text);
    l->p = p;
    return v;
}

static json_t *load_value(struct loader *l, int depth)
{
    if (depth > LOAD_MAX_DEPTH)
        return NULL;
    load_ws(l);
    if (l->p >= l->end)
        return NULL;
    const char *s;
    size_t n;
    switch (*l->p) {
    case '{': {
        json_t *o = json_object();
        l->p++;
        load_ws(l);
        if (l->p < l->end && *l->p == '}') {
            l->p++;
            return o;
        }
        for (;;) {
            load_ws(l);
            if (l->p >= l->end || *l->p != '"' || load_string(l, &s, &n) || memchr(s, 0, n)) {
                json_decref(o);
                return NULL;
            }
            /* the key may live in tmp, which the value can reuse: copy it out first */
            char small[128], *key = n < sizeof small ? small : malloc(n + 1);
            if (!key)
                abort();
            memcpy(key, s, n);
            load_ws(l);
            json_t *v = NULL;
            if (l->p < l->end && *l->p == ':') {
                l->p++;
                v = load_value(l, depth + 1);
            }
            if (v && l->nodup && json_object_getn(o, key, n)) {
                json_decref(v);
                v = NULL;
            }
            if (v && json_object_setn_new_nocheck(o, key, n, v) != 0)
                v = NULL;
            if (key != small)
                free(key);
            if (!v) {
                json_decref(o);
                return NULL;
            }
            load_ws(l);
            if (l->p < l->end && *l->p == ',') {
                l->p++;
                continue;
            }
            if (l->p < l->end && *l->p == '}') {
                l->p++;
                return o;
            }
            json_decref(o);
            return NULL;
        }
    }
    case '[': {
        json_t *a = json_array();
        l->p++;
        load_ws(l);
        if (l->p < l->end && *l->p == ']') {
            l->p++;
            return a;
        }
        for (;;) {
            json_t *v = load_value(l, depth + 1);
            if (!v || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NULL;
            }
            load_ws(l);
            if (l->p < l->end && *l->p == ',') {
                l->p++;
                continue;
            }
            if (l->p < l->end && *l->p == ']') {
                l->p++;
                return a;
            }
            json_decref(a);
            return NULL;
        }
    }
    case '"':
        if (load_string(l, &s, &n) || memchr(s, 0, n))
            return NULL;
        return json_stringn_nocheck(s, n);
    case 't':
    case 'f':
    case 'n': {
        /* a whole identifier, as jansson's lexer takes it */
        const char *w = l->p;
        while (l->p < l->end && ((*l->p >= 'a' && *l->p <= 'z') || (*l->p >= 'A' && *l->p <= 'Z')))
            l->p++;
        size_t wl = (size_t)(l->p - w);
        if (wl == 4 && !memcmp(w, "true", 4))
            return json_true();
        if (wl == 5 && !memcmp(w, "false", 5))
            return json_false();
        if (wl == 4 && !memcmp(w, "null", 4))
            return json_null();
        return NULL;
    }
    default:
        if (*l->p == '-' || (*l->p >= '0' && *l->p <= '9'))
            return load_number(l);
        return NULL;
    }
}

static json_t *load_root(const char *s, size_t n, bool nodup)
{
    struct loader l = {.p = s, .end = s + n, .nodup = nodup};
    load_ws(&l);
    if (l.p >= l.end || (*l.p != '{' && *l.p != '['))
        return NULL;
    json_t *v = load_value(&l, 1);
    if (v) {
        load_ws(&l);
        if (l.p != l.end) {
            json_decref(v);
            v = NULL;
        }
    }
    free(l.tmp);
    return v;
}

json_t *kc_json_loadb(const char *s, size_t n)
{
    return load_root(s, n, false);
}

json_t *kc_json_loadb_nodup(const char *s, size_t n)
{
    return load_root(s, n, true);
}

/* ---- duplicate members ---- */

struct dup_scan {
    const char *s, *end;
    char *out;
    size_t outn, used, found;
    char path[1024];
};

static void dup_ws(struct dup_scan *d)
{
    while (d->s < d->end && (*d->s == ' ' || *d->s == '\t' || *d->s == '\n' || *d->s == '\r'))
        d->s++;
}

/* Skips a string at d->s (on its opening quote); its raw bytes (escapes kept as written) are
 * [*start, *start + *len). */
static void dup_string(struct dup_scan *d, const char **start, size_t *len)
{
    d->s++;
    *start = d->s;
    while (d->s < d->end && *d->s != '"')
        d->s += *d->s == '\\' && d->s + 1 < d->end ? 2 : 1;
    *len = (size_t)(d->s - *start);
    if (d->s < d->end)
        d->s++;
}

static void dup_value(struct dup_scan *d, int depth);

/* Appends ".seg" (or "[index]" when seg is NULL) to the path; the length before, to
 * restore. */
static size_t dup_push(struct dup_scan *d, const char *seg, size_t seglen, size_t index)
{
    size_t before = strlen(d->path);
    size_t room = sizeof d->path - before;
    if (seg)
        snprintf(d->path + before, room, "%s%.*s", before ? "." : "", (int)seglen, seg);
    else
        snprintf(d->path + before, room, "[%zu]", index);
    return before;
}

static void dup_object(struct dup_scan *d, int depth)
{
    /* the keys of this object seen so far, as offsets into the text */
    const char **keys = NULL;
    size_t *lens = NULL, nkeys = 0, cap = 0;
    d->s++;
    for (;;) {
        dup_ws(d);
        if (d->s >= d->end || *d->s == '}' || *d->s != '"')
            break;
        const char *k;
        size_t kl;
        dup_string(d, &k, &kl);
        bool dup = false;
        for (size_t i = 0; i < nkeys && !dup; i++)
            dup = lens[i] == kl && memcmp(keys[i], k, kl) == 0;
        size_t before = dup_push(d, k, kl, 0);
        if (dup) {
            size_t pl = strlen(d->path);
            if (d->used + pl + 1 < d->outn) {
                memcpy(d->out + d->used, d->path, pl);
                d->used += pl;
                d->out[d->used++] = '\n';
                d->out[d->used] = 0;
            }
            d->found++;
        } else {
            if (nkeys == cap) {
                cap = cap ? cap * 2 : 16;
                keys = realloc(keys, cap * sizeof *keys);
                lens = realloc(lens, cap * sizeof *lens);
                if (!keys || !lens)
                    abort();
            }
            keys[nkeys] = k;
            lens[nkeys++] = kl;
        }
        dup_ws(d);
        if (d->s < d->end && *d->s == ':')
            d->s++;
        dup_value(d, depth + 1);
        d->path[before] = 0;
        dup_ws(d);
        if (d->s < d->end && *d->s == ',')
            d->s++;
        else
            break;
    }
    if (d->s < d->end && *d->s == '}')
        d->s++;
    free(keys);
    free(lens);
}

static void dup_array(struct dup_scan *d, int depth)
{
    d->s++;
    for (size_t i = 0;; i++) {
        dup_ws(d);
        if (d->s >= d->end || *d->s == ']')
            break;
        size_t before = dup_push(d, NULL, 0, i);
        dup_value(d, depth + 1);
        d->path[before] = 0;
        dup_ws(d);
        if (d->s < d->end && *d->s == ',')
            d->s++;
        else
            break;
    }
    if (d->s < d->end && *d->s == ']')
        d->s++;
}

static void dup_value(struct dup_scan *d, int depth)
{
    dup_ws(d);
    if (d->s >= d->end || depth > 2048) { /* jansson's nesting limit: deeper never parses */
        d->s = d->end;
        return;
    }
    if (*d->s == '{') {
        dup_object(d, depth);
    } else if (*d->s == '[') {
        dup_array(d, depth);
    } else if (*d->s == '"') {
        const char *v;
        size_t vl;
        dup_string(d, &v, &vl);
    } else {
        while (d->s < d->end && !strchr(",}] \t\r\n", *d->s))
            d->s++;
    }
}

size_t kc_json_duplicate_paths(const char *s, size_t n, char *out, size_t outn)
{
    struct dup_scan d = {.s = s, .end = s + n, .out = out, .outn = outn};
    if (outn)
        out[0] = 0;
    dup_value(&d, 0);
    return d.found;
}
