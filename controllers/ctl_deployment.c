/* The Deployment controller, as upstream's pkg/controller/deployment: a Deployment owns
 * ReplicaSets named "<deployment>-<pod-template-hash>"; the one whose template matches the
 * Deployment's is the new ReplicaSet, the others are old. A sync adopts and releases
 * ReplicaSets by selector, then (in upstream's order) handles pause, scaling events and
 * the rollout (RollingUpdate within maxSurge/maxUnavailable, or Recreate), cleans up old
 * ReplicaSets beyond revisionHistoryLimit and writes status and conditions.
 *
 * Ownership: the informers' objects are shared and immutable; a sync works on deep copies
 * of the Deployment and of its ReplicaSets, held by struct dsync (the `owned` array), so
 * the borrowed json_t pointers in its lists stay valid for the whole sync and are updated
 * in place when the apiserver answers a write.
 *
 * Divergence: kubec's status subresource only takes status, so the Deployment's revision
 * annotation, which upstream writes along with UpdateStatus, is written with a merge patch
 * of metadata.annotations. */
#include "controllers/controller.h"
#include "lib/jsonx.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HASH_LABEL "pod-template-hash"
#define REVISION_ANN "deployment.kubernetes.io/revision"
#define REVISION_HISTORY_ANN "deployment.kubernetes.io/revision-history"
#define DESIRED_ANN "deployment.kubernetes.io/desired-replicas"
#define MAX_ANN "deployment.kubernetes.io/max-replicas"
#define ROLLBACK_TO_ANN "deprecated.deployment.rollback.to"
#define LAST_APPLIED_ANN "kubectl.kubernetes.io/last-applied-configuration"

/* Condition reasons (deployment_util.go). */
#define R_NEW_RS "NewReplicaSetCreated"
#define R_FOUND_NEW_RS "FoundNewReplicaSet"
#define R_RS_UPDATED "ReplicaSetUpdated"
#define R_NEW_RS_AVAILABLE "NewReplicaSetAvailable"
#define R_TIMED_OUT "ProgressDeadlineExceeded"
#define R_PAUSED "DeploymentPaused"
#define R_RESUMED "DeploymentResumed"
#define R_MIN_AVAILABLE "MinimumReplicasAvailable"
#define R_MIN_UNAVAILABLE "MinimumReplicasUnavailable"
#define R_FAILED_RS_CREATE "ReplicaSetCreateError"

/* Retries before a key is dropped (upstream's maxRetries). */
#define MAX_RETRIES 15
/* Longest revision-history annotation kept (upstream's maxRevHistoryLengthInChars). */
#define MAX_REV_HISTORY_CHARS 2000

/* The controller's state lives for the whole process (workers are detached). */
static struct {
    struct kc_ctl_ctx *ctx;
    struct kc_workqueue *q;
    struct kc_recorder *rec;
} g_dc;

static void dlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void dlog(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("deployment-controller: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- small JSON helpers ---- */

static const char *str_or(const char *s, const char *def)
{
    return s ? s : def;
}

static int spec_replicas(const json_t *obj)
{
    return (int)kc_json_int(obj, "spec.replicas", 1);
}

static int status_int(const json_t *obj, const char *field)
{
    const json_t *st = json_object_get(obj, "status");
    return (int)kc_json_int(st, field, 0);
}

/* Replaces every key of dst by those of src (both objects; src borrowed), so borrowed
 * pointers to dst stay valid. */
static void replace_contents(json_t *dst, json_t *src)
{
    json_object_clear(dst);
    json_object_update(dst, src);
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const char *annotation(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(kc_json_path(obj, "metadata.annotations"), key));
}

/* The annotations object of obj, created when missing. Borrowed. */
static json_t *annotations_of(json_t *obj)
{
    return kc_json_ensure_obj(kc_json_ensure_obj(obj, "metadata"), "annotations");
}

static time_t creation_time(const json_t *obj)
{
    time_t t = 0;
    const char *s = kc_json_str(obj, "metadata.creationTimestamp");
    if (s)
        kc_time_parse(s, &t);
    return t;
}

static void now_rfc3339(char *buf, size_t n)
{
    kc_time_rfc3339(time(NULL), buf, n);
}

/* The Status message of an error answer, for logs and conditions. */
static const char *status_message(const json_t *resp)
{
    return str_or(kc_json_str(resp, "message"), "no answer from the apiserver");
}

/* ---- ReplicaSet lists: arrays of BORROWED pointers ---- */

struct rsvec {
    json_t **v;
    size_t n, cap;
};

static void rsvec_push(struct rsvec *a, json_t *rs)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 8;
        json_t **v = realloc(a->v, cap * sizeof *v);
        if (!v)
            abort(); /* out of memory */
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = rs;
}

static void rsvec_free(struct rsvec *a)
{
    free(a->v);
    a->v = NULL;
    a->n = a->cap = 0;
}

/* dst = src plus extra (when not NULL). */
static void rsvec_concat(struct rsvec *dst, const struct rsvec *src, json_t *extra)
{
    for (size_t i = 0; i < src->n; i++)
        rsvec_push(dst, src->v[i]);
    if (extra)
        rsvec_push(dst, extra);
}

/* controller.FilterActiveReplicaSets: spec.replicas > 0. */
static void rsvec_active(struct rsvec *dst, const struct rsvec *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (src->v[i] && spec_replicas(src->v[i]) > 0)
            rsvec_push(dst, src->v[i]);
}

static int sum_field(const struct rsvec *a, bool spec, const char *field)
{
    int n = 0;
    for (size_t i = 0; i < a->n; i++) {
        if (!a->v[i])
            continue;
        n += spec ? spec_replicas(a->v[i]) : status_int(a->v[i], field);
    }
    return n;
}

/* GetReplicaCountForReplicaSets: the sum of spec.replicas. */
static int replica_count(const struct rsvec *a)
{
    return sum_field(a, true, NULL);
}

/* ReplicaSetsByCreationTimestamp: older first, then by name. */
static int cmp_creation(const void *pa, const void *pb)
{
    const json_t *a = *(json_t *const *)pa, *b = *(json_t *const *)pb;
    time_t ta = creation_time(a), tb = creation_time(b);
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp(str_or(kc_json_str(a, "metadata.name"), ""),
                  str_or(kc_json_str(b, "metadata.name"), ""));
}

static int cmp_creation_desc(const void *pa, const void *pb)
{
    return cmp_creation(pb, pa);
}

/* ReplicaSetsBySizeNewer: larger first; among equals the newer first. */
static int cmp_size_newer(const void *pa, const void *pb)
{
    int ra = spec_replicas(*(json_t *const *)pa), rb = spec_replicas(*(json_t *const *)pb);
    if (ra != rb)
        return ra > rb ? -1 : 1;
    return cmp_creation(pb, pa);
}

/* ReplicaSetsBySizeOlder: larger first; among equals the older first. */
static int cmp_size_older(const void *pa, const void *pb)
{
    int ra = spec_replicas(*(json_t *const *)pa), rb = spec_replicas(*(json_t *const *)pb);
    if (ra != rb)
        return ra > rb ? -1 : 1;
    return cmp_creation(pa, pb);
}

/* deploymentutil.Revision: the revision annotation, or -1 when absent or not a number. */
static long long revision_of(const json_t *obj)
{
    const char *s = annotation(obj, REVISION_ANN);
    if (!s || !*s)
        return 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    return (end && !*end) ? v : -1;
}

/* ReplicaSetsByRevision: by revision, then by creation. */
static int cmp_revision(const void *pa, const void *pb)
{
    long long ra = revision_of(*(json_t *const *)pa), rb = revision_of(*(json_t *const *)pb);
    if (ra < 0 || rb < 0 || ra == rb)
        return cmp_creation(pa, pb);
    return ra < rb ? -1 : 1;
}

static void rsvec_sort(struct rsvec *a, int (*cmp)(const void *, const void *))
{
    if (a->n > 1)
        qsort(a->v, a->n, sizeof *a->v, cmp);
}

/* ---- Deployment helpers (deployment_util.go) ---- */

static bool is_rolling_update(const json_t *d)
{
    const char *t = kc_json_str(d, "spec.strategy.type");
    return !t || strcmp(t, "RollingUpdate") == 0;
}

static bool is_recreate(const json_t *d)
{
    return str_eq(kc_json_str(d, "spec.strategy.type"), "Recreate");
}

/* intstr.GetScaledValueFromIntOrPercent: an integer, or "N%" of total rounded up or down.
 * A missing value is the API default, 25%. */
static int scaled_value(const json_t *v, int total, bool round_up)
{
    if (json_is_integer(v))
        return (int)json_integer_value(v);
    const char *s = json_is_string(v) ? json_string_value(v) : "25%";
    size_t len = strlen(s);
    if (len < 2 || s[len - 1] != '%')
        return 0; /* not a percentage: upstream errors, callers then use 0 */
    double pct = strtod(s, NULL);
    double x = pct * total / 100.0;
    return (int)(round_up ? ceil(x) : floor(x));
}

/* ResolveFenceposts: surge rounds up, unavailable down; never both zero. */
static void fenceposts(const json_t *d, int *surge, int *unavailable)
{
    const json_t *ru = kc_json_path(d, "spec.strategy.rollingUpdate");
    int desired = spec_replicas(d);
    *surge = scaled_value(json_object_get(ru, "maxSurge"), desired, true);
    *unavailable = scaled_value(json_object_get(ru, "maxUnavailable"), desired, false);
    if (*surge == 0 && *unavailable == 0)
        *unavailable = 1;
}

static int max_surge(const json_t *d)
{
    if (!is_rolling_update(d))
        return 0;
    int s, u;
    fenceposts(d, &s, &u);
    return s;
}

static int max_unavailable(const json_t *d)
{
    int replicas = spec_replicas(d);
    if (!is_rolling_update(d) || replicas == 0)
        return 0;
    int s, u;
    fenceposts(d, &s, &u);
    return u > replicas ? replicas : u;
}

static bool has_progress_deadline(const json_t *d)
{
    const json_t *p = kc_json_path(d, "spec.progressDeadlineSeconds");
    return json_is_integer(p) && json_integer_value(p) != INT32_MAX;
}

static bool has_revision_history_limit(const json_t *d)
{
    const json_t *p = kc_json_path(d, "spec.revisionHistoryLimit");
    return json_is_integer(p) && json_integer_value(p) != INT32_MAX;
}

static bool is_paused(const json_t *d)
{
    return kc_json_bool(d, "spec.paused", false);
}

/* The JSON of the status object of obj, created when missing. Borrowed. */
static json_t *status_of(json_t *obj)
{
    return kc_json_ensure_obj(obj, "status");
}

/* ---- conditions ---- */

static json_t *cond_get(const json_t *status, const char *type)
{
    const json_t *conds = json_object_get(status, "conditions");
    size_t i;
    json_t *c;
    json_array_foreach (conds, i, c) {
        if (str_eq(kc_json_str(c, "type"), type))
            return c;
    }
    return NULL;
}

/* NewDeploymentCondition, stamped now. New reference. */
static json_t *cond_new(const char *type, const char *status, const char *reason, const char *msg)
{
    char now[40];
    now_rfc3339(now, sizeof now);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", type, "status", status,
                     "lastUpdateTime", now, "lastTransitionTime", now, "reason", reason, "message",
                     msg);
}

