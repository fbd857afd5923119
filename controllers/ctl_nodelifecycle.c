/* Node lifecycle controller, as upstream pkg/controller/nodelifecycle, with the taint
 * eviction controller (pkg/controller/tainteviction):
 *
 * - Health: every node_monitor_period_ms each Node is checked. Its probe time is when we
 *   last saw it heartbeat: its Ready condition's lastHeartbeatTime or its Lease
 *   (kube-node-lease/<node>, spec.renewTime) changing. A node silent for longer than
 *   node_monitor_grace_ms (node_startup_grace_ms while it never posted a Ready condition)
 *   gets every condition (Ready, MemoryPressure, DiskPressure, PIDPressure) set to Unknown
 *   "NodeStatusUnknown" through the status subresource, a "NodeNotReady" event, and its
 *   pods' Ready condition set to False.
 * - NoExecute taints: node.kubernetes.io/unreachable while Ready is Unknown,
 *   node.kubernetes.io/not-ready while it is False, none while it is True (timeAdded set
 *   when added, kept while the taint stays).
 * - NoSchedule taints from conditions (TaintNodesByCondition): not-ready / unreachable,
 *   memory-, disk-, pid-pressure, network-unavailable, and unschedulable for cordoned nodes.
 * - Eviction: a pod bound to a node with a NoExecute taint it does not tolerate is deleted
 *   at once; one that tolerates it for tolerationSeconds is deleted that long after the
 *   taint's timeAdded; a pod with no toleration at all for not-ready / unreachable gets
 *   pod_eviction_timeout_ms. A "TaintManagerEviction" event marks the deletion.
 *
 * Three queues: "node_lifecycle_monitor" (one key, re-added every period, one worker: the
 * health map is that worker's alone), "node_lifecycle_taints" (node names) and
 * "taint_eviction" (pod keys, re-added at the time their eviction is due).
 *
 * Ownership: informer objects are shared and immutable (deep-copied before a change);
 * every other json_t here is owned by the function that made it unless said otherwise. */
#include "controllers/controller.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TAINT_UNREACHABLE "node.kubernetes.io/unreachable"
#define TAINT_NOT_READY "node.kubernetes.io/not-ready"
#define TAINT_UNSCHEDULABLE "node.kubernetes.io/unschedulable"
#define LEASE_NS "kube-node-lease"
#define MONITOR_KEY "monitor"
#define UPDATE_RETRIES 5
#define MAX_RETRIES 15

struct nl_ctl {
    struct kc_ctl_ctx *ctx;
    struct kc_workqueue *monitor_q;
    struct kc_workqueue *taint_q;
    struct kc_workqueue *evict_q;
    struct kc_recorder *rec;       /* node-controller */
    struct kc_recorder *evict_rec; /* taint-eviction-controller */
    int period_ms, grace_ms, startup_grace_ms, eviction_ms;
    /* node name -> {"ready": bool, "hb": heartbeat text, "lease": renew (s), "probe": ms};
     * the monitor worker's alone */
    json_t *health;
    /* node names whose pods could not all be marked not ready; monitor worker's alone */
    json_t *retry;
    pthread_mutex_t mu;
    json_t *scheduled; /* pod key -> ms first seen tainted, while an eviction waits; under mu */
};

/* Reachable for the process lifetime (workers are detached threads). */
static struct nl_ctl *g_nl;

/* The conditions a silent node gets set to Unknown (NetworkUnavailable is the network
 * plugin's business). */
static const char *const unknown_conditions[] = {"Ready", "MemoryPressure", "DiskPressure",
                                                 "PIDPressure"};

/* Condition type and status -> NoSchedule taint key. */
static const struct {
    const char *type, *status, *taint;
} condition_taints[] = {
    {"Ready", "False", TAINT_NOT_READY},
    {"Ready", "Unknown", TAINT_UNREACHABLE},
    {"MemoryPressure", "True", "node.kubernetes.io/memory-pressure"},
    {"DiskPressure", "True", "node.kubernetes.io/disk-pressure"},
    {"NetworkUnavailable", "True", "node.kubernetes.io/network-unavailable"},
    {"PIDPressure", "True", "node.kubernetes.io/pid-pressure"},
};
#define N_CONDITION_TAINTS (sizeof condition_taints / sizeof condition_taints[0])

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* RFC 3339 (optional fraction) into unix milliseconds. 0 or -1. */
static int parse_ms(const char *s, double *out)
{
    if (kc_time_parse_frac(s, out) != 0)
        return -1;
    *out *= 1000.0;
    return 0;
}

