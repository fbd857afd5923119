/* The garbage collector, as upstream's pkg/controller/garbagecollector.
 *
 * Discovery finds every resource that supports list, watch and delete; one informer per
 * resource feeds a graph of uid -> node (identity, ownerReferences, dependents). Owners that
 * are referenced but not (yet) observed are "virtual" nodes. Two queues of uids:
 *
 *  - attempt-to-delete: an object whose owners are all gone (checked with a live GET of each
 *    owner, comparing uids) is deleted in the background; if some owners remain, only the
 *    dangling references are removed. An owner being deleted in the foreground (the
 *    "foregroundDeletion" finalizer) has its blocking dependents deleted and loses the
 *    finalizer once none is left.
 *  - attempt-to-orphan: an owner with the "orphan" finalizer is removed from the
 *    ownerReferences of its dependents, then loses the finalizer.
 *
 * A rescan every opt.gc_sync_period_ms re-queues whatever the events may have missed.
 *
 * Locking: gc.mu guards the graph; handlers hold it briefly and only enqueue. Workers copy
 * what they need out of the graph (struct snap) and talk to the apiserver unlocked. */
#include "controllers/controller.h"

#include "client/discovery.h"
#include "lib/jsonx.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GC_FOREGROUND "foregroundDeletion"
#define GC_ORPHAN "orphan"
#define GC_MERGE_PATCH "application/merge-patch+json"

struct gc;

struct gc_resource {
    struct kc_gvr gvr; /* strings owned */
    char *api_version; /* "v1", "apps/v1" */
    struct kc_informer *inf;
    bool shared; /* the manager's informer: not ours to stop */
    struct gc *gc;
};

struct gc_node {
    struct gc_node *next; /* hash chain */
    char *uid;
    /* identity; ns is "" for cluster-scoped objects. A virtual node takes it from the first
     * ownerReference naming it (and the dependent's namespace). */
    char *api_version, *kind, *ns, *name;
    bool observed;            /* seen through an informer; false: virtual */
    bool deleting;            /* deletionTimestamp set */
    bool deleting_dependents; /* ... with the foregroundDeletion finalizer */
    bool orphaning;           /* ... with the orphan finalizer */
    json_t *owners;           /* ownerReferences array (owned), NULL when virtual */
    char **deps;              /* dependents' uids (owned strings) */
    size_t ndeps, capdeps;
};

struct gc {
    struct kc_ctl_ctx *ctx;
    struct gc_resource *res;
    size_t nres;
    pthread_mutex_t mu;
    struct gc_node **buckets;
    size_t nbuckets, count;
    struct kc_workqueue *delete_q, *orphan_q;
    volatile int ready; /* every informer synced once */
};

/* The one collector; global so that it stays reachable (no leak reports) for the process'
 * lifetime: worker threads are detached and never join. */
static struct gc *the_gc;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p)
        abort();
    return p;
}

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

static void set_str(char **field, const char *v)
{
    if (*field && v && strcmp(*field, v) == 0)
        return;
    free(*field);
    *field = xstrdup(v);
}