static void cond_remove(json_t *status, const char *type)
{
    json_t *conds = json_object_get(status, "conditions");
    for (size_t i = 0; i < json_array_size(conds);) {
        if (str_eq(kc_json_str(json_array_get(conds, i), "type"), type))
            json_array_remove(conds, i);
        else
            i++;
    }
}

/* SetDeploymentCondition: no change when status and reason are the same; keeps
 * lastTransitionTime when only the reason changes; the condition goes last. cond stolen. */
static void cond_set(json_t *status, json_t *cond)
{
    const char *type = kc_json_str(cond, "type");
    json_t *cur = cond_get(status, type);
    if (cur && str_eq(kc_json_str(cur, "status"), kc_json_str(cond, "status")) &&
        str_eq(kc_json_str(cur, "reason"), kc_json_str(cond, "reason"))) {
        json_decref(cond);
        return;
    }
    if (cur && str_eq(kc_json_str(cur, "status"), kc_json_str(cond, "status"))) {
        json_t *ltt = json_object_get(cur, "lastTransitionTime");
        if (ltt)
            json_object_set(cond, "lastTransitionTime", ltt);
    }
    cond_remove(status, type);
    json_t *conds = json_object_get(status, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    json_array_append_new(conds, cond);
}

/* ---- template hashing and comparison ---- */

/* controller.ComputeHash: FNV-32a over the template (canonical JSON here: sorted keys,
 * compact) and collisionCount as 8 little-endian bytes, the decimal digits then mapped
 * through rand.SafeEncodeString's alphabet. */
static void compute_hash(const json_t *tmpl, const json_t *collision_count, char *out,
                         size_t outlen)
{
    static const char alphanums[] = "bcdfghjklmnpqrstvwxz2456789";
    uint32_t h = 2166136261u;
    char *text = json_dumps(tmpl, JSON_COMPACT | JSON_SORT_KEYS);
    for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    free(text);
    if (json_is_integer(collision_count)) {
        uint32_t cc = (uint32_t)json_integer_value(collision_count);
        unsigned char b[8] = {(unsigned char)cc,
                              (unsigned char)(cc >> 8),
                              (unsigned char)(cc >> 16),
                              (unsigned char)(cc >> 24),
                              0,
                              0,
                              0,
                              0};
        for (size_t i = 0; i < sizeof b; i++) {
            h ^= b[i];
            h *= 16777619u;
        }
    }
    char digits[16];
    snprintf(digits, sizeof digits, "%u", (unsigned)h);
    size_t i = 0;
    for (; digits[i] && i + 1 < outlen; i++)
        out[i] = alphanums[(unsigned char)digits[i] % (sizeof alphanums - 1)];
    out[i] = '\0';
}

/* A copy without nulls, empty objects and empty arrays, so that semantically equal
 * templates compare equal (Go's semantic DeepEqual treats nil and empty alike). New
 * reference, or NULL when v is "empty". */
static json_t *normalized(const json_t *v)
{
    if (!v || json_is_null(v))
        return NULL;
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *val;
        json_object_foreach ((json_t *)v, k, val) {
            json_t *n = normalized(val);
            if (n)
                json_object_set_new(o, k, n);
        }
        if (!json_object_size(o)) {
            json_decref(o);
            return NULL;
        }
        return o;
    }
    if (json_is_array(v)) {
        if (!json_array_size(v))
            return NULL;
        json_t *a = json_array();
        size_t i;
        json_t *el;
        json_array_foreach (v, i, el) {
            json_t *n = normalized(el);
            json_array_append_new(a, n ? n : json_null());
        }
        return a;
    }
    return json_deep_copy(v);
}

/* EqualIgnoreHash: templates equal once the pod-template-hash label is dropped. */
static bool equal_ignore_hash(const json_t *t1, const json_t *t2)
{
    json_t *a = json_deep_copy(t1), *b = json_deep_copy(t2);
    json_object_del(kc_json_path(a, "metadata.labels"), HASH_LABEL);
    json_object_del(kc_json_path(b, "metadata.labels"), HASH_LABEL);
    json_t *na = normalized(a), *nb = normalized(b);
    bool eq = kc_json_equal(na, nb);
    json_decref(na);
    json_decref(nb);
    json_decref(a);
    json_decref(b);
    return eq;
}

/* ---- selectors and controller refs ---- */

/* The Deployment's selector, or NULL when it is invalid. Free with kc_selector_free. */
static struct kc_selector *selector_of(const json_t *d)
{
    struct kc_selector *sel = NULL;
    char err[256];
    if (kc_label_selector_from_json(kc_json_path(d, "spec.selector"), &sel, err, sizeof err))
        return NULL;
    return sel;
}

static bool selector_matches_obj(const struct kc_selector *sel, const json_t *obj)
{
    return kc_label_selector_matches(sel, kc_json_path(obj, "metadata.labels"));
}

/* resolveControllerRef: the Deployment a controllerRef points to (kind and uid checked).
 * New reference or NULL. */
