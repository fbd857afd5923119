/* The ReplicaSet controller, after upstream kube-controller-manager's
 * pkg/controller/replicaset: keeps spec.replicas active pods for every ReplicaSet.
 *
 * Informer handlers only enqueue "ns/name" keys of ReplicaSets (and lower expectations);
 * workers sync one key at a time:
 *   1. claim pods: adopt matching orphans, release owned pods that no longer match;
 *   2. when the expectations of earlier creates/deletes are met, create the missing pods
 *      (slow-start batches 1, 2, 4, ...) or delete the least useful extra ones;
 *   3. write status (replicas, fullyLabeled, ready, available, observedGeneration and the
 *      ReplicaFailure condition) through the status subresource.
 *
 * Expectations are what keep a burst of events from over-creating: after asking for N
 * creates, a ReplicaSet is not scaled again until the pod informer has shown those N pods
 * (or five minutes passed), since until then the cache lags behind what we did.
 *
 * Ownership: objects from the informers are shared and immutable; every json_t this file
 * builds is owned by the function that built it unless a comment says otherwise. */
#include "controllers/controller.h"

#include "client/pool.h"
#include "lib/jsonx.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Upstream's BurstReplicas: at most this many creates or deletes per sync. */
#define RS_BURST_REPLICAS 500
/* Creates or deletes in flight at once, over all ReplicaSets (each is one connection). */
#define RS_PARALLEL_REQUESTS 16
/* Upstream's ExpectationsTimeout: a lost watch event must not stall a ReplicaSet forever. */
#define RS_EXPECTATIONS_TTL_S 300.0
#define RS_EXP_BUCKETS 256
#define RS_DELETION_COST_ANNOTATION "controller.kubernetes.io/pod-deletion-cost"

/* Creates and deletes of one ReplicaSet still in flight. Deletes are tracked by pod key
 * (upstream's UIDTrackingControllerExpectations) because a graceful delete shows up twice,
 * as an update with deletionTimestamp and later as the delete; only the first may count. */
struct rs_expectation {
    struct rs_expectation *next;
    char *key; /* "ns/name" of the ReplicaSet, owned */
    long add;  /* creates not yet observed */
    long del;  /* deletes not yet observed */
    double stamp;
    char **del_keys; /* owned pod keys whose deletion we still expect */
    size_t n_del_keys;
};

struct rs_controller {
    struct kc_ctl_ctx *ctx;
    struct kc_workqueue *q;
    struct kc_recorder *rec;
    pthread_mutex_t mu; /* guards exp */
    struct rs_expectation *exp[RS_EXP_BUCKETS];
    struct kc_pool *pool; /* runs the creates and deletes of a batch in parallel */
};

/* The one controller instance. Workers are detached threads that may outlive any scope, so
 * it lives as long as the process (kept reachable here). */
static struct rs_controller *g_rsc;

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- expectations ---- */

static unsigned exp_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % RS_EXP_BUCKETS;
}

