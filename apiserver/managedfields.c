/* Field ownership and server-side apply; see managedfields.h. */
#include "apiserver/managedfields.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"
#include "openapi/smp_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 64
#define MAX_PATH 64

/* ---- building field sets ---- */

static bool server_owned_meta(const char *k)
{
    static const char *const keys[] = {"name",
                                       "namespace",
                                       "uid",
                                       "resourceVersion",
                                       "generation",
                                       "creationTimestamp",
                                       "deletionTimestamp",
                                       "deletionGracePeriodSeconds",
                                       "managedFields",
                                       "selfLink",
                                       NULL};
    for (int i = 0; keys[i]; i++)
        if (!strcmp(k, keys[i]))
            return true;
    return false;
}

static json_t *build(const struct kc_schema_type *t, const json_t *obj, int depth, bool top);

/* "k:{"name":"web"}" for an element of a keyed list */
static char *element_key(const struct kc_schema_field *f, const json_t *e)
{
    const char *keys = f->list_map_keys ? f->list_map_keys : f->merge_key;
    json_t *k = json_object();
    const char *p = keys;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        json_t *v = json_object_get(e, name);
        if (v)
            json_object_set(k, name, v);
        p += n;
        if (*p == ',')
            p++;
    }
    char *s = json_dumps(k, JSON_COMPACT);
    json_decref(k);
    char *out = NULL;
    if (asprintf(&out, "k:%s", s ? s : "{}") < 0)
        abort();
    free(s);
    return out;
}

static json_t *build_value(const struct kc_schema_field *f, const json_t *v, int depth)
{
    const struct kc_schema_type *ref = f ? kc_schema_ref(f) : NULL;
    if (!f || depth > MAX_DEPTH)
        return json_object();
    if (f->container == KC_SC_LIST && json_is_array(v)) {
        bool keyed = (f->list_type && !strcmp(f->list_type, "map")) || f->merge_key;
        bool set = f->list_type && !strcmp(f->list_type, "set");
        if (!keyed && !set)
            return json_object(); /* atomic list: one leaf */
        json_t *node = json_object();
        size_t i;
        json_t *e;
        json_array_foreach (v, i, e) {
            if (keyed && json_is_object(e)) {
                char *k = element_key(f, e);
                json_t *child = ref ? build(ref, e, depth + 1, false) : json_object();
                json_object_set_new(child, ".", json_object());
                json_object_set_new(node, k, child);
                free(k);
            } else {
                char *s = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
                char *k = NULL;
                if (asprintf(&k, "v:%s", s ? s : "null") < 0)
                    abort();
                json_object_set_new(node, k, json_object());
                free(k);
                free(s);
            }
        }
        return node;
    }
    if (f->container == KC_SC_MAP && json_is_object(v)) {
        json_t *node = json_object();
        const char *k;
        json_t *mv;
        json_object_foreach ((json_t *)v, k, mv) {
            char key[512];
            snprintf(key, sizeof key, "f:%s", k);
            json_object_set_new(node, key,
                                ref && json_is_object(mv) ? build(ref, mv, depth + 1, false)
                                                          : json_object());
        }
        json_object_set_new(node, ".", json_object());
        return node;
    }
    if (ref && json_is_object(v) && json_object_size(v))
        return build(ref, v, depth + 1, false);
    return json_object();
}

static json_t *build(const struct kc_schema_type *t, const json_t *obj, int depth, bool top)
{
    json_t *set = json_object();
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)obj, k, v) {
        if (top && (!strcmp(k, "apiVersion") || !strcmp(k, "kind")))
            continue;
        if (json_is_null(v))
            continue;
        char key[512];
        snprintf(key, sizeof key, "f:%s", k);
        if (top && !strcmp(k, "metadata")) {
            json_t *meta = json_object();
            const char *mk;
            json_t *mv;
            const struct kc_schema_type *om =
                kc_schema_find("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta");
            json_object_foreach (v, mk, mv) {
                if (server_owned_meta(mk) || json_is_null(mv))
                    continue;
                char mkey[512];
                snprintf(mkey, sizeof mkey, "f:%s", mk);
                json_object_set_new(
                    meta, mkey, build_value(om ? kc_schema_field(om, mk) : NULL, mv, depth + 1));
            }
            if (json_object_size(meta))
                json_object_set_new(set, key, meta);
            else
                json_decref(meta);
            continue;
        }
        json_object_set_new(set, key, build_value(t ? kc_schema_field(t, k) : NULL, v, depth + 1));
    }
    return set;
}