static json_t *resolve_controller_ref(const char *ns, const json_t *ref)
{
    if (!ref || !str_eq(kc_json_str(ref, "kind"), "Deployment"))
        return NULL;
    const char *name = kc_json_str(ref, "name");
    if (!name)
        return NULL;
    json_t *d = kc_informer_get_ns(g_dc.ctx->deployments, ns, name);
    if (d && !str_eq(kc_json_str(d, "metadata.uid"), kc_json_str(ref, "uid"))) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* GetDeploymentsForReplicaSet: the Deployments of the namespace whose non-empty selector
 * matches the ReplicaSet's labels; each is enqueued. */
static void enqueue_deployments_selecting(const json_t *rs)
{
    const json_t *labels = kc_json_path(rs, "metadata.labels");
    if (!json_object_size(labels))
        return;
    json_t *ds = kc_informer_list(g_dc.ctx->deployments, kc_json_str(rs, "metadata.namespace"));
    size_t i;
    json_t *d;
    json_array_foreach (ds, i, d) {
        struct kc_selector *sel = selector_of(d);
        if (sel && !kc_selector_empty(sel) && kc_label_selector_matches(sel, labels))
            kc_ctl_enqueue_obj(g_dc.q, d);
        kc_selector_free(sel);
    }
    json_decref(ds);
}

/* ---- informer handlers (they only enqueue) ---- */

static void on_deployment_add(void *ctx, const json_t *obj)
{
    (void)ctx;
    kc_ctl_enqueue_obj(g_dc.q, obj);
}

static void on_deployment_update(void *ctx, const json_t *old_obj, const json_t *new_obj)
{
    (void)ctx;
    (void)old_obj;
    kc_ctl_enqueue_obj(g_dc.q, new_obj);
}

static void on_deployment_delete(void *ctx, const json_t *obj)
{
    (void)ctx;
    kc_ctl_enqueue_obj(g_dc.q, obj);
}

static void enqueue_controller_of(const json_t *rs, const json_t *ref)
{
    json_t *d = resolve_controller_ref(kc_json_str(rs, "metadata.namespace"), ref);
    if (d)
        kc_ctl_enqueue_obj(g_dc.q, d);
    json_decref(d);
}

static void on_rs_delete(void *ctx, const json_t *rs)
{
    (void)ctx;
    /* No controller should care about orphans being deleted. */
    enqueue_controller_of(rs, kc_ctl_controller_ref(rs));
}

static void on_rs_add(void *ctx, const json_t *rs)
{
    if (kc_json_path(rs, "metadata.deletionTimestamp")) {
        /* seen after a restart already being deleted */
        on_rs_delete(ctx, rs);
        return;
    }
    const json_t *ref = kc_ctl_controller_ref(rs);
    if (ref)
        enqueue_controller_of(rs, ref);
    else
        enqueue_deployments_selecting(rs); /* an orphan: who wants to adopt it? */
}

static void on_rs_update(void *ctx, const json_t *old_rs, const json_t *cur_rs)
{
    (void)ctx;
    if (str_eq(kc_json_str(old_rs, "metadata.resourceVersion"),
               kc_json_str(cur_rs, "metadata.resourceVersion")))
        return; /* a resync */
    const json_t *cur_ref = kc_ctl_controller_ref(cur_rs);
    const json_t *old_ref = kc_ctl_controller_ref(old_rs);
    bool ref_changed = !kc_json_equal(cur_ref, old_ref);
    if (ref_changed && old_ref)
        enqueue_controller_of(old_rs, old_ref);
    if (cur_ref) {
        enqueue_controller_of(cur_rs, cur_ref);
        return;
    }
    bool labels_changed = !kc_json_equal(kc_json_path(cur_rs, "metadata.labels"),
                                         kc_json_path(old_rs, "metadata.labels"));
    if (labels_changed || ref_changed)
        enqueue_deployments_selecting(cur_rs);
}

/* The pods of rs (controllerRef uid) that the selector matches, counted. */
static size_t count_rs_pods(const json_t *rs, const struct kc_selector *sel,
                            bool count_terminal_too)
{
    const char *uid = kc_json_str(rs, "metadata.uid");
    if (!uid)
        return 0;
    json_t *pods = kc_informer_by_index(g_dc.ctx->pods, "owner", uid);
    size_t n = 0, i;
    json_t *pod;
    json_array_foreach (pods, i, pod) {
        const json_t *ref = kc_ctl_controller_ref(pod);
        if (!ref || !str_eq(kc_json_str(ref, "uid"), uid) || !selector_matches_obj(sel, pod))
            continue;
        const char *phase = kc_json_str(pod, "status.phase");
        if (!count_terminal_too && (str_eq(phase, "Failed") || str_eq(phase, "Succeeded")))
            continue;
        n++;
    }
    json_decref(pods);
    return n;
}

/* A Recreate Deployment is synced once all of its pods are gone. */
static void on_pod_delete(void *ctx, const json_t *pod)
{
    (void)ctx;
    const json_t *ref = kc_ctl_controller_ref(pod);
    if (!ref || !str_eq(kc_json_str(ref, "kind"), "ReplicaSet"))
        return;
    const char *ns = kc_json_str(pod, "metadata.namespace");
    const char *rs_name = kc_json_str(ref, "name");
    if (!ns || !rs_name)
        return;
    json_t *rs = kc_informer_get_ns(g_dc.ctx->replicasets, ns, rs_name);
    json_t *d = NULL, *rss = NULL;
    struct kc_selector *sel = NULL;
    if (!rs || !str_eq(kc_json_str(rs, "metadata.uid"), kc_json_str(ref, "uid")))
        goto out;
    d = resolve_controller_ref(ns, kc_ctl_controller_ref(rs));
    if (!d || !is_recreate(d))
        goto out;
    sel = selector_of(d);
    if (!sel)
        goto out;
    rss = kc_informer_by_index(g_dc.ctx->replicasets, "owner", kc_json_str(d, "metadata.uid"));
    size_t n = 0, i;
    json_t *r;
    json_array_foreach (rss, i, r) {
        const json_t *rref = kc_ctl_controller_ref(r);
        if (rref && str_eq(kc_json_str(rref, "uid"), kc_json_str(d, "metadata.uid")))
            n += count_rs_pods(r, sel, true);
    }
    if (n == 0)
        kc_ctl_enqueue_obj(g_dc.q, d);
out:
    kc_selector_free(sel);
    json_decref(rss);
    json_decref(d);
    json_decref(rs);
}

/* ---- one sync ---- */

struct dsync {
    json_t *d;       /* deep copy of the Deployment (owned) */
    json_t *owned;   /* array owning every ReplicaSet copy below */
    struct rsvec rs; /* the Deployment's ReplicaSets after adoption (borrowed) */
    struct kc_selector *sel;
    const char *ns, *name; /* borrowed from d */
};

static struct kc_client *cl(void)
{
    return g_dc.ctx->client;
}

/* Takes a new reference to a ReplicaSet: keeps a deep copy in s->owned and returns it
 * (borrowed). */
static json_t *own_rs(struct dsync *s, const json_t *rs)
{
    json_t *copy = json_deep_copy(rs);
    if (!json_object_get(copy, "kind"))
        json_object_set_new(copy, "kind", json_string("ReplicaSet"));
    if (!json_object_get(copy, "apiVersion"))
        json_object_set_new(copy, "apiVersion", json_string("apps/v1"));
    json_array_append_new(s->owned, copy);
    return copy;
}

/* PUT of rs (updated in place from the answer). 0 or -1. */
static int update_rs(struct dsync *s, json_t *rs, json_t *desired)
{
    json_t *resp = NULL;
    int code = kc_update(cl(), &KC_GVR_REPLICASETS, s->ns, desired, NULL, &resp);
    if (code != 200) {
        if (code != 409) /* a stale cache: expected, the key is retried */
            dlog("update replicaset %s/%s: %d %s", s->ns,
                 str_or(kc_json_str(rs, "metadata.name"), "?"), code, status_message(resp));
        json_decref(resp);
        return -1;
    }
    replace_contents(rs, resp);
    json_decref(resp);
    return 0;
}

/* Writes the Deployment's status; s->d takes the new resourceVersion. 0 or -1. */
static int update_status(struct dsync *s)
{
    json_t *resp = NULL;
    int code = kc_update(cl(), &KC_GVR_DEPLOYMENTS, s->ns, s->d, "status", &resp);
    if (code != 200) {
        if (code != 409)
            dlog("update status of deployment %s/%s: %d %s", s->ns, s->name, code,
                 status_message(resp));
        json_decref(resp);
        return -1;
    }
    json_t *rv = kc_json_path(resp, "metadata.resourceVersion");
    if (rv)
        json_object_set(kc_json_ensure_obj(s->d, "metadata"), "resourceVersion", rv);
    json_decref(resp);
    return 0;
}

/* SetDeploymentRevision, persisted with a merge patch of the annotation (see the file
 * comment). *changed tells whether anything was written. 0 or -1. */
static int set_deployment_revision(struct dsync *s, const char *revision)
{
    if (!revision || str_eq(annotation(s->d, REVISION_ANN), revision))
        return 0;
    json_t *patch = json_pack("{s:{s:{s:s}}}", "metadata", "annotations", REVISION_ANN, revision);
    json_t *resp = NULL;
    int code = kc_patch(cl(), &KC_GVR_DEPLOYMENTS, s->ns, s->name, NULL,
                        "application/merge-patch+json", patch, &resp);
    json_decref(patch);
    if (code != 200) {
        dlog("set revision of deployment %s/%s: %d %s", s->ns, s->name, code, status_message(resp));
        json_decref(resp);
        return -1;
    }
    json_t *meta = kc_json_ensure_obj(s->d, "metadata");
    json_object_set_new(annotations_of(s->d), REVISION_ANN, json_string(revision));
    json_t *rv = kc_json_path(resp, "metadata.resourceVersion");
    if (rv)
        json_object_set(meta, "resourceVersion", rv);
    json_decref(resp);
    return 0;
}

/* ---- annotations (deployment_util.go) ---- */

static bool skip_copy_annotation(const char *k)
{
    return !strcmp(k, LAST_APPLIED_ANN) || !strcmp(k, REVISION_ANN) ||
           !strcmp(k, REVISION_HISTORY_ANN) || !strcmp(k, DESIRED_ANN) || !strcmp(k, MAX_ANN) ||
           !strcmp(k, ROLLBACK_TO_ANN);
}

/* copyDeploymentAnnotationsToReplicaSet. */
static bool copy_annotations_to_rs(const json_t *d, json_t *rs)
{
    const json_t *da = kc_json_path(d, "metadata.annotations");
    bool changed = false;
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)da, k, v) {
        if (skip_copy_annotation(k) || !json_is_string(v))
            continue;
        json_t *ra = annotations_of(rs);
        if (str_eq(json_string_value(json_object_get(ra, k)), json_string_value(v)))
            continue;
        json_object_set(ra, k, v);
        changed = true;
    }
    return changed;
}

/* ReplicasAnnotationsNeedUpdate. */
static bool replicas_annotations_need_update(const json_t *rs, int desired, int max)
{
    char a[24], b[24];
    snprintf(a, sizeof a, "%d", desired);
    snprintf(b, sizeof b, "%d", max);
    return !str_eq(annotation(rs, DESIRED_ANN), a) || !str_eq(annotation(rs, MAX_ANN), b);
}

/* SetReplicasAnnotations. */
static bool set_replicas_annotations(json_t *rs, int desired, int max)
{
    if (!replicas_annotations_need_update(rs, desired, max))
        return false;
    char a[24], b[24];
    snprintf(a, sizeof a, "%d", desired);
    snprintf(b, sizeof b, "%d", max);
    json_t *ann = annotations_of(rs);
    json_object_set_new(ann, DESIRED_ANN, json_string(a));
    json_object_set_new(ann, MAX_ANN, json_string(b));
    return true;
}

