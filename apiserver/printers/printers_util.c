/* Formatting helpers shared by the printers: strings, cells, durations and the label and
 * selector strings of k8s.io/apimachinery (labels.FormatLabels, LabelSelector.String()). */
#include "apiserver/printers/printers_internal.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- growable string ---- */

static bool sb_reserve(struct kc_sb *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *s = realloc(b->s, cap);
    if (!s)
        return false;
    b->s = s;
    b->cap = cap;
    return true;
}

void kc_sb_addn(struct kc_sb *b, const char *s, size_t n)
{
    if (!s || !sb_reserve(b, n))
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

void kc_sb_add(struct kc_sb *b, const char *s)
{
    if (s)
        kc_sb_addn(b, s, strlen(s));
}

void kc_sb_addf(struct kc_sb *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void kc_sb_add_sep(struct kc_sb *b, const char *sep, const char *s)
{
    if (b->len)
        kc_sb_add(b, sep);
    kc_sb_add(b, s);
}

void kc_sb_set(struct kc_sb *b, const char *s)
{
    b->len = 0;
    if (b->s)
        b->s[0] = 0;
    kc_sb_add(b, s);
}

const char *kc_sb_str(const struct kc_sb *b)
{
    return b->s ? b->s : "";
}

void kc_sb_free(struct kc_sb *b)
{
    free(b->s);
    b->s = NULL;
    b->len = b->cap = 0;
}

/* ---- JSON access ---- */

json_t *kc_pr_get(const json_t *obj, const char *path)
{
    json_t *v = kc_json_path(obj, path);
    return json_is_null(v) ? NULL : v;
}

const char *kc_pr_str(const json_t *obj, const char *path)
{
    const char *s = kc_json_str(obj, path);
    return s ? s : "";
}

/* ---- cells ---- */

void kc_pr_add_str(json_t *cells, const char *s)
{
    /* Object text came through jansson so it is valid UTF-8; the fallback keeps the row's
     * cell count right should a string ever be rejected. */
    json_t *v = json_string(s ? s : "");
    json_array_append_new(cells, v ? v : json_string(""));
}

void kc_pr_add_int(json_t *cells, long long v)
{
    json_array_append_new(cells, json_integer(v));
}

void kc_pr_add_fmt(json_t *cells, const char *fmt, ...)
{
    struct kc_sb b = {0};
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && sb_reserve(&b, (size_t)n)) {
        va_start(ap, fmt);
        vsnprintf(b.s, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b.len = (size_t)n;
    }
    kc_pr_add_str(cells, kc_sb_str(&b));
    kc_sb_free(&b);
}

const char *kc_pr_or(const char *s, const char *dflt)
{
    return s && *s ? s : dflt;
}

/* Go's zero time.Time (0001-01-01T00:00:00Z) marshals as that stamp; metav1.Time.IsZero()
 * treats it like a missing one. */
#define GO_ZERO_TIME (-62135596800LL)

bool kc_pr_time(const char *stamp, time_t *out)
{
    return stamp && *stamp && kc_time_parse(stamp, out) == 0 && (long long)*out != GO_ZERO_TIME;
}

void kc_pr_since(char *buf, size_t n, const char *stamp, time_t now)
{
    time_t t;
    if (!kc_pr_time(stamp, &t)) {
        snprintf(buf, n, "<unknown>");
        return;
    }
    kc_human_duration((long long)(now - t), buf, n);
}

void kc_pr_add_age(json_t *cells, const json_t *obj, time_t now)
{
    char buf[32];
    kc_pr_since(buf, sizeof buf, kc_json_str(obj, "metadata.creationTimestamp"), now);
    kc_pr_add_str(cells, buf);
}

/* ---- labels and selectors ---- */

static int cmp_cstr(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

void kc_pr_format_labels(struct kc_sb *b, const json_t *map)
{
    size_t n = json_object_size(map), i = 0;
    char **pairs = n ? calloc(n, sizeof *pairs) : NULL;
    const char *k;
    json_t *v;
    if (n && !pairs)
        goto out;
    /* labels.Set.String() sorts the joined "k=v" strings, not the keys */
    json_object_foreach ((json_t *)map, k, v) {
        struct kc_sb p = {0};
        kc_sb_add(&p, k);
        kc_sb_add(&p, "=");
        kc_sb_add(&p, json_string_value(v));
        pairs[i++] = p.s;
    }
    if (i)
        qsort(pairs, i, sizeof *pairs, cmp_cstr);
    for (size_t j = 0; j < i; j++) {
        if (j)
            kc_sb_add(b, ",");
        kc_sb_add(b, pairs[j]);
    }
out:
    if (!b->len)
        kc_sb_add(b, "<none>");
    for (size_t j = 0; j < i; j++)
        free(pairs[j]);
    free(pairs);
}

/* One labels.Requirement: its key (the sort key) and its String() form. */
struct requirement {
    const char *key;
    char *text;
};

/* Requirement.String() of one matchExpressions entry; NULL when NewRequirement would fail. */
static char *expression_string(const json_t *expr)
{
    const char *key = kc_json_str(expr, "key"), *op = kc_json_str(expr, "operator");
    json_t *vals = kc_pr_get(expr, "values");
    size_t nvals = json_array_size(vals), i;
    const char **sorted = NULL;
    struct kc_sb b = {0};
    char *ret = NULL;
    if (!key || !op || (vals && !json_is_array(vals)))
        goto out;
    bool set_op = !strcmp(op, "In") || !strcmp(op, "NotIn");
    bool exists_op = !strcmp(op, "Exists") || !strcmp(op, "DoesNotExist");
    if ((!set_op && !exists_op) || (set_op && nvals == 0) || (exists_op && nvals != 0))
        goto out;
    if (!strcmp(op, "DoesNotExist"))
        kc_sb_add(&b, "!");
    kc_sb_add(&b, key);
    if (set_op) {
        sorted = calloc(nvals, sizeof *sorted);
        if (!sorted)
            goto out;
        for (i = 0; i < nvals; i++) {
            sorted[i] = json_string_value(json_array_get(vals, i));
            if (!sorted[i])
                goto out;
        }
        /* String() prints the values sorted */
        qsort(sorted, nvals, sizeof *sorted, cmp_cstr);
        kc_sb_add(&b, strcmp(op, "In") ? " notin (" : " in (");
        for (i = 0; i < nvals; i++) {
            if (i)
                kc_sb_add(&b, ",");
            kc_sb_add(&b, sorted[i]);
        }
        kc_sb_add(&b, ")");
    }
    ret = b.s;
    b.s = NULL;
out:
    free(sorted);
    kc_sb_free(&b);
    return ret;
}

int kc_pr_selector_string(struct kc_sb *b, const json_t *sel)
{
    json_t *labels = kc_pr_get(sel, "matchLabels");
    json_t *exprs = kc_pr_get(sel, "matchExpressions");
    size_t n = json_object_size(labels) + json_array_size(exprs), count = 0, i;
    struct requirement *reqs = NULL;
    int rc = -1;
    const char *k;
    json_t *v;
    if (n == 0) /* nil selects nothing and empty everything; both print as "" */
        return 0;
    reqs = calloc(n, sizeof *reqs);
    if (!reqs)
        goto out;
    json_object_foreach (labels, k, v) {
        struct kc_sb t = {0};
        if (!json_is_string(v))
            goto out;
        kc_sb_add(&t, k);
        kc_sb_add(&t, "=");
        kc_sb_add(&t, json_string_value(v));
        reqs[count].key = k;
        reqs[count++].text = t.s;
        if (!t.s)
            goto out;
    }
    json_array_foreach (exprs, i, v) {
        reqs[count].key = kc_json_str(v, "key");
        reqs[count].text = expression_string(v);
        if (!reqs[count++].text)
            goto out;
    }
    /* Selector.Add sorts the requirements by key (labels first on a tie: for the sizes seen
     * here Go's sort is an insertion sort, hence stable) */
    for (i = 1; i < count; i++) {
        struct requirement r = reqs[i];
        size_t j = i;
        while (j > 0 && strcmp(reqs[j - 1].key, r.key) > 0) {
            reqs[j] = reqs[j - 1];
            j--;
        }
        reqs[j] = r;
    }
    for (i = 0; i < count; i++) {
        if (i)
            kc_sb_add(b, ",");
        kc_sb_add(b, reqs[i].text);
    }
    rc = 0;
out:
    for (i = 0; reqs && i < count; i++)
        free(reqs[i].text);
    free(reqs);
    return rc;
}

void kc_pr_add_format_label_selector(json_t *cells, const json_t *sel)
{
    struct kc_sb b = {0};
    if (kc_pr_selector_string(&b, sel) != 0)
        kc_pr_add_str(cells, "<error>");
    else
        kc_pr_add_str(cells, kc_pr_or(kc_sb_str(&b), "<none>"));
    kc_sb_free(&b);
}

void kc_pr_add_containers_images(json_t *cells, const json_t *podspec)
{
    struct kc_sb names = {0}, images = {0};
    size_t i;
    json_t *c;
    json_array_foreach (kc_pr_get(podspec, "containers"), i, c) {
        if (i) {
            kc_sb_add(&names, ",");
            kc_sb_add(&images, ",");
        }
        kc_sb_add(&names, kc_pr_str(c, "name"));
        kc_sb_add(&images, kc_pr_str(c, "image"));
    }
    kc_pr_add_str(cells, kc_sb_str(&names));
    kc_pr_add_str(cells, kc_sb_str(&images));
    kc_sb_free(&names);
    kc_sb_free(&images);
}

void kc_pr_lb_status(struct kc_sb *b, const json_t *ingress)
{
    size_t n = 0, i;
    const char **addrs = calloc(json_array_size(ingress) + 1, sizeof *addrs);
    json_t *e;
    if (!addrs)
        return;
    json_array_foreach (ingress, i, e) {
        const char *a = kc_pr_or(kc_json_str(e, "ip"), kc_json_str(e, "hostname"));
        if (a && *a)
            addrs[n++] = a;
    }
    /* upstream collects them in a sets.String, whose List() is sorted and unique */
    qsort(addrs, n, sizeof *addrs, cmp_cstr);
    for (i = 0; i < n; i++) {
        if (i > 0 && !strcmp(addrs[i], addrs[i - 1]))
            continue;
        if (i)
            kc_sb_add(b, ",");
        kc_sb_add(b, addrs[i]);
    }
    free(addrs);
}

void kc_pr_add_lower(struct kc_sb *b, const char *s)
{
    for (; s && *s; s++) {
        char c = (*s >= 'A' && *s <= 'Z') ? (char)(*s - 'A' + 'a') : *s;
        kc_sb_addn(b, &c, 1);
    }
}

/* Decodes one UTF-8 sequence at s (n bytes available); returns its length and sets *cp, or
 * returns 1 with *cp = -1 for an invalid byte (Go's RuneError, which is not space). */
static size_t utf8_decode(const unsigned char *s, size_t n, long *cp)
{
    size_t len = s[0] < 0x80           ? 1
                 : (s[0] >> 5) == 0x6  ? 2
                 : (s[0] >> 4) == 0xe  ? 3
                 : (s[0] >> 3) == 0x1e ? 4
                                       : 0;
    if (len == 0 || len > n) {
        *cp = -1;
        return 1;
    }
    long c = len == 1 ? s[0] : len == 2 ? (s[0] & 0x1f) : len == 3 ? (s[0] & 0x0f) : (s[0] & 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *cp = -1;
            return 1;
        }
        c = (c << 6) | (s[i] & 0x3f);
    }
    *cp = c;
    return len;
}

/* unicode.IsSpace */
static bool go_is_space(long c)
{
    switch (c) {
    case '\t':
    case '\n':
    case '\v':
    case '\f':
    case '\r':
    case ' ':
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
        return true;
    default:
        return c >= 0x2000 && c <= 0x200A;
    }
}

void kc_pr_add_trimmed(struct kc_sb *b, const char *s)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t n = strlen((const char *)p), start = 0, end = 0, i = 0;
    long cp;
    bool seen = false;
    /* start = the first non-space rune; end = just past the last one */
    while (i < n) {
        size_t l = utf8_decode(p + i, n - i, &cp);
        if (!go_is_space(cp)) {
            if (!seen)
                start = i;
            seen = true;
            end = i + l;
        }
        i += l;
    }
    if (seen)
        kc_sb_addn(b, (const char *)p + start, end - start);
}
