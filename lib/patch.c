/* Patches; see patch.h. */
#include "lib/patch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 100
#define MAX_OPS 10000

static int fail(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- RFC 7386 ---- */

/* shared: shallow copies, so only the objects on the patch's paths are new and the rest
 * is shared with target; otherwise a deep copy. */
static json_t *merge(const json_t *target, const json_t *patch, int depth, bool shared)
{
    if (depth > MAX_DEPTH)
        return NULL;
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *r = !json_is_object(target) ? json_object()
                : shared                ? json_copy((json_t *)target)
                                        : json_deep_copy(target);
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)patch, k, v) {
        if (json_is_null(v)) {
            json_object_del(r, k);
            continue;
        }
        json_t *m = merge(json_object_get(r, k), v, depth + 1, shared);
        if (!m) {
            json_decref(r);
            return NULL;
        }
        json_object_set_new(r, k, m);
    }
    return r;
}

json_t *kc_merge_patch(const json_t *target, const json_t *patch)
{
    return merge(target, patch, 0, false);
}

json_t *kc_merge_patch_shared(const json_t *target, const json_t *patch)
{
    return merge(target, patch, 0, true);
}

/* ---- RFC 6902 ---- */

/* Decodes one reference token (~1 -> /, ~0 -> ~). */
static int unescape_token(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o + 1 >= cap)
            return -1;
        if (s[i] == '~') {
            if (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))
                return -1;
            out[o++] = s[i + 1] == '0' ? '~' : '/';
            i++;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = 0;
    return 0;
}

static bool parse_index(const char *tok, size_t *idx)
{
    if (!*tok || (tok[0] == '0' && tok[1]))
        return false;
    size_t v = 0;
    for (const char *p = tok; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000000)
            return false;
        v = v * 10 + (size_t)(*p - '0');
    }
    *idx = v;
    return true;
}

/* Resolves all but the last token of path: *parent is borrowed, last holds the token. */
static int resolve_parent(json_t *doc, const char *path, json_t **parent, char *last, size_t cap)
{
    if (path[0] != '/')
        return -1;
    json_t *cur = doc;
    const char *p = path + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (unescape_token(p, n, last, cap) != 0)
            return -1;
        if (!slash) {
            *parent = cur;
            return 0;
        }
        json_t *next = NULL;
        if (json_is_object(cur)) {
            next = json_object_get(cur, last);
        } else if (json_is_array(cur)) {
            size_t i;
            if (parse_index(last, &i))
                next = json_array_get(cur, i);
        }
        if (!next)
            return -1;
        cur = next;
        p = slash + 1;
    }
}

static json_t *get_ptr(json_t *doc, const char *path)
{
    if (!*path)
        return doc;
    json_t *parent;
    char last[1024];
    if (resolve_parent(doc, path, &parent, last, sizeof last) != 0)
        return NULL;
    if (json_is_object(parent))
        return json_object_get(parent, last);
    size_t i;
    if (json_is_array(parent) && parse_index(last, &i))
        return json_array_get(parent, i);
    return NULL;
}

/* add: value is stolen on success and on failure */
static int op_add(json_t **doc, const char *path, json_t *value, char *err, size_t errlen)
{
    if (!*path) {
        json_decref(*doc);
        *doc = value;
        return 0;
    }
    json_t *parent;
    char last[1024];
    if (resolve_parent(*doc, path, &parent, last, sizeof last) != 0) {
        json_decref(value);
        return fail(err, errlen, "doc is missing path: \"%s\": missing value", path);
    }
    if (json_is_object(parent)) {
        json_object_set_new(parent, last, value);
        return 0;
    }
    if (json_is_array(parent)) {
        size_t i, n = json_array_size(parent);
        if (strcmp(last, "-") == 0) {
            json_array_append_new(parent, value);
            return 0;
        }
        if (!parse_index(last, &i) || i > n) {
            json_decref(value);
            return fail(err, errlen, "add operation does not apply: doc is missing path: \"%s\"",
                        path);
        }
        json_array_insert_new(parent, i, value);
        return 0;
    }
    json_decref(value);
    return fail(err, errlen, "doc is missing path: \"%s\": missing value", path);
}