/* Appends old_rev to the revision-history annotation within MAX_REV_HISTORY_CHARS. */
static void append_revision_history(json_t *rs, const char *old_rev)
{
    const char *hist = str_or(annotation(rs, REVISION_HISTORY_ANN), "");
    json_t *ann = annotations_of(rs);
    if (!*hist) {
        json_object_set_new(ann, REVISION_HISTORY_ANN, json_string(old_rev));
        return;
    }
    size_t total = strlen(hist) + strlen(old_rev) + 1;
    const char *start = hist;
    /* drop the oldest entries until the result fits */
    while (total > MAX_REV_HISTORY_CHARS && *start) {
        const char *comma = strchr(start, ',');
        size_t entry = comma ? (size_t)(comma - start) : strlen(start);
        total -= entry + 1;
        start = comma ? comma + 1 : start + entry;
    }
    if (total > MAX_REV_HISTORY_CHARS)
        return;
    size_t n = strlen(start) + strlen(old_rev) + 2;
    char *buf = malloc(n);
    if (!buf)
        return;
    snprintf(buf, n, "%s%s%s", start, *start ? "," : "", old_rev);
    json_object_set_new(ann, REVISION_HISTORY_ANN, json_string(buf));
    free(buf);
}

/* SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the revision
 * to new_revision (keeping the history of a reused ReplicaSet) and, for a ReplicaSet about
 * to be created, sets the replicas annotations. Returns whether rs changed. */
static bool set_new_rs_annotations(const json_t *d, json_t *rs, long long new_revision, bool exists)
{
    bool changed = copy_annotations_to_rs(d, rs);
    const char *old = annotation(rs, REVISION_ANN);
    long long old_int = 0;
    bool had = old != NULL;
    if (old && *old) {
        char *end = NULL;
        old_int = strtoll(old, &end, 10);
        if (!end || *end)
            return false; /* not a number: leave it alone, as upstream */
    }
    if (old_int < new_revision) {
        char *old_copy = had ? strdup(old) : NULL;
        char buf[24];
        snprintf(buf, sizeof buf, "%lld", new_revision);
        json_object_set_new(annotations_of(rs), REVISION_ANN, json_string(buf));
        changed = true;
        /* a reused ReplicaSet (a rollback) keeps its former revisions */
        if (old_copy)
            append_revision_history(rs, old_copy);
        free(old_copy);
    }
    if (!exists) {
        int desired = spec_replicas(d);
        if (set_replicas_annotations(rs, desired, desired + max_surge(d)))
            changed = true;
    }
    return changed;
}

/* ---- finding the new and old ReplicaSets ---- */

/* FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's. */
static json_t *find_new_rs(const json_t *d, const struct rsvec *all)
{
    struct rsvec sorted = {0};
    rsvec_concat(&sorted, all, NULL);
    rsvec_sort(&sorted, cmp_creation);
    json_t *found = NULL;
    const json_t *tmpl = kc_json_path(d, "spec.template");
    for (size_t i = 0; i < sorted.n && !found; i++)
        if (equal_ignore_hash(kc_json_path(sorted.v[i], "spec.template"), tmpl))
            found = sorted.v[i];
    rsvec_free(&sorted);
    return found;
}

/* FindOldReplicaSets (all of them, active or not). */
static void find_old_rss(const json_t *d, const struct rsvec *all, struct rsvec *old)
{
    json_t *new_rs = find_new_rs(d, all);
    for (size_t i = 0; i < all->n; i++)
        if (all->v[i] != new_rs)
            rsvec_push(old, all->v[i]);
}

static long long max_revision(const struct rsvec *a)
{
    long long max = 0;
    for (size_t i = 0; i < a->n; i++) {
        long long r = revision_of(a->v[i]);
        if (r > max)
            max = r;
    }
    return max;
}

/* NewRSNewReplicas. */
static int new_rs_new_replicas(const json_t *d, const struct rsvec *all, const json_t *new_rs)
{
    int desired = spec_replicas(d);
    if (is_recreate(d))
        return desired;
    const json_t *ru = kc_json_path(d, "spec.strategy.rollingUpdate");
    int surge = scaled_value(json_object_get(ru, "maxSurge"), desired, true);
    int current = replica_count(all);
    int max_total = desired + surge;
    int cur_new = spec_replicas(new_rs);
    if (current >= max_total)
        return cur_new;
    int up = max_total - current;
    if (up > desired - cur_new)
        up = desired - cur_new;
    return cur_new + up;
}

static void event_scaled(struct dsync *s, const char *op, const char *rs_name, int to, int from)
{
    kc_event(g_dc.rec, s->d, "Normal", "ScalingReplicaSet",
             "Scaled %s replica set %s to %d from %d", op, rs_name, to, from);
}

/* The creating half of getNewReplicaSet: the ReplicaSet "<name>-<hash>" at NewRSNewReplicas,
 * annotated; an AlreadyExists answer is either our own (a slow cache) or a hash collision,
 * which bumps status.collisionCount and retries. *out is borrowed. 0 or -1. */
static int create_new_rs(struct dsync *s, const struct rsvec *old, long long new_revision,
                         json_t **out)
{
    int ret = -1;
    json_t *d = s->d;
    json_t *tmpl = json_deep_copy(kc_json_path(d, "spec.template"));
    json_t *resp = NULL, *rs = NULL;
    char hash[16], name[320];
    struct rsvec all = {0};

    compute_hash(tmpl, kc_json_path(d, "status.collisionCount"), hash, sizeof hash);
    json_t *tmeta = kc_json_ensure_obj(tmpl, "metadata");
    json_t *labels = kc_json_ensure_obj(tmeta, "labels");
    json_object_set_new(labels, HASH_LABEL, json_string(hash));
    json_t *selector = json_deep_copy(kc_json_path(d, "spec.selector"));
    if (!selector)
        selector = json_object();
    json_object_set_new(kc_json_ensure_obj(selector, "matchLabels"), HASH_LABEL, json_string(hash));
    snprintf(name, sizeof name, "%s-%s", s->name, hash);

    json_t *owner =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "apps/v1", "kind", "Deployment",
                  "name", s->name, "uid", str_or(kc_json_str(d, "metadata.uid"), ""), "controller",
                  1, "blockOwnerDeletion", 1);
    json_t *spec =
        json_pack("{s:i, s:o, s:o}", "replicas", 0, "selector", selector, "template", tmpl);
    long long mrs = kc_json_int(d, "spec.minReadySeconds", 0);
    if (mrs)
        json_object_set_new(spec, "minReadySeconds", json_integer(mrs));
    json_t *newrs =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:[o], s:o}, s:o}", "apiVersion", "apps/v1", "kind",
                  "ReplicaSet", "metadata", "name", name, "namespace", s->ns, "ownerReferences",
                  owner, "labels", json_deep_copy(labels), "spec", spec);
    rsvec_concat(&all, old, newrs);
    int replicas = new_rs_new_replicas(d, &all, newrs);
    json_object_set_new(spec, "replicas", json_integer(replicas));
    set_new_rs_annotations(d, newrs, new_revision, false);

    bool already_exists = false;
    int code = kc_create(cl(), &KC_GVR_REPLICASETS, s->ns, newrs, &resp);
    if (code == 201 || code == 200) {
        rs = own_rs(s, resp);
    } else if (code == 409) {
        /* A slow cache, or a hash collision with a ReplicaSet of another template. */
        already_exists = true;
        json_t *cur = kc_informer_get_ns(g_dc.ctx->replicasets, s->ns, name);
        if (!cur && kc_get(cl(), &KC_GVR_REPLICASETS, s->ns, name, &cur) != 200) {
            json_decref(cur);
            goto out;
        }
        const json_t *ref = kc_ctl_controller_ref(cur);
        if (ref && str_eq(kc_json_str(ref, "uid"), kc_json_str(d, "metadata.uid")) &&
            equal_ignore_hash(kc_json_path(d, "spec.template"),
                              kc_json_path(cur, "spec.template"))) {
            rs = own_rs(s, cur);
            json_decref(cur);
        } else {
            json_decref(cur);
            json_t *st = status_of(d);
            long long cc = kc_json_int(st, "collisionCount", 0);
            json_object_set_new(st, "collisionCount", json_integer(cc + 1));
            if (update_status(s) == 0)
                dlog("hash collision for deployment %s/%s: collisionCount %lld -> %lld", s->ns,
                     s->name, cc, cc + 1);
            goto out;
        }
    } else {
        const json_t *causes = kc_json_path(resp, "details.causes");
        size_t i;
        json_t *c;
        json_array_foreach (causes, i, c) {
            if (str_eq(kc_json_str(c, "type"), "NamespaceTerminating")) {
                ret = 0; /* every later create fails too: nothing to do */
                goto out;
            }
        }
        char msg[1024];
        snprintf(msg, sizeof msg, "Failed to create new replica set \"%s\": %s", name,
                 status_message(resp));
        if (has_progress_deadline(d)) {
            cond_set(status_of(d), cond_new("Progressing", "False", R_FAILED_RS_CREATE, msg));
            update_status(s);
        }
        kc_event(g_dc.rec, d, "Warning", R_FAILED_RS_CREATE, "%s", msg);
        goto out;
    }
    bool listed = false;
    for (size_t i = 0; i < s->rs.n && !listed; i++)
        listed = str_eq(kc_json_str(s->rs.v[i], "metadata.uid"), kc_json_str(rs, "metadata.uid"));
    if (!listed)
        rsvec_push(&s->rs, rs);
    if (!already_exists && replicas > 0)
        kc_event(g_dc.rec, d, "Normal", "ScalingReplicaSet", "Scaled up replica set %s to %d",
                 str_or(kc_json_str(rs, "metadata.name"), name), replicas);

    char rev[24];
    snprintf(rev, sizeof rev, "%lld", new_revision);
    if (set_deployment_revision(s, rev))
        goto out;
    if (!already_exists && has_progress_deadline(d)) {
        char msg[512];
        snprintf(msg, sizeof msg, "Created new replica set \"%s\"",
                 str_or(kc_json_str(rs, "metadata.name"), name));
        cond_set(status_of(d), cond_new("Progressing", "True", R_NEW_RS, msg));
        if (update_status(s))
            goto out;
    }
    *out = rs;
    ret = 0;
