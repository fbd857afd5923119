/* Label and field selectors; see selector.h. */
#include "lib/selector.h"

#include "lib/jsonx.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum op { OP_EQ, OP_NEQ, OP_IN, OP_NOTIN, OP_EXISTS, OP_NOTEXISTS, OP_GT, OP_LT };

struct req {
    char *key;
    enum op op;
    char **values;
    size_t nvalues;
};

struct kc_selector {
    struct req *reqs;
    size_t n, cap;
    bool field;
};

static struct kc_selector *sel_new(bool field)
{
    struct kc_selector *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->field = field;
    return s;
}

static struct req *sel_add(struct kc_selector *s, const char *key, size_t keylen, enum op op)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->reqs = realloc(s->reqs, s->cap * sizeof *s->reqs);
        if (!s->reqs)
            abort();
    }
    struct req *r = &s->reqs[s->n++];
    memset(r, 0, sizeof *r);
    r->key = strndup(key, keylen);
    r->op = op;
    return r;
}

static void req_add_value(struct req *r, const char *v, size_t n)
{
    r->values = realloc(r->values, (r->nvalues + 1) * sizeof *r->values);
    if (!r->values)
        abort();
    r->values[r->nvalues++] = strndup(v, n);
}

void kc_selector_free(struct kc_selector *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->reqs[i].key);
        for (size_t j = 0; j < s->reqs[i].nvalues; j++)
            free(s->reqs[i].values[j]);
        free(s->reqs[i].values);
    }
    free(s->reqs);
    free(s);
}

size_t kc_selector_len(const struct kc_selector *s)
{
    return s ? s->n : 0;
}
const char *kc_selector_key(const struct kc_selector *s, size_t i)
{
    return s->reqs[i].key;
}
bool kc_selector_empty(const struct kc_selector *s)
{
    return !s || s->n == 0;
}

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- name rules (pkg/util/validation) ---- */

static bool alnum(char c)
{
    return isalnum((unsigned char)c);
}

/* [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 */
static bool valid_name_part(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !alnum(s[0]) || !alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

static bool valid_dns_subdomain(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            size_t len = i - start;
            if (len == 0 || len > 63)
                return false;
            const char *p = s + start;
            if (!(islower((unsigned char)p[0]) || isdigit((unsigned char)p[0])) ||
                !(islower((unsigned char)p[len - 1]) || isdigit((unsigned char)p[len - 1])))
                return false;
            for (size_t k = 0; k < len; k++)
                if (!(islower((unsigned char)p[k]) || isdigit((unsigned char)p[k]) || p[k] == '-'))
                    return false;
            start = i + 1;
        }
    }
    return true;
}

static bool valid_label_key(const char *s, size_t n)
{
    const char *slash = memchr(s, '/', n);
    if (!slash)
        return valid_name_part(s, n);
    size_t plen = (size_t)(slash - s);
    return valid_dns_subdomain(s, plen) && valid_name_part(slash + 1, n - plen - 1);
}

static bool valid_label_value(const char *s, size_t n)
{
    return n == 0 || valid_name_part(s, n);
}

/* ---- label selector parser ---- */

struct lexer {
    const char *p;
};

static void skip_ws(struct lexer *lx)
{
    while (*lx->p == ' ' || *lx->p == '\t')
        lx->p++;
}

/* An identifier: anything up to a delimiter. */
static size_t ident(const char *p)
{
    size_t n = 0;
    while (p[n] && !strchr(" \t,()=!<>", p[n]))
        n++;
    return n;
}

static int parse_values(struct lexer *lx, struct req *r, char *err, size_t errlen)
{
    skip_ws(lx);
    if (*lx->p != '(')
        return fail(err, errlen, "found '%s', expected: '('", *lx->p ? lx->p : "EOF");
    lx->p++;
    skip_ws(lx);
    if (*lx->p == ')')
        return fail(err, errlen, "for 'in', 'notin' operators, values set can't be empty");
    for (;;) {
        skip_ws(lx);
        size_t n = ident(lx->p);
        if (n && !valid_label_value(lx->p, n))
            return fail(err, errlen, "invalid label value: \"%.*s\"", (int)n, lx->p);
        req_add_value(r, lx->p, n);
        lx->p += n;
        skip_ws(lx);
        if (*lx->p == ',') {
            lx->p++;
            continue;
        }
        if (*lx->p == ')') {
            lx->p++;
            return 0;
        }
        return fail(err, errlen, "found '%s', expected: ',' or ')'", *lx->p ? lx->p : "EOF");
    }
}