/* remove: *removed (optional) gets a new reference to the removed value */
static int op_remove(json_t *doc, const char *path, json_t **removed, char *err, size_t errlen)
{
    json_t *parent;
    char last[1024];
    if (!*path || resolve_parent(doc, path, &parent, last, sizeof last) != 0)
        return fail(err, errlen, "doc is missing path: \"%s\": missing value", path);
    if (json_is_object(parent)) {
        json_t *v = json_object_get(parent, last);
        if (!v)
            return fail(err, errlen, "doc is missing path: \"%s\": missing value", path);
        if (removed)
            *removed = json_incref(v);
        json_object_del(parent, last);
        return 0;
    }
    size_t i;
    if (json_is_array(parent) && parse_index(last, &i) && i < json_array_size(parent)) {
        if (removed)
            *removed = json_incref(json_array_get(parent, i));
        json_array_remove(parent, i);
        return 0;
    }
    return fail(err, errlen, "doc is missing path: \"%s\": missing value", path);
}

int kc_json_patch(const json_t *target, const json_t *patch, json_t **out, bool *is_test_failure,
                  char *err, size_t errlen)
{
    *out = NULL;
    *is_test_failure = false;
    if (!json_is_array(patch))
        return fail(err, errlen, "json patch must be an array of operations");
    if (json_array_size(patch) > MAX_OPS)
        return fail(err, errlen, "the allowed maximum operations in a JSON patch is %d, got %zu",
                    MAX_OPS, json_array_size(patch));
    json_t *doc = json_deep_copy(target);
    size_t i;
    json_t *op;
    json_array_foreach ((json_t *)patch, i, op) {
        const char *name = json_string_value(json_object_get(op, "op"));
        const char *path = json_string_value(json_object_get(op, "path"));
        json_t *value = json_object_get(op, "value");
        if (!json_is_object(op) || !name || !path) {
            fail(err, errlen, "invalid JSON patch operation %zu: op and path are required", i);
            goto bad;
        }
        if (*path && path[0] != '/') {
            fail(err, errlen, "invalid JSON pointer: \"%s\"", path);
            goto bad;
        }
        if (!strcmp(name, "add") || !strcmp(name, "replace")) {
            if (!value) {
                fail(err, errlen, "missing value for %s operation", name);
                goto bad;
            }
            if (!strcmp(name, "replace") && *path && !get_ptr(doc, path)) {
                fail(err, errlen,
                     "replace operation does not apply: doc is missing key: %s: missing value",
                     path);
                goto bad;
            }
            if (!strcmp(name, "replace") && *path && op_remove(doc, path, NULL, err, errlen))
                goto bad;
            if (op_add(&doc, path, json_deep_copy(value), err, errlen))
                goto bad;
        } else if (!strcmp(name, "remove")) {
            if (op_remove(doc, path, NULL, err, errlen))
                goto bad;
        } else if (!strcmp(name, "test")) {
            json_t *cur = get_ptr(doc, path);
            if (!value || !cur || !json_equal(cur, value)) {
                *is_test_failure = true;
                fail(err, errlen, "testing value %s failed: test failed", path);
                goto bad;
            }
        } else if (!strcmp(name, "move") || !strcmp(name, "copy")) {
            const char *from = json_string_value(json_object_get(op, "from"));
            if (!from || (*from && from[0] != '/')) {
                fail(err, errlen, "invalid from pointer for %s", name);
                goto bad;
            }
            json_t *v = NULL;
            if (!strcmp(name, "move")) {
                size_t fl = strlen(from);
                if (strncmp(path, from, fl) == 0 && path[fl] == '/') {
                    fail(err, errlen, "move operation cannot move a value into itself");
                    goto bad;
                }
                if (op_remove(doc, from, &v, err, errlen))
                    goto bad;
            } else {
                json_t *src = get_ptr(doc, from);
                if (!src) {
                    fail(err, errlen, "copy operation does not apply: doc is missing from path: %s",
                         from);
                    goto bad;
                }
                v = json_deep_copy(src);
            }
            if (op_add(&doc, path, v, err, errlen))
                goto bad;
        } else {
            fail(err, errlen, "Unexpected kind: %s", name);
            goto bad;
        }
    }
    *out = doc;
    return 0;
bad:
    json_decref(doc);
    return -1;
}