static bool has_finalizer(const json_t *obj, const char *name)
{
    json_t *f = kc_json_path(obj, "metadata.finalizers"), *v;
    size_t i;
    json_array_foreach (f, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    return false;
}

/* metadata.uid of obj, "" when missing. Borrowed. */
static const char *uid_of(const json_t *obj)
{
    const char *u = kc_json_str(obj, "metadata.uid");
    return u ? u : "";
}

/* The ownerReference of refs (array) naming uid, or NULL. Borrowed. */
static json_t *ref_for(const json_t *refs, const char *uid)
{
    json_t *v;
    size_t i;
    json_array_foreach (refs, i, v) {
        const char *u = kc_json_str(v, "uid");
        if (u && strcmp(u, uid) == 0)
            return v;
    }
    return NULL;
}

/* ---- the graph (callers hold gc->mu) ---- */

static size_t hash_uid(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

static struct gc_node *node_find(struct gc *gc, const char *uid)
{
    for (struct gc_node *n = gc->buckets[hash_uid(uid) & (gc->nbuckets - 1)]; n; n = n->next)
        if (strcmp(n->uid, uid) == 0)
            return n;
    return NULL;
}

static void grow(struct gc *gc)
{
    size_t nb = gc->nbuckets * 2;
    struct gc_node **b = xcalloc(nb, sizeof *b);
    for (size_t i = 0; i < gc->nbuckets; i++) {
        struct gc_node *n = gc->buckets[i], *next;
        for (; n; n = next) {
            next = n->next;
            size_t h = hash_uid(n->uid) & (nb - 1);
            n->next = b[h];
            b[h] = n;
        }
    }
    free(gc->buckets);
    gc->buckets = b;
    gc->nbuckets = nb;
}

/* The node of uid, created (virtual, no identity) when missing; *created tells which. */
static struct gc_node *node_get(struct gc *gc, const char *uid, bool *created)
{
    struct gc_node *n = node_find(gc, uid);
    *created = false;
    if (n)
        return n;
    if (gc->count >= gc->nbuckets * 2)
        grow(gc);
    n = xcalloc(1, sizeof *n);
    n->uid = xstrdup(uid);
    size_t h = hash_uid(uid) & (gc->nbuckets - 1);
    n->next = gc->buckets[h];
    gc->buckets[h] = n;
    gc->count++;
    *created = true;
    return n;
}

static void node_remove(struct gc *gc, struct gc_node *n)
{
    struct gc_node **p = &gc->buckets[hash_uid(n->uid) & (gc->nbuckets - 1)];
    while (*p && *p != n)
        p = &(*p)->next;
    if (*p)
        *p = n->next;
    gc->count--;
    for (size_t i = 0; i < n->ndeps; i++)
        free(n->deps[i]);
    free(n->deps);
    json_decref(n->owners);
    free(n->uid);
    free(n->api_version);
    free(n->kind);
    free(n->ns);
    free(n->name);
    free(n);
}

static void deps_add(struct gc_node *n, const char *uid)
{
    for (size_t i = 0; i < n->ndeps; i++)
        if (strcmp(n->deps[i], uid) == 0)
            return;
    if (n->ndeps == n->capdeps) {
        n->capdeps = n->capdeps ? n->capdeps * 2 : 4;
        n->deps = realloc(n->deps, n->capdeps * sizeof *n->deps);
        if (!n->deps)
            abort();
    }
    n->deps[n->ndeps++] = xstrdup(uid);
}

static void deps_remove(struct gc_node *n, const char *uid)
{
    for (size_t i = 0; i < n->ndeps; i++)
        if (strcmp(n->deps[i], uid) == 0) {
            free(n->deps[i]);
            n->deps[i] = n->deps[--n->ndeps];
            return;
        }
}

/* A virtual node nobody references any more has nothing left to tell. */
static void prune(struct gc *gc, struct gc_node *n)
{
    if (!n->observed && n->ndeps == 0)
        node_remove(gc, n);
}

static void enqueue_deps(struct gc *gc, const struct gc_node *n)
{
    for (size_t i = 0; i < n->ndeps; i++)
        kc_wq_add(gc->delete_q, n->deps[i]);
}

/* ---- graph builder: informer handlers ---- */

static void observe(struct gc_resource *r, const json_t *obj)
{
    struct gc *gc = r->gc;
    const char *uid = kc_json_str(obj, "metadata.uid");
    if (!uid || !*uid)
        return;
    const char *ns = kc_json_str(obj, "metadata.namespace");
    json_t *refs = kc_json_path(obj, "metadata.ownerReferences");
    bool created;
    json_t *v;
    size_t i;

    pthread_mutex_lock(&gc->mu);
    struct gc_node *n = node_get(gc, uid, &created);
    bool was_observed = n->observed, was_dd = n->deleting_dependents, was_orphaning = n->orphaning;
    set_str(&n->api_version, r->api_version);
    set_str(&n->kind, r->gvr.kind);
    set_str(&n->ns, r->gvr.namespaced && ns ? ns : "");
    set_str(&n->name, kc_json_str(obj, "metadata.name"));
    n->observed = true;
    n->deleting = kc_json_path(obj, "metadata.deletionTimestamp") != NULL;
    n->deleting_dependents = n->deleting && has_finalizer(obj, GC_FOREGROUND);
    n->orphaning = n->deleting && has_finalizer(obj, GC_ORPHAN);

    json_t *old = n->owners ? n->owners : json_array(); /* owned */
    n->owners = json_is_array(refs) ? json_deep_copy(refs) : json_array();
    if (!json_equal(old, n->owners)) {
        /* Owners waiting for their dependents may be unblocked by any change here. */
        json_array_foreach (old, i, v) {
            const char *ou = kc_json_str(v, "uid");
            struct gc_node *o = ou ? node_find(gc, ou) : NULL;
            if (!o)
                continue;
            if (o->deleting_dependents)
                kc_wq_add(gc->delete_q, o->uid);
            if (!ref_for(n->owners, ou)) {
                deps_remove(o, uid);
                prune(gc, o);
            }
        }
        json_array_foreach (n->owners, i, v) {
            const char *ou = kc_json_str(v, "uid");
            if (!ou || !*ou || ref_for(old, ou))
                continue;
            struct gc_node *o = node_get(gc, ou, &created);
            if (created) {
                set_str(&o->api_version, kc_json_str(v, "apiVersion"));
                set_str(&o->kind, kc_json_str(v, "kind"));
                set_str(&o->ns, n->ns);
                set_str(&o->name, kc_json_str(v, "name"));
            }
            deps_add(o, uid);
            /* An owner not seen yet: check that it exists (upstream's virtual node). */
            if (!o->observed)
                kc_wq_add(gc->delete_q, o->uid);
            if (o->deleting_dependents) {
                kc_wq_add(gc->delete_q, o->uid);
                kc_wq_add(gc->delete_q, uid);
            }
        }
    }
    if (n->deleting_dependents && (!was_observed || !was_dd)) {
        kc_wq_add(gc->delete_q, uid);
        enqueue_deps(gc, n);
    }
    if (n->orphaning && (!was_observed || !was_orphaning))
        kc_wq_add(gc->orphan_q, uid);
    pthread_mutex_unlock(&gc->mu);
    json_decref(old);
}

static void forget(struct gc_resource *r, const json_t *obj)
{
    struct gc *gc = r->gc;
    const char *uid = kc_json_str(obj, "metadata.uid");
    json_t *v;
    size_t i;
    if (!uid)
        return;
    pthread_mutex_lock(&gc->mu);
    struct gc_node *n = node_find(gc, uid);
    if (!n || !n->observed)
        goto out;
    json_array_foreach (n->owners, i, v) {
        const char *ou = kc_json_str(v, "uid");
        struct gc_node *o = ou ? node_find(gc, ou) : NULL;
        if (!o)
            continue;
        deps_remove(o, uid);
        if (o->deleting_dependents)
            kc_wq_add(gc->delete_q, o->uid);
        prune(gc, o);
    }
    json_decref(n->owners);
    n->owners = NULL;
    if (n->ndeps == 0) {
        node_remove(gc, n);
        goto out;
    }
    /* The owner is gone: its dependents decide (with a live GET) what happens to them. */
    n->observed = n->deleting = n->deleting_dependents = n->orphaning = false;
    enqueue_deps(gc, n);
out:
    pthread_mutex_unlock(&gc->mu);
}

static void on_add(void *arg, const json_t *obj)
{
    observe(arg, obj);
}

static void on_update(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    (void)old_obj;
    observe(arg, new_obj);
}

static void on_delete(void *arg, const json_t *obj)
{
    forget(arg, obj);
}

/* ---- discovery ---- */

/* A resource the GC can follow: listable, watchable and deletable. */
static void add_resource(void *ctx, const char *group, const char *version, const char *gv,
                         const json_t *v)
{
    struct gc *gc = ctx;
    const char *name = kc_json_str(v, "name"), *kind = kc_json_str(v, "kind");
    if (!kc_discovery_has_verb(v, "list") || !kc_discovery_has_verb(v, "watch") ||
        !kc_discovery_has_verb(v, "delete"))
        return;
    /* Upstream's default ignoredResources: Events are never owners nor owned in practice,
     * and there are many of them (one or two per pod created): watching them would cost a
     * parse and a graph node each. */
    if (name && strcmp(name, "events") == 0 &&
        (strcmp(group, "") == 0 || strcmp(group, "events.k8s.io") == 0))
        return;
    /* The same objects served under two groups (extensions and networking.k8s.io
     * ingresses) are watched once. */
    for (size_t j = 0; j < gc->nres; j++)
        if (strcmp(gc->res[j].gvr.resource, name) == 0 && strcmp(gc->res[j].gvr.kind, kind) == 0)
            return;
    gc->res = realloc(gc->res, (gc->nres + 1) * sizeof *gc->res);
    if (!gc->res)
        abort();
    struct gc_resource *r = &gc->res[gc->nres++];
    memset(r, 0, sizeof *r);
    r->gvr.group = xstrdup(group);
    r->gvr.version = xstrdup(version);
    r->gvr.resource = xstrdup(name);
    r->gvr.kind = xstrdup(kind);
    r->gvr.namespaced = kc_json_bool(v, "namespaced", false);
    r->api_version = xstrdup(gv);
    r->gc = gc;
}

/* Fills gc->res with the preferred version of every group. Returns 0, or -1 when any
 * document could not be had (the caller retries; the resource set must be complete). */
static int discover(struct gc *gc)
{
    return kc_discover_preferred(gc->ctx->client, add_resource, NULL, gc) == 0 ? 0 : -1;
}

/* The watched resource of an ownerReference's apiVersion and kind: the same version, else
 * the same group at any version. NULL when the kind is not served. */
static const struct gc_resource *find_resource(struct gc *gc, const char *api_version,
                                               const char *kind)
{
    if (!api_version || !kind)
        return NULL;
    const char *slash = strchr(api_version, '/');
    size_t glen = slash ? (size_t)(slash - api_version) : 0;
    const struct gc_resource *same_group = NULL;
    for (size_t i = 0; i < gc->nres; i++) {
        const struct gc_resource *r = &gc->res[i];
        if (strcmp(r->gvr.kind, kind) != 0)
            continue;
        if (strcmp(r->api_version, api_version) == 0)
            return r;
        if (strlen(r->gvr.group) == glen && strncmp(r->gvr.group, api_version, glen) == 0)
            same_group = r;
    }
    return same_group;
}

/* ---- workers ---- */

struct dep_snap {
    char *uid, *api_version, *kind, *ns, *name;
    bool blocking;            /* its reference to the owner has blockOwnerDeletion */
    bool deleting_dependents; /* itself being deleted in the foreground */
};

/* What a worker needs of a node, copied under the lock. */
struct snap {
    char *api_version, *kind, *ns, *name;
    bool observed, deleting, deleting_dependents;
    size_t nowners;
    struct dep_snap *deps;
    size_t ndeps;
};

static void snap_free(struct snap *s)
{
    for (size_t i = 0; i < s->ndeps; i++) {
        struct dep_snap *d = &s->deps[i];
        free(d->uid);
        free(d->api_version);
        free(d->kind);
        free(d->ns);
        free(d->name);
    }
    free(s->deps);
    free(s->api_version);
    free(s->kind);
    free(s->ns);
    free(s->name);
    memset(s, 0, sizeof *s);
}

/* Copies the node of uid into s. Returns false when the graph has no such node. */
static bool take_snap(struct gc *gc, const char *uid, struct snap *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_lock(&gc->mu);
    struct gc_node *n = node_find(gc, uid);
    if (!n) {
        pthread_mutex_unlock(&gc->mu);
        return false;
    }
    s->api_version = xstrdup(n->api_version);
    s->kind = xstrdup(n->kind);
    s->ns = xstrdup(n->ns);
    s->name = xstrdup(n->name);
    s->observed = n->observed;
    s->deleting = n->deleting;
    s->deleting_dependents = n->deleting_dependents;
    s->nowners = json_array_size(n->owners);
    s->deps = xcalloc(n->ndeps + 1, sizeof *s->deps);
    for (size_t i = 0; i < n->ndeps; i++) {
        struct gc_node *d = node_find(gc, n->deps[i]);
        if (!d || !d->observed)
            continue;
        struct dep_snap *ds = &s->deps[s->ndeps++];
        ds->uid = xstrdup(d->uid);
        ds->api_version = xstrdup(d->api_version);
        ds->kind = xstrdup(d->kind);
        ds->ns = xstrdup(d->ns);
        ds->name = xstrdup(d->name);
        ds->blocking = kc_json_bool(ref_for(d->owners, uid), "blockOwnerDeletion", false);
        ds->deleting_dependents = d->deleting_dependents;
    }
    pthread_mutex_unlock(&gc->mu);
    return true;
}

/* Merge-patches metadata.<field> = value (borrowed) with the object's resourceVersion as a
 * precondition, so that a concurrent writer makes it fail with 409 rather than be undone. */
static int patch_meta(struct gc *gc, const struct gc_resource *r, const json_t *latest,
                      const char *field, json_t *value)
{
    json_t *patch = json_pack("{s:{s:O, s:s}}", "metadata", field, value, "resourceVersion",
                              kc_json_str(latest, "metadata.resourceVersion")
                                  ? kc_json_str(latest, "metadata.resourceVersion")
                                  : "");
    json_t *out = NULL;
    int rc = kc_patch(gc->ctx->client, &r->gvr, kc_json_str(latest, "metadata.namespace"),
                      kc_json_str(latest, "metadata.name"), NULL, GC_MERGE_PATCH, patch, &out);
    json_decref(patch);
    json_decref(out);
    return rc;
}

/* Removes finalizer from the object (identity and uid); 0 when done or nothing to do. */
static int remove_finalizer(struct gc *gc, const struct gc_resource *r, const char *ns,
                            const char *name, const char *uid, const char *finalizer)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        json_t *latest = NULL, *keep = json_array(), *v;
        size_t i;
        int rc = kc_get(gc->ctx->client, &r->gvr, ns, name, &latest);
        if (rc == 404 || (rc == 200 && strcmp(uid_of(latest), uid))) {
            rc = 0;
            goto next;
        }
        if (rc != 200) {
            rc = -1;
            goto next;
        }
        json_array_foreach (kc_json_path(latest, "metadata.finalizers"), i, v)
            if (!json_is_string(v) || strcmp(json_string_value(v), finalizer) != 0)
                json_array_append(keep, v);
        if (json_array_size(keep) == json_array_size(kc_json_path(latest, "metadata.finalizers"))) {
            rc = 0;
            goto next;
        }
        rc = patch_meta(gc, r, latest, "finalizers", keep);
        if (rc == 200 || rc == 201 || rc == 404) {
            fprintf(stderr, "garbage-collector: removed finalizer %s from %s %s%s%s\n", finalizer,
                    r->gvr.kind, ns && *ns ? ns : "", ns && *ns ? "/" : "", name);
            rc = 0;
        }
    next:
        json_decref(latest);
        json_decref(keep);
        if (rc == 0 || rc == -1)
            return rc;
        /* 409: changed meanwhile, read it again */
    }
    return -1;
}

