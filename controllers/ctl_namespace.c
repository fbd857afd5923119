/* The namespace controller, as upstream's pkg/controller/namespace/deletion: a namespace
 * with a deletionTimestamp and the "kubernetes" finalizer in spec.finalizers has all its
 * content deleted (deletecollection per namespaced resource found by discovery, or list and
 * delete), is re-checked until nothing is left, then loses the finalizer through
 * PUT /api/v1/namespaces/NAME/finalize and the apiserver removes it. Status conditions tell
 * what is going on meanwhile (NamespaceContentRemaining, NamespaceFinalizersRemaining, ...).
 *
 * The apiserver does this itself unless started with --namespace-finalizer=controller. */
#include "controllers/controller.h"

#include "client/discovery.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_FINALIZER "kubernetes"
/* Upstream's default wait for content with finalizers (finalizerEstimateSeconds). */
#define NS_FINALIZER_ESTIMATE 15
/* Upstream re-checks after estimate/2+1 seconds; kubec caps that so that content freed by
 * a finalizer's removal lets the namespace go promptly. */
#define NS_MAX_RECHECK_MS 2000

struct ns_ctl {
    struct kc_ctl_ctx *ctx;
    struct kc_workqueue *q;
};

static struct ns_ctl *the_ns; /* reachable for the process' lifetime (detached workers) */

/* ---- discovery: the preferred version of every namespaced, deletable resource ---- */

struct ns_res {
    struct kc_gvr gvr; /* strings owned */
    bool can_list, can_deletecollection;
};

struct ns_disc {
    struct ns_res *v;
    size_t n;
    int nfailed;       /* groups whose document could not be had */
    char failed[1024]; /* their groupVersions, for the condition message */
    bool core_failed;  /* /api/v1 or /apis itself failed */
};

static char *xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");
    if (!p)
        abort();
    return p;
}

/* A namespaced resource that can be deleted: one to empty. */
static void disc_add(void *ctx, const char *group, const char *version, const char *gv,
                     const json_t *v)
{
    (void)gv;
    struct ns_disc *d = ctx;
    if (!kc_json_bool(v, "namespaced", false) || !kc_discovery_has_verb(v, "delete"))
        return;
    d->v = realloc(d->v, (d->n + 1) * sizeof *d->v);
    if (!d->v)
        abort();
    struct ns_res *r = &d->v[d->n++];
    memset(r, 0, sizeof *r);
    r->gvr.group = xstrdup(group);
    r->gvr.version = xstrdup(version);
    r->gvr.resource = xstrdup(kc_json_str(v, "name"));
    r->gvr.kind = xstrdup(kc_json_str(v, "kind"));
    r->gvr.namespaced = true;
    r->can_list = kc_discovery_has_verb(v, "list");
    r->can_deletecollection = kc_discovery_has_verb(v, "deletecollection");
}

static void disc_failed(void *ctx, const char *gv)
{
    struct ns_disc *d = ctx;
    if (strcmp(gv, "v1") == 0 || strcmp(gv, "apis") == 0)
        d->core_failed = true;
    size_t len = strlen(d->failed);
    snprintf(d->failed + len, sizeof d->failed - len, "%s%s", d->nfailed ? ", " : "", gv);
    d->nfailed++;
}

static void disc_free(struct ns_disc *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free((char *)d->v[i].gvr.group);
        free((char *)d->v[i].gvr.version);
        free((char *)d->v[i].gvr.resource);
        free((char *)d->v[i].gvr.kind);
    }
    free(d->v);
    memset(d, 0, sizeof *d);
}

/* Like client-go's ServerPreferredNamespacedResources: what it can, and which groups failed. */
static void discover(struct kc_client *c, struct ns_disc *d)
{
    memset(d, 0, sizeof *d);
    kc_discover_preferred(c, disc_add, disc_failed, d);
}

/* ---- status conditions (upstream's namespaceConditionUpdater) ---- */

enum { C_DISCOVERY, C_GV_PARSING, C_CONTENT_FAILURE, C_CONTENT_REMAINING, C_FINALIZERS, C_N };

static const char *const cond_types[C_N] = {
    "NamespaceDeletionDiscoveryFailure", "NamespaceDeletionGroupVersionParsingFailure",
    "NamespaceDeletionContentFailure", "NamespaceContentRemaining", "NamespaceFinalizersRemaining"};
static const char *const ok_reasons[C_N] = {"ResourcesDiscovered", "ParsedGroupVersions",
                                            "ContentDeleted", "ContentRemoved", "ContentRemoved"};