static void now_text(char *buf, size_t len)
{
    kc_time_rfc3339(time(NULL), buf, len);
}

/* The condition of that type in obj's status.conditions. Borrowed (from obj) or NULL. */
static json_t *find_condition(const json_t *obj, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(obj, "status.conditions"), i, c) {
        const char *t = kc_json_str(c, "type");
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

static bool str_eq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* A Node reference as the kubelet and kubectl describe use it: uid = name. New. */
static json_t *node_ref(const char *name)
{
    return json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Node", "metadata",
                     "name", name, "uid", name);
}

/* A Pod reference for events (cached pods carry no kind). New. */
static json_t *pod_ref(const json_t *pod)
{
    return json_pack("{s:s, s:s, s:{s:s?, s:s?, s:s?}}", "apiVersion", "v1", "kind", "Pod",
                     "metadata", "name", kc_json_str(pod, "metadata.name"), "namespace",
                     kc_json_str(pod, "metadata.namespace"), "uid",
                     kc_json_str(pod, "metadata.uid"));
}

/* ---- taints ---- */

static bool taint_is(const json_t *t, const char *key, const char *effect)
{
    return str_eq(kc_json_str(t, "key"), key) && str_eq(kc_json_str(t, "effect"), effect);
}

static bool has_taint(const json_t *node, const char *key, const char *effect)
{
    size_t i;
    json_t *t;
    json_array_foreach (kc_json_path(node, "spec.taints"), i, t) {
        if (taint_is(t, key, effect))
            return true;
    }
    return false;
}

/* What a taint pass wants: taints of `effect` with keys in `managed` that are present
 * exactly when listed in `want` (want ⊆ managed). */
struct taint_change {
    const char *effect;
    const char *managed[N_CONDITION_TAINTS + 1];
    size_t n_managed;
    const char *want[N_CONDITION_TAINTS + 1];
    size_t n_want;
};

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (str_eq(list[i], s))
            return true;
    }
    return false;
}

/* true when node's taints already are as ch wants. */
static bool taints_ok(const json_t *node, const struct taint_change *ch)
{
    size_t i;
    json_t *t;
    json_array_foreach (kc_json_path(node, "spec.taints"), i, t) {
        const char *k = kc_json_str(t, "key");
        if (str_eq(kc_json_str(t, "effect"), ch->effect) &&
            in_list(ch->managed, ch->n_managed, k) && !in_list(ch->want, ch->n_want, k))
            return false;
    }
    for (i = 0; i < ch->n_want; i++) {
        if (!has_taint(node, ch->want[i], ch->effect))
            return false;
    }
    return true;
}

/* SwapNodeControllerTaint: reads the node fresh, drops the managed taints not wanted, adds
 * the wanted ones missing (timeAdded now; existing ones keep theirs), writes it back;
 * retries on conflicts. 0 or -1. */
static int apply_taints(struct nl_ctl *c, const char *name, const struct taint_change *ch)
{
    char ts[40];
    int ret = -1;
    for (int rep = 0; rep < UPDATE_RETRIES && ret != 0; rep++) {
        json_t *node = NULL, *resp = NULL;
        int code = kc_get(c->ctx->client, &KC_GVR_NODES, NULL, name, &node);
        if (code == 404) {
            ret = 0; /* gone: nothing to taint */
        } else if (code == 200) {
            if (taints_ok(node, ch)) {
                ret = 0;
            } else {
                json_t *spec = kc_json_ensure_obj(node, "spec");
                json_t *old = json_object_get(spec, "taints");
                json_t *taints = json_array(), *t;
                size_t i;
                json_array_foreach (old, i, t) {
                    const char *k = kc_json_str(t, "key");
                    if (str_eq(kc_json_str(t, "effect"), ch->effect) &&
                        in_list(ch->managed, ch->n_managed, k) && !in_list(ch->want, ch->n_want, k))
                        continue;
                    json_array_append(taints, t);
                }
                now_text(ts, sizeof ts);
                for (i = 0; i < ch->n_want; i++) {
                    if (!has_taint(node, ch->want[i], ch->effect))
                        json_array_append_new(taints,
                                              json_pack("{s:s, s:s, s:s}", "key", ch->want[i],
                                                        "effect", ch->effect, "timeAdded", ts));
                }
                if (json_array_size(taints))
                    json_object_set(spec, "taints", taints);
                else
                    json_object_del(spec, "taints");
                json_decref(taints);
                code = kc_update(c->ctx->client, &KC_GVR_NODES, NULL, node, NULL, &resp);
                if (code == 200)
                    ret = 0;
                else if (code != 409)
                    fprintf(stderr, "node-controller: updating taints of node %s: %d %s\n", name,
                            code, resp ? kc_json_str(resp, "message") : "");
            }
        }
        json_decref(node);
        json_decref(resp);
        if (code != 409 && code != 200 && code != 404)
            break; /* only conflicts are worth an immediate retry */
    }
    return ret;
}