json_t *kc_fieldset_of(const struct kc_schema_type *t, const json_t *obj)
{
    return build(t, obj, 0, true);
}

/* ---- paths ---- */

struct path {
    const char *seg[MAX_PATH];
    int n;
};

typedef void (*leaf_fn)(const struct path *p, void *ctx);

static void leaves(const json_t *set, struct path *p, leaf_fn fn, void *ctx)
{
    if (!json_is_object(set) || p->n >= MAX_PATH)
        return;
    if (json_object_size(set) == 0) {
        if (p->n > 0) /* an empty set has no leaves; only inner empty nodes are leaves */
            fn(p, ctx);
        return;
    }
    const char *k;
    json_t *child;
    json_object_foreach ((json_t *)set, k, child) {
        p->seg[p->n++] = k;
        if (!strcmp(k, "."))
            fn(p, ctx);
        else
            leaves(child, p, fn, ctx);
        p->n--;
    }
}

/* Parsed "k:{...}" and "v:..." segments of one walk: the leaves under a list element
 * share its segment, which would otherwise be parsed again for every leaf. */
#define SEG_CACHE 16

struct seg_cache {
    char *seg[SEG_CACHE]; /* owned copies */
    json_t *val[SEG_CACHE];
    unsigned next;
};

static void seg_cache_release(struct seg_cache *c)
{
    for (int i = 0; i < SEG_CACHE; i++) {
        free(c->seg[i]);
        json_decref(c->val[i]);
    }
}

/* The value of segment seg (after its "k:" or "v:"), borrowed from the cache. */
static json_t *seg_value(struct seg_cache *c, const char *seg)
{
    for (int i = 0; i < SEG_CACHE; i++)
        if (c->seg[i] && !strcmp(c->seg[i], seg))
            return c->val[i];
    unsigned slot = c->next++ % SEG_CACHE;
    free(c->seg[slot]);
    json_decref(c->val[slot]);
    c->seg[slot] = strdup(seg);
    if (!c->seg[slot])
        abort();
    c->val[slot] = json_loads(seg + 2, JSON_DECODE_ANY, NULL);
    return c->val[slot];
}

/* The child a segment names in cur, or NULL. cache may be NULL. */
static json_t *child_of_cached(const json_t *cur, const char *seg, struct seg_cache *cache)
{
    if (!strncmp(seg, "f:", 2))
        return json_object_get(cur, seg + 2);
    if (!json_is_array(cur))
        return NULL;
    json_t *want =
        cache ? json_incref(seg_value(cache, seg)) : json_loads(seg + 2, JSON_DECODE_ANY, NULL);
    json_t *found = NULL;
    size_t i;
    json_t *e;
    json_array_foreach ((json_t *)cur, i, e) {
        bool match;
        if (!strncmp(seg, "k:", 2)) {
            match = json_is_object(e) && json_is_object(want);
            const char *kk;
            json_t *kv;
            if (match)
                json_object_foreach (want, kk, kv)
                    if (!json_equal(json_object_get(e, kk), kv))
                        match = false;
        } else {
            match = json_equal(e, want);
        }
        if (match) {
            found = e;
            break;
        }
    }
    json_decref(want);
    return found;
}

static json_t *child_of(const json_t *cur, const char *seg)
{
    return child_of_cached(cur, seg, NULL);
}

/* The value a path names in obj (the node itself for "."), or NULL. Borrowed. cache may
 * be NULL. */
static json_t *value_at_cached(const json_t *obj, const struct path *p, struct seg_cache *cache)
{
    json_t *cur = (json_t *)obj;
    for (int i = 0; i < p->n && cur; i++) {
        if (!strcmp(p->seg[i], "."))
            return cur;
        cur = child_of_cached(cur, p->seg[i], cache);
    }
    return cur;
}

static json_t *value_at(const json_t *obj, const struct path *p)
{
    return value_at_cached(obj, p, NULL);
}

/* Removes what the path names from obj. */
static void remove_at(json_t *obj, const struct path *p)
{
    int n = p->n;
    if (n && !strcmp(p->seg[n - 1], "."))
        n--;
    if (n == 0)
        return;
    json_t *cur = obj;
    for (int i = 0; i < n - 1 && cur; i++)
        cur = child_of(cur, p->seg[i]);
    if (!cur)
        return;
    const char *last = p->seg[n - 1];
    if (!strncmp(last, "f:", 2)) {
        json_object_del(cur, last + 2);
        return;
    }
    json_t *e = child_of(cur, last);
    size_t i;
    json_t *x;
    json_array_foreach (cur, i, x)
        if (x == e) {
            json_array_remove(cur, i);
            return;
        }
}