static const char *const ok_messages[C_N] = {
    "All resources successfully discovered", "All legacy kube types successfully parsed",
    "All content successfully deleted, may be waiting on finalization",
    "All content successfully removed", "All content successfully removed"};

/* A failing condition (status True) per type; unset ones are the "ok" (False) variant. */
struct conds {
    bool set[C_N];
    char reason[C_N][64];
    char message[C_N][2048];
};

static void cond_fail(struct conds *cs, int type, const char *reason, const char *message)
{
    cs->set[type] = true;
    snprintf(cs->reason[type], sizeof cs->reason[type], "%s", reason);
    snprintf(cs->message[type], sizeof cs->message[type], "%s", message);
}

/* Writes the conditions into ns (owned by the caller, modified). True when anything changed;
 * lastTransitionTime moves only when a status flips. */
static bool apply_conditions(json_t *ns, const struct conds *cs)
{
    char now[40];
    bool changed = false;
    kc_time_rfc3339(time(NULL), now, sizeof now);
    json_t *status = kc_json_ensure_obj(ns, "status");
    json_t *list = json_object_get(status, "conditions");
    if (!json_is_array(list)) {
        list = json_array();
        json_object_set_new(status, "conditions", list);
    }
    for (int t = 0; t < C_N; t++) {
        const char *st = cs->set[t] ? "True" : "False";
        const char *reason = cs->set[t] ? cs->reason[t] : ok_reasons[t];
        const char *msg = cs->set[t] ? cs->message[t] : ok_messages[t];
        json_t *old = NULL, *v;
        size_t i;
        json_array_foreach (list, i, v)
            if (kc_json_str(v, "type") && strcmp(kc_json_str(v, "type"), cond_types[t]) == 0)
                old = v;
        if (!old) {
            json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s}", "type",
                                                  cond_types[t], "status", st, "lastTransitionTime",
                                                  now, "reason", reason, "message", msg));
            changed = true;
            continue;
        }
        const char *ost = kc_json_str(old, "status"), *oreason = kc_json_str(old, "reason"),
                   *omsg = kc_json_str(old, "message");
        if (ost && oreason && omsg && !strcmp(ost, st) && !strcmp(oreason, reason) &&
            !strcmp(omsg, msg))
            continue;
        if (!ost || strcmp(ost, st) != 0)
            json_object_set_new(old, "lastTransitionTime", json_string(now));
        json_object_set_new(old, "status", json_string(st));
        json_object_set_new(old, "reason", json_string(reason));
        json_object_set_new(old, "message", json_string(msg));
        changed = true;
    }
    return changed;
}

/* Stores the conditions on the namespace's status (re-reading it on conflicts). */
static void update_conditions(struct ns_ctl *nc, const char *name, const struct conds *cs)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        json_t *cur = NULL, *ns = NULL, *out = NULL;
        int rc = kc_get(nc->ctx->client, &KC_GVR_NAMESPACES, NULL, name, &cur);
        if (rc == 200) {
            ns = json_deep_copy(cur);
            rc = apply_conditions(ns, cs)
                     ? kc_update(nc->ctx->client, &KC_GVR_NAMESPACES, NULL, ns, "status", &out)
                     : 200;
        }
        json_decref(cur);
        json_decref(ns);
        json_decref(out);
        if (rc != 409)
            return; /* done, gone, or an error the next sync retries */
    }
}

/* ---- content ---- */

/* Remaining content, summed over resources (upstream's allGVRDeletionMetadata). */
struct totals {
    json_t *by_resource;  /* "configmaps." -> count (owned object) */
    json_t *by_finalizer; /* "example.com/x" -> count (owned object) */
    long long estimate;   /* seconds */
};

static void count_add(json_t *o, const char *key, long long n)
{
    json_object_set_new(o, key, json_integer(json_integer_value(json_object_get(o, key)) + n));
}

/* "a has 1 resource instances, b has 2 ..." (or "f in 1 resource instances" for
 * finalizers) with the keys sorted, as upstream words it. */
static void join_counts(const json_t *o, bool finalizers, char *buf, size_t len)
{
    const char **keys = calloc(json_object_size(o) + 1, sizeof *keys);
    const char *k;
    json_t *v;
    size_t n = 0, used = 0;
    if (!keys)
        abort();
    json_object_foreach ((json_t *)o, k, v)
        keys[n++] = k;
    for (size_t i = 1; i < n; i++) /* insertion sort: a handful of keys */
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    buf[0] = 0;
    for (size_t i = 0; i < n && used < len; i++) {
        used += snprintf(buf + used, len - used, "%s", i ? ", " : "");
        long long n_i = json_integer_value(json_object_get(o, keys[i]));
        if (used < len && finalizers)
            used += snprintf(buf + used, len - used, "%s in %lld resource instances", keys[i], n_i);
        else if (used < len)
            used +=
                snprintf(buf + used, len - used, "%s has %lld resource instances", keys[i], n_i);
    }
    free(keys);
}