/* NoExecute taints as the Ready condition says (upstream processTaintBaseEviction). */
static void sync_noexecute_taints(struct nl_ctl *c, const json_t *node)
{
    const json_t *ready = find_condition(node, "Ready");
    const char *status = kc_json_str(ready, "status");
    struct taint_change ch = {
        .effect = "NoExecute", .managed = {TAINT_UNREACHABLE, TAINT_NOT_READY}, .n_managed = 2};
    if (!status)
        return; /* never posted: the health check sets it Unknown after the startup grace */
    if (strcmp(status, "False") == 0)
        ch.want[ch.n_want++] = TAINT_NOT_READY;
    else if (strcmp(status, "Unknown") == 0)
        ch.want[ch.n_want++] = TAINT_UNREACHABLE;
    if (taints_ok(node, &ch))
        return;
    apply_taints(c, kc_json_str(node, "metadata.name"), &ch);
}

/* doNoScheduleTaintingPass for one node. 0 or -1 (retried). */
static int sync_noschedule_taints(struct nl_ctl *c, const char *name)
{
    json_t *node = kc_informer_get(c->ctx->nodes, name);
    struct taint_change ch = {.effect = "NoSchedule"};
    int ret = 0;
    if (!node)
        return 0;
    for (size_t i = 0; i < N_CONDITION_TAINTS; i++) {
        ch.managed[ch.n_managed++] = condition_taints[i].taint;
        const json_t *cond = find_condition(node, condition_taints[i].type);
        if (cond && str_eq(kc_json_str(cond, "status"), condition_taints[i].status) &&
            !in_list(ch.want, ch.n_want, condition_taints[i].taint))
            ch.want[ch.n_want++] = condition_taints[i].taint;
    }
    ch.managed[ch.n_managed++] = TAINT_UNSCHEDULABLE;
    if (kc_json_bool(node, "spec.unschedulable", false))
        ch.want[ch.n_want++] = TAINT_UNSCHEDULABLE;
    if (!taints_ok(node, &ch))
        ret = apply_taints(c, name, &ch);
    json_decref(node);
    return ret;
}

/* ---- health ---- */

/* MarkPodsNotReady: the Ready condition of the node's pods to False. 0, or -1 when some
 * pod could not be updated (retried on the next pass). */
static int mark_pods_not_ready(struct nl_ctl *c, const char *node_name)
{
    json_t *pods = kc_informer_by_index(c->ctx->pods, "node", node_name), *pod;
    char ts[40];
    size_t i;
    int ret = 0;
    now_text(ts, sizeof ts);
    json_array_foreach (pods, i, pod) {
        if (!str_eq(kc_json_str(pod, "spec.nodeName"), node_name))
            continue;
        const json_t *ready = find_condition(pod, "Ready");
        if (!ready || str_eq(kc_json_str(ready, "status"), "False"))
            continue;
        json_t *cp = json_deep_copy(pod), *resp = NULL;
        json_t *cond = find_condition(cp, "Ready");
        json_object_set_new(cond, "status", json_string("False"));
        json_object_set_new(cond, "lastTransitionTime", json_string(ts));
        int code = kc_update(c->ctx->client, &KC_GVR_PODS, kc_json_str(pod, "metadata.namespace"),
                             cp, "status", &resp);
        if (code == 200) {
            json_t *ref = pod_ref(pod);
            kc_event(c->rec, ref, "Warning", "NodeNotReady", "Node is not ready");
            json_decref(ref);
        } else if (code != 404) {
            ret = -1;
        }
        json_decref(cp);
        json_decref(resp);
    }
    json_decref(pods);
    return ret;
}