/* Removes the ownerReferences naming any of uids[0..n) from the object. 0 when done. */
static int remove_owner_refs(struct gc *gc, const struct gc_resource *r, const char *ns,
                             const char *name, const char *uid, const char *const *uids, size_t n)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        json_t *latest = NULL, *keep = json_array(), *v;
        size_t i;
        int rc = kc_get(gc->ctx->client, &r->gvr, ns, name, &latest);
        if (rc == 404 || (rc == 200 && strcmp(uid_of(latest), uid))) {
            rc = 0;
            goto next;
        }
        if (rc != 200) {
            rc = -1;
            goto next;
        }
        json_t *refs = kc_json_path(latest, "metadata.ownerReferences");
        json_array_foreach (refs, i, v) {
            const char *ou = kc_json_str(v, "uid");
            bool drop = false;
            for (size_t j = 0; ou && j < n; j++)
                drop = drop || strcmp(ou, uids[j]) == 0;
            if (!drop)
                json_array_append(keep, v);
        }
        if (json_array_size(keep) == json_array_size(refs)) {
            rc = 0;
            goto next;
        }
        rc = patch_meta(gc, r, latest, "ownerReferences", keep);
        if (rc == 200 || rc == 201 || rc == 404) {
            fprintf(stderr, "garbage-collector: removed %zu ownerReference(s) from %s %s%s%s\n",
                    json_array_size(refs) - json_array_size(keep), r->gvr.kind, ns && *ns ? ns : "",
                    ns && *ns ? "/" : "", name);
            rc = 0;
        }
    next:
        json_decref(latest);
        json_decref(keep);
        if (rc == 0 || rc == -1)
            return rc;
    }
    return -1;
}