/* The link that points at key's record (or at the NULL ending its bucket). Locked. */
static struct rs_expectation **exp_link(struct rs_controller *rsc, const char *key)
{
    struct rs_expectation **pp = &rsc->exp[exp_hash(key)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

static void exp_free_del_keys(struct rs_expectation *e)
{
    for (size_t i = 0; i < e->n_del_keys; i++)
        free(e->del_keys[i]);
    free(e->del_keys);
    e->del_keys = NULL;
    e->n_del_keys = 0;
}

/* Replaces key's record. del_keys (n of them, may be NULL) are copied. */
static void exp_set(struct rs_controller *rsc, const char *key, long add, char **del_keys, size_t n)
{
    pthread_mutex_lock(&rsc->mu);
    struct rs_expectation **pp = exp_link(rsc, key);
    struct rs_expectation *e = *pp;
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            goto out;
        e->key = strdup(key);
        if (!e->key) {
            free(e);
            goto out;
        }
        *pp = e;
    }
    exp_free_del_keys(e);
    e->add = add;
    e->del = 0;
    e->stamp = mono_now();
    if (n > 0) {
        e->del_keys = calloc(n, sizeof *e->del_keys);
        for (size_t i = 0; e->del_keys && i < n; i++) {
            e->del_keys[e->n_del_keys] = strdup(del_keys[i]);
            if (e->del_keys[e->n_del_keys])
                e->n_del_keys++;
        }
        e->del = (long)e->n_del_keys;
    }
out:
    pthread_mutex_unlock(&rsc->mu);
}

static void exp_creations_observed(struct rs_controller *rsc, const char *key, long n)
{
    pthread_mutex_lock(&rsc->mu);
    struct rs_expectation *e = *exp_link(rsc, key);
    if (e)
        e->add -= n;
    pthread_mutex_unlock(&rsc->mu);
}

static void exp_deletion_observed(struct rs_controller *rsc, const char *key, const char *pod_key)
{
    pthread_mutex_lock(&rsc->mu);
    struct rs_expectation *e = *exp_link(rsc, key);
    for (size_t i = 0; e && i < e->n_del_keys; i++) {
        if (strcmp(e->del_keys[i], pod_key) == 0) {
            free(e->del_keys[i]);
            e->del_keys[i] = e->del_keys[--e->n_del_keys];
            e->del--;
            break;
        }
    }
    pthread_mutex_unlock(&rsc->mu);
}

/* True when the ReplicaSet may be scaled: no record, everything observed, or expired. */
static bool exp_satisfied(struct rs_controller *rsc, const char *key)
{
    bool ok = true;
    pthread_mutex_lock(&rsc->mu);
    struct rs_expectation *e = *exp_link(rsc, key);
    if (e && (e->add > 0 || e->del > 0) && mono_now() - e->stamp < RS_EXPECTATIONS_TTL_S)
        ok = false;
    pthread_mutex_unlock(&rsc->mu);
    return ok;
}

/* Forgets key, so that a new ReplicaSet of the same name starts clean. */
static void exp_delete(struct rs_controller *rsc, const char *key)
{
    pthread_mutex_lock(&rsc->mu);
    struct rs_expectation **pp = exp_link(rsc, key);
    struct rs_expectation *e = *pp;
    if (e) {
        *pp = e->next;
        exp_free_del_keys(e);
        free(e->key);
        free(e);
    }
    pthread_mutex_unlock(&rsc->mu);
}

/* ---- small object helpers ---- */

static const char *meta_str(const json_t *obj, const char *field)
{
    return json_string_value(json_object_get(json_object_get(obj, "metadata"), field));
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static bool is_deleting(const json_t *obj)
{
    return kc_json_path(obj, "metadata.deletionTimestamp") != NULL;
}

static int rs_replicas(const json_t *rs)
{
    return (int)kc_json_int(rs, "spec.replicas", 1);
}

/* The ReplicaSet's selector (NULL when invalid). An empty selector selects nothing here, as
 * upstream's GetPodReplicaSets and claiming treat it: a ReplicaSet must never take every
 * pod of its namespace. */
static struct kc_selector *rs_selector(const json_t *rs)
{
    struct kc_selector *sel = NULL;
    char err[256];
    const json_t *js = kc_json_path(rs, "spec.selector");
    if (!json_is_object(js) || kc_label_selector_from_json(js, &sel, err, sizeof err) != 0) {
        fprintf(stderr, "replicaset: %s/%s: invalid selector: %s\n", meta_str(rs, "namespace"),
                meta_str(rs, "name"), js ? err : "missing");
        return NULL;
    }
    if (kc_selector_empty(sel)) {
        kc_selector_free(sel);
        return NULL;
    }
    return sel;
}

static bool selector_matches_pod(const struct kc_selector *sel, const json_t *pod)
{
    return sel && kc_label_selector_matches(sel, kc_json_path(pod, "metadata.labels"));
}

/* The ReplicaSet a controllerRef names, if it is still the same object (uid): a new
 * reference, or NULL. */
static json_t *resolve_controller_ref(struct rs_controller *rsc, const char *ns, const json_t *ref)
{
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    const char *uid = json_string_value(json_object_get(ref, "uid"));
    if (!str_eq(kind, "ReplicaSet") || !name || !ns)
        return NULL;
    json_t *rs = kc_informer_get_ns(rsc->ctx->replicasets, ns, name);
    if (rs && !str_eq(meta_str(rs, "uid"), uid)) {
        json_decref(rs);
        return NULL;
    }
    return rs;
}

static void enqueue_key(struct rs_controller *rsc, const json_t *rs, long delay_ms)
{
    char key[512];
    kc_object_key(key, sizeof key, rs);
    if (delay_ms > 0)
        kc_wq_add_after(rsc->q, key, delay_ms);
    else
        kc_wq_add(rsc->q, key);
}

/* Enqueues every ReplicaSet of the pod's namespace whose selector matches it: an orphan
 * may be adopted by one of them. */
static void enqueue_matching_rss(struct rs_controller *rsc, const json_t *pod)
{
    const char *ns = meta_str(pod, "namespace");
    if (!ns)
        return;
    json_t *rss = kc_informer_by_index(rsc->ctx->replicasets, "namespace", ns);
    size_t i;
    json_t *rs;
    json_array_foreach (rss, i, rs) {
        struct kc_selector *sel = rs_selector(rs);
        if (selector_matches_pod(sel, pod))
            enqueue_key(rsc, rs, 0);
        kc_selector_free(sel);
    }
    json_decref(rss);
}

/* ---- informer handlers (informer threads; must not block) ---- */

static void on_rs_add(void *arg, const json_t *rs)
{
    struct rs_controller *rsc = arg;
    enqueue_key(rsc, rs, 0);
}

static void on_rs_delete(void *arg, const json_t *rs)
{
    struct rs_controller *rsc = arg;
    char key[512];
    kc_object_key(key, sizeof key, rs);
    exp_delete(rsc, key);
    kc_wq_add(rsc->q, key);
}

static void on_rs_update(void *arg, const json_t *old_rs, const json_t *cur_rs)
{
    struct rs_controller *rsc = arg;
    /* Deleted and re-created under the same name between two events: drop the old one's
     * expectations first. */
    if (!str_eq(meta_str(old_rs, "uid"), meta_str(cur_rs, "uid")))
        on_rs_delete(rsc, old_rs);
    /* Every update syncs, not only spec changes (a resync then retries ReplicaSets whose
     * earlier creates failed), except our own status writes: they change nothing the
     * sync looks at, and a sync costs a look at every pod the ReplicaSet owns. */
    if (!str_eq(meta_str(old_rs, "resourceVersion"), meta_str(cur_rs, "resourceVersion")) &&
        kc_json_only_status_changed(old_rs, cur_rs))
        return;
    enqueue_key(rsc, cur_rs, 0);
}

/* How long status-only pod changes wait to be synced together. */
#define POD_STATUS_BATCH_MS 100

/* A pod of ours went away (or started terminating): lower the delete expectation. */
static void pod_deleted(struct rs_controller *rsc, const json_t *pod)
{
    const json_t *ref = kc_ctl_controller_ref(pod);
    if (!ref)
        return; /* no controller waits for an orphan's deletion */
    json_t *rs = resolve_controller_ref(rsc, meta_str(pod, "namespace"), ref);
    if (!rs)
        return;
    char key[512], pod_key[512];
    kc_object_key(key, sizeof key, rs);
    kc_object_key(pod_key, sizeof pod_key, pod);
    exp_deletion_observed(rsc, key, pod_key);
    kc_wq_add(rsc->q, key);
    json_decref(rs);
}

static void on_pod_add(void *arg, const json_t *pod)
{
    struct rs_controller *rsc = arg;
    if (is_deleting(pod)) {
        /* Seen for the first time already terminating (e.g. after a restart): that is no
         * creation we are waiting for. */
        pod_deleted(rsc, pod);
        return;
    }
    const json_t *ref = kc_ctl_controller_ref(pod);
    if (ref) {
        json_t *rs = resolve_controller_ref(rsc, meta_str(pod, "namespace"), ref);
        if (!rs)
            return;
        char key[512];
        kc_object_key(key, sizeof key, rs);
        exp_creations_observed(rsc, key, 1);
        /* The last pod of a burst of creates lets the ReplicaSet scale again: sync now.
         * Until then a sync could only recount status, so the pods of a burst are
         * gathered like status changes (a sync looks at every pod the ReplicaSet owns;
         * one per created pod made a 10,000-pod rollout quadratic). */
        if (exp_satisfied(rsc, key))
            kc_wq_add(rsc->q, key);
        else
            kc_wq_add_after(rsc->q, key, POD_STATUS_BATCH_MS);
        json_decref(rs);
        return;
    }
    /* An orphan: no creation is observed (nobody waits for it), but whoever matches may
     * adopt it. */
    enqueue_matching_rss(rsc, pod);
}

static void on_pod_update(void *arg, const json_t *old_pod, const json_t *cur_pod)
{
    struct rs_controller *rsc = arg;
    /* A periodic resync delivers (obj, obj): nothing changed. */
    if (str_eq(meta_str(old_pod, "resourceVersion"), meta_str(cur_pod, "resourceVersion")))
        return;
    bool label_changed = !kc_json_equal(kc_json_path(old_pod, "metadata.labels"),
                                        kc_json_path(cur_pod, "metadata.labels"));
    if (is_deleting(cur_pod)) {
        /* A graceful delete: replace the pod now rather than when it is finally gone. */
        pod_deleted(rsc, cur_pod);
        if (label_changed)
            pod_deleted(rsc, old_pod);
        return;
    }
    const json_t *cur_ref = kc_ctl_controller_ref(cur_pod);
    const json_t *old_ref = kc_ctl_controller_ref(old_pod);
    bool ref_changed = !kc_json_equal(cur_ref, old_ref);
    if (ref_changed && old_ref) {
        json_t *old_rs = resolve_controller_ref(rsc, meta_str(old_pod, "namespace"), old_ref);
        if (old_rs)
            enqueue_key(rsc, old_rs, 0);
        json_decref(old_rs);
    }
    if (cur_ref) {
        json_t *rs = resolve_controller_ref(rsc, meta_str(cur_pod, "namespace"), cur_ref);
        if (!rs)
            return;
        /* Status-only changes (readiness, IPs) only move the counts in the ReplicaSet's
         * status: gather a burst of them into one sync, since each sync looks at every
         * pod the ReplicaSet owns. */
        enqueue_key(rsc, rs, label_changed || ref_changed ? 0 : POD_STATUS_BATCH_MS);
        /* The pod turns available minReadySeconds after turning ready and no event says so:
         * look again then (one second more against clock granularity). */
        long mrs = (long)kc_json_int(rs, "spec.minReadySeconds", 0);
        if (mrs > 0 && !kc_pod_is_ready(old_pod) && kc_pod_is_ready(cur_pod))
            enqueue_key(rsc, rs, (mrs + 1) * 1000);
        json_decref(rs);
        return;
    }
    if (label_changed || ref_changed)
        enqueue_matching_rss(rsc, cur_pod);
}

static void on_pod_delete(void *arg, const json_t *pod)
{
    pod_deleted(arg, pod);
}

/* ---- claiming: adoption and release ---- */

/* The object events are recorded against (new reference): informer objects may lack kind
 * and apiVersion, which involvedObject needs. */
static json_t *rs_event_ref(const json_t *rs)
{
    return json_pack("{s:s, s:s, s:{s:s?, s:s?, s:s?, s:s?}}", "kind", "ReplicaSet", "apiVersion",
                     "apps/v1", "metadata", "namespace", meta_str(rs, "namespace"), "name",
                     meta_str(rs, "name"), "uid", meta_str(rs, "uid"), "resourceVersion",
                     meta_str(rs, "resourceVersion"));
}

/* The controllerRef our pods carry (new reference). */
static json_t *rs_controller_ref(const json_t *rs)
{
    return json_pack("{s:s, s:s, s:s?, s:s?, s:b, s:b}", "apiVersion", "apps/v1", "kind",
                     "ReplicaSet", "name", meta_str(rs, "name"), "uid", meta_str(rs, "uid"),
                     "controller", 1, "blockOwnerDeletion", 1);
}

/* The Status message of a failed call, or a fixed text when there was no answer. */
static const char *status_message(int code, const json_t *status)
{
    const char *m = kc_json_str(status, "message");
    if (m && *m)
        return m;
    return code < 0 ? "no answer from the apiserver" : "request failed";
}

/* Upstream's canAdopt: before the first adoption re-read the ReplicaSet from the apiserver
 * (not the cache) so that a ReplicaSet just deleted does not grab pods. 0 when it may. */
static int recheck_can_adopt(struct rs_controller *rsc, const json_t *rs)
{
    json_t *fresh = NULL;
    int ret = -1;
    int code = kc_get(rsc->ctx->client, &KC_GVR_REPLICASETS, meta_str(rs, "namespace"),
                      meta_str(rs, "name"), &fresh);
    if (code != 200) {
        fprintf(stderr, "replicaset: %s/%s: cannot re-read before adopting: %d %s\n",
                meta_str(rs, "namespace"), meta_str(rs, "name"), code, status_message(code, fresh));
        goto out;
    }
    if (!str_eq(meta_str(fresh, "uid"), meta_str(rs, "uid")) || is_deleting(fresh))
        goto out; /* gone, replaced or being deleted: must not adopt */
    ret = 0;
out:
    json_decref(fresh);
    return ret;
}

/* PATCHes a pod (patch borrowed). A failure is logged unless it is an expected one
 * (quiet_code). Returns the HTTP status code or -1. */
static int patch_pod(struct rs_controller *rsc, const json_t *pod, const char *type,
                     const json_t *patch, int quiet_code)
{
    json_t *out = NULL;
    int code = kc_patch(rsc->ctx->client, &KC_GVR_PODS, meta_str(pod, "namespace"),
                        meta_str(pod, "name"), NULL, type, patch, &out);
    if ((code < 200 || code > 299) && code != quiet_code)
        fprintf(stderr, "replicaset: patching ownerReferences of pod %s/%s: %d %s\n",
                meta_str(pod, "namespace"), meta_str(pod, "name"), code, status_message(code, out));
    json_decref(out);
    return code;
}

/* Strategic merge patch of a pod's ownerReferences with one element (stolen), as upstream
 * writes them; metadata.uid in the patch is a precondition (uid is immutable, so a
 * re-created pod of the same name fails validation instead of being patched). */
static int smp_owner_refs(struct rs_controller *rsc, const json_t *pod, json_t *elem,
                          int quiet_code)
{
    json_t *patch = json_pack("{s:{s:[o], s:s?}}", "metadata", "ownerReferences", elem, "uid",
                              meta_str(pod, "uid"));
    if (!patch)
        return -1;
    int code = patch_pod(rsc, pod, "application/strategic-merge-patch+json", patch, quiet_code);
    json_decref(patch);
    return code;
}

/* 0 adopted, 1 the pod is gone, -1 error. */
static int adopt_pod(struct rs_controller *rsc, const json_t *rs, const json_t *pod)
{
    json_t *ref = rs_controller_ref(rs);
    if (!ref)
        return -1;
    /* ownerReferences merge by uid: other owners of the pod stay. */
    int code = smp_owner_refs(rsc, pod, ref, 0); /* steals ref */
    if (code >= 200 && code <= 299)
        return 0;
    return code == 404 ? 1 : -1;
}

/* 0 released (or nothing left to release), -1 error. */
static int release_pod(struct rs_controller *rsc, const json_t *rs, const json_t *pod)
{
    /* "$patch":"delete" removes the element whose merge key (uid) matches, leaving any
     * other ownerReferences alone. */
    json_t *elem = json_pack("{s:s, s:s?}", "$patch", "delete", "uid", meta_str(rs, "uid"));
    if (!elem)
        return -1;
    int code = smp_owner_refs(rsc, pod, elem, 422); /* steals elem */
    /* 404: the pod is gone; 422: it was re-created (uid precondition) or lost the reference
     * meanwhile. Either way it is not ours any more (a change of its references is an
     * update event that syncs us again). */
    if ((code >= 200 && code <= 299) || code == 404 || code == 422)
        return 0;
    return -1;
}

/* Upstream's ClaimPods over the active pods of the namespace: appends to claimed (new
 * references) the pods this ReplicaSet controls after adopting and releasing. Returns 0,
 * or -1 when some adoption or release failed (the sync is retried). */
static int claim_pods(struct rs_controller *rsc, const json_t *rs, const struct kc_selector *sel,
                      const json_t *pods, json_t *claimed)
{
    const char *rs_uid = meta_str(rs, "uid");
    bool rs_deleting = is_deleting(rs);
    int can_adopt = 1; /* 1: not checked yet, 0: may, -1: may not */
    int errors = 0;
    size_t i;
    json_t *pod;
    json_array_foreach (pods, i, pod) {
        if (!kc_pod_is_active(pod))
            continue;
        bool match = selector_matches_pod(sel, pod);
        const json_t *ref = kc_ctl_controller_ref(pod);
        if (ref) {
            if (!str_eq(json_string_value(json_object_get(ref, "uid")), rs_uid))
                continue; /* someone else's */
            if (match) {
                json_array_append(claimed, pod);
                continue;
            }
            /* Ours but no longer selected: let go, unless we are going away anyway (the
             * garbage collector then deals with it). */
            if (!rs_deleting && release_pod(rsc, rs, pod) != 0)
                errors++;
            continue;
        }
        if (rs_deleting || !match || is_deleting(pod))
            continue;
        if (can_adopt == 1)
            can_adopt = recheck_can_adopt(rsc, rs);
        if (can_adopt != 0) {
            errors++;
            continue;
        }
        int rc = adopt_pod(rsc, rs, pod);
        if (rc == 0)
            json_array_append(claimed, pod);
        else if (rc < 0)
            errors++;
    }
    return errors ? -1 : 0;
}

/* ---- creating pods ---- */

/* The pod a ReplicaSet's template describes (new reference), as upstream's
 * GetPodFromTemplate: labels, annotations, finalizers and spec of the template, generateName
 * "<rs>-", and our controllerRef. */
static json_t *pod_from_template(const json_t *rs)
{
    const json_t *tmpl = kc_json_path(rs, "spec.template");
    json_t *pod = json_object();
    json_t *meta = json_object();
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s-", meta_str(rs, "name"));
    json_object_set_new(pod, "apiVersion", json_string("v1"));
    json_object_set_new(pod, "kind", json_string("Pod"));
    json_object_set_new(meta, "generateName", json_string(prefix));
    json_object_set_new(meta, "namespace", json_string(meta_str(rs, "namespace")));
    const char *copied[] = {"labels", "annotations", "finalizers"};
    for (size_t i = 0; i < sizeof copied / sizeof *copied; i++) {
        json_t *v = json_object_get(json_object_get(tmpl, "metadata"), copied[i]);
        if (v)
            json_object_set_new(meta, copied[i], json_deep_copy(v));
    }
    json_object_set_new(meta, "ownerReferences", json_pack("[o]", rs_controller_ref(rs)));
    json_object_set_new(pod, "metadata", meta);
    json_t *spec = json_object_get(tmpl, "spec");
    json_object_set_new(pod, "spec", spec ? json_deep_copy(spec) : json_object());
    return pod;
}

/* True when the Status says the namespace is terminating: every create fails then, and
 * that is nobody's failure (upstream ignores it). */
static bool namespace_terminating(const json_t *status)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(status, "details.causes"), i, c) {
        if (str_eq(json_string_value(json_object_get(c, "type")), "NamespaceTerminating"))
            return true;
    }
    return false;
}