int kc_label_selector_parse(const char *s, struct kc_selector **out, char *err, size_t errlen)
{
    struct kc_selector *sel = sel_new(false);
    struct lexer lx = {s ? s : ""};
    *out = NULL;
    skip_ws(&lx);
    if (!*lx.p) {
        *out = sel;
        return 0;
    }
    for (;;) {
        skip_ws(&lx);
        bool not = false;
        if (*lx.p == '!') {
            not = true;
            lx.p++;
            skip_ws(&lx);
        }
        size_t kn = ident(lx.p);
        if (kn == 0) {
            fail(err, errlen, "found '%s', expected: identifier", *lx.p ? lx.p : "EOF");
            goto bad;
        }
        if (!valid_label_key(lx.p, kn)) {
            fail(err, errlen,
                 "invalid label key \"%.*s\": name part must consist of alphanumeric "
                 "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                 "character",
                 (int)kn, lx.p);
            goto bad;
        }
        const char *key = lx.p;
        lx.p += kn;
        skip_ws(&lx);
        if (not ) {
            sel_add(sel, key, kn, OP_NOTEXISTS);
        } else if (*lx.p == ',' || *lx.p == 0) {
            sel_add(sel, key, kn, OP_EXISTS);
        } else {
            enum op op;
            if (strncmp(lx.p, "==", 2) == 0) {
                op = OP_EQ;
                lx.p += 2;
            } else if (strncmp(lx.p, "!=", 2) == 0) {
                op = OP_NEQ;
                lx.p += 2;
            } else if (*lx.p == '=') {
                op = OP_EQ;
                lx.p++;
            } else if (*lx.p == '>') {
                op = OP_GT;
                lx.p++;
            } else if (*lx.p == '<') {
                op = OP_LT;
                lx.p++;
            } else if (strncmp(lx.p, "notin", 5) == 0 && !alnum(lx.p[5])) {
                op = OP_NOTIN;
                lx.p += 5;
            } else if (strncmp(lx.p, "in", 2) == 0 && !alnum(lx.p[2])) {
                op = OP_IN;
                lx.p += 2;
            } else {
                fail(err, errlen, "found '%s', expected: in, notin, =, ==, !=, gt, lt", lx.p);
                goto bad;
            }
            struct req *r = sel_add(sel, key, kn, op);
            if (op == OP_IN || op == OP_NOTIN) {
                if (parse_values(&lx, r, err, errlen))
                    goto bad;
            } else {
                skip_ws(&lx);
                size_t vn = ident(lx.p);
                if (op == OP_GT || op == OP_LT) {
                    char *end;
                    char tmp[32];
                    if (vn == 0 || vn >= sizeof tmp) {
                        fail(err, errlen,
                             "for 'Gt', 'Lt' operators, exactly one value is required");
                        goto bad;
                    }
                    memcpy(tmp, lx.p, vn);
                    tmp[vn] = 0;
                    strtoll(tmp, &end, 10);
                    if (*end) {
                        fail(err, errlen, "for 'Gt', 'Lt' operators, the value must be an integer");
                        goto bad;
                    }
                } else if (!valid_label_value(lx.p, vn)) {
                    fail(err, errlen, "invalid label value: \"%.*s\"", (int)vn, lx.p);
                    goto bad;
                }
                req_add_value(r, lx.p, vn);
                lx.p += vn;
            }
        }
        skip_ws(&lx);
        if (*lx.p == 0)
            break;
        if (*lx.p != ',') {
            fail(err, errlen, "found '%s', expected: ',' or 'end of string'", lx.p);
            goto bad;
        }
        lx.p++;
    }
    *out = sel;
    return 0;
bad:
    kc_selector_free(sel);
    return -1;
}

