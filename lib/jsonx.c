#include "lib/jsonx.h"

#include <stdbool.h>
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