/* Creates one pod. 0, or -1 with the reason in err. */
static int create_pod(struct rs_controller *rsc, const json_t *rs, const json_t *ev_ref, char *err,
                      size_t errlen)
{
    json_t *pod = pod_from_template(rs), *out = NULL;
    int ret = -1;
    char path[512];
    /* Only the name of the answer is used: skip parsing its managedFields. */
    kc_client_path(path, sizeof path, &KC_GVR_PODS, meta_str(rs, "namespace"), NULL, NULL);
    int code = kc_client_do_flags(rsc->ctx->client, "POST", path, pod, NULL,
                                  KC_CLIENT_NO_MANAGED_FIELDS, &out);
    if (code >= 200 && code <= 299) {
        kc_event(rsc->rec, ev_ref, "Normal", "SuccessfulCreate", "Created pod: %s",
                 meta_str(out, "name") ? meta_str(out, "name") : "");
        ret = 0;
        goto out;
    }
    if (namespace_terminating(out)) {
        ret = 0;
        goto out;
    }
    snprintf(err, errlen, "%s", status_message(code, out));
    fprintf(stderr, "replicaset: %s/%s: creating pod: %d %s\n", meta_str(rs, "namespace"),
            meta_str(rs, "name"), code, err);
    kc_event(rsc->rec, ev_ref, "Warning", "FailedCreate", "Error creating: %s", err);
out:
    json_decref(out);
    json_decref(pod);
    return ret;
}

