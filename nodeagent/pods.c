/* Pods on the agent's nodes: a pod bound to one of them gets an IP from the node's pod
 * CIDR and is started by the runtime; its status follows the runtime's container state
 * (written only when it changes); a pod being deleted is stopped and then removed for good
 * (DELETE with grace 0 and a uid precondition, as the kubelet confirms a stop). An agent
 * restarted while pods run adopts them: their IPs are taken back from their status. */
#include "nodeagent/agent.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CONTAINERS 32

/* ---- IP allocation ---- */

static bool ip_in(struct kc_agent_node *n, const char *ip, uint32_t *off)
{
    struct in_addr in;
    if (!ip || inet_pton(AF_INET, ip, &in) != 1 || n->mask == 0)
        return false;
    uint32_t h = ntohl(in.s_addr);
    if ((h & n->mask) != n->net)
        return false;
    *off = h - n->net;
    return true;
}

/* The IP of pod uid on n: the one it had (adoption), or the next free. 0, or -1 while the
 * node has no pod CIDR or it is full. */
static int ip_assign(struct kc_agent *a, struct kc_agent_node *n, const char *uid, const char *had,
                     char *out, size_t outlen)
{
    pthread_mutex_lock(&a->ips_mu);
    const char *known = json_string_value(json_object_get(a->ips, uid));
    if (known) {
        snprintf(out, outlen, "%s", known);
        pthread_mutex_unlock(&a->ips_mu);
        return 0;
    }
    pthread_mutex_unlock(&a->ips_mu);
    int ret = -1;
    pthread_mutex_lock(&n->mu);
    uint32_t off = 0;
    if (n->mask == 0)
        goto out;
    if (ip_in(n, had, &off) && !(n->used[off / 8] & (1u << (off % 8)))) {
        /* adoption: keep the address the pod already reports */
    } else {
        uint32_t i;
        for (i = 2; i < n->nbits - 1; i++)
            if (!(n->used[i / 8] & (1u << (i % 8))))
                break;
        if (i >= n->nbits - 1)
            goto out;
        off = i;
    }
    n->used[off / 8] |= (uint8_t)(1u << (off % 8));
    struct in_addr in = {htonl(n->net + off)};
    inet_ntop(AF_INET, &in, out, (socklen_t)outlen);
    ret = 0;
out:
    pthread_mutex_unlock(&n->mu);
    if (ret == 0) {
        pthread_mutex_lock(&a->ips_mu);
        json_object_set_new(a->ips, uid, json_string(out));
        pthread_mutex_unlock(&a->ips_mu);
    }
    return ret;
}

static void ip_release(struct kc_agent *a, const char *uid)
{
    pthread_mutex_lock(&a->ips_mu);
    char ip[64] = "";
    const char *known = json_string_value(json_object_get(a->ips, uid));
    if (known)
        snprintf(ip, sizeof ip, "%s", known);
    json_object_del(a->ips, uid);
    pthread_mutex_unlock(&a->ips_mu);
    if (!ip[0])
        return;
    for (int i = 0; i < a->nnodes; i++) {
        struct kc_agent_node *n = &a->nodes[i];
        uint32_t off;
        pthread_mutex_lock(&n->mu);
        if (ip_in(n, ip, &off))
            n->used[off / 8] &= (uint8_t) ~(1u << (off % 8));
        pthread_mutex_unlock(&n->mu);
    }
}

/* ---- status ---- */

static void iso(double t, char *buf, size_t len)
{
    kc_time_rfc3339((time_t)t, buf, len);
}