/* Sets blockOwnerDeletion to false on every ownerReference of latest (borrowed) that has it
 * true. 0 when done or nothing to do. */
static int unblock_owner_refs(struct gc *gc, const struct gc_resource *r, const json_t *latest)
{
    json_t *refs = json_deep_copy(kc_json_path(latest, "metadata.ownerReferences")); /* owned */
    json_t *v;
    size_t i, changed = 0;
    json_array_foreach (refs, i, v) {
        if (json_is_true(json_object_get(v, "blockOwnerDeletion"))) {
            json_object_set_new(v, "blockOwnerDeletion", json_false());
            changed++;
        }
    }
    int rc = 0;
    if (changed) {
        rc = patch_meta(gc, r, latest, "ownerReferences", refs);
        if (rc == 200 || rc == 201) {
            fprintf(stderr,
                    "garbage-collector: %s %s%s%s has owners and a dependent deleting in the "
                    "foreground: its %zu ownerReference(s) no longer block (possible circle)\n",
                    r->gvr.kind, kc_json_str(latest, "metadata.namespace") ?: "",
                    kc_json_str(latest, "metadata.namespace") ? "/" : "",
                    kc_json_str(latest, "metadata.name") ?: "", changed);
            rc = 0;
        } else {
            rc = -1; /* 409 included: retried with back-off from a fresh read */
        }
    }
    json_decref(refs);
    return rc;
}