/* ---- strategic merge patch ---- */

/* Merge keys of the built-in types: field name, optional parent field, key. Lists not
 * named here are replaced whole, as they are atomic in the schema. */
struct merge_key {
    const char *field;
    const char *parent; /* NULL: any parent */
    const char *key;    /* NULL: a set of primitives (merge with dedup) */
};

static const struct merge_key merge_keys[] = {
    {"containers", NULL, "name"},
    {"initContainers", NULL, "name"},
    {"ephemeralContainers", NULL, "name"},
    {"env", NULL, "name"},
    {"imagePullSecrets", NULL, "name"},
    {"volumes", NULL, "name"},
    {"resourceClaims", NULL, "name"},
    {"ports", "containers", "containerPort"},
    {"ports", "initContainers", "containerPort"},
    {"ports", "spec", "port"},
    {"volumeMounts", NULL, "mountPath"},
    {"volumeDevices", NULL, "devicePath"},
    {"hostAliases", NULL, "ip"},
    {"topologySpreadConstraints", NULL, "topologyKey"},
    {"conditions", NULL, "type"},
    {"ownerReferences", NULL, "uid"},
    {"finalizers", "metadata", NULL},
    {"addresses", "status", "type"},
    {"taints", NULL, "key"},
};

/* The untyped lookup: `type` is the name of the parent field (a const char *). */
static bool builtin_lookup(const void *type, const char *field, struct kc_smp_field *out)
{
    const char *parent = type;
    out->merge = false;
    out->merge_key = NULL;
    out->child = field;
    for (size_t i = 0; i < sizeof merge_keys / sizeof *merge_keys; i++)
        if (!strcmp(merge_keys[i].field, field) &&
            (!merge_keys[i].parent || (parent && !strcmp(merge_keys[i].parent, parent)))) {
            out->merge = true;
            out->merge_key = merge_keys[i].key;
            return true;
        }
    return true;
}

struct smp_ctx {
    kc_smp_lookup_fn lookup;
    char *err;
    size_t errlen;
};

static json_t *smp_object(const json_t *target, const json_t *patch, const void *type, int depth,
                          struct smp_ctx *c);

static bool key_matches(const json_t *a, const json_t *b, const char *key)
{
    json_t *x = json_object_get(a, key), *y = json_object_get(b, key);
    return x && y && json_equal(x, y);
}

/* The index of e in list, matched by merge key (by value when key is NULL); -1 if absent. */
static long index_in(const json_t *list, const json_t *e, const char *key)
{
    size_t i;
    json_t *x;
    json_array_foreach (list, i, x)
        if (key ? key_matches(x, e, key) : json_equal(x, e))
            return (long)i;
    return -1;
}

/* Upstream's element order of a merged list (strategicpatch's normalizeElementOrder and
 * mergeSortedSlice): the elements named by order (the patch's list, or its
 * $setElementOrder) in that order, the others (server-only) in the live list's order, and
 * the two interleaved: a server-only element goes first only when the live list has it
 * before the next patch element; so an element new in the patch goes before the live
 * ones. merged is stolen; a new list. */