/* tryUpdateNodeHealth: refreshes the node's probe time from its heartbeats and, past the
 * grace period, writes its conditions as Unknown. *ready_before / *ready_after: the Ready
 * status seen / now ("" when none; pointers into static strings or node objects that stay
 * alive through *out). *out: the node as it now is (new reference). 0, or -1 on a failed
 * write (the caller reads the node again and retries). */
static int update_health(struct nl_ctl *c, const json_t *node, char *ready_before,
                         char *ready_after, size_t len, json_t **out)
{
    const char *name = kc_json_str(node, "metadata.name");
    const json_t *ready = find_condition(node, "Ready");
    const char *hb = kc_json_str(ready, "lastHeartbeatTime");
    double now = now_ms(), created = now;
    json_t *h = json_object_get(c->health, name);
    int grace;

    parse_ms(kc_json_str(node, "metadata.creationTimestamp"), &created);
    snprintf(ready_before, len, "%s", ready ? kc_json_str(ready, "status") : "");
    snprintf(ready_after, len, "%s", ready_before);
    *out = json_incref((json_t *)node);
    if (!h) {
        /* first sight: a node that never posted status counts from its creation; one that
         * did, from now (we cannot know how old its heartbeat is by our clock) */
        h = json_pack("{s:b, s:s, s:f, s:f}", "ready", ready != NULL, "hb", hb ? hb : "", "lease",
                      0.0, "probe", ready ? now : created);
        json_object_set_new(c->health, name, h);
        json_t *ref = node_ref(name);
        kc_event(c->rec, ref, "Normal", "RegisteredNode",
                 "Node %s event: Registered Node %s in Controller", name, name);
        json_decref(ref);
    } else if (ready && (!json_is_true(json_object_get(h, "ready")) ||
                         !str_eq(kc_json_str(h, "hb"), hb ? hb : ""))) {
        json_object_set_new(h, "probe", json_real(now)); /* the kubelet posted status */
    }
    json_object_set_new(h, "ready", json_boolean(ready != NULL));
    json_object_set_new(h, "hb", json_string(hb ? hb : ""));
    grace = ready ? c->grace_ms : c->startup_grace_ms;

    /* a renewed Lease counts as a heartbeat too */
    char lease_key[300];
    double renew;
    snprintf(lease_key, sizeof lease_key, "%s/%s", LEASE_NS, name);
    json_t *lease = kc_informer_get(c->ctx->leases, lease_key);
    if (lease && parse_ms(kc_json_str(lease, "spec.renewTime"), &renew) == 0 &&
        renew > json_real_value(json_object_get(h, "lease"))) {
        json_object_set_new(h, "lease", json_real(renew));
        json_object_set_new(h, "probe", json_real(now));
    }
    json_decref(lease);

    if (now <= json_real_value(json_object_get(h, "probe")) + grace)
        return 0;

    /* silent for longer than the grace period: every condition Unknown */
    json_t *cp = json_deep_copy(node), *resp = NULL;
    json_t *status = kc_json_ensure_obj(cp, "status");
    json_t *conds = json_object_get(status, "conditions");
    char ts[40];
    const char *created_s = kc_json_str(node, "metadata.creationTimestamp");
    now_text(ts, sizeof ts);
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(status, "conditions", conds);
    }
    for (size_t i = 0; i < sizeof unknown_conditions / sizeof unknown_conditions[0]; i++) {
        json_t *cond = find_condition(cp, unknown_conditions[i]);
        if (!cond) {
            json_array_append_new(
                conds, json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s}", "type", unknown_conditions[i],
                                 "status", "Unknown", "reason", "NodeStatusNeverUpdated", "message",
                                 "Kubelet never posted node status.", "lastHeartbeatTime",
                                 created_s, "lastTransitionTime", ts));
        } else if (!str_eq(kc_json_str(cond, "status"), "Unknown")) {
            json_object_set_new(cond, "status", json_string("Unknown"));
            json_object_set_new(cond, "reason", json_string("NodeStatusUnknown"));
            json_object_set_new(cond, "message",
                                json_string("Kubelet stopped posting node status."));
            json_object_set_new(cond, "lastTransitionTime", json_string(ts));
        }
    }
    int ret = 0;
    if (!kc_json_equal(find_condition(cp, "Ready"), ready)) {
        int code = kc_update(c->ctx->client, &KC_GVR_NODES, NULL, cp, "status", &resp);
        if (code == 200) {
            fprintf(stderr, "node-controller: node %s stopped posting status; marked Unknown\n",
                    name);
            const json_t *r = find_condition(resp, "Ready");
            /* the heartbeat we now store is our own write's, so it is not taken for the
             * kubelet's */
            json_object_set_new(h, "ready", json_boolean(r != NULL));
            json_object_set_new(h, "hb",
                                json_string(r && kc_json_str(r, "lastHeartbeatTime")
                                                ? kc_json_str(r, "lastHeartbeatTime")
                                                : ""));
            snprintf(ready_after, len, "%s", r ? kc_json_str(r, "status") : "");
            json_decref(*out);
            *out = json_incref(resp);
        } else {
            ret = -1;
        }
    }
    json_decref(cp);
    json_decref(resp);
    return ret;
}