static bool set_has(const json_t *set, const struct path *p)
{
    const json_t *cur = set;
    for (int i = 0; i < p->n && cur; i++)
        cur = json_object_get(cur, p->seg[i]);
    return cur != NULL;
}

static void set_add(json_t *set, const struct path *p)
{
    json_t *cur = set;
    for (int i = 0; i < p->n; i++) {
        json_t *next = json_object_get(cur, p->seg[i]);
        if (!next) {
            next = json_object();
            json_object_set_new(cur, p->seg[i], next);
        }
        cur = next;
    }
}

/* Removes a leaf and every parent it leaves empty (an empty parent would read as a leaf). */
static void set_remove(json_t *set, const struct path *p)
{
    json_t *chain[MAX_PATH + 1];
    chain[0] = set;
    for (int i = 0; i < p->n; i++) {
        chain[i + 1] = json_object_get(chain[i], p->seg[i]);
        if (!chain[i + 1])
            return;
    }
    for (int i = p->n - 1; i >= 0; i--) {
        json_object_del(chain[i], p->seg[i]);
        if (json_object_size(chain[i]) > 0 || i == 0)
            break;
    }
}

static void path_text(const struct path *p, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < p->n && off < n; i++) {
        const char *s = p->seg[i];
        int w = 0;
        if (!strcmp(s, "."))
            continue;
        if (!strncmp(s, "f:", 2)) {
            w = snprintf(buf + off, n - off, ".%s", s + 2);
        } else if (!strncmp(s, "k:", 2)) {
            json_t *k = json_loads(s + 2, 0, NULL);
            const char *kk;
            json_t *kv;
            w = snprintf(buf + off, n - off, "[");
            bool first = true;
            json_object_foreach (k, kk, kv) {
                char *vt = json_dumps(kv, JSON_ENCODE_ANY);
                w += snprintf(buf + off + w, n - off - (size_t)w, "%s%s=%s", first ? "" : ",", kk,
                              vt ? vt : "");
                free(vt);
                first = false;
            }
            w += snprintf(buf + off + w, n - off - (size_t)w, "]");
            json_decref(k);
        } else {
            w = snprintf(buf + off, n - off, "[=%s]", s + 2);
        }
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

/* ---- managedFields entries ---- */

static void now_text(char *buf, size_t n)
{
    kc_time_rfc3339(time(NULL), buf, n);
}

static bool entry_is(const json_t *e, const char *manager, const char *op, const char *sub)
{
    const char *m = kc_json_str(e, "manager"), *o = kc_json_str(e, "operation");
    const char *s = kc_json_str(e, "subresource");
    return m && o && !strcmp(m, manager) && !strcmp(o, op) && !strcmp(s ? s : "", sub ? sub : "");
}

static json_t *find_entry(json_t *mf, const char *manager, const char *op, const char *sub)
{
    size_t i;
    json_t *e;
    json_array_foreach (mf, i, e)
        if (entry_is(e, manager, op, sub))
            return e;
    return NULL;
}

static json_t *new_entry(json_t *mf, const char *manager, const char *op, const char *av,
                         const char *sub)
{
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{}}", "manager", manager, "operation", op,
                          "apiVersion", av, "time", "", "fieldsType", "FieldsV1", "fieldsV1");
    if (sub && *sub)
        json_object_set_new(e, "subresource", json_string(sub));
    json_array_append_new(mf, e);
    return e;
}

static void drop_empty(json_t *mf)
{
    for (size_t i = json_array_size(mf); i-- > 0;)
        if (json_object_size(json_object_get(json_array_get(mf, i), "fieldsV1")) == 0)
            json_array_remove(mf, i);
}

struct record_ctx {
    const json_t *old, *obj;
    json_t *changed; /* field set */
    json_t *removed;
    struct seg_cache cache;
};

static void collect_changed(const struct path *p, void *arg)
{
    struct record_ctx *c = arg;
    const json_t *nv = value_at_cached(c->obj, p, &c->cache);
    const json_t *ov = c->old ? value_at_cached(c->old, p, &c->cache) : NULL;
    if (!strcmp(p->seg[p->n - 1], ".") ? (ov == NULL) : !kc_json_equal(nv, ov))
        set_add(c->changed, p);
}