out:
    rsvec_free(&all);
    json_decref(newrs);
    json_decref(resp);
    return ret;
}

/* getNewReplicaSet: the new ReplicaSet with its annotations and revision synced, the
 * Deployment's revision set to it; created when missing and create is set. *out is
 * borrowed (NULL when there is none). 0 or -1. */
static int get_new_rs(struct dsync *s, const struct rsvec *old, bool create, json_t **out)
{
    json_t *d = s->d;
    *out = NULL;
    json_t *existing = find_new_rs(d, &s->rs);
    long long new_revision = max_revision(old) + 1;

    if (existing) {
        json_t *copy = json_deep_copy(existing);
        bool ann = set_new_rs_annotations(d, copy, new_revision, true);
        long long mrs = kc_json_int(d, "spec.minReadySeconds", 0);
        bool mrs_changed = kc_json_int(copy, "spec.minReadySeconds", 0) != mrs;
        if (ann || mrs_changed) {
            json_t *spec = kc_json_ensure_obj(copy, "spec");
            if (mrs)
                json_object_set_new(spec, "minReadySeconds", json_integer(mrs));
            else
                json_object_del(spec, "minReadySeconds");
            int rc = update_rs(s, existing, copy);
            json_decref(copy);
            if (rc)
                return -1;
            *out = existing;
            return 0;
        }
        json_decref(copy);
        /* the revision the ReplicaSet already carries */
        if (set_deployment_revision(s, annotation(existing, REVISION_ANN)))
            return -1;
        if (has_progress_deadline(d) && !cond_get(json_object_get(d, "status"), "Progressing")) {
            char msg[512];
            snprintf(msg, sizeof msg, "Found new replica set \"%s\"",
                     str_or(kc_json_str(existing, "metadata.name"), ""));
            cond_set(status_of(d), cond_new("Progressing", "True", R_FOUND_NEW_RS, msg));
            if (update_status(s))
                return -1;
        }
        *out = existing;
        return 0;
    }
    if (!create)
        return 0;
    return create_new_rs(s, old, new_revision, out);
}

/* getAllReplicaSetsAndSyncRevision: old (all but the new) into *old, the new into *new_rs. */
static int get_all_rss(struct dsync *s, bool create, json_t **new_rs, struct rsvec *old)
{
    old->n = 0;
    find_old_rss(s->d, &s->rs, old);
    return get_new_rs(s, old, create, new_rs);
}

/* ---- scaling ---- */

/* scaleReplicaSet: sets spec.replicas and the replicas annotations; an event when the size
 * changed. */
static int scale_rs(struct dsync *s, json_t *rs, int new_scale, const char *op, bool *scaled)
{
    int old_scale = spec_replicas(rs);
    int desired = spec_replicas(s->d);
    int max = desired + max_surge(s->d);
    bool size_changed = old_scale != new_scale;
    if (scaled)
        *scaled = false;
    if (!size_changed && !replicas_annotations_need_update(rs, desired, max))
        return 0;
    json_t *copy = json_deep_copy(rs);
    json_object_set_new(kc_json_ensure_obj(copy, "spec"), "replicas", json_integer(new_scale));
    set_replicas_annotations(copy, desired, max);
    int rc = update_rs(s, rs, copy);
    json_decref(copy);
    if (rc)
        return -1;
    if (size_changed) {
        if (scaled)
            *scaled = true;
        event_scaled(s, op, kc_json_str(rs, "metadata.name"), new_scale, old_scale);
    }
    return 0;
}

/* scaleReplicaSetAndRecordEvent. */
static int scale_and_record(struct dsync *s, json_t *rs, int new_scale, bool *scaled)
{
    if (scaled)
        *scaled = false;
    int cur = spec_replicas(rs);
    if (cur == new_scale)
        return 0;
    return scale_rs(s, rs, new_scale, cur < new_scale ? "up" : "down", scaled);
}

/* FindActiveOrLatest. */
static json_t *find_active_or_latest(json_t *new_rs, struct rsvec *old)
{
    if (!new_rs && old->n == 0)
        return NULL;
    rsvec_sort(old, cmp_creation_desc);
    struct rsvec all = {0}, active = {0};
    rsvec_concat(&all, old, new_rs);
    rsvec_active(&active, &all);
    json_t *r = NULL;
    if (active.n == 0)
        r = new_rs ? new_rs : old->v[0];
    else if (active.n == 1)
        r = active.v[0];
    rsvec_free(&all);
    rsvec_free(&active);
    return r;
}

/* IsSaturated: the new ReplicaSet runs the Deployment's full size, all available. */
static bool is_saturated(const json_t *d, const json_t *rs)
{
    if (!rs)
        return false;
    const char *desired = annotation(rs, DESIRED_ANN);
    if (!desired)
        return false;
    char *end = NULL;
    long v = strtol(desired, &end, 10);
    if (!end || *end || !*desired)
        return false;
    int want = spec_replicas(d);
    return spec_replicas(rs) == want && v == want && status_int(rs, "availableReplicas") == want;
}

/* getReplicaSetFraction. */
static int rs_fraction(const json_t *rs, const json_t *d)
{
    int dr = spec_replicas(d);
    if (dr == 0)
        return -spec_replicas(rs);
    int deployment_replicas = dr + max_surge(d);
    const char *ann = annotation(rs, MAX_ANN);
    long annotated = 0;
    char *end = NULL;
    if (ann && *ann)
        annotated = strtol(ann, &end, 10);
    if (!ann || !*ann || !end || *end)
        annotated = status_int(d, "replicas"); /* no annotation: the current size */
    if (annotated == 0)
        return 0; /* Go would divide by zero into +Inf; the min/max below bound it */
    double size = (double)spec_replicas(rs) * deployment_replicas / (double)annotated;
    int rounded = size < 0 ? (int)(size - 0.5) : (int)(size + 0.5);
    return rounded - spec_replicas(rs);
}

/* GetProportion. */
static int proportion(const json_t *rs, const json_t *d, int to_add, int added)
{
    if (!rs || spec_replicas(rs) == 0 || to_add == 0 || to_add == added)
        return 0;
    int fraction = rs_fraction(rs, d);
    int allowed = to_add - added;
    if (to_add > 0)
        return fraction < allowed ? fraction : allowed;
    return fraction > allowed ? fraction : allowed;
}

/* scale: a scaling event (or a paused Deployment) with proportional scaling across active
 * ReplicaSets during a rolling update. */
static int scale(struct dsync *s, json_t *new_rs, struct rsvec *old)
{
    json_t *d = s->d;
    int desired = spec_replicas(d);
    json_t *aol = find_active_or_latest(new_rs, old);
    if (aol) {
        if (spec_replicas(aol) == desired)
            return 0;
        return scale_and_record(s, aol, desired, NULL);
    }
    if (is_saturated(d, new_rs)) {
        struct rsvec active = {0};
        rsvec_active(&active, old);
        int rc = 0;
        for (size_t i = 0; i < active.n && !rc; i++)
            rc = scale_and_record(s, active.v[i], 0, NULL);
        rsvec_free(&active);
        return rc;
    }
    if (!is_rolling_update(d))
        return 0;

    struct rsvec all = {0}, active = {0};
    rsvec_concat(&all, old, new_rs);
    rsvec_active(&active, &all);
    int total = replica_count(&active);
    int allowed = desired > 0 ? desired + max_surge(d) : 0;
    int to_add = allowed - total;
    const char *op = "";
    if (to_add > 0) {
        rsvec_sort(&active, cmp_size_newer);
        op = "up";
    } else if (to_add < 0) {
        rsvec_sort(&active, cmp_size_older);
        op = "down";
    }
    int *sizes = calloc(active.n ? active.n : 1, sizeof *sizes);
    int added = 0, rc = 0;
    if (!sizes)
        abort(); /* out of memory */
    for (size_t i = 0; i < active.n; i++) {
        if (to_add != 0) {
            int p = proportion(active.v[i], d, to_add, added);
            sizes[i] = spec_replicas(active.v[i]) + p;
            added += p;
        } else {
            sizes[i] = spec_replicas(active.v[i]);
        }
    }
    for (size_t i = 0; i < active.n && !rc; i++) {
        if (i == 0 && to_add != 0) {
            /* leftovers go to the largest */
            sizes[0] += to_add - added;
            if (sizes[0] < 0)
                sizes[0] = 0;
        }
        rc = scale_rs(s, active.v[i], sizes[i], op, NULL);
    }
    free(sizes);
    rsvec_free(&all);
    rsvec_free(&active);
    return rc;
}

/* cleanupDeployment: deletes old ReplicaSets at zero beyond revisionHistoryLimit. */
static int cleanup_deployment(struct dsync *s, const struct rsvec *old)
{
    if (!has_revision_history_limit(s->d))
        return 0;
    struct rsvec cleanable = {0};
    for (size_t i = 0; i < old->n; i++)
        if (!kc_json_path(old->v[i], "metadata.deletionTimestamp"))
            rsvec_push(&cleanable, old->v[i]);
    long long limit = kc_json_int(s->d, "spec.revisionHistoryLimit", 10);
    long long diff = (long long)cleanable.n - limit;
    int ret = 0;
    if (diff > 0) {
        rsvec_sort(&cleanable, cmp_revision);
        for (long long i = 0; i < diff; i++) {
            json_t *rs = cleanable.v[i];
            if (status_int(rs, "replicas") != 0 || spec_replicas(rs) != 0 ||
                kc_json_int(rs, "metadata.generation", 0) >
                    kc_json_int(rs, "status.observedGeneration", 0))
                continue;
            const char *name = kc_json_str(rs, "metadata.name");
            json_t *resp = NULL;
            int code = kc_delete(cl(), &KC_GVR_REPLICASETS, s->ns, name, NULL, NULL, -1, &resp);
            json_decref(resp);
            if (code != 200 && code != 202 && code != 404) {
                dlog("delete old replicaset %s/%s: %d", s->ns, name, code);
                ret = -1;
                break;
            }
        }
    }
    rsvec_free(&cleanable);
    return ret;
}