static bool is_core_pods(const struct kc_gvr *g)
{
    return !*g->group && strcmp(g->resource, "pods") == 0;
}

/* Upstream's estimateGracefulTerminationForPods: the longest grace period of a pod still
 * running, or 0 once that much time has passed since the namespace's deletion. */
static long long estimate_pods(struct ns_ctl *nc, const char *ns, time_t deleted_at)
{
    json_t *list = NULL, *v;
    size_t i;
    long long est = 0;
    if (kc_list(nc->ctx->client, &KC_GVR_PODS, ns, NULL, &list) != 200) {
        json_decref(list);
        return 0;
    }
    json_array_foreach (json_object_get(list, "items"), i, v) {
        const char *phase = kc_json_str(v, "status.phase");
        if (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed")))
            continue;
        long long grace = kc_json_int(v, "spec.terminationGracePeriodSeconds", 0);
        if (grace > est)
            est = grace;
    }
    json_decref(list);
    if ((long long)(time(NULL) - deleted_at) >= est)
        est = 0;
    return est;
}

/* Appends one error ("a, b, ...") to errs and counts it. */
static void add_error(char *errs, size_t len, int *nerrs, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void add_error(char *errs, size_t len, int *nerrs, const char *fmt, ...)
{
    va_list ap;
    size_t used = strlen(errs);
    if (used < len)
        used += snprintf(errs + used, len - used, "%s", *nerrs ? ", " : "");
    if (used < len) {
        va_start(ap, fmt);
        vsnprintf(errs + used, len - used, fmt, ap);
        va_end(ap);
    }
    (*nerrs)++;
}

/* Deletes one resource's content of namespace ns, then counts what is left into t.
 * Returns 0, or -1 with the reason appended to errs. */
static int delete_resource(struct ns_ctl *nc, const struct ns_res *r, const char *ns,
                           time_t deleted_at, struct totals *t, char *errs, size_t errlen,
                           int *nerrs)
{
    struct kc_client *c = nc->ctx->client;
    char path[1024], gr[300];
    json_t *out = NULL, *list = NULL, *v, *opts = NULL;
    size_t i;
    int rc, ret = -1;
    long long est = is_core_pods(&r->gvr) ? estimate_pods(nc, ns, deleted_at) : 0;
    snprintf(gr, sizeof gr, "%s.%s", r->gvr.resource, r->gvr.group);

    /* Background: the garbage collector removes what these objects own. */
    opts = json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion", "v1",
                     "propagationPolicy", "Background");
    kc_client_path(path, sizeof path, &r->gvr, ns, NULL, NULL);
    rc = r->can_deletecollection ? kc_client_do(c, "DELETE", path, opts, NULL, &out) : 405;
    json_decref(out);
    out = NULL;
    if (rc == 405 || rc == 404) {
        /* no deletecollection: one by one */
        if (!r->can_list) {
            ret = 0;
            goto out;
        }
        rc = kc_list(c, &r->gvr, ns, NULL, &list);
        if (rc != 200) {
            add_error(errs, errlen, nerrs, "failed to list %s", gr);
            goto out;
        }
        json_array_foreach (json_object_get(list, "items"), i, v) {
            int drc = kc_delete(c, &r->gvr, ns, kc_json_str(v, "metadata.name"), "Background",
                                kc_json_str(v, "metadata.uid"), -1, &out);
            json_decref(out);
            out = NULL;
            if (drc >= 300 && drc != 404 && drc != 409) {
                add_error(errs, errlen, nerrs, "failed to delete %s %s", gr,
                          kc_json_str(v, "metadata.name"));
                goto out;
            }
        }
        json_decref(list);
        list = NULL;
    } else if (rc < 200 || rc >= 300) {
        add_error(errs, errlen, nerrs, "failed to delete collection of %s (HTTP %d)", gr, rc);
        goto out;
    }

    /* What is left, and which finalizers hold it. */
    if (!r->can_list) {
        ret = 0;
        goto out;
    }
    if (kc_list(c, &r->gvr, ns, NULL, &list) != 200) {
        add_error(errs, errlen, nerrs, "failed to list %s", gr);
        goto out;
    }
    json_t *items = json_object_get(list, "items");
    if (json_array_size(items) == 0) {
        ret = 0;
        goto out;
    }
    bool finalizers = false;
    json_array_foreach (items, i, v) {
        json_t *f;
        size_t j;
        json_array_foreach (kc_json_path(v, "metadata.finalizers"), j, f)
            if (json_is_string(f)) {
                count_add(t->by_finalizer, json_string_value(f), 1);
                finalizers = true;
            }
    }
    count_add(t->by_resource, gr, (long long)json_array_size(items));
    if (est == 0 && finalizers)
        est = NS_FINALIZER_ESTIMATE;
    if (est > t->estimate)
        t->estimate = est;
    if (est == 0) {
        /* nothing explains why they are still there */
        add_error(errs, errlen, nerrs, "unexpected items still remain in namespace: %s for gvr: %s",
                  ns, gr);
        goto out;
    }
    ret = 0;
out:
    json_decref(opts);
    json_decref(list);
    return ret;
}

/* Upstream's deleteAllContent: returns the estimate in seconds (0: empty), or -1. */
static long long delete_all_content(struct ns_ctl *nc, const char *ns, time_t deleted_at)
{
    struct conds *cs = calloc(1, sizeof *cs);
    struct ns_disc d;
    struct totals t = {json_object(), json_object(), 0};
    char *errs = calloc(1, 4096), *buf = calloc(1, 2048);
    int nerrs = 0;
    long long ret = -1;
    if (!cs || !errs || !buf)
        abort();

    discover(nc->ctx->client, &d);
    if (d.nfailed) {
        snprintf(buf, 2048, "Discovery failed for some groups, %d failing: %s", d.nfailed,
                 d.failed);
        cond_fail(cs, C_DISCOVERY, "DiscoveryFailed", buf);
    }
    if (d.core_failed) {
        /* Without the core list there is no telling what the namespace holds. */
        update_conditions(nc, ns, cs);
        goto out;
    }
    for (size_t i = 0; i < d.n; i++)
        delete_resource(nc, &d.v[i], ns, deleted_at, &t, errs, 4096, &nerrs);

    if (nerrs) {
        char *msg = calloc(1, 4200);
        if (!msg)
            abort();
        snprintf(msg, 4200, "Failed to delete all resource types, %d remaining: %s", nerrs, errs);
        cond_fail(cs, C_CONTENT_FAILURE, "ContentDeletionFailed", msg);
        free(msg);
    }
    if (json_object_size(t.by_resource)) {
        int n = snprintf(buf, 2048, "Some resources are remaining: ");
        join_counts(t.by_resource, false, buf + n, 2048 - (size_t)n);
        cond_fail(cs, C_CONTENT_REMAINING, "SomeResourcesRemain", buf);
    }
    if (json_object_size(t.by_finalizer)) {
        int n = snprintf(buf, 2048, "Some finalizers are remaining: ");
        join_counts(t.by_finalizer, true, buf + n, 2048 - (size_t)n);
        cond_fail(cs, C_FINALIZERS, "SomeFinalizerRemain", buf);
    }
    update_conditions(nc, ns, cs);
    ret = nerrs ? -1 : t.estimate;
out:
    disc_free(&d);
    json_decref(t.by_resource);
    json_decref(t.by_finalizer);
    free(errs);
    free(buf);
    free(cs);
    return ret;
}

/* ---- the namespace itself ---- */

static bool has_spec_finalizer(const json_t *ns, const char *name)
{
    json_t *v;
    size_t i;
    json_array_foreach (kc_json_path(ns, "spec.finalizers"), i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), name) == 0)
            return true;
    return false;
}