static void monitor_node(struct nl_ctl *c, const json_t *cached)
{
    const char *name = kc_json_str(cached, "metadata.name");
    char before[32], after[32];
    json_t *node = json_incref((json_t *)cached), *cur = NULL;
    int rc = -1;
    for (int rep = 0; rep < UPDATE_RETRIES; rep++) {
        rc = update_health(c, node, before, after, sizeof before, &cur);
        if (rc == 0)
            break;
        json_decref(cur);
        cur = NULL;
        json_decref(node);
        node = NULL;
        if (kc_get(c->ctx->client, &KC_GVR_NODES, NULL, name, &node) != 200)
            break;
    }
    if (rc == 0 && cur) {
        sync_noexecute_taints(c, cur);
        bool went_down = strcmp(before, "True") == 0 && strcmp(after, "True") != 0;
        if (went_down) {
            json_t *ref = node_ref(name);
            kc_event(c->rec, ref, "Normal", "NodeNotReady", "Node %s status is now: NodeNotReady",
                     name);
            json_decref(ref);
        }
        if (went_down || (json_object_get(c->retry, name) && strcmp(after, "True") != 0)) {
            if (mark_pods_not_ready(c, name) != 0)
                json_object_set_new(c->retry, name, json_true());
            else
                json_object_del(c->retry, name);
        } else if (strcmp(after, "True") == 0) {
            json_object_del(c->retry, name);
        }
    }
    json_decref(node);
    json_decref(cur);
}

/* monitorNodeHealth: one pass over every node. */
static void monitor_pass(struct nl_ctl *c)
{
    json_t *nodes = kc_informer_list(c->ctx->nodes, NULL), *node, *v;
    json_t *seen = json_object();
    const char *name;
    void *tmp;
    size_t i;
    json_array_foreach (nodes, i, node) {
        name = kc_json_str(node, "metadata.name");
        if (!name)
            continue;
        json_object_set_new(seen, name, json_true());
        monitor_node(c, node);
    }
    json_object_foreach_safe (c->health, tmp, name, v) {
        if (json_object_get(seen, name))
            continue;
        json_t *ref = node_ref(name);
        kc_event(c->rec, ref, "Normal", "RemovingNode",
                 "Node %s event: Removing Node %s from Controller", name, name);
        json_decref(ref);
        json_object_del(c->retry, name);
        json_object_del(c->health, name);
    }
    json_decref(seen);
    json_decref(nodes);
}

static void *monitor_worker(void *arg)
{
    struct nl_ctl *c = arg;
    char *key;
    if (!kc_ctl_wait_synced(c->ctx))
        return NULL;
    while ((key = kc_wq_get(c->monitor_q)) != NULL) {
        monitor_pass(c);
        kc_wq_done(c->monitor_q, key);
        kc_wq_add_after(c->monitor_q, MONITOR_KEY, c->period_ms);
        free(key);
    }
    return NULL;
}

static void *taint_worker(void *arg)
{
    struct nl_ctl *c = arg;
    char *key;
    if (!kc_ctl_wait_synced(c->ctx))
        return NULL;
    while ((key = kc_wq_get(c->taint_q)) != NULL) {
        if (sync_noschedule_taints(c, key) == 0)
            kc_wq_forget(c->taint_q, key);
        else if (kc_wq_num_requeues(c->taint_q, key) < MAX_RETRIES)
            kc_wq_add_rate_limited(c->taint_q, key);
        else
            kc_wq_forget(c->taint_q, key);
        kc_wq_done(c->taint_q, key);
        free(key);
    }
    return NULL;
}

/* ---- taint-based eviction ---- */