enum ref_class { REF_SOLID, REF_DANGLING, REF_WAITING, REF_ERROR };

/* Looks the owner up live (upstream's isDangling): gone or another uid -> dangling; being
 * deleted in the foreground -> waiting; otherwise solid. */
static enum ref_class classify_ref(struct gc *gc, const json_t *ref, const char *item_ns)
{
    const char *uid = kc_json_str(ref, "uid"), *name = kc_json_str(ref, "name");
    const struct gc_resource *r =
        find_resource(gc, kc_json_str(ref, "apiVersion"), kc_json_str(ref, "kind"));
    json_t *owner = NULL;
    enum ref_class c;
    if (!uid || !name)
        return REF_DANGLING;
    if (!r) {
        /* A kind nobody serves cannot be checked; keep the reference (as upstream, which
         * waits for a REST mapping rather than deleting). */
        return REF_SOLID;
    }
    if (r->gvr.namespaced && !*item_ns)
        return REF_DANGLING; /* cluster-scoped objects cannot have namespaced owners */
    int rc = kc_get(gc->ctx->client, &r->gvr, item_ns, name, &owner);
    if (rc == 404)
        c = REF_DANGLING;
    else if (rc != 200)
        c = REF_ERROR;
    else if (strcmp(uid_of(owner), uid) != 0)
        c = REF_DANGLING;
    else if (kc_json_path(owner, "metadata.deletionTimestamp") &&
             has_finalizer(owner, GC_FOREGROUND))
        c = REF_WAITING;
    else
        c = REF_SOLID;
    json_decref(owner);
    return c;
}