static json_t *smp_order(json_t *merged, const json_t *order, const json_t *live, const char *key)
{
    size_t n = json_array_size(merged), i, j;
    bool *used = calloc(n ? n : 1, sizeof *used);
    json_t *patch_items = json_array(), *server_only = json_array(), *r = json_array();
    json_t *e, *o;
    if (!used || !patch_items || !server_only || !r) {
        json_decref(r);
        r = NULL;
        goto out;
    }
    json_array_foreach (order, i, o) {
        if (json_is_object(o) && json_object_get(o, "$patch"))
            continue; /* a directive, not an element */
        json_array_foreach (merged, j, e)
            if (!used[j] && (key ? key_matches(e, o, key) : json_equal(e, o))) {
                used[j] = true;
                json_array_append(patch_items, e);
                break;
            }
    }
    json_array_foreach (live, i, o)
        json_array_foreach (merged, j, e)
            if (!used[j] && (key ? key_matches(e, o, key) : json_equal(e, o))) {
                used[j] = true;
                json_array_append(server_only, e);
                break;
            }
    json_array_foreach (merged, j, e)
        if (!used[j])
            json_array_append(server_only, e);
    size_t nl = json_array_size(server_only), nr = json_array_size(patch_items);
    for (i = 0, j = 0; i < nl || j < nr;) {
        json_t *l = json_array_get(server_only, i), *p = json_array_get(patch_items, j);
        bool left = j >= nr;
        if (i < nl && j < nr) {
            long li = index_in(live, l, key), pi = index_in(live, p, key);
            left = li >= 0 && pi >= 0 && li < pi;
        }
        json_array_append(r, left ? l : p);
        if (left)
            i++;
        else
            j++;
    }
out:
    free(used);
    json_decref(patch_items);
    json_decref(server_only);
    json_decref(merged);
    return r;
}

/* Merges a list by merge key (or as a primitive set when key is NULL). */
static json_t *smp_list(const json_t *target, const json_t *patch, const char *field,
                        const struct kc_smp_field *mk, const json_t *order, const json_t *remove,
                        int depth, struct smp_ctx *c)
{
    json_t *r = json_is_array(target) ? json_deep_copy(target) : json_array();
    size_t i, j;
    json_t *pe, *te;
    if (!mk->merge_key) {
        json_array_foreach (patch, i, pe) {
            bool have = false;
            json_array_foreach (r, j, te)
                if (json_equal(te, pe))
                    have = true;
            if (!have)
                json_array_append(r, pe);
        }
    } else {
        json_array_foreach (patch, i, pe) {
            if (!json_is_object(pe)) {
                json_decref(r);
                fail(c->err, c->errlen, "merging list %s: elements must be objects", field);
                return NULL;
            }
            const char *directive = json_string_value(json_object_get(pe, "$patch"));
            size_t found = (size_t)-1;
            json_array_foreach (r, j, te)
                if (key_matches(te, pe, mk->merge_key)) {
                    found = j;
                    break;
                }
            if (directive && !strcmp(directive, "delete")) {
                if (found != (size_t)-1)
                    json_array_remove(r, found);
                continue;
            }
            json_t *n = smp_object(found == (size_t)-1 ? NULL : json_array_get(r, found), pe,
                                   mk->child, depth + 1, c);
            if (!n) {
                json_decref(r);
                return NULL;
            }
            if (found == (size_t)-1)
                json_array_append_new(r, n);
            else
                json_array_set_new(r, found, n);
        }
    }
    /* $deleteFromPrimitiveList */
    json_array_foreach (remove, i, pe) {
        for (j = json_array_size(r); j-- > 0;)
            if (json_equal(json_array_get(r, j), pe))
                json_array_remove(r, j);
    }
    /* the order upstream gives: the patch's (or $setElementOrder's) elements in its order,
     * interleaved with the live-only ones */
    if (json_array_size(patch) > 0)
        r = smp_order(r, patch, target, mk->merge_key);
    if (r && json_is_array(order))
        r = smp_order(r, order, target, mk->merge_key);
    if (!r)
        fail(c->err, c->errlen, "out of memory merging list %s", field);
    return r;
}