/* Drops our finalizer from spec.finalizers through the finalize subresource. 0 or -1. */
static int finalize(struct ns_ctl *nc, const char *name)
{
    for (int attempt = 0; attempt < 5; attempt++) {
        json_t *cur = NULL, *ns = NULL, *out = NULL, *keep = json_array(), *v;
        size_t i;
        char path[512];
        int rc = kc_get(nc->ctx->client, &KC_GVR_NAMESPACES, NULL, name, &cur);
        if (rc == 200 && has_spec_finalizer(cur, NS_FINALIZER)) {
            ns = json_deep_copy(cur);
            json_array_foreach (kc_json_path(cur, "spec.finalizers"), i, v)
                if (json_is_string(v) && strcmp(json_string_value(v), NS_FINALIZER) != 0)
                    json_array_append(keep, v);
            json_object_set(kc_json_ensure_obj(ns, "spec"), "finalizers", keep);
            kc_client_path(path, sizeof path, &KC_GVR_NAMESPACES, NULL, name, "finalize");
            rc = kc_client_do(nc->ctx->client, "PUT", path, ns, NULL, &out);
            if (rc == 200 || rc == 201)
                fprintf(stderr, "namespace-controller: namespace %s finalized\n", name);
        } else if (rc == 200) {
            rc = 0; /* finalized already */
        }
        json_decref(cur);
        json_decref(ns);
        json_decref(out);
        json_decref(keep);
        if (rc != 409)
            return rc == 0 || rc == 200 || rc == 201 || rc == 404 ? 0 : -1;
    }
    return -1;
}