/* v1.Toleration.ToleratesTaint. */
static bool tolerates(const json_t *tol, const json_t *taint)
{
    const char *te = kc_json_str(tol, "effect"), *tk = kc_json_str(tol, "key");
    const char *op = kc_json_str(tol, "operator");
    if (te && *te && !str_eq(te, kc_json_str(taint, "effect")))
        return false;
    if (tk && *tk && !str_eq(tk, kc_json_str(taint, "key")))
        return false;
    if (!op || !*op || strcmp(op, "Equal") == 0) {
        const char *a = kc_json_str(tol, "value"), *b = kc_json_str(taint, "value");
        return strcmp(a ? a : "", b ? b : "") == 0;
    }
    return strcmp(op, "Exists") == 0;
}

/* Forgets a pending eviction; with an event when one was pending and the pod stays. */
static void cancel_eviction(struct nl_ctl *c, const char *key, const json_t *pod)
{
    pthread_mutex_lock(&c->mu);
    bool was = json_object_get(c->scheduled, key) != NULL;
    json_object_del(c->scheduled, key);
    pthread_mutex_unlock(&c->mu);
    if (was && pod) {
        json_t *ref = pod_ref(pod);
        kc_event(c->evict_rec, ref, "Normal", "TaintManagerEviction",
                 "Cancelling deletion of Pod %s", key);
        json_decref(ref);
    }
}

/* When the pod was first seen with an eviction pending (the start for taints without a
 * timeAdded). */
static double first_seen(struct nl_ctl *c, const char *key, double now)
{
    pthread_mutex_lock(&c->mu);
    json_t *v = json_object_get(c->scheduled, key);
    if (!v) {
        v = json_real(now);
        json_object_set_new(c->scheduled, key, v);
    }
    double t = json_real_value(v);
    pthread_mutex_unlock(&c->mu);
    return t;
}

/* addConditionAndDeletePod: DisruptionTarget on the pod's status, then DELETE. 0 or -1. */
static int evict_pod(struct nl_ctl *c, const json_t *pod)
{
    const char *ns = kc_json_str(pod, "metadata.namespace");
    const char *name = kc_json_str(pod, "metadata.name");
    json_t *cur = json_deep_copy(pod), *resp = NULL;
    char ts[40];
    int code;
    now_text(ts, sizeof ts);
    for (int rep = 0; rep < UPDATE_RETRIES && cur; rep++) {
        json_t *cond = find_condition(cur, "DisruptionTarget");
        if (cond && str_eq(kc_json_str(cond, "status"), "True"))
            break;
        json_t *fresh =
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "DisruptionTarget", "status", "True",
                      "reason", "DeletionByTaintManager", "message",
                      "Taint manager: deleting due to NoExecute taint", "lastTransitionTime", ts);
        if (cond) {
            json_object_update(cond, fresh);
            json_decref(fresh);
        } else {
            json_t *status = kc_json_ensure_obj(cur, "status");
            json_t *conds = json_object_get(status, "conditions");
            if (!json_is_array(conds)) {
                conds = json_array();
                json_object_set_new(status, "conditions", conds);
            }
            json_array_append_new(conds, fresh);
        }
        code = kc_update(c->ctx->client, &KC_GVR_PODS, ns, cur, "status", &resp);
        json_decref(resp);
        resp = NULL;
        if (code != 409)
            break; /* written, or not worth insisting: the deletion matters */
        json_decref(cur);
        cur = NULL;
        if (kc_get(c->ctx->client, &KC_GVR_PODS, ns, name, &cur) != 200) {
            json_decref(cur);
            cur = NULL;
        }
    }
    json_decref(cur);
    code = kc_delete(c->ctx->client, &KC_GVR_PODS, ns, name, NULL, kc_json_str(pod, "metadata.uid"),
                     -1, &resp);
    json_decref(resp);
    /* 404: already gone; 409: the uid precondition failed, another pod of that name */
    return (code >= 200 && code < 300) || code == 404 || code == 409 ? 0 : -1;
}