static int delete_object(struct gc *gc, const struct gc_resource *r, const char *ns,
                         const char *name, const char *uid, const char *policy)
{
    json_t *out = NULL;
    int rc = kc_delete(gc->ctx->client, &r->gvr, ns, name, policy, uid, -1, &out);
    json_decref(out);
    if (rc == 200 || rc == 202) {
        fprintf(stderr, "garbage-collector: deleted %s %s%s%s (propagationPolicy=%s)\n",
                r->gvr.kind, *ns ? ns : "", *ns ? "/" : "", name, policy);
        return 0;
    }
    /* gone already, or replaced by an object with another uid (precondition failed) */
    return rc == 404 || rc == 409 ? 0 : -1;
}

/* An owner in foreground deletion: delete what blocks it, or let it go when nothing does. */
static int process_deleting_dependents(struct gc *gc, const struct gc_resource *r, const char *uid,
                                       const struct snap *s)
{
    size_t blocking = 0;
    for (size_t i = 0; i < s->ndeps; i++) {
        if (!s->deps[i].blocking)
            continue;
        blocking++;
        if (!s->deps[i].deleting_dependents)
            kc_wq_add(gc->delete_q, s->deps[i].uid);
    }
    if (blocking)
        return 0; /* their deletion events bring the owner back here */
    return remove_finalizer(gc, r, s->ns, s->name, uid, GC_FOREGROUND);
}

/* Upstream's attemptToDeleteItem. Returns 0, or -1 to retry with back-off. */
static int attempt_to_delete(struct gc *gc, const char *uid)
{
    struct snap s;
    const struct gc_resource *r;
    json_t *latest = NULL, *refs, *v;
    const char **drop = NULL;
    size_t i, ndrop = 0, nsolid = 0, nwaiting = 0;
    int rc, ret = 0;

    if (!take_snap(gc, uid, &s))
        return 0;
    /* Being deleted is a one-way trip; its dependents are handled once it is gone. */
    if (s.observed && s.deleting && !s.deleting_dependents)
        goto out;
    /* The graph is enough to know that an object without owners has nothing to do. */
    if (s.observed && !s.deleting_dependents && s.nowners == 0)
        goto out;
    r = find_resource(gc, s.api_version, s.kind);
    if (!r)
        goto out;
    rc = kc_get(gc->ctx->client, &r->gvr, s.ns, s.name, &latest);
    if (rc == 404 || (rc == 200 && strcmp(uid_of(latest), uid) != 0)) {
        /* A virtual owner that does not exist: its dependents check their references.
         * (An observed one: the informer reports the deletion.) */
        if (!s.observed)
            for (i = 0; i < s.ndeps; i++)
                kc_wq_add(gc->delete_q, s.deps[i].uid);
        goto out;
    }
    if (rc != 200) {
        ret = -1;
        goto out;
    }
    if (!s.observed)
        goto out; /* exists: its informer will report it */
    if (s.deleting_dependents) {
        ret = process_deleting_dependents(gc, r, uid, &s);
        goto out;
    }

    refs = kc_json_path(latest, "metadata.ownerReferences");
    if (json_array_size(refs) == 0)
        goto out;
    drop = xcalloc(json_array_size(refs), sizeof *drop);
    json_array_foreach (refs, i, v) {
        switch (classify_ref(gc, v, s.ns)) {
        case REF_SOLID:
            nsolid++;
            break;
        case REF_WAITING:
            nwaiting++;
            drop[ndrop++] = kc_json_str(v, "uid");
            break;
        case REF_DANGLING:
            drop[ndrop++] = kc_json_str(v, "uid");
            break;
        case REF_ERROR:
            ret = -1;
            goto out;
        }
    }
    if (nsolid > 0) {
        /* Some owner is alive: only the dangling references go, and those to owners
         * waiting in the foreground (which would otherwise wait for us forever). */
        if (ndrop > 0)
            ret = remove_owner_refs(gc, r, s.ns, s.name, uid, drop, ndrop);
    } else if (nwaiting > 0 && s.ndeps > 0) {
        /* An owner waits for us and we have dependents: go in the foreground too, so that
         * the owner also waits for them. When a dependent is itself waiting in the
         * foreground there may be a circle (every member waiting for the next): our own
         * references stop blocking first, so that our owner can go (upstream's cycle
         * breaking; it may also unblock where there is no circle, as upstream does). */
        for (i = 0; i < s.ndeps; i++)
            if (s.deps[i].deleting_dependents)
                break;
        if (i < s.ndeps && (ret = unblock_owner_refs(gc, r, latest)) != 0)
            goto out;
        ret = delete_object(gc, r, s.ns, s.name, uid, "Foreground");
    } else {
        const char *policy = has_finalizer(latest, GC_ORPHAN)       ? "Orphan"
                             : has_finalizer(latest, GC_FOREGROUND) ? "Foreground"
                                                                    : "Background";
        ret = delete_object(gc, r, s.ns, s.name, uid, policy);
    }
out:
    free(drop);
    json_decref(latest);
    snap_free(&s);
    return ret;
}