/* ---- status ---- */

static void set_omitempty(json_t *o, const char *k, long long v)
{
    if (v)
        json_object_set_new(o, k, json_integer(v));
}

/* calculateStatus. New reference. */
static json_t *calculate_status(const json_t *d, const struct rsvec *all, const json_t *new_rs)
{
    int available = sum_field(all, false, "availableReplicas");
    int total = replica_count(all);
    int unavailable = total - available;
    if (unavailable < 0)
        unavailable = 0;
    json_t *st = json_object();
    set_omitempty(st, "observedGeneration", kc_json_int(d, "metadata.generation", 0));
    set_omitempty(st, "replicas", sum_field(all, false, "replicas"));
    set_omitempty(st, "updatedReplicas", new_rs ? status_int(new_rs, "replicas") : 0);
    set_omitempty(st, "readyReplicas", sum_field(all, false, "readyReplicas"));
    set_omitempty(st, "availableReplicas", available);
    set_omitempty(st, "unavailableReplicas", unavailable);
    const json_t *conds = kc_json_path(d, "status.conditions");
    if (json_is_array(conds) && json_array_size(conds))
        json_object_set_new(st, "conditions", json_deep_copy(conds));
    const json_t *cc = kc_json_path(d, "status.collisionCount");
    if (cc)
        json_object_set(st, "collisionCount", (json_t *)cc);

    if (available >= spec_replicas(d) - max_unavailable(d))
        cond_set(st, cond_new("Available", "True", R_MIN_AVAILABLE,
                              "Deployment has minimum availability."));
    else
        cond_set(st, cond_new("Available", "False", R_MIN_UNAVAILABLE,
                              "Deployment does not have minimum availability."));
    return st;
}

/* Writes status st (stolen) unless it equals the current one. */
static int write_status(struct dsync *s, json_t *st)
{
    if (kc_json_equal(json_object_get(s->d, "status"), st)) {
        json_decref(st);
        return 0;
    }
    json_object_set_new(s->d, "status", st);
    return update_status(s);
}

/* syncDeploymentStatus. */
static int sync_deployment_status(struct dsync *s, const struct rsvec *old, json_t *new_rs)
{
    struct rsvec all = {0};
    rsvec_concat(&all, old, new_rs);
    int rc = write_status(s, calculate_status(s->d, &all, new_rs));
    rsvec_free(&all);
    return rc;
}

/* DeploymentComplete. */
static bool deployment_complete(const json_t *d, const json_t *st)
{
    int want = spec_replicas(d);
    return kc_json_int(st, "updatedReplicas", 0) == want &&
           kc_json_int(st, "replicas", 0) == want &&
           kc_json_int(st, "availableReplicas", 0) == want &&
           kc_json_int(st, "observedGeneration", 0) >= kc_json_int(d, "metadata.generation", 0);
}

/* DeploymentProgressing: more updated, fewer old, more ready or more available. */
static bool deployment_progressing(const json_t *d, const json_t *st)
{
    const json_t *old = json_object_get(d, "status");
    long long old_old = kc_json_int(old, "replicas", 0) - kc_json_int(old, "updatedReplicas", 0);
    long long new_old = kc_json_int(st, "replicas", 0) - kc_json_int(st, "updatedReplicas", 0);
    return kc_json_int(st, "updatedReplicas", 0) > kc_json_int(old, "updatedReplicas", 0) ||
           new_old < old_old ||
           kc_json_int(st, "readyReplicas", 0) > kc_json_int(old, "readyReplicas", 0) ||
           kc_json_int(st, "availableReplicas", 0) > kc_json_int(old, "availableReplicas", 0);
}

/* DeploymentTimedOut. */
static bool deployment_timed_out(const json_t *d, const json_t *st)
{
    if (!has_progress_deadline(d))
        return false;
    const json_t *c = cond_get(st, "Progressing");
    if (!c)
        return false;
    const char *reason = kc_json_str(c, "reason");
    if (str_eq(reason, R_NEW_RS_AVAILABLE))
        return false;
    if (str_eq(reason, R_TIMED_OUT))
        return true;
    time_t from = 0;
    if (kc_time_parse(str_or(kc_json_str(c, "lastUpdateTime"), ""), &from))
        return false;
    return from + kc_json_int(d, "spec.progressDeadlineSeconds", 600) < time(NULL);
}

/* requeueStuckDeployment: come back when the progress deadline would pass. */
static void requeue_stuck(struct dsync *s, const json_t *st)
{
    const json_t *cur = cond_get(json_object_get(s->d, "status"), "Progressing");
    if (!has_progress_deadline(s->d) || !cur)
        return;
    if (deployment_complete(s->d, st) || str_eq(kc_json_str(cur, "reason"), R_TIMED_OUT))
        return;
    time_t from = 0;
    if (kc_time_parse(str_or(kc_json_str(cur, "lastUpdateTime"), ""), &from))
        return;
    long long after = (long long)from + kc_json_int(s->d, "spec.progressDeadlineSeconds", 600) -
                      (long long)time(NULL);
    char key[512];
    snprintf(key, sizeof key, "%s/%s", s->ns, s->name);
    if (after < 1)
        kc_wq_add_rate_limited(g_dc.q, key);
    else
        kc_wq_add_after(g_dc.q, key, (after + 1) * 1000);
}

/* getReplicaFailures: the ReplicaFailure condition of the new ReplicaSet, else of any. */
static json_t *replica_failure(const struct rsvec *all, const json_t *new_rs)
{
    const json_t *found = NULL;
    if (new_rs)
        found = cond_get(json_object_get(new_rs, "status"), "ReplicaFailure");
    for (size_t i = 0; !found && i < all->n; i++)
        found = cond_get(json_object_get(all->v[i], "status"), "ReplicaFailure");
    if (!found)
        return NULL;
    const char *ltt = str_or(kc_json_str(found, "lastTransitionTime"), "");
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "ReplicaFailure", "status",
                     str_or(kc_json_str(found, "status"), "True"), "lastUpdateTime", ltt,
                     "lastTransitionTime", ltt, "reason", str_or(kc_json_str(found, "reason"), ""),
                     "message", str_or(kc_json_str(found, "message"), ""));
}

/* syncRolloutStatus: status plus the Progressing condition of a rollout. */
static int sync_rollout_status(struct dsync *s, const struct rsvec *old, json_t *new_rs)
{
    json_t *d = s->d;
    struct rsvec all = {0};
    rsvec_concat(&all, old, new_rs);
    json_t *st = calculate_status(d, &all, new_rs);
    const char *new_name = new_rs ? kc_json_str(new_rs, "metadata.name") : NULL;
    char msg[512];

    if (!has_progress_deadline(d))
        cond_remove(st, "Progressing");
    const json_t *cur = cond_get(json_object_get(d, "status"), "Progressing");
    bool complete_already =
        kc_json_int(st, "replicas", 0) == kc_json_int(st, "updatedReplicas", 0) && cur &&
        str_eq(kc_json_str(cur, "reason"), R_NEW_RS_AVAILABLE);
    if (has_progress_deadline(d) && !complete_already) {
        if (deployment_complete(d, st)) {
            if (new_name)
                snprintf(msg, sizeof msg, "ReplicaSet \"%s\" has successfully progressed.",
                         new_name);
            else
                snprintf(msg, sizeof msg, "Deployment \"%s\" has successfully progressed.",
                         s->name);
            cond_set(st, cond_new("Progressing", "True", R_NEW_RS_AVAILABLE, msg));
        } else if (deployment_progressing(d, st)) {
            if (new_name)
                snprintf(msg, sizeof msg, "ReplicaSet \"%s\" is progressing.", new_name);
            else
                snprintf(msg, sizeof msg, "Deployment \"%s\" is progressing.", s->name);
            json_t *c = cond_new("Progressing", "True", R_RS_UPDATED, msg);
            /* progress refreshes lastUpdateTime even with the same reason */
            if (cur) {
                if (str_eq(kc_json_str(cur, "status"), "True")) {
                    json_t *ltt = json_object_get(cur, "lastTransitionTime");
                    if (ltt)
                        json_object_set(c, "lastTransitionTime", ltt);
                }
                cond_remove(st, "Progressing");
            }
            cond_set(st, c);
        } else if (deployment_timed_out(d, st)) {
            if (new_name)
                snprintf(msg, sizeof msg, "ReplicaSet \"%s\" has timed out progressing.", new_name);
            else
                snprintf(msg, sizeof msg, "Deployment \"%s\" has timed out progressing.", s->name);
            cond_set(st, cond_new("Progressing", "False", R_TIMED_OUT, msg));
        }
    }
    json_t *failure = replica_failure(&all, new_rs);
    if (failure)
        cond_set(st, failure);
    else
        cond_remove(st, "ReplicaFailure");
    if (!json_array_size(json_object_get(st, "conditions")))
        json_object_del(st, "conditions");
    rsvec_free(&all);

    if (kc_json_equal(json_object_get(d, "status"), st)) {
        requeue_stuck(s, st);
        json_decref(st);
        return 0;
    }
    json_object_set_new(d, "status", st);
    return update_status(s);
}