static void collect_removed(const struct path *p, void *arg)
{
    struct record_ctx *c = arg;
    if (!value_at_cached(c->obj, p, &c->cache))
        set_add(c->removed, p);
}

struct strip_ctx {
    json_t *fields;
};

static void strip_leaf(const struct path *p, void *arg)
{
    struct strip_ctx *s = arg;
    set_remove(s->fields, p);
}

static void add_leaf(const struct path *p, void *arg)
{
    set_add(arg, p);
}

/* Entries of a managedFields array that may be shared with a stored object (read-only)
 * until this write changes them: own() swaps in a deep copy first. */
#define MAX_OWNED 64

struct cow_fields {
    json_t *mf;
    bool owned[MAX_OWNED];
};

/* Entry i, made this write's own. */
static json_t *own(struct cow_fields *c, size_t i)
{
    if (i < MAX_OWNED && !c->owned[i]) {
        json_array_set_new(c->mf, i, json_deep_copy(json_array_get(c->mf, i)));
        c->owned[i] = true;
    }
    return json_array_get(c->mf, i);
}

struct cow_strip_ctx {
    struct cow_fields *c;
    size_t idx;
    json_t *fields;
};

static void cow_strip_leaf(const struct path *p, void *arg)
{
    struct cow_strip_ctx *s = arg;
    if (s->idx < MAX_OWNED && !s->c->owned[s->idx] && !set_has(s->fields, p))
        return; /* nothing to remove: no copy */
    s->fields = json_object_get(own(s->c, s->idx), "fieldsV1");
    set_remove(s->fields, p);
}

/* Removes every leaf of `set` from the entries except entry `keep` (-1: none), copying
 * only the entries that lose something. */
static void cow_strip_from_others(struct cow_fields *c, const json_t *set, long keep)
{
    size_t i;
    json_t *e;
    json_array_foreach (c->mf, i, e) {
        if ((long)i == keep)
            continue;
        struct cow_strip_ctx s = {c, i, json_object_get(e, "fieldsV1")};
        struct path p = {{0}, 0};
        if (s.fields)
            leaves(set, &p, cow_strip_leaf, &s);
    }
}

/* Removes every leaf of `set` from the entries of mf except `keep`. */
static void strip_from_others(json_t *mf, const json_t *set, const json_t *keep)
{
    size_t i;
    json_t *e;
    json_array_foreach (mf, i, e) {
        if (e == keep)
            continue;
        struct strip_ctx s = {json_object_get(e, "fieldsV1")};
        struct path p = {{0}, 0};
        if (s.fields)
            leaves(set, &p, strip_leaf, &s);
    }
}

static json_t *base_managed_fields(const json_t *old, const json_t *obj)
{
    json_t *mf = kc_json_path(obj, "metadata.managedFields");
    if (!json_is_array(mf) || json_array_size(mf) == 0)
        mf = old ? kc_json_path(old, "metadata.managedFields") : NULL;
    return json_is_array(mf) ? json_deep_copy(mf) : json_array();
}

/* The members of a whose value differs from b's (or that b lacks), as a new object sharing
 * a's values; "metadata" is pruned one level further, as build() walks it. Fields inside
 * an equal member can neither have changed nor gone, so the field sets of an update need
 * only these: a status write no longer walks the spec, nor a spec write the status. */
static json_t *differing(const json_t *a, const json_t *b, bool top)
{
    json_t *d = json_object();
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)a, k, v) {
        json_t *o = json_object_get(b, k);
        if (top && !strcmp(k, "metadata") && json_is_object(v) && json_is_object(o)) {
            json_t *m = differing(v, o, false);
            if (json_object_size(m))
                json_object_set_new(d, k, m);
            else
                json_decref(m);
        } else if (!o || !json_equal(v, o)) {
            json_object_set(d, k, v);
        }
    }
    return d;
}