struct create_batch {
    struct rs_controller *rsc;
    const json_t *rs, *ev_ref;
    bool *ok;
    char (*err)[512];
};

static void create_one(void *arg, int i)
{
    struct create_batch *b = arg;
    b->ok[i] = create_pod(b->rsc, b->rs, b->ev_ref, b->err[i], sizeof b->err[i]) == 0;
}

/* Creates n pods in batches of 1, 2, 4, ... (upstream's slowStartBatch): when something
 * makes every create fail (quota, admission), one request finds out, not hundreds. The
 * creates of a batch run in parallel (as upstream's goroutines), so a batch costs about
 * one round trip and the apiserver commits them together; the next batch starts once the
 * whole batch is done. Returns the number created; err holds the first failure. */
static int create_pods_slow_start(struct rs_controller *rsc, const json_t *rs, const json_t *ev_ref,
                                  int n, char *err, size_t errlen)
{
    int successes = 0, remaining = n;
    bool *ok = calloc((size_t)(n > 0 ? n : 1), sizeof *ok);
    char(*errs)[512] = calloc((size_t)(n > 0 ? n : 1), sizeof *errs);
    if (!ok || !errs)
        abort();
    for (int batch = remaining < 1 ? remaining : 1; batch > 0;) {
        struct create_batch b = {rsc, rs, ev_ref, ok, errs};
        int failed = 0;
        kc_pool_run(rsc->pool, batch, create_one, &b);
        for (int i = 0; i < batch; i++) {
            if (!ok[i] && failed++ == 0)
                snprintf(err, errlen, "%s", errs[i]);
        }
        successes += batch - failed;
        if (failed)
            break;
        remaining -= batch;
        batch = 2 * batch < remaining ? 2 * batch : remaining;
    }
    free(ok);
    free(errs);
    return successes;
}