/* checkPausedConditions. */
static int check_paused_conditions(struct dsync *s)
{
    json_t *d = s->d;
    if (!has_progress_deadline(d))
        return 0;
    const json_t *cond = cond_get(json_object_get(d, "status"), "Progressing");
    if (cond && str_eq(kc_json_str(cond, "reason"), R_TIMED_OUT))
        return 0; /* keep reporting the lack of progress */
    bool paused_cond = cond && str_eq(kc_json_str(cond, "reason"), R_PAUSED);
    if (is_paused(d) && !paused_cond)
        cond_set(status_of(d),
                 cond_new("Progressing", "Unknown", R_PAUSED, "Deployment is paused"));
    else if (!is_paused(d) && paused_cond)
        cond_set(status_of(d),
                 cond_new("Progressing", "Unknown", R_RESUMED, "Deployment is resumed"));
    else
        return 0;
    return update_status(s);
}

/* isScalingEvent: an active ReplicaSet whose desired-replicas differs from the spec. */
static int is_scaling_event(struct dsync *s, bool *scaling)
{
    json_t *new_rs = NULL;
    struct rsvec old = {0}, all = {0}, active = {0};
    *scaling = false;
    int rc = get_all_rss(s, false, &new_rs, &old);
    if (rc)
        goto out;
    rsvec_concat(&all, &old, new_rs);
    rsvec_active(&active, &all);
    for (size_t i = 0; i < active.n; i++) {
        const char *desired = annotation(active.v[i], DESIRED_ANN);
        char *end = NULL;
        if (!desired || !*desired)
            continue;
        long v = strtol(desired, &end, 10);
        if (end && !*end && v != spec_replicas(s->d)) {
            *scaling = true;
            break;
        }
    }
out:
    rsvec_free(&old);
    rsvec_free(&all);
    rsvec_free(&active);
    return rc;
}

/* sync: scaling events and paused Deployments. */
static int sync_scale(struct dsync *s)
{
    json_t *new_rs = NULL;
    struct rsvec old = {0};
    int rc = get_all_rss(s, false, &new_rs, &old);
    if (!rc)
        rc = scale(s, new_rs, &old);
    if (!rc && is_paused(s->d))
        rc = cleanup_deployment(s, &old);
    if (!rc)
        rc = sync_deployment_status(s, &old, new_rs);
    rsvec_free(&old);
    return rc;
}

/* ---- RollingUpdate (rolling.go) ---- */

static int reconcile_new_rs(struct dsync *s, const struct rsvec *all, json_t *new_rs, bool *scaled)
{
    int desired = spec_replicas(s->d);
    *scaled = false;
    if (spec_replicas(new_rs) == desired)
        return 0;
    if (spec_replicas(new_rs) > desired)
        return scale_and_record(s, new_rs, desired, scaled);
    return scale_and_record(s, new_rs, new_rs_new_replicas(s->d, all, new_rs), scaled);
}

/* cleanupUnhealthyReplicas: scales old ReplicaSets down by their unavailable pods first. */
static int cleanup_unhealthy(struct dsync *s, struct rsvec *old, int max_cleanup, int *cleaned)
{
    *cleaned = 0;
    rsvec_sort(old, cmp_creation);
    for (size_t i = 0; i < old->n; i++) {
        json_t *rs = old->v[i];
        if (*cleaned >= max_cleanup)
            break;
        int replicas = spec_replicas(rs);
        int avail = status_int(rs, "availableReplicas");
        if (replicas == 0 || replicas == avail)
            continue;
        int down = max_cleanup - *cleaned;
        if (replicas - avail < down)
            down = replicas - avail;
        int target = replicas - down;
        if (target > replicas)
            return -1;
        if (scale_and_record(s, rs, target, NULL))
            return -1;
        *cleaned += down;
    }
    return 0;
}

/* scaleDownOldReplicaSetsForRollingUpdate: never below replicas - maxUnavailable. */
static int scale_down_old_rolling(struct dsync *s, const struct rsvec *all, struct rsvec *old,
                                  int *scaled_down)
{
    *scaled_down = 0;
    int min_available = spec_replicas(s->d) - max_unavailable(s->d);
    int available = sum_field(all, false, "availableReplicas");
    if (available <= min_available)
        return 0;
    rsvec_sort(old, cmp_creation);
    int total = available - min_available;
    for (size_t i = 0; i < old->n; i++) {
        json_t *rs = old->v[i];
        if (*scaled_down >= total)
            break;
        int replicas = spec_replicas(rs);
        if (replicas == 0)
            continue;
        int down = total - *scaled_down;
        if (replicas < down)
            down = replicas;
        if (scale_and_record(s, rs, replicas - down, NULL))
            return -1;
        *scaled_down += down;
    }
    return 0;
}

/* reconcileOldReplicaSets. old: the active old ReplicaSets. */
static int reconcile_old_rss(struct dsync *s, const struct rsvec *all, struct rsvec *old,
                             json_t *new_rs, bool *scaled)
{
    *scaled = false;
    int old_pods = replica_count(old);
    if (old_pods == 0)
        return 0;
    int all_pods = replica_count(all);
    int min_available = spec_replicas(s->d) - max_unavailable(s->d);
    int new_unavailable = spec_replicas(new_rs) - status_int(new_rs, "availableReplicas");
    int max_scaled_down = all_pods - min_available - new_unavailable;
    if (max_scaled_down <= 0)
        return 0;
    /* Unhealthy replicas first: removing them does not lower availability. Errors are
     * dropped as upstream does; the next sync retries. */
    int cleaned = 0, down = 0;
    if (cleanup_unhealthy(s, old, max_scaled_down, &cleaned))
        return 0;
    struct rsvec all2 = {0};
    rsvec_concat(&all2, old, new_rs);
    int rc = scale_down_old_rolling(s, &all2, old, &down);
    rsvec_free(&all2);
    if (rc)
        return 0;
    *scaled = cleaned + down > 0;
    return 0;
}

static int rollout_rolling(struct dsync *s)
{
    json_t *new_rs = NULL;
    struct rsvec old = {0}, all = {0}, active_old = {0};
    bool scaled = false;
    int rc = get_all_rss(s, true, &new_rs, &old);
    if (rc)
        goto out;
    if (!new_rs) {
        rc = -1; /* not created (a collision or an error): come back */
        goto out;
    }
    rsvec_concat(&all, &old, new_rs);

    rc = reconcile_new_rs(s, &all, new_rs, &scaled);
    if (rc)
        goto out;
    if (scaled) {
        rc = sync_rollout_status(s, &old, new_rs);
        goto out;
    }
    rsvec_active(&active_old, &old);
    rc = reconcile_old_rss(s, &all, &active_old, new_rs, &scaled);
    if (rc)
        goto out;
    if (scaled) {
        rc = sync_rollout_status(s, &old, new_rs);
        goto out;
    }
    if (deployment_complete(s->d, json_object_get(s->d, "status"))) {
        rc = cleanup_deployment(s, &old);
        if (rc)
            goto out;
    }
    rc = sync_rollout_status(s, &old, new_rs);
out:
    rsvec_free(&old);
    rsvec_free(&all);
    rsvec_free(&active_old);
    return rc;
}

/* ---- Recreate (recreate.go) ---- */

/* oldPodsRunning: old ReplicaSets report pods, or pods of theirs are not terminal. */
static bool old_pods_running(struct dsync *s, const json_t *new_rs, const struct rsvec *old)
{
    if (sum_field(old, false, "replicas") > 0)
        return true;
    for (size_t i = 0; i < s->rs.n; i++) {
        if (s->rs.v[i] == new_rs)
            continue;
        if (count_rs_pods(s->rs.v[i], s->sel, false) > 0)
            return true;
    }
    return false;
}

static int rollout_recreate(struct dsync *s)
{
    json_t *new_rs = NULL;
    struct rsvec old = {0}, active_old = {0};
    bool scaled_down = false;
    int rc = get_all_rss(s, false, &new_rs, &old);
    if (rc)
        goto out;
    rsvec_active(&active_old, &old);
    for (size_t i = 0; i < active_old.n; i++) {
        bool scaled = false;
        rc = scale_and_record(s, active_old.v[i], 0, &scaled);
        if (rc)
            goto out;
        scaled_down = scaled_down || scaled;
    }
    if (scaled_down || old_pods_running(s, new_rs, &old)) {
        /* wait for the old pods to be gone before the new ones start */
        rc = sync_rollout_status(s, &old, new_rs);
        goto out;
    }
    if (!new_rs) {
        rc = get_all_rss(s, true, &new_rs, &old);
        if (rc)
            goto out;
        if (!new_rs) {
            rc = -1;
            goto out;
        }
    }
    rc = scale_and_record(s, new_rs, spec_replicas(s->d), NULL);
    if (rc)
        goto out;
    if (deployment_complete(s->d, json_object_get(s->d, "status"))) {
        rc = cleanup_deployment(s, &old);
        if (rc)
            goto out;
    }
    rc = sync_rollout_status(s, &old, new_rs);
out:
    rsvec_free(&old);
    rsvec_free(&active_old);
    return rc;
}

/* ---- adoption (ControllerRefManager.ClaimReplicaSets) ---- */