int kc_label_selector_from_json(const json_t *js, struct kc_selector **out, char *err,
                                size_t errlen)
{
    struct kc_selector *sel = sel_new(false);
    const char *k;
    json_t *v;
    *out = NULL;
    json_object_foreach (json_object_get(js, "matchLabels"), k, v) {
        if (!json_is_string(v)) {
            fail(err, errlen, "matchLabels values must be strings");
            goto bad;
        }
        struct req *r = sel_add(sel, k, strlen(k), OP_EQ);
        req_add_value(r, json_string_value(v), json_string_length(v));
    }
    size_t i;
    json_array_foreach (json_object_get(js, "matchExpressions"), i, v) {
        const char *key = json_string_value(json_object_get(v, "key"));
        const char *op = json_string_value(json_object_get(v, "operator"));
        enum op o;
        if (!key || !op) {
            fail(err, errlen, "matchExpressions need key and operator");
            goto bad;
        }
        if (!strcmp(op, "In"))
            o = OP_IN;
        else if (!strcmp(op, "NotIn"))
            o = OP_NOTIN;
        else if (!strcmp(op, "Exists"))
            o = OP_EXISTS;
        else if (!strcmp(op, "DoesNotExist"))
            o = OP_NOTEXISTS;
        else {
            fail(err, errlen, "\"%s\" is not a valid label selector operator", op);
            goto bad;
        }
        struct req *r = sel_add(sel, key, strlen(key), o);
        size_t j;
        json_t *val;
        json_array_foreach (json_object_get(v, "values"), j, val)
            if (json_is_string(val))
                req_add_value(r, json_string_value(val), json_string_length(val));
    }
    *out = sel;
    return 0;
bad:
    kc_selector_free(sel);
    return -1;
}

static bool req_matches(const struct req *r, const char *val, bool has)
{
    switch (r->op) {
    case OP_EQ:
        return has && strcmp(val, r->values[0]) == 0;
    case OP_NEQ:
        return !has || strcmp(val, r->values[0]) != 0;
    case OP_IN:
        if (!has)
            return false;
        for (size_t i = 0; i < r->nvalues; i++)
            if (strcmp(val, r->values[i]) == 0)
                return true;
        return false;
    case OP_NOTIN:
        if (!has)
            return true;
        for (size_t i = 0; i < r->nvalues; i++)
            if (strcmp(val, r->values[i]) == 0)
                return false;
        return true;
    case OP_EXISTS:
        return has;
    case OP_NOTEXISTS:
        return !has;
    case OP_GT:
    case OP_LT: {
        char *end;
        if (!has)
            return false;
        long long a = strtoll(val, &end, 10);
        if (*end || !*val)
            return false;
        long long b = strtoll(r->values[0], NULL, 10);
        return r->op == OP_GT ? a > b : a < b;
    }
    }
    return false;
}

bool kc_label_selector_matches(const struct kc_selector *sel, const json_t *labels)
{
    if (!sel)
        return true;
    for (size_t i = 0; i < sel->n; i++) {
        json_t *v = json_object_get(labels, sel->reqs[i].key);
        const char *s = json_string_value(v);
        if (!req_matches(&sel->reqs[i], s ? s : "", s != NULL))
            return false;
    }
    return true;
}

/* ---- field selectors ---- */

/* Splits at unescaped commas; unescapes \, \= \! \\ in values. */
int kc_field_selector_parse(const char *s, struct kc_selector **out, char *err, size_t errlen)
{
    struct kc_selector *sel = sel_new(true);
    const char *p = s ? s : "";
    *out = NULL;
    while (*p == ' ')
        p++;
    if (!*p) {
        *out = sel;
        return 0;
    }
    size_t cap = strlen(p) + 1;
    char *term = malloc(cap), *val = malloc(cap);
    if (!term || !val)
        abort();
    for (;;) {
        /* one term up to an unescaped comma */
        size_t n = 0;
        while (*p && *p != ',') {
            if (*p == '\\' && p[1]) {
                term[n++] = *p++;
            }
            term[n++] = *p++;
        }
        term[n] = 0;
        /* find the operator (first unescaped =, ==, !=) */
        size_t i = 0;
        enum op op = OP_EQ;
        size_t keylen = 0, vstart = 0;
        bool found = false;
        for (i = 0; i < n; i++) {
            if (term[i] == '\\') {
                i++;
                continue;
            }
            if (term[i] == '!' && term[i + 1] == '=') {
                op = OP_NEQ;
                keylen = i;
                vstart = i + 2;
                found = true;
                break;
            }
            if (term[i] == '=') {
                op = OP_EQ;
                keylen = i;
                vstart = term[i + 1] == '=' ? i + 2 : i + 1;
                found = true;
                break;
            }
        }
        if (!found) {
            fail(err, errlen, "invalid selector: '%s'; can't understand '%s'", s, term);
            goto bad;
        }
        while (keylen && term[keylen - 1] == ' ')
            keylen--;
        size_t ks = 0;
        while (ks < keylen && term[ks] == ' ')
            ks++;
        if (keylen <= ks) {
            fail(err, errlen, "invalid selector: '%s'; can't understand '%s'", s, term);
            goto bad;
        }
        size_t vn = 0;
        for (size_t k = vstart; k < n; k++) {
            if (term[k] == '\\' && k + 1 < n) {
                char c = term[k + 1];
                if (c != ',' && c != '=' && c != '!' && c != '\\') {
                    fail(err, errlen, "invalid field selector: invalid escape sequence");
                    goto bad;
                }
                val[vn++] = c;
                k++;
            } else if (term[k] == '=' || (term[k] == '!' && term[k + 1] == '=')) {
                fail(err, errlen, "invalid field selector: unescaped operator in value");
                goto bad;
            } else {
                val[vn++] = term[k];
            }
        }
        struct req *r = sel_add(sel, term + ks, keylen - ks, op);
        req_add_value(r, val, vn);
        if (!*p)
            break;
        p++;
    }
    free(term);
    free(val);
    *out = sel;
    return 0;
bad:
    free(term);
    free(val);
    kc_selector_free(sel);
    return -1;
}