/* The status the pod should report now. New reference. */
static json_t *desired_status(struct kc_agent *a, struct kc_agent_node *n, const json_t *pod,
                              const char *ip)
{
    const char *uid = kc_json_str(pod, "metadata.uid");
    struct kc_container_state cs[MAX_CONTAINERS];
    int nc = a->rt->ops->pod_state(a->rt, uid, cs, MAX_CONTAINERS);
    if (nc < 0)
        nc = 0;
    bool all_ready = nc > 0;
    double started = 0;
    json_t *statuses = json_array();
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "spec.containers"), i, c) {
        const char *name = kc_json_str(c, "name") ?: "";
        const struct kc_container_state *st = NULL;
        for (int k = 0; k < nc; k++)
            if (strcmp(cs[k].name, name) == 0)
                st = &cs[k];
        char at[40];
        json_t *s =
            json_pack("{s:s,s:s,s:s,s:b,s:i,s:b}", "name", name, "image",
                      kc_json_str(c, "image") ?: "", "imageID", "", "ready", st && st->ready,
                      "restartCount", st ? st->restart_count : 0, "started", st && st->started);
        if (st && st->running) {
            iso(st->started_at, at, sizeof at);
            json_object_set_new(s, "containerID", json_string(st->id));
            json_object_set_new(s, "state", json_pack("{s:{s:s}}", "running", "startedAt", at));
            if (!started || st->started_at < started)
                started = st->started_at;
        } else {
            json_object_set_new(s, "state",
                                json_pack("{s:{s:s}}", "waiting", "reason", "ContainerCreating"));
        }
        if (!st || !st->ready)
            all_ready = false;
        json_array_append_new(statuses, s);
    }
    /* transition times: keep the pod's own when the condition's status is unchanged */
    char now[40];
    kc_time_rfc3339(time(NULL), now, sizeof now);
    const char *ready = all_ready ? "True" : "False";
    json_t *conds =
        json_pack("[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "type", "PodReadyToStartContainers",
                  "status", "True", "type", "Initialized", "status", "True", "type", "Ready",
                  "status", ready, "type", "ContainersReady", "status", ready);
    json_array_append_new(conds, json_pack("{s:s,s:s}", "type", "PodScheduled", "status", "True"));
    json_array_foreach (conds, i, c) {
        json_t *old;
        size_t j;
        json_object_set_new(c, "lastTransitionTime", json_string(now));
        json_object_set_new(c, "lastProbeTime", json_null());
        json_array_foreach (kc_json_path(pod, "status.conditions"), j, old) {
            if (kc_json_equal(json_object_get(c, "type"), json_object_get(old, "type")) &&
                kc_json_equal(json_object_get(c, "status"), json_object_get(old, "status")) &&
                json_object_get(old, "lastTransitionTime"))
                json_object_set(c, "lastTransitionTime",
                                json_object_get(old, "lastTransitionTime"));
        }
        if (!all_ready && (strcmp(kc_json_str(c, "type"), "Ready") == 0 ||
                           strcmp(kc_json_str(c, "type"), "ContainersReady") == 0))
            json_object_set_new(c, "reason", json_string("ContainersNotReady"));
    }
    char start[40];
    const char *old_start = kc_json_str(pod, "status.startTime");
    if (old_start)
        snprintf(start, sizeof start, "%s", old_start);
    else
        iso(started ? started : (double)time(NULL), start, sizeof start);
    return json_pack("{s:s,s:o,s:s,s:[{s:s}],s:s,s:[{s:s}],s:s,s:o,s:s}", "phase",
                     nc > 0 ? "Running" : "Pending", "conditions", conds, "hostIP", n->internal_ip,
                     "hostIPs", "ip", n->internal_ip, "podIP", ip, "podIPs", "ip", ip, "startTime",
                     start, "containerStatuses", statuses, "qosClass",
                     kc_json_str(pod, "status.qosClass") ?: "BestEffort");
}

/* True when the parts of status we own differ (times of transitions aside). */
static bool status_differs(const json_t *have, const json_t *want)
{
    static const char *const keys[] = {"phase", "podIP", "hostIP", "containerStatuses"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!kc_json_equal(json_object_get(have, keys[i]), json_object_get(want, keys[i])))
            return true;
    size_t i, j;
    json_t *c, *o;
    json_array_foreach (json_object_get(want, "conditions"), i, c) {
        bool found = false;
        json_array_foreach (json_object_get(have, "conditions"), j, o) {
            if (kc_json_equal(json_object_get(c, "type"), json_object_get(o, "type")))
                found = kc_json_equal(json_object_get(c, "status"), json_object_get(o, "status"));
        }
        if (!found)
            return true;
    }
    return false;
}

/* ---- sync ---- */