/* RecheckDeletionTimestamp: a fresh read decides whether adopting is still right. */
static int can_adopt(struct dsync *s, int *state)
{
    if (*state)
        return *state > 0 ? 0 : -1;
    json_t *fresh = NULL;
    int code = kc_get(cl(), &KC_GVR_DEPLOYMENTS, s->ns, s->name, &fresh);
    bool ok = code == 200 &&
              str_eq(kc_json_str(fresh, "metadata.uid"), kc_json_str(s->d, "metadata.uid")) &&
              !kc_json_path(fresh, "metadata.deletionTimestamp");
    json_decref(fresh);
    *state = ok ? 1 : -1;
    return ok ? 0 : -1;
}

/* Adopts (adopt) or releases a ReplicaSet. Upstream sends a strategic merge patch; kubec's
 * apiserver replaces metadata.ownerReferences on such a patch instead of merging by uid,
 * so this is a JSON patch guarded by the cached resourceVersion (a stale cache fails the
 * test and the sync is retried). Returns the HTTP code; *out gets the answer (new ref). */
static int patch_owner(struct dsync *s, const json_t *rs, bool adopt, json_t **out)
{
    const char *duid = str_or(kc_json_str(s->d, "metadata.uid"), "");
    const json_t *refs = kc_json_path(rs, "metadata.ownerReferences");
    json_t *ops = json_pack("[{s:s, s:s, s:s}]", "op", "test", "path", "/metadata/resourceVersion",
                            "value", str_or(kc_json_str(rs, "metadata.resourceVersion"), ""));
    if (adopt) {
        json_t *ref = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "apps/v1", "kind",
                                "Deployment", "name", s->name, "uid", duid, "controller", 1,
                                "blockOwnerDeletion", 1);
        if (json_is_array(refs))
            json_array_append_new(ops, json_pack("{s:s, s:s, s:o}", "op", "add", "path",
                                                 "/metadata/ownerReferences/-", "value", ref));
        else
            json_array_append_new(ops, json_pack("{s:s, s:s, s:[o]}", "op", "add", "path",
                                                 "/metadata/ownerReferences", "value", ref));
    } else {
        size_t i;
        json_t *r;
        json_array_foreach (refs, i, r) {
            if (str_eq(kc_json_str(r, "uid"), duid)) {
                char path[64];
                snprintf(path, sizeof path, "/metadata/ownerReferences/%zu", i);
                json_array_append_new(ops, json_pack("{s:s, s:s}", "op", "remove", "path", path));
                break;
            }
        }
    }
    int code = kc_patch(cl(), &KC_GVR_REPLICASETS, s->ns, kc_json_str(rs, "metadata.name"), NULL,
                        "application/json-patch+json", ops, out);
    json_decref(ops);
    return code;
}

/* getReplicaSetsForDeployment: fills s->rs with the ReplicaSets the Deployment owns after
 * adopting matching orphans and releasing owned ones that no longer match. */
static int claim_replicasets(struct dsync *s)
{
    json_t *list = kc_informer_list(g_dc.ctx->replicasets, s->ns);
    const char *duid = kc_json_str(s->d, "metadata.uid");
    bool deleting = kc_json_path(s->d, "metadata.deletionTimestamp") != NULL;
    int adopt_state = 0, ret = 0;
    size_t i;
    json_t *rs;
    json_array_foreach (list, i, rs) {
        const json_t *ref = kc_ctl_controller_ref(rs);
        bool match = selector_matches_obj(s->sel, rs);
        json_t *resp = NULL;
        int code;
        if (ref) {
            if (!str_eq(kc_json_str(ref, "uid"), duid))
                continue; /* someone else's */
            if (match) {
                rsvec_push(&s->rs, own_rs(s, rs));
                continue;
            }
            if (deleting)
                continue;
            code = patch_owner(s, rs, false, &resp);
            json_decref(resp);
            if (code != 200 && code != 404) {
                if (code != 422) /* 422: the resourceVersion test failed, a stale cache */
                    dlog("release replicaset %s/%s: %d", s->ns, kc_json_str(rs, "metadata.name"),
                         code);
                ret = -1;
            }
            continue;
        }
        if (deleting || !match || kc_json_path(rs, "metadata.deletionTimestamp"))
            continue;
        if (can_adopt(s, &adopt_state)) {
            ret = -1;
            break;
        }
        code = patch_owner(s, rs, true, &resp);
        if (code == 200) {
            rsvec_push(&s->rs, own_rs(s, resp));
        } else if (code != 404) {
            if (code != 422)
                dlog("adopt replicaset %s/%s: %d", s->ns, kc_json_str(rs, "metadata.name"), code);
            ret = -1;
        }
        json_decref(resp);
    }
    json_decref(list);
    return ret;
}

/* syncDeployment. 0 when done (forget the key), -1 to retry with back-off. */
static int sync_deployment(const char *key)
{
    char ns[256], name[256];
    kc_key_split(key, ns, sizeof ns, name, sizeof name);
    json_t *cached = kc_informer_get_ns(g_dc.ctx->deployments, ns, name);
    if (!cached)
        return 0; /* deleted */
    struct dsync s = {0};
    int rc = 0;
    s.d = json_deep_copy(cached);
    json_decref(cached);
    s.owned = json_array();
    s.ns = kc_json_str(s.d, "metadata.namespace");
    s.name = kc_json_str(s.d, "metadata.name");
    if (!s.ns || !s.name)
        goto out;
    if (!json_object_get(s.d, "kind"))
        json_object_set_new(s.d, "kind", json_string("Deployment"));
    if (!json_object_get(s.d, "apiVersion"))
        json_object_set_new(s.d, "apiVersion", json_string("apps/v1"));

    const json_t *sel = kc_json_path(s.d, "spec.selector");
    if (!json_object_size(kc_json_path(sel, "matchLabels")) &&
        !json_array_size(kc_json_path(sel, "matchExpressions"))) {
        kc_event(g_dc.rec, s.d, "Warning", "SelectingAll",
                 "This deployment is selecting all pods. A non-empty selector is required.");
        long long gen = kc_json_int(s.d, "metadata.generation", 0);
        if (kc_json_int(s.d, "status.observedGeneration", 0) < gen) {
            json_object_set_new(status_of(s.d), "observedGeneration", json_integer(gen));
            update_status(&s);
        }
        goto out;
    }
    s.sel = selector_of(s.d);
    if (!s.sel) {
        dlog("deployment %s has an invalid label selector", key);
        goto out; /* retrying does not help */
    }
    rc = claim_replicasets(&s);
    if (rc)
        goto out;

    if (kc_json_path(s.d, "metadata.deletionTimestamp")) {
        json_t *new_rs = NULL;
        struct rsvec old = {0};
        rc = get_all_rss(&s, false, &new_rs, &old);
        if (!rc)
            rc = sync_deployment_status(&s, &old, new_rs);
        rsvec_free(&old);
        goto out;
    }
    rc = check_paused_conditions(&s);
    if (rc)
        goto out;
    if (is_paused(s.d)) {
        rc = sync_scale(&s);
        goto out;
    }
    bool scaling = false;
    rc = is_scaling_event(&s, &scaling);
    if (rc)
        goto out;
    if (scaling) {
        rc = sync_scale(&s);
        goto out;
    }
    if (is_recreate(s.d))
        rc = rollout_recreate(&s);
    else if (is_rolling_update(s.d))
        rc = rollout_rolling(&s);
    else
        dlog("deployment %s: unexpected strategy type %s", key,
             str_or(kc_json_str(s.d, "spec.strategy.type"), ""));
out:
    kc_selector_free(s.sel);
    rsvec_free(&s.rs);
    json_decref(s.owned);
    json_decref(s.d);
    return rc;
}

static void *worker(void *arg)
{
    (void)arg;
    if (!kc_ctl_wait_synced(g_dc.ctx))
        return NULL;
    for (;;) {
        char *key = kc_wq_get(g_dc.q);
        if (!key)
            break;
        if (sync_deployment(key) == 0) {
            kc_wq_forget(g_dc.q, key);
        } else if (kc_wq_num_requeues(g_dc.q, key) < MAX_RETRIES) {
            kc_wq_add_rate_limited(g_dc.q, key);
        } else {
            dlog("dropping deployment %s out of the queue", key);
            kc_wq_forget(g_dc.q, key);
        }
        kc_wq_done(g_dc.q, key);
        free(key);
    }
    return NULL;
}

int kc_ctl_deployment_start(struct kc_ctl_ctx *ctx)
{
    g_dc.ctx = ctx;
    g_dc.q = kc_wq_new("deployment");
    g_dc.rec = kc_recorder_new(ctx->client, "deployment-controller");
    if (!g_dc.q || !g_dc.rec) {
        fprintf(stderr, "deployment-controller: cannot allocate its queue or recorder\n");
        return -1;
    }
    kc_ctl_register_queue(ctx, g_dc.q);

    struct kc_informer_handlers dh = {.on_add = on_deployment_add,
                                      .on_update = on_deployment_update,
                                      .on_delete = on_deployment_delete};
    struct kc_informer_handlers rh = {
        .on_add = on_rs_add, .on_update = on_rs_update, .on_delete = on_rs_delete};
    struct kc_informer_handlers ph = {.on_delete = on_pod_delete};
    kc_informer_add_handlers(ctx->deployments, &dh);
    kc_informer_add_handlers(ctx->replicasets, &rh);
    kc_informer_add_handlers(ctx->pods, &ph);

    int n = ctx->opt.concurrent_syncs > 0 ? ctx->opt.concurrent_syncs : 1;
    if (kc_ctl_spawn_workers(n, worker, NULL)) {
        fprintf(stderr, "deployment-controller: cannot start its workers\n");
        return -1;
    }
    return 0;
}