static json_t *smp_object(const json_t *target, const json_t *patch, const void *type, int depth,
                          struct smp_ctx *c)
{
    if (depth > MAX_DEPTH) {
        fail(c->err, c->errlen, "patch nested too deeply");
        return NULL;
    }
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    const char *directive = json_string_value(json_object_get(patch, "$patch"));
    json_t *r;
    if (directive && !strcmp(directive, "replace")) {
        r = json_object();
    } else if (directive && !strcmp(directive, "delete")) {
        return json_object();
    } else if (directive && strcmp(directive, "merge") != 0) {
        fail(c->err, c->errlen, "Unknown patch type: %s", directive);
        return NULL;
    } else {
        r = json_is_object(target) ? json_deep_copy(target) : json_object();
    }
    json_t *retain = json_object_get(patch, "$retainKeys");
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)patch, k, v) {
        if (k[0] == '$')
            continue;
        if (json_is_null(v)) {
            json_object_del(r, k);
            continue;
        }
        struct kc_smp_field f = {false, NULL, NULL};
        if (!c->lookup(type, k, &f))
            f.child = NULL;
        json_t *n;
        if (json_is_array(v) && f.merge) {
            char dk[300];
            snprintf(dk, sizeof dk, "$setElementOrder/%s", k);
            json_t *order = json_object_get(patch, dk);
            snprintf(dk, sizeof dk, "$deleteFromPrimitiveList/%s", k);
            json_t *remove = json_object_get(patch, dk);
            n = smp_list(json_object_get(r, k), v, k, &f, order, remove, depth, c);
        } else if (json_is_object(v)) {
            n = smp_object(json_object_get(r, k), v, f.child, depth + 1, c);
        } else {
            n = json_deep_copy(v);
        }
        if (!n) {
            json_decref(r);
            return NULL;
        }
        json_object_set_new(r, k, n);
    }
    /* directives on lists the patch did not otherwise touch */
    json_object_foreach ((json_t *)patch, k, v) {
        const char *list = NULL;
        if (!strncmp(k, "$deleteFromPrimitiveList/", 25))
            list = k + 25;
        else if (!strncmp(k, "$setElementOrder/", 17))
            list = k + 17;
        if (!list || json_object_get(patch, list))
            continue;
        struct kc_smp_field f = {false, NULL, NULL};
        if (!c->lookup(type, list, &f) || !f.merge)
            f.merge_key = NULL; /* treat as a set of primitives */
        json_t *empty = json_array();
        bool is_delete = k[1] == 'd';
        json_t *n = smp_list(json_object_get(r, list), empty, list, &f, is_delete ? NULL : v,
                             is_delete ? v : NULL, depth, c);
        json_decref(empty);
        if (!n) {
            json_decref(r);
            return NULL;
        }
        json_object_set_new(r, list, n);
    }
    if (json_is_array(retain)) {
        json_t *keep = json_object();
        size_t i;
        json_t *e;
        json_array_foreach (retain, i, e) {
            const char *name = json_string_value(e);
            if (name && json_object_get(r, name))
                json_object_set(keep, name, json_object_get(r, name));
        }
        json_decref(r);
        r = keep;
    }
    return r;
}

json_t *kc_strategic_merge_patch_typed(const json_t *target, const json_t *patch, const void *type,
                                       kc_smp_lookup_fn lookup, char *err, size_t errlen)
{
    struct smp_ctx c = {lookup, err, errlen};
    if (!json_is_object(patch)) {
        fail(err, errlen, "strategic merge patch must be a JSON object");
        return NULL;
    }
    return smp_object(target, patch, type, 0, &c);
}

json_t *kc_strategic_merge_patch(const json_t *target, const json_t *patch, char *err,
                                 size_t errlen)
{
    return kc_strategic_merge_patch_typed(target, patch, NULL, builtin_lookup, err, errlen);
}