/* ---- choosing and deleting pods ---- */

/* A pod with what upstream's ActivePodsWithRanks compares, precomputed. */
struct ranked_pod {
    const json_t *pod; /* borrowed */
    bool assigned;
    int phase; /* Pending 0 < Unknown 1 < Running 2 */
    bool ready;
    long cost;
    int rank;          /* active related pods on the same node */
    time_t ready_time; /* 0: unknown */
    long restarts;
    time_t created; /* 0: unknown */
};

static time_t parse_time(const char *s)
{
    time_t t = 0;
    if (!s || kc_time_parse(s, &t) != 0)
        return 0;
    return t;
}

static time_t pod_ready_time(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "status.conditions"), i, c) {
        if (str_eq(json_string_value(json_object_get(c, "type")), "Ready") &&
            str_eq(json_string_value(json_object_get(c, "status")), "True"))
            return parse_time(json_string_value(json_object_get(c, "lastTransitionTime")));
    }
    return 0;
}

static long pod_max_restarts(const json_t *pod)
{
    long max = 0;
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "status.containerStatuses"), i, c) {
        long r = (long)kc_json_int(c, "restartCount", 0);
        if (r > max)
            max = r;
    }
    return max;
}

static long pod_deletion_cost(const json_t *pod)
{
    const char *s = json_string_value(
        json_object_get(kc_json_path(pod, "metadata.annotations"), RS_DELETION_COST_ANNOTATION));
    if (!s || !*s)
        return 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < -2147483648L || v > 2147483647L)
        return 0; /* invalid annotations count as no cost, as upstream */
    return v;
}

static int phase_ordinal(const char *phase)
{
    if (str_eq(phase, "Unknown"))
        return 1;
    if (str_eq(phase, "Running"))
        return 2;
    return 0;
}

/* Go's afterOrZero: a missing time sorts first, then the later one. */
static bool after_or_zero(time_t a, time_t b)
{
    if (a == 0 || b == 0)
        return a == 0;
    return a > b;
}

/* Negative when a should be deleted before b. */
static int ranked_cmp(const void *pa, const void *pb)
{
    const struct ranked_pod *a = pa, *b = pb;
    if (a->assigned != b->assigned)
        return a->assigned ? 1 : -1; /* unassigned first */
    if (a->phase != b->phase)
        return a->phase < b->phase ? -1 : 1; /* Pending, Unknown, Running */
    if (a->ready != b->ready)
        return a->ready ? 1 : -1; /* not ready first */
    if (a->cost != b->cost)
        return a->cost < b->cost ? -1 : 1; /* lower pod-deletion-cost first */
    if (a->rank != b->rank)
        return a->rank > b->rank ? -1 : 1; /* doubled up first */
    if (a->ready && b->ready && a->ready_time != b->ready_time)
        return after_or_zero(a->ready_time, b->ready_time) ? -1 : 1; /* ready more recently */
    if (a->restarts != b->restarts)
        return a->restarts > b->restarts ? -1 : 1; /* more restarts first */
    if (a->created != b->created)
        return after_or_zero(a->created, b->created) ? -1 : 1; /* newer first */
    return 0;
}