/* 0 done, >0 look again after that many ms, -1 error (retry with back-off). */
static long sync_pod(struct kc_agent *a, const char *key)
{
    json_t *pod = kc_informer_get(a->pods, key);
    long ret = 0;
    if (!pod)
        return 0; /* deleted: its uid was released on the delete event */
    const char *uid = kc_json_str(pod, "metadata.uid");
    const char *ns = kc_json_str(pod, "metadata.namespace");
    const char *name = kc_json_str(pod, "metadata.name");
    struct kc_agent_node *n = kc_agent_node_find(a, kc_json_str(pod, "spec.nodeName"));
    const char *phase = kc_json_str(pod, "status.phase");
    if (!n || !uid)
        goto out;
    if (kc_json_path(pod, "metadata.deletionTimestamp")) {
        long grace = kc_json_int(pod, "metadata.deletionGracePeriodSeconds", 30);
        a->rt->ops->stop_pod(a->rt, uid, grace);
        ip_release(a, uid);
        json_t *out = NULL;
        int rc = kc_delete(a->client, &KC_GVR_PODS, ns, name, NULL, uid, 0, &out);
        json_decref(out);
        if (rc != 200 && rc != 404 && rc != 409)
            ret = -1;
        goto out;
    }
    if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
        goto out;
    char ip[64];
    if (ip_assign(a, n, uid, kc_json_str(pod, "status.podIP"), ip, sizeof ip) != 0) {
        ret = 1000; /* no pod CIDR yet (the control plane allocates it) */
        goto out;
    }
    char reason[64] = "", msg[256] = "";
    if (a->rt->ops->start_pod(a->rt, pod, ip, reason, sizeof reason, msg, sizeof msg) != 0) {
        kc_event(a->rec, pod, "Warning", reason[0] ? reason : "Failed", "%s", msg);
        ret = -1;
        goto out;
    }
    json_t *want = desired_status(a, n, pod, ip);
    if (status_differs(json_object_get(pod, "status"), want)) {
        json_t *patch = json_pack("{s:O}", "status", want);
        /* the answer (the whole pod) is not used: not parsing it is most of a sync's CPU */
        int rc = kc_patch(a->client, &KC_GVR_PODS, ns, name, "status",
                          "application/merge-patch+json", patch, NULL);
        json_decref(patch);
        if (rc != 200)
            ret = rc == 404 ? 0 : -1;
    }
    /* containers not ready yet: look again (the simulated delay, or probes) */
    if (ret == 0) {
        size_t i;
        json_t *c;
        json_array_foreach (json_object_get(want, "conditions"), i, c) {
            if (strcmp(kc_json_str(c, "type") ?: "", "Ready") == 0 &&
                strcmp(kc_json_str(c, "status") ?: "", "True") != 0)
                ret = 200;
        }
    }
    json_decref(want);
out:
    json_decref(pod);
    return ret;
}

static void *worker_main(void *arg)
{
    struct kc_agent *a = arg;
    char *key;
    while ((key = kc_wq_get(a->q)) != NULL) {
        long r = sync_pod(a, key);
        if (r < 0) {
            kc_wq_add_rate_limited(a->q, key);
        } else {
            kc_wq_forget(a->q, key);
            if (r > 0)
                kc_wq_add_after(a->q, key, r);
        }
        kc_wq_done(a->q, key);
        free(key);
    }
    return NULL;
}

static bool ours(struct kc_agent *a, const json_t *pod)
{
    return kc_agent_node_find(a, kc_json_str(pod, "spec.nodeName")) != NULL;
}

static void on_add(void *ctx, const json_t *pod)
{
    struct kc_agent *a = ctx;
    char key[512];
    if (ours(a, pod))
        kc_wq_add(a->q, kc_object_key(key, sizeof key, pod));
}

static void on_update(void *ctx, const json_t *old_pod, const json_t *pod)
{
    (void)old_pod;
    on_add(ctx, pod);
}

static void on_delete(void *ctx, const json_t *pod)
{
    struct kc_agent *a = ctx;
    const char *uid = kc_json_str(pod, "metadata.uid");
    if (!uid || !ours(a, pod))
        return;
    /* removed without our confirmation (force delete): stop what runs */
    a->rt->ops->stop_pod(a->rt, uid, 0);
    ip_release(a, uid);
}

static void on_node(void *ctx, const json_t *node)
{
    struct kc_agent *a = ctx;
    struct kc_agent_node *n = kc_agent_node_find(a, kc_json_str(node, "metadata.name"));
    if (n)
        kc_agent_node_set_cidr(n, kc_json_str(node, "spec.podCIDR"));
}

static void on_node_update(void *ctx, const json_t *old_node, const json_t *node)
{
    (void)old_node;
    on_node(ctx, node);
}

int kc_agent_start_pods(struct kc_agent *a)
{
    a->q = kc_wq_new("nodeagent_pods");
    /* Only bound pods concern an agent; one agent process serves all its nodes. */
    const char *sel = NULL;
    char one[300];
    if (a->nnodes == 1) {
        snprintf(one, sizeof one, "spec.nodeName=%s", a->nodes[0].name);
        sel = one;
    } else {
        sel = "spec.nodeName!=";
    }
    a->pods = kc_informer_new(a->client, &KC_GVR_PODS, NULL, NULL, sel);
    struct kc_informer_handlers ph = {on_add, on_update, on_delete, a};
    kc_informer_add_handlers(a->pods, &ph);
    struct kc_informer_handlers nh = {on_node, on_node_update, NULL, a};
    kc_informer_add_handlers(a->node_inf, &nh);
    if (kc_informer_start(a->node_inf) != 0 || kc_informer_start(a->pods) != 0)
        return -1;
    for (int i = 0; i < a->opt.workers; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker_main, a) != 0)
            return -1;
        pthread_detach(t);
    }
    return 0;
}