void kc_managed_fields_record(const struct kc_schema_type *t, const json_t *old, json_t *obj,
                              const char *manager, const char *api_version, const char *subresource)
{
    json_t *now_view = old ? differing(obj, old, true) : json_incref(obj);
    json_t *old_view = old ? differing(old, obj, true) : NULL;
    struct record_ctx c = {old_view, now_view, json_object(), json_object(), {{0}, {0}, 0}};
    struct path p = {{0}, 0};
    json_t *now_set = kc_fieldset_of(t, now_view);
    if (old) {
        leaves(now_set, &p, collect_changed, &c);
    } else {
        /* a create: every field set is the creator's (read-only from here on) */
        json_decref(c.changed);
        c.changed = json_incref(now_set);
    }
    if (old) {
        json_t *old_set = kc_fieldset_of(t, old_view);
        leaves(old_set, &p, collect_removed, &c);
        json_decref(old_set);
    }
    /* the entries stay shared with the stored object's until changed (copied on write) */
    json_t *base = kc_json_path(obj, "metadata.managedFields");
    if (!json_is_array(base) || json_array_size(base) == 0)
        base = old ? kc_json_path(old, "metadata.managedFields") : NULL;
    struct cow_fields cow = {json_is_array(base) ? json_copy(base) : json_array(), {false}};
    json_t *mf = cow.mf;
    for (size_t i = MAX_OWNED; i < json_array_size(mf); i++)
        json_array_set_new(mf, i, json_deep_copy(json_array_get(mf, i)));
    json_t *mine = find_entry(mf, manager, "Update", subresource);
    long mine_idx = -1;
    for (size_t i = 0; mine && i < json_array_size(mf); i++)
        if (json_array_get(mf, i) == mine)
            mine_idx = (long)i;
    cow_strip_from_others(&cow, c.changed, mine_idx);
    cow_strip_from_others(&cow, c.removed, -1);
    if (json_object_size(c.changed)) {
        char ts[40];
        if (mine_idx >= 0) {
            mine = own(&cow, (size_t)mine_idx);
        } else {
            mine = new_entry(mf, manager, "Update", api_version, subresource);
            if (json_array_size(mf) - 1 < MAX_OWNED)
                cow.owned[json_array_size(mf) - 1] = true;
        }
        if (json_object_size(json_object_get(mine, "fieldsV1")) == 0)
            /* adding every leaf to an empty set rebuilds the set itself */
            json_object_set(mine, "fieldsV1", c.changed);
        else
            leaves(c.changed, &p, add_leaf, json_object_get(mine, "fieldsV1"));
        now_text(ts, sizeof ts);
        json_object_set_new(mine, "time", json_string(ts));
        json_object_set_new(mine, "apiVersion", json_string(api_version));
    }
    drop_empty(mf);
    json_t *meta = kc_json_ensure_obj(obj, "metadata");
    if (json_array_size(mf))
        json_object_set_new(meta, "managedFields", mf);
    else {
        json_decref(mf);
        json_object_del(meta, "managedFields");
    }
    json_decref(now_set);
    json_decref(c.changed);
    json_decref(c.removed);
    json_decref(now_view);
    json_decref(old_view);
    seg_cache_release(&c.cache);
}

/* ---- server-side apply ---- */

struct conflict {
    char manager[256];
    char path[512];
};

struct apply_ctx {
    json_t *conflict_set;  /* the paths in conflict, to take over when forced */
    const json_t *forgive; /* conflicts on these paths are taken over as if forced */
    size_t forgiven;
    const json_t *cur, *config;
    json_t *mf;
    const char *manager;
    struct conflict *conflicts;
    size_t n, cap;
    json_t *result;
    const json_t *applied; /* the new applied set */
};

static void find_conflicts(const struct path *p, void *arg)
{
    struct apply_ctx *c = arg;
    if (!strcmp(p->seg[p->n - 1], "."))
        return;
    const json_t *have = c->cur ? value_at(c->cur, p) : NULL;
    if (!have || kc_json_equal(have, value_at(c->config, p)))
        return;
    size_t i;
    json_t *e;
    json_array_foreach (c->mf, i, e) {
        if (entry_is(e, c->manager, "Apply", NULL))
            continue;
        if (!set_has(json_object_get(e, "fieldsV1"), p))
            continue;
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 8;
            c->conflicts = realloc(c->conflicts, c->cap * sizeof *c->conflicts);
            if (!c->conflicts)
                abort();
        }
        set_add(c->conflict_set, p);
        if (c->forgive && set_has(c->forgive, p)) {
            c->forgiven++;
            continue;
        }
        struct conflict *x = &c->conflicts[c->n++];
        const char *op = kc_json_str(e, "operation");
        if (op && !strcmp(op, "Update"))
            snprintf(x->manager, sizeof x->manager, "\"%s\" using %s", kc_json_str(e, "manager"),
                     kc_json_str(e, "apiVersion") ? kc_json_str(e, "apiVersion") : "");
        else
            snprintf(x->manager, sizeof x->manager, "\"%s\"", kc_json_str(e, "manager"));
        path_text(p, x->path, sizeof x->path);
    }
}