/* The pods of every ReplicaSet with the same controller as rs (a Deployment's ReplicaSets),
 * for ranking pods by how many related pods share their node: new array of shared pods, or
 * NULL when rs has no controller (then every rank is 0, as upstream). */
static json_t *related_pods(struct rs_controller *rsc, const json_t *rs, const json_t *ns_pods)
{
    const json_t *ref = kc_ctl_controller_ref(rs);
    const char *owner_uid = json_string_value(json_object_get(ref, "uid"));
    if (!owner_uid)
        return NULL;
    json_t *rss = kc_informer_by_index(rsc->ctx->replicasets, "owner", owner_uid);
    json_t *out = json_array();
    size_t i, j;
    json_t *other, *pod;
    json_array_foreach (rss, i, other) {
        const json_t *oref = kc_ctl_controller_ref(other);
        if (!str_eq(json_string_value(json_object_get(oref, "uid")), owner_uid) ||
            !str_eq(meta_str(other, "namespace"), meta_str(rs, "namespace")))
            continue;
        struct kc_selector *sel = rs_selector(other);
        json_array_foreach (ns_pods, j, pod) {
            if (!selector_matches_pod(sel, pod))
                continue;
            /* the same pod may match two selectors; count it once */
            bool seen = false;
            size_t k;
            json_t *p;
            json_array_foreach (out, k, p) {
                if (p == pod) {
                    seen = true;
                    break;
                }
            }
            if (!seen)
                json_array_append(out, pod);
        }
        kc_selector_free(sel);
    }
    json_decref(rss);
    return out;
}

struct delete_batch {
    struct rs_controller *rsc;
    const char *key;
    const json_t *ev_ref;
    const struct ranked_pod *rp;
    char **keys;
    char (*err)[512]; /* "" or why pod i could not be deleted */
};

static void delete_one(void *arg, int i)
{
    struct delete_batch *b = arg;
    const json_t *pod = b->rp[i].pod;
    json_t *out = NULL;
    int code = kc_delete(b->rsc->ctx->client, &KC_GVR_PODS, meta_str(pod, "namespace"),
                         meta_str(pod, "name"), NULL, NULL, -1, &out);
    if (code >= 200 && code <= 299) {
        kc_event(b->rsc->rec, b->ev_ref, "Normal", "SuccessfulDelete", "Deleted pod: %s",
                 meta_str(pod, "name"));
    } else {
        /* The informer will not report this deletion: stop waiting for it. */
        exp_deletion_observed(b->rsc, b->key, b->keys[i]);
        if (code != 404) {
            const char *m = status_message(code, out);
            fprintf(stderr, "replicaset: %s: deleting pod %s: %d %s\n", b->key, b->keys[i], code,
                    m);
            kc_event(b->rsc->rec, b->ev_ref, "Warning", "FailedDelete", "Error deleting: %s", m);
            snprintf(b->err[i], sizeof b->err[i], "%s", m);
        }
    }
    json_decref(out);
}

/* Deletes n of the claimed pods, the least useful first, in parallel (as upstream). 0, or
 * -1 with err. */
static int delete_pods(struct rs_controller *rsc, const char *key, const json_t *rs,
                       const json_t *ev_ref, const json_t *claimed, const json_t *ns_pods, int n,
                       char *err, size_t errlen)
{
    size_t total = json_array_size(claimed);
    struct ranked_pod *rp = calloc(total ? total : 1, sizeof *rp);
    char **keys = calloc((size_t)n, sizeof *keys);
    json_t *related = NULL;
    int ret = -1, nkeys = 0;
    if (!rp || !keys) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    /* Scale-down is rare: only then is the whole namespace looked at. */
    json_t *all =
        ns_pods ? json_incref((json_t *)ns_pods)
                : kc_informer_by_index(rsc->ctx->pods, "namespace", meta_str(rs, "namespace"));
    related = related_pods(rsc, rs, all);
    json_decref(all);
    for (size_t i = 0; i < total; i++) {
        const json_t *pod = json_array_get(claimed, i);
        const char *node = kc_json_str(pod, "spec.nodeName");
        struct ranked_pod *r = &rp[i];
        r->pod = pod;
        r->assigned = node && *node;
        r->phase = phase_ordinal(kc_json_str(pod, "status.phase"));
        r->ready = kc_pod_is_ready(pod);
        r->cost = pod_deletion_cost(pod);
        r->ready_time = r->ready ? pod_ready_time(pod) : 0;
        r->restarts = pod_max_restarts(pod);
        r->created = parse_time(kc_json_str(pod, "metadata.creationTimestamp"));
        size_t j;
        json_t *p;
        json_array_foreach (related, j, p) {
            const char *pn = kc_json_str(p, "spec.nodeName");
            if (kc_pod_is_active(p) && str_eq(pn ? pn : "", node ? node : ""))
                r->rank++;
        }
    }
    if ((size_t)n < total)
        qsort(rp, total, sizeof *rp, ranked_cmp);

    /* Expect the deletions before making them: the informer may report them before the
     * calls return. */
    for (int i = 0; i < n; i++) {
        char pk[512];
        keys[i] = strdup(kc_object_key(pk, sizeof pk, rp[i].pod));
        if (!keys[i]) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        nkeys++;
    }
    exp_set(rsc, key, 0, keys, (size_t)n);

    struct delete_batch b = {rsc, key, ev_ref, rp, keys, calloc((size_t)n, sizeof *b.err)};
    if (!b.err)
        abort();
    kc_pool_run(rsc->pool, n, delete_one, &b);
    ret = 0;
    for (int i = 0; i < n; i++) {
        if (b.err[i][0] && ret == 0) {
            snprintf(err, errlen, "%s", b.err[i]);
            ret = -1;
        }
    }
    free(b.err);
out:
    for (int i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
    free(rp);
    json_decref(related);
    return ret;
}

/* Upstream's manageReplicas: create or delete pods until the claimed ones number
 * spec.replicas. 0, or -1 with the failure in err. */
static int manage_replicas(struct rs_controller *rsc, const char *key, const json_t *rs,
                           const json_t *claimed, const json_t *ns_pods, char *err, size_t errlen)
{
    int diff = (int)json_array_size(claimed) - rs_replicas(rs);
    json_t *ev_ref = rs_event_ref(rs);
    int ret = 0;
    if (diff < 0) {
        int n = -diff > RS_BURST_REPLICAS ? RS_BURST_REPLICAS : -diff;
        /* Expect them all before the first request: an informer event for a created pod
         * may arrive before kc_create returns. */
        exp_set(rsc, key, n, NULL, 0);
        int created = create_pods_slow_start(rsc, rs, ev_ref, n, err, errlen);
        if (created < n) {
            /* The skipped and failed creates will never be observed. */
            exp_creations_observed(rsc, key, n - created);
            ret = -1;
        }
    } else if (diff > 0) {
        int n = diff > RS_BURST_REPLICAS ? RS_BURST_REPLICAS : diff;
        ret = delete_pods(rsc, key, rs, ev_ref, claimed, ns_pods, n, err, errlen);
    }
    json_decref(ev_ref);
    return ret;
}

/* ---- status ---- */

/* True when every label of the template is on the pod with the same value. */
static bool has_template_labels(const json_t *rs, const json_t *pod)
{
    const json_t *want = kc_json_path(rs, "spec.template.metadata.labels");
    const json_t *have = kc_json_path(pod, "metadata.labels");
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)want, k, v) {
        if (!json_equal(v, json_object_get(have, k)))
            return false;
    }
    return true;
}