/* Upstream's attemptToOrphanWorker: the owner's dependents forget it, then it goes. */
static int attempt_to_orphan(struct gc *gc, const char *uid)
{
    struct snap s;
    int ret = 0;
    if (!take_snap(gc, uid, &s))
        return 0;
    const struct gc_resource *r = find_resource(gc, s.api_version, s.kind);
    if (!s.observed || !r)
        goto out;
    for (size_t i = 0; i < s.ndeps; i++) {
        struct dep_snap *d = &s.deps[i];
        const struct gc_resource *dr = find_resource(gc, d->api_version, d->kind);
        const char *uids[1] = {uid};
        if (dr && remove_owner_refs(gc, dr, d->ns, d->name, d->uid, uids, 1) != 0)
            ret = -1;
    }
    if (ret == 0)
        ret = remove_finalizer(gc, r, s.ns, s.name, uid, GC_ORPHAN);
out:
    snap_free(&s);
    return ret;
}

struct gc_worker {
    struct gc *gc;
    struct kc_workqueue *q;
    int (*fn)(struct gc *gc, const char *uid);
};

static bool wait_ready(struct gc *gc)
{
    kc_ctl_wait_synced(gc->ctx);
    while (!gc->ready && !gc->ctx->stopping)
        usleep(50 * 1000);
    return !gc->ctx->stopping;
}

static void *worker_main(void *arg)
{
    struct gc_worker *w = arg;
    if (!wait_ready(w->gc))
        return NULL;
    for (;;) {
        char *key = kc_wq_get(w->q);
        if (!key)
            break;
        if (w->fn(w->gc, key) == 0) {
            kc_wq_forget(w->q, key);
        } else {
            kc_wq_add_rate_limited(w->q, key);
        }
        kc_wq_done(w->q, key);
        free(key);
    }
    return NULL;
}

/* Re-queues what the events may have missed: virtual owners, owners waiting in the
 * foreground or for orphaning, and objects with an owner the graph has not observed. The
 * workers check each against the apiserver. */
static void rescan(struct gc *gc)
{
    pthread_mutex_lock(&gc->mu);
    for (size_t b = 0; b < gc->nbuckets; b++)
        for (struct gc_node *n = gc->buckets[b]; n; n = n->next) {
            if (!n->observed || n->deleting_dependents) {
                kc_wq_add(gc->delete_q, n->uid);
                continue;
            }
            if (n->orphaning)
                kc_wq_add(gc->orphan_q, n->uid);
            json_t *v;
            size_t i;
            json_array_foreach (n->owners, i, v) {
                const char *ou = kc_json_str(v, "uid");
                struct gc_node *o = ou ? node_find(gc, ou) : NULL;
                if (!o || !o->observed) {
                    kc_wq_add(gc->delete_q, n->uid);
                    break;
                }
            }
        }
    pthread_mutex_unlock(&gc->mu);
}