/* Upstream's Delete. Returns 0 when done (or nothing to do), a delay in ms when content
 * remains, -1 to retry with back-off. */
static long sync_namespace(struct ns_ctl *nc, const char *name)
{
    json_t *ns = NULL, *copy = NULL, *out = NULL;
    long ret = -1;
    int rc = kc_get(nc->ctx->client, &KC_GVR_NAMESPACES, NULL, name, &ns);
    if (rc == 404) {
        ret = 0;
        goto out;
    }
    if (rc != 200)
        goto out;
    const char *dts = kc_json_str(ns, "metadata.deletionTimestamp");
    if (!dts) {
        ret = 0;
        goto out;
    }
    const char *phase = kc_json_str(ns, "status.phase");
    if (!phase || strcmp(phase, "Terminating") != 0) {
        copy = json_deep_copy(ns);
        json_object_set_new(kc_json_ensure_obj(copy, "status"), "phase",
                            json_string("Terminating"));
        rc = kc_update(nc->ctx->client, &KC_GVR_NAMESPACES, NULL, copy, "status", &out);
        if (rc == 404)
            ret = 0;
        if (rc != 200)
            goto out;
    }
    if (!has_spec_finalizer(ns, NS_FINALIZER)) {
        ret = 0;
        goto out;
    }
    time_t deleted_at = time(NULL);
    kc_time_parse(dts, &deleted_at);
    long long est = delete_all_content(nc, name, deleted_at);
    if (est < 0)
        goto out;
    if (est > 0) {
        ret = (long)(est / 2 + 1) * 1000;
        if (ret > NS_MAX_RECHECK_MS)
            ret = NS_MAX_RECHECK_MS;
        goto out;
    }
    ret = finalize(nc, name);
out:
    json_decref(ns);
    json_decref(copy);
    json_decref(out);
    return ret;
}

static void *worker_main(void *arg)
{
    struct ns_ctl *nc = arg;
    kc_ctl_wait_synced(nc->ctx);
    for (;;) {
        char *key = kc_wq_get(nc->q);
        if (!key)
            break;
        long r = sync_namespace(nc, key);
        if (r < 0) {
            kc_wq_add_rate_limited(nc->q, key);
        } else {
            kc_wq_forget(nc->q, key);
            if (r > 0)
                kc_wq_add_after(nc->q, key, r);
        }
        kc_wq_done(nc->q, key);
        free(key);
    }
    return NULL;
}

static void enqueue_if_deleting(struct ns_ctl *nc, const json_t *ns)
{
    if (kc_json_path(ns, "metadata.deletionTimestamp"))
        kc_ctl_enqueue_obj(nc->q, ns);
}

static void on_add(void *arg, const json_t *obj)
{
    enqueue_if_deleting(arg, obj);
}

static void on_update(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    (void)old_obj;
    enqueue_if_deleting(arg, new_obj);
}

int kc_ctl_namespace_start(struct kc_ctl_ctx *ctx)
{
    struct ns_ctl *nc = calloc(1, sizeof *nc);
    if (!nc)
        abort();
    nc->ctx = ctx;
    nc->q = kc_wq_new("namespace");
    kc_ctl_register_queue(ctx, nc->q);
    the_ns = nc;
    struct kc_informer_handlers h = {.on_add = on_add, .on_update = on_update, .ctx = nc};
    kc_informer_add_handlers(ctx->namespaces, &h);
    if (kc_ctl_spawn_workers(ctx->opt.concurrent_syncs > 0 ? ctx->opt.concurrent_syncs : 2,
                             worker_main, nc) != 0) {
        fprintf(stderr, "namespace-controller: cannot start workers\n");
        return -1;
    }
    return 0;
}