/* Upstream's calculateStatus plus updateReplicaSetStatus: writes status when it changed.
 * manage_err: NULL when scaling went well (or was not tried), else why it failed. Sets
 * *ready and *available. Returns 0, or -1 when the write failed (409 included: the cached
 * ReplicaSet is stale; the sync is retried with back-off). */
static int update_status(struct rs_controller *rsc, const json_t *rs, const json_t *claimed,
                         const char *manage_err, int *ready, int *available)
{
    int n = (int)json_array_size(claimed), labeled = 0, rdy = 0, avail = 0;
    int mrs = (int)kc_json_int(rs, "spec.minReadySeconds", 0);
    double now = wall_now();
    json_t *copy = NULL, *out = NULL;
    int ret = -1;
    size_t i;
    json_t *pod;
    json_array_foreach (claimed, i, pod) {
        if (has_template_labels(rs, pod))
            labeled++;
        if (kc_pod_is_ready(pod)) {
            rdy++;
            if (kc_pod_is_available(pod, mrs, now))
                avail++;
        }
    }
    *ready = rdy;
    *available = avail;

    json_t *old_status = json_object_get(rs, "status");
    json_t *status = json_is_object(old_status) ? json_deep_copy(old_status) : json_object();
    json_t *conds = json_object_get(status, "conditions");
    json_t *failure = NULL;
    size_t failure_idx = 0;
    json_t *c;
    json_array_foreach (conds, i, c) {
        if (str_eq(json_string_value(json_object_get(c, "type")), "ReplicaFailure")) {
            failure = c;
            failure_idx = i;
            break;
        }
    }
    if (manage_err && !failure) {
        int diff = n - rs_replicas(rs);
        char ts[32];
        kc_time_rfc3339(time(NULL), ts, sizeof ts);
        if (!json_is_array(conds)) {
            conds = json_array();
            json_object_set_new(status, "conditions", conds);
        }
        json_array_append_new(conds,
                              json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "ReplicaFailure",
                                        "status", "True", "lastTransitionTime", ts, "reason",
                                        diff < 0   ? "FailedCreate"
                                        : diff > 0 ? "FailedDelete"
                                                   : "",
                                        "message", manage_err));
    } else if (!manage_err && failure) {
        json_array_remove(conds, failure_idx);
        if (json_array_size(conds) == 0)
            json_object_del(status, "conditions");
    }
    json_object_set_new(status, "replicas", json_integer(n));
    json_object_set_new(status, "fullyLabeledReplicas", json_integer(labeled));
    json_object_set_new(status, "readyReplicas", json_integer(rdy));
    json_object_set_new(status, "availableReplicas", json_integer(avail));
    json_object_set_new(status, "observedGeneration",
                        json_integer(kc_json_int(rs, "metadata.generation", 0)));

    /* The steady state: nothing to write. */
    if (kc_json_equal(status, old_status)) {
        ret = 0;
        goto out;
    }

    copy = json_deep_copy(rs);
    json_object_set_new(copy, "apiVersion", json_string("apps/v1"));
    json_object_set_new(copy, "kind", json_string("ReplicaSet"));
    json_object_set(copy, "status", status);
    int code = kc_update(rsc->ctx->client, &KC_GVR_REPLICASETS, meta_str(rs, "namespace"), copy,
                         "status", &out);
    if ((code >= 200 && code <= 299) || code == 404) {
        ret = 0; /* 404: deleted meanwhile; its delete event syncs it once more */
        goto out;
    }
    if (code != 409)
        fprintf(stderr, "replicaset: %s/%s: updating status: %d %s\n", meta_str(rs, "namespace"),
                meta_str(rs, "name"), code, status_message(code, out));
out:
    json_decref(status);
    json_decref(copy);
    json_decref(out);
    return ret;
}

/* ---- sync and workers ---- */