/* Discovery (retried until it works), the informers, then the periodic rescan. */
/* The shared informer of the manager for this resource, or NULL. */
static struct kc_informer *shared_informer(struct kc_ctl_ctx *ctx, const struct kc_gvr *r)
{
    struct kc_informer *all[] = {ctx->pods,       ctx->replicasets, ctx->deployments,
                                 ctx->services,   ctx->endpoints,   ctx->endpointslices,
                                 ctx->namespaces, ctx->nodes,       ctx->leases};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const struct kc_gvr *g = all[i] ? kc_informer_gvr(all[i]) : NULL;
        if (g && strcmp(g->group, r->group) == 0 && strcmp(g->version, r->version) == 0 &&
            strcmp(g->resource, r->resource) == 0)
            return all[i];
    }
    return NULL;
}

static void *gc_main(void *arg)
{
    struct gc *gc = arg;
    struct kc_ctl_ctx *ctx = gc->ctx;
    bool warned = false;
    while (!ctx->stopping && discover(gc) != 0) {
        for (size_t i = 0; i < gc->nres; i++) {
            free((char *)gc->res[i].gvr.group);
            free((char *)gc->res[i].gvr.version);
            free((char *)gc->res[i].gvr.resource);
            free((char *)gc->res[i].gvr.kind);
            free(gc->res[i].api_version);
        }
        free(gc->res);
        gc->res = NULL;
        gc->nres = 0;
        if (!warned)
            fprintf(stderr, "garbage-collector: discovery failed, retrying\n");
        warned = true;
        sleep(1);
    }
    if (ctx->stopping)
        return NULL;
    for (size_t i = 0; i < gc->nres; i++) {
        struct gc_resource *r = &gc->res[i];
        struct kc_informer_handlers h = {on_add, on_update, on_delete, r};
        /* The manager's shared informers serve where they exist: one watch and one cache
         * per resource in the process. */
        r->inf = shared_informer(ctx, &r->gvr);
        if (r->inf) {
            r->shared = true;
            kc_informer_add_handlers(r->inf, &h);
            continue;
        }
        r->inf = kc_informer_new(ctx->client, &r->gvr, NULL, NULL, NULL);
        if (!r->inf) {
            fprintf(stderr, "garbage-collector: no informer for %s\n", r->gvr.resource);
            continue;
        }
        kc_informer_add_handlers(r->inf, &h);
        kc_informer_start(r->inf);
    }
    for (size_t i = 0; i < gc->nres; i++)
        while (gc->res[i].inf && !ctx->stopping && !kc_informer_wait_synced(gc->res[i].inf, 1000))
            ;
    if (ctx->stopping)
        goto stop;
    gc->ready = 1;
    fprintf(stderr, "garbage-collector: watching %zu resources, graph of %zu objects\n", gc->nres,
            gc->count);
    int period = ctx->opt.gc_sync_period_ms > 0 ? ctx->opt.gc_sync_period_ms : 30000;
    while (!ctx->stopping) {
        for (int waited = 0; waited < period && !ctx->stopping; waited += 100)
            usleep(100 * 1000);
        if (!ctx->stopping)
            rescan(gc);
    }
stop:
    /* The manager shuts the client down; our informers end with it. */
    for (size_t i = 0; i < gc->nres; i++)
        if (gc->res[i].inf && !gc->res[i].shared)
            kc_informer_stop(gc->res[i].inf);
    return NULL;
}

int kc_ctl_gc_start(struct kc_ctl_ctx *ctx)
{
    static struct gc_worker workers[2];
    struct gc *gc = xcalloc(1, sizeof *gc);
    pthread_t t;
    gc->ctx = ctx;
    pthread_mutex_init(&gc->mu, NULL);
    gc->nbuckets = 256;
    gc->buckets = xcalloc(gc->nbuckets, sizeof *gc->buckets);
    gc->delete_q = kc_wq_new("garbage_collector_attempt_to_delete");
    gc->orphan_q = kc_wq_new("garbage_collector_attempt_to_orphan");
    kc_ctl_register_queue(ctx, gc->delete_q);
    kc_ctl_register_queue(ctx, gc->orphan_q);
    the_gc = gc;
    workers[0] = (struct gc_worker){gc, gc->delete_q, attempt_to_delete};
    workers[1] = (struct gc_worker){gc, gc->orphan_q, attempt_to_orphan};
    int n = ctx->opt.concurrent_syncs > 0 ? ctx->opt.concurrent_syncs : 2;
    if (kc_ctl_spawn_workers(n, worker_main, &workers[0]) != 0 ||
        kc_ctl_spawn_workers(n, worker_main, &workers[1]) != 0) {
        fprintf(stderr, "garbage-collector: cannot start workers\n");
        return -1;
    }
    if (pthread_create(&t, NULL, gc_main, gc) != 0) {
        fprintf(stderr, "garbage-collector: cannot start\n");
        return -1;
    }
    pthread_detach(t);
    return 0;
}