/* processPodOnNode for one pod. *requeue_ms: when to look again (-1: no need). 0 or -1. */
static int evict_sync(struct nl_ctl *c, const char *key, long *requeue_ms)
{
    json_t *pod = kc_informer_get(c->ctx->pods, key), *node = NULL, *taint, *tol;
    double deadline = INFINITY, now = now_ms();
    bool immediate = false, any = false;
    size_t i, j;
    int ret = 0;

    *requeue_ms = -1;
    if (!pod || json_is_string(kc_json_path(pod, "metadata.deletionTimestamp"))) {
        cancel_eviction(c, key, NULL); /* gone, or going anyway */
        goto out;
    }
    const char *node_name = kc_json_str(pod, "spec.nodeName");
    if (node_name && *node_name)
        node = kc_informer_get(c->ctx->nodes, node_name);
    if (!node) {
        cancel_eviction(c, key, NULL);
        goto out;
    }
    const json_t *tols = kc_json_path(pod, "spec.tolerations");
    json_array_foreach (kc_json_path(node, "spec.taints"), i, taint) {
        if (!str_eq(kc_json_str(taint, "effect"), "NoExecute"))
            continue;
        any = true;
        const char *tkey = kc_json_str(taint, "key");
        const json_t *used = NULL;
        json_array_foreach (tols, j, tol) {
            if (tolerates(tol, taint)) {
                used = tol;
                break;
            }
        }
        double wait_ms;
        if (!used) {
            /* the node lifecycle taints give untolerating pods the eviction timeout */
            if ((str_eq(tkey, TAINT_NOT_READY) || str_eq(tkey, TAINT_UNREACHABLE)) &&
                c->eviction_ms > 0) {
                wait_ms = c->eviction_ms;
            } else {
                immediate = true;
                break;
            }
        } else if (!json_is_integer(json_object_get(used, "tolerationSeconds"))) {
            continue; /* tolerated for ever */
        } else {
            long long s = json_integer_value(json_object_get(used, "tolerationSeconds"));
            wait_ms = s > 0 ? (double)s * 1000.0 : 0;
        }
        double start, seen = first_seen(c, key, now);
        if (parse_ms(kc_json_str(taint, "timeAdded"), &start) != 0)
            start = seen;
        else if (seen > start)
            /* timeAdded has whole seconds: when we saw the taint come within that second,
             * that is the closer start (upstream counts from its own sighting) */
            start = seen < start + 1000 ? seen : start + 999;
        if (start + wait_ms < deadline)
            deadline = start + wait_ms;
    }
    if (!any || (!immediate && isinf(deadline))) {
        cancel_eviction(c, key, pod);
        goto out;
    }
    if (immediate || deadline <= now) {
        json_t *ref = pod_ref(pod);
        kc_event(c->evict_rec, ref, "Normal", "TaintManagerEviction", "Marking for deletion Pod %s",
                 key);
        json_decref(ref);
        if (evict_pod(c, pod) != 0) {
            ret = -1;
            goto out;
        }
        fprintf(stderr, "taint-eviction-controller: evicted pod %s from node %s\n", key, node_name);
        pthread_mutex_lock(&c->mu);
        json_object_del(c->scheduled, key);
        pthread_mutex_unlock(&c->mu);
        goto out;
    }
    *requeue_ms = (long)ceil(deadline - now) + 10;
out:
    json_decref(pod);
    json_decref(node);
    return ret;
}

static void *evict_worker(void *arg)
{
    struct nl_ctl *c = arg;
    char *key;
    if (!kc_ctl_wait_synced(c->ctx))
        return NULL;
    while ((key = kc_wq_get(c->evict_q)) != NULL) {
        long requeue = -1;
        if (evict_sync(c, key, &requeue) == 0) {
            kc_wq_forget(c->evict_q, key);
            if (requeue >= 0)
                kc_wq_add_after(c->evict_q, key, requeue);
        } else if (kc_wq_num_requeues(c->evict_q, key) < MAX_RETRIES) {
            kc_wq_add_rate_limited(c->evict_q, key);
        } else {
            kc_wq_forget(c->evict_q, key);
        }
        kc_wq_done(c->evict_q, key);
        free(key);
    }
    return NULL;
}

/* ---- event handlers (informer thread; only enqueue) ---- */

static bool has_noexecute(const json_t *node)
{
    size_t i;
    json_t *t;
    json_array_foreach (kc_json_path(node, "spec.taints"), i, t) {
        if (str_eq(kc_json_str(t, "effect"), "NoExecute"))
            return true;
    }
    return false;
}

/* The NoExecute taints of a node, for change detection. New array. */
static json_t *noexecute_taints(const json_t *node)
{
    json_t *out = json_array(), *t;
    size_t i;
    json_array_foreach (kc_json_path(node, "spec.taints"), i, t) {
        if (str_eq(kc_json_str(t, "effect"), "NoExecute"))
            json_array_append(out, t);
    }
    return out;
}