/* Upstream's syncReplicaSet. 0 when done, -1 to retry with back-off. */
/* Index "no-controller": the namespace of every pod that has no controller. */
static void index_no_controller(const json_t *pod, kc_index_emit_fn emit, void *emit_ctx)
{
    const char *ns = kc_json_str(pod, "metadata.namespace");
    if (ns && !kc_ctl_controller_ref(pod))
        emit(emit_ctx, ns);
}

/* Pods referring to rs by uid, then the namespace's controller-less pods that do not
 * (so none is listed twice). New array. */
static json_t *candidate_pods(struct rs_controller *rsc, const json_t *rs)
{
    const char *uid = meta_str(rs, "uid");
    json_t *pods = kc_informer_by_index(rsc->ctx->pods, "owner", uid ? uid : "");
    json_t *orphans =
        kc_informer_by_index(rsc->ctx->pods, "no-controller", meta_str(rs, "namespace"));
    size_t i, j;
    json_t *pod, *ref;
    json_array_foreach (orphans, i, pod) {
        bool refers = false;
        json_array_foreach (kc_json_path(pod, "metadata.ownerReferences"), j, ref) {
            const char *u = kc_json_str(ref, "uid");
            if (uid && u && strcmp(u, uid) == 0)
                refers = true;
        }
        if (!refers)
            json_array_append(pods, pod);
    }
    json_decref(orphans);
    return pods;
}

static int sync_rs(struct rs_controller *rsc, const char *key)
{
    json_t *rs = NULL, *ns_pods = NULL, *claimed = NULL;
    struct kc_selector *sel = NULL;
    int ret = 0;

    rs = kc_informer_get(rsc->ctx->replicasets, key);
    if (!rs) {
        exp_delete(rsc, key);
        goto out;
    }
    /* Read before claiming: an adoption must not make it look satisfied. */
    bool needs_sync = exp_satisfied(rsc, key);
    sel = rs_selector(rs);
    if (!sel)
        goto out; /* an invalid selector will not get better by retrying */

    /* The pods that can concern this ReplicaSet: those referring to it (owned ones whose
     * labels changed must be found to be released) and the namespace's pods without a
     * controller (candidates for adoption). Pods controlled by others are never claimed,
     * so a sync costs what this ReplicaSet owns, not the size of the namespace. */
    ns_pods = candidate_pods(rsc, rs);
    claimed = json_array();
    if (claim_pods(rsc, rs, sel, ns_pods, claimed) != 0) {
        ret = -1;
        goto out;
    }

    char manage_err[512] = "";
    int manage_rc = 0;
    if (needs_sync && !is_deleting(rs))
        manage_rc = manage_replicas(rsc, key, rs, claimed, NULL, manage_err, sizeof manage_err);

    int ready = 0, available = 0;
    if (update_status(rsc, rs, claimed, manage_rc ? manage_err : NULL, &ready, &available)) {
        ret = -1;
        goto out;
    }
    /* Ready pods become available minReadySeconds later without any event: look again. */
    long mrs = (long)kc_json_int(rs, "spec.minReadySeconds", 0);
    if (manage_rc == 0 && mrs > 0 && ready > available)
        kc_wq_add_after(rsc->q, key, mrs * 1000 + 1000);
    ret = manage_rc;
out:
    kc_selector_free(sel);
    json_decref(claimed);
    json_decref(ns_pods);
    json_decref(rs);
    return ret;
}

static void *rs_worker(void *arg)
{
    struct rs_controller *rsc = arg;
    if (!kc_ctl_wait_synced(rsc->ctx))
        return NULL; /* shutting down before the caches filled */
    for (;;) {
        char *key = kc_wq_get(rsc->q);
        if (!key)
            break;
        if (sync_rs(rsc, key) == 0)
            kc_wq_forget(rsc->q, key);
        else
            kc_wq_add_rate_limited(rsc->q, key);
        kc_wq_done(rsc->q, key);
        free(key);
    }
    return NULL;
}

int kc_ctl_replicaset_start(struct kc_ctl_ctx *ctx)
{
    struct rs_controller *rsc = calloc(1, sizeof *rsc);
    if (!rsc) {
        fprintf(stderr, "replicaset: out of memory\n");
        return -1;
    }
    pthread_mutex_init(&rsc->mu, NULL);
    rsc->ctx = ctx;
    rsc->q = kc_wq_new("replicaset");
    rsc->rec = kc_recorder_new(ctx->client, "replicaset-controller");
    rsc->pool = kc_pool_new(RS_PARALLEL_REQUESTS - 1); /* the syncing worker is one more */
    if (!rsc->q || !rsc->rec || !rsc->pool) {
        fprintf(stderr, "replicaset: cannot create the work queue or event recorder\n");
        if (rsc->q)
            kc_wq_free(rsc->q);
        if (rsc->rec)
            kc_recorder_free(rsc->rec);
        kc_pool_free(rsc->pool);
        pthread_mutex_destroy(&rsc->mu);
        free(rsc);
        return -1;
    }
    g_rsc = rsc;
    kc_ctl_register_queue(ctx, rsc->q);

    struct kc_informer_handlers rs_h = {
        .on_add = on_rs_add, .on_update = on_rs_update, .on_delete = on_rs_delete, .ctx = rsc};
    struct kc_informer_handlers pod_h = {
        .on_add = on_pod_add, .on_update = on_pod_update, .on_delete = on_pod_delete, .ctx = rsc};
    kc_informer_add_index(ctx->pods, "no-controller", index_no_controller);
    kc_informer_add_handlers(ctx->replicasets, &rs_h);
    kc_informer_add_handlers(ctx->pods, &pod_h);

    int workers = ctx->opt.concurrent_syncs > 0 ? ctx->opt.concurrent_syncs : 1;
    if (kc_ctl_spawn_workers(workers, rs_worker, rsc) != 0) {
        fprintf(stderr, "replicaset: cannot start %d workers\n", workers);
        return -1;
    }
    return 0;
}