int kc_field_get_path(const json_t *obj, const char *field, char *buf, size_t buflen, void *ctx)
{
    json_t *v = kc_json_path(obj, field);
    if (!v || json_is_null(v))
        return -1;
    if (json_is_string(v))
        snprintf(buf, buflen, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(buf, buflen, "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        snprintf(buf, buflen, "%s", json_is_true(v) ? "true" : "false");
    else
        return -1;
    return 0;
}

bool kc_field_selector_matches(const struct kc_selector *sel, const json_t *obj,
                               kc_field_get_fn get, void *ctx)
{
    char buf[1024];
    if (!sel)
        return true;
    for (size_t i = 0; i < sel->n; i++) {
        const struct req *r = &sel->reqs[i];
        if (get(obj, r->key, buf, sizeof buf, ctx) != 0)
            buf[0] = 0;
        bool eq = strcmp(buf, r->values[0]) == 0;
        if ((r->op == OP_EQ) != eq)
            return false;
    }
    return true;
}

/* ---- printing ---- */

struct sbuf {
    char *s;
    size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = realloc(b->s, b->cap);
        if (!b->s)
            abort();
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}

static int req_cmp(const void *a, const void *b)
{
    return strcmp(((const struct req *)a)->key, ((const struct req *)b)->key);
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void req_string(struct sbuf *b, const struct req *r)
{
    static const char *const ops[] = {"=", "!=", " in ", " notin ", "", "", ">", "<"};
    if (r->op == OP_NOTEXISTS)
        sb_add(b, "!");
    sb_add(b, r->key);
    sb_add(b, ops[r->op]);
    if (r->op == OP_IN || r->op == OP_NOTIN) {
        char **v = malloc((r->nvalues + 1) * sizeof *v);
        if (!v)
            abort();
        if (r->nvalues) {
            memcpy(v, r->values, r->nvalues * sizeof *v);
            qsort(v, r->nvalues, sizeof *v, str_cmp);
        }
        sb_add(b, "(");
        for (size_t i = 0; i < r->nvalues; i++) {
            if (i)
                sb_add(b, ",");
            sb_add(b, v[i]);
        }
        sb_add(b, ")");
        free(v);
    } else if (r->nvalues) {
        sb_add(b, r->values[0]);
    }
}

char *kc_selector_string(const struct kc_selector *sel)
{
    struct sbuf b = {0};
    sb_add(&b, "");
    if (!sel)
        return b.s;
    struct req *sorted = malloc((sel->n + 1) * sizeof *sorted);
    if (!sorted)
        abort();
    if (sel->n) {
        memcpy(sorted, sel->reqs, sel->n * sizeof *sorted);
        qsort(sorted, sel->n, sizeof *sorted, req_cmp);
    }
    for (size_t i = 0; i < sel->n; i++) {
        if (i)
            sb_add(&b, ",");
        req_string(&b, &sorted[i]);
    }
    free(sorted);
    return b.s;
}

char *kc_label_selector_json_to_string(const json_t *js)
{
    struct kc_selector *sel = NULL;
    char err[128];
    if (!js || kc_label_selector_from_json(js, &sel, err, sizeof err) != 0)
        return strdup("");
    /* LabelSelectorAsSelector sorts every requirement by key */
    char *s = kc_selector_string(sel);
    kc_selector_free(sel);
    return s;
}