/* Fields this manager applied before and no longer applies, owned by nobody else, go. */
static void drop_unapplied(const struct path *p, void *arg)
{
    struct apply_ctx *c = arg;
    if (set_has(c->applied, p))
        return;
    size_t i;
    json_t *e;
    json_array_foreach (c->mf, i, e)
        if (!entry_is(e, c->manager, "Apply", NULL) && set_has(json_object_get(e, "fieldsV1"), p))
            return;
    remove_at(c->result, p);
}

int kc_server_side_apply(const struct kc_schema_type *t, const json_t *cur, const json_t *config,
                         const char *manager, bool force, const char *api_version, json_t **out,
                         struct kc_status *st)
{
    return kc_server_side_apply_forgiving(t, cur, config, manager, force, NULL, api_version, out,
                                          st);
}

int kc_server_side_apply_forgiving(const struct kc_schema_type *t, const json_t *cur,
                                   const json_t *config, const char *manager, bool force,
                                   const json_t *forgive, const char *api_version, json_t **out,
                                   struct kc_status *st)
{
    struct apply_ctx c = {json_object(), forgive, 0, cur, config, NULL,
                          manager,       NULL,    0, 0,   NULL,   NULL};
    struct path p = {{0}, 0};
    char err[256];
    int ret = -1;
    json_t *applied = kc_fieldset_of(t, config);
    c.applied = applied;
    c.mf = cur ? base_managed_fields(cur, cur) : json_array();

    leaves(applied, &p, find_conflicts, &c);
    if (c.n && !force) {
        char msg[4096];
        size_t off = 0;
        if (c.n == 1)
            off = (size_t)snprintf(msg, sizeof msg,
                                   "Apply failed with 1 conflict: conflict with %s: %s",
                                   c.conflicts[0].manager, c.conflicts[0].path);
        else {
            off = (size_t)snprintf(msg, sizeof msg,
                                   "Apply failed with %zu conflicts: conflicts with", c.n);
            for (size_t i = 0; i < c.n && off < sizeof msg; i++) {
                if (i == 0 || strcmp(c.conflicts[i].manager, c.conflicts[i - 1].manager))
                    off += (size_t)snprintf(msg + off, sizeof msg - off,
                                            " %s:", c.conflicts[i].manager);
                off += (size_t)snprintf(msg + off, sizeof msg - off, "\n- %s", c.conflicts[i].path);
            }
        }
        (void)off;
        kc_status_set(st, 409, "Conflict", "%s", msg);
        json_t *causes = json_array();
        for (size_t i = 0; i < c.n; i++) {
            char m[300];
            snprintf(m, sizeof m, "conflict with %s", c.conflicts[i].manager);
            json_array_append_new(causes,
                                  json_pack("{s:s, s:s, s:s}", "reason", "FieldManagerConflict",
                                            "message", m, "field", c.conflicts[i].path));
        }
        st->details = json_pack("{s:o}", "causes", causes);
        goto out;
    }

    c.result = cur ? json_deep_copy(cur) : json_object();
    json_t *mine = find_entry(c.mf, manager, "Apply", NULL);
    if (mine) {
        json_t *prev = json_object_get(mine, "fieldsV1");
        leaves(prev, &p, drop_unapplied, &c);
    }
    json_t *merged = kc_schema_strategic_merge_patch(t, c.result, config, err, sizeof err);
    if (!merged) {
        kc_status_bad_request(st, "%s", err);
        goto out;
    }
    json_decref(c.result);
    c.result = merged;
    if (force || c.forgiven) /* only conflicting fields change hands; equal values stay shared */
        strip_from_others(c.mf, c.conflict_set, mine);
    if (!mine)
        mine = new_entry(c.mf, manager, "Apply", api_version, NULL);
    char ts[40];
    now_text(ts, sizeof ts);
    json_object_set(mine, "fieldsV1", applied);
    json_object_set_new(mine, "time", json_string(ts));
    json_object_set_new(mine, "apiVersion", json_string(api_version));
    drop_empty(c.mf);
    json_object_set(kc_json_ensure_obj(c.result, "metadata"), "managedFields", c.mf);
    *out = c.result;
    c.result = NULL;
    ret = 0;
out:
    json_decref(c.result);
    json_decref(c.mf);
    json_decref(c.conflict_set);
    json_decref(applied);
    free(c.conflicts);
    return ret;
}