static void enqueue_node_pods(struct nl_ctl *c, const char *node_name)
{
    json_t *pods = kc_informer_by_index(c->ctx->pods, "node", node_name), *pod;
    size_t i;
    json_array_foreach (pods, i, pod)
        kc_ctl_enqueue_obj(c->evict_q, pod);
    json_decref(pods);
}

static void on_pod_add(void *arg, const json_t *pod)
{
    struct nl_ctl *c = arg;
    const char *node_name = kc_json_str(pod, "spec.nodeName");
    if (!node_name || !*node_name)
        return;
    json_t *node = kc_informer_get(c->ctx->nodes, node_name);
    if (node && has_noexecute(node))
        kc_ctl_enqueue_obj(c->evict_q, pod); /* its tolerations may have changed too */
    json_decref(node);
}

static void on_pod_update(void *arg, const json_t *old_pod, const json_t *new_pod)
{
    (void)old_pod;
    on_pod_add(arg, new_pod);
}

static void on_pod_delete(void *arg, const json_t *pod)
{
    struct nl_ctl *c = arg;
    char key[600];
    kc_object_key(key, sizeof key, pod);
    pthread_mutex_lock(&c->mu);
    json_object_del(c->scheduled, key);
    pthread_mutex_unlock(&c->mu);
}

static void on_node_add(void *arg, const json_t *node)
{
    struct nl_ctl *c = arg;
    const char *name = kc_json_str(node, "metadata.name");
    if (!name)
        return;
    kc_wq_add(c->taint_q, name);
    if (has_noexecute(node))
        enqueue_node_pods(c, name);
}

static void on_node_update(void *arg, const json_t *old_node, const json_t *new_node)
{
    struct nl_ctl *c = arg;
    const char *name = kc_json_str(new_node, "metadata.name");
    if (!name)
        return;
    kc_wq_add(c->taint_q, name);
    json_t *a = noexecute_taints(old_node), *b = noexecute_taints(new_node);
    if (!json_equal(a, b))
        enqueue_node_pods(c, name);
    json_decref(a);
    json_decref(b);
}

static int or_default(int v, int def)
{
    return v > 0 ? v : def;
}

int kc_ctl_nodelifecycle_start(struct kc_ctl_ctx *ctx)
{
    struct nl_ctl *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "node-controller: out of memory\n");
        return -1;
    }
    c->ctx = ctx;
    c->period_ms = or_default(ctx->opt.node_monitor_period_ms, 5000);
    c->grace_ms = or_default(ctx->opt.node_monitor_grace_ms, 40000);
    c->startup_grace_ms = or_default(ctx->opt.node_startup_grace_ms, 60000);
    /* 0 or less: pods without a toleration go at once */
    c->eviction_ms = ctx->opt.pod_eviction_timeout_ms;
    c->monitor_q = kc_wq_new("node_lifecycle_monitor");
    c->taint_q = kc_wq_new("node_lifecycle_taints");
    c->evict_q = kc_wq_new("taint_eviction");
    c->rec = kc_recorder_new(ctx->client, "node-controller");
    c->evict_rec = kc_recorder_new(ctx->client, "taint-eviction-controller");
    c->health = json_object();
    c->retry = json_object();
    c->scheduled = json_object();
    pthread_mutex_init(&c->mu, NULL);
    g_nl = c;

    struct kc_informer_handlers pod_h = {
        .on_add = on_pod_add, .on_update = on_pod_update, .on_delete = on_pod_delete, .ctx = c};
    struct kc_informer_handlers node_h = {
        .on_add = on_node_add, .on_update = on_node_update, .ctx = c};
    kc_informer_add_handlers(ctx->pods, &pod_h);
    kc_informer_add_handlers(ctx->nodes, &node_h);
    kc_ctl_register_queue(ctx, c->monitor_q);
    kc_ctl_register_queue(ctx, c->taint_q);
    kc_ctl_register_queue(ctx, c->evict_q);
    kc_wq_add(c->monitor_q, MONITOR_KEY);

    int workers = ctx->opt.concurrent_syncs > 0 ? ctx->opt.concurrent_syncs : 1;
    if (kc_ctl_spawn_workers(1, monitor_worker, c) != 0 ||
        kc_ctl_spawn_workers(workers, taint_worker, c) != 0 ||
        kc_ctl_spawn_workers(workers, evict_worker, c) != 0) {
        fprintf(stderr, "node-controller: cannot start workers\n");
        return -1;
    }
    return 0;
}
