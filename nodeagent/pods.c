/* Pods on the agent's nodes: a pod bound to one of them gets an IP from the node's pod
 * CIDR and is started by the runtime; its status follows the runtime's container state
 * (written only when it changes); a pod being deleted is stopped and then removed for good
 * (DELETE with grace 0 and a uid precondition, as the kubelet confirms a stop). An agent
 * restarted while pods run adopts them: their IPs are taken back from their status. */
#include "nodeagent/agent.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"
#include "nodeagent/network.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

static json_t *term_json(const struct kc_container_term *t)
{
    char s[40], f[40];
    iso(t->started_at, s, sizeof s);
    iso(t->finished_at, f, sizeof f);
    json_t *j = json_pack("{s:i,s:s,s:s,s:s}", "exitCode", t->exit_code, "reason", t->reason,
                          "startedAt", s, "finishedAt", f);
    if (t->message[0])
        json_object_set_new(j, "message", json_string(t->message));
    if (t->id[0])
        json_object_set_new(j, "containerID", json_string(t->id));
    return j;
}

/* One entry of containerStatuses / initContainerStatuses. New reference. */
static json_t *container_status_json(const json_t *spec, const struct kc_container_state *st)
{
    const char *name = kc_json_str(spec, "name") ?: "";
    json_t *s = json_pack("{s:s,s:s,s:s,s:b,s:i,s:b,s:{}}", "name", name, "image",
                          kc_json_str(spec, "image") ?: "", "imageID", st ? st->image_id : "",
                          "ready", st && st->ready, "restartCount", st ? st->restart_count : 0,
                          "started", st && st->started, "lastState");
    if (st && st->id[0])
        json_object_set_new(s, "containerID", json_string(st->id));
    if (st && st->has_last)
        json_object_set_new(s, "lastState", json_pack("{s:o}", "terminated", term_json(&st->last)));
    char at[40];
    if (st && st->state == KC_C_RUNNING) {
        iso(st->started_at, at, sizeof at);
        json_object_set_new(s, "state", json_pack("{s:{s:s}}", "running", "startedAt", at));
    } else if (st && st->state == KC_C_TERMINATED) {
        json_object_set_new(s, "state", json_pack("{s:o}", "terminated", term_json(&st->term)));
    } else {
        json_t *w =
            json_pack("{s:s}", "reason", st && st->reason[0] ? st->reason : "ContainerCreating");
        if (st && st->message[0])
            json_object_set_new(w, "message", json_string(st->message));
        json_object_set_new(s, "state", json_pack("{s:o}", "waiting", w));
    }
    return s;
}

static const struct kc_container_state *find_state(const struct kc_container_state *cs, int nc,
                                                   const char *name, bool init)
{
    for (int k = 0; k < nc; k++)
        if (cs[k].init == init && strcmp(cs[k].name, name) == 0)
            return &cs[k];
    return NULL;
}

/* The pod phase from its containers, as the kubelet derives it: a container waiting to
 * be restarted counts as stopped; with restartPolicy Always a pod whose containers all
 * stopped is still Running (they come back). */
static const char *pod_phase(const json_t *pod, const struct kc_container_state *cs, int nc,
                             const struct kc_pod_report *rep)
{
    const char *policy = kc_json_str(pod, "spec.restartPolicy") ?: "Always";
    int running = 0, waiting = 0, stopped = 0, succeeded = 0;
    for (int k = 0; k < nc; k++) {
        const struct kc_container_state *c = &cs[k];
        if (c->init) {
            if (c->state == KC_C_TERMINATED && c->term.exit_code != 0 &&
                strcmp(policy, "Never") == 0)
                return "Failed";
            continue;
        }
        if (c->state == KC_C_RUNNING)
            running++;
        else if (c->state == KC_C_TERMINATED) {
            stopped++;
            if (c->term.exit_code == 0)
                succeeded++;
        } else if (c->has_last)
            stopped++;
        else
            waiting++;
    }
    if (!rep->initialized)
        return "Pending";
    if (waiting > 0)
        return "Pending";
    if (running > 0)
        return "Running";
    if (stopped > 0) {
        if (strcmp(policy, "Always") == 0)
            return "Running";
        if (stopped == succeeded)
            return "Succeeded";
        if (strcmp(policy, "Never") == 0)
            return "Failed";
        return "Running";
    }
    return "Pending";
}

/* names of containers (kind init or not) that are not ready / not done, "[a b]" */
static void names_not(const json_t *pod, const char *field, const struct kc_container_state *cs,
                      int nc, bool init, char *buf, size_t len)
{
    size_t i, off = 0;
    json_t *c;
    buf[0] = 0;
    off += (size_t)snprintf(buf, len, "[");
    bool first = true;
    json_array_foreach (kc_json_path(pod, field), i, c) {
        const char *name = kc_json_str(c, "name") ?: "";
        const struct kc_container_state *st = find_state(cs, nc, name, init);
        bool ok =
            init ? st && st->state == KC_C_TERMINATED && st->term.exit_code == 0 : st && st->ready;
        if (ok || off >= len)
            continue;
        off += (size_t)snprintf(buf + off, len - off, "%s%s", first ? "" : " ", name);
        first = false;
    }
    if (off < len)
        snprintf(buf + off, len - off, "]");
}

/* The status the pod should report now. New reference. */
static json_t *desired_status(struct kc_agent_node *n, const json_t *pod, const char *ip,
                              const struct kc_container_state *cs, int nc,
                              const struct kc_pod_report *rep)
{
    double started = 0;
    json_t *statuses = json_array(), *init_statuses = json_array();
    size_t i;
    json_t *c;
    bool all_ready = true;
    json_array_foreach (kc_json_path(pod, "spec.containers"), i, c) {
        const struct kc_container_state *st =
            find_state(cs, nc, kc_json_str(c, "name") ?: "", false);
        json_array_append_new(statuses, container_status_json(c, st));
        if (st && st->state == KC_C_RUNNING && (!started || st->started_at < started))
            started = st->started_at;
        if (!st || !st->ready)
            all_ready = false;
    }
    json_array_foreach (kc_json_path(pod, "spec.initContainers"), i, c) {
        const struct kc_container_state *st =
            find_state(cs, nc, kc_json_str(c, "name") ?: "", true);
        json_array_append_new(init_statuses, container_status_json(c, st));
    }
    const char *phase = pod_phase(pod, cs, nc, rep);
    /* transition times: keep the pod's own when the condition's status is unchanged */
    char now[40];
    kc_time_rfc3339(time(NULL), now, sizeof now);
    const char *ready = all_ready ? "True" : "False";
    json_t *conds = json_pack(
        "[{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}]", "type", "PodReadyToStartContainers",
        "status", rep->sandbox ? "True" : "False", "type", "Initialized", "status",
        rep->initialized ? "True" : "False", "type", "Ready", "status", ready, "type",
        "ContainersReady", "status", ready, "type", "PodScheduled", "status", "True");
    char names[1024];
    json_array_foreach (conds, i, c) {
        json_t *old;
        size_t j;
        const char *type = kc_json_str(c, "type");
        json_object_set_new(c, "lastTransitionTime", json_string(now));
        json_object_set_new(c, "lastProbeTime", json_null());
        json_array_foreach (kc_json_path(pod, "status.conditions"), j, old) {
            if (kc_json_equal(json_object_get(c, "type"), json_object_get(old, "type")) &&
                kc_json_equal(json_object_get(c, "status"), json_object_get(old, "status")) &&
                json_object_get(old, "lastTransitionTime"))
                json_object_set(c, "lastTransitionTime",
                                json_object_get(old, "lastTransitionTime"));
        }
        if (!all_ready && (strcmp(type, "Ready") == 0 || strcmp(type, "ContainersReady") == 0)) {
            names_not(pod, "spec.containers", cs, nc, false, names, sizeof names);
            json_object_set_new(c, "reason", json_string("ContainersNotReady"));
            json_object_set_new(c, "message",
                                json_sprintf("containers with unready status: %s", names));
        }
        if (!rep->initialized && strcmp(type, "Initialized") == 0) {
            names_not(pod, "spec.initContainers", cs, nc, true, names, sizeof names);
            json_object_set_new(c, "reason", json_string("ContainersNotInitialized"));
            json_object_set_new(c, "message",
                                json_sprintf("containers with incomplete status: %s", names));
        }
    }
    char start[40];
    const char *old_start = kc_json_str(pod, "status.startTime");
    if (old_start)
        snprintf(start, sizeof start, "%s", old_start);
    else
        iso((double)time(NULL), start, sizeof start);
    json_t *st =
        json_pack("{s:s,s:o,s:s,s:[{s:s}],s:s,s:[{s:s}],s:s,s:o,s:s}", "phase", phase, "conditions",
                  conds, "hostIP", n->internal_ip, "hostIPs", "ip", n->internal_ip, "podIP", ip,
                  "podIPs", "ip", ip, "startTime", start, "containerStatuses", statuses, "qosClass",
                  kc_json_str(pod, "status.qosClass") ?: "BestEffort");
    if (json_array_size(init_statuses))
        json_object_set_new(st, "initContainerStatuses", init_statuses);
    else
        json_decref(init_statuses);
    return st;
}

/* True when the parts of status we own differ (times of transitions aside). */
static bool status_differs(const json_t *have, const json_t *want)
{
    static const char *const keys[] = {"phase", "podIP", "hostIP", "containerStatuses",
                                       "initContainerStatuses"};
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

/* spec.activeDeadlineSeconds, as the kubelet's active deadline handler: seconds left of the
 * pod's deadline counted from status.startTime (<= 0: past it), or a day when it has none. */
static double deadline_left(const json_t *pod)
{
    const json_t *ads = kc_json_path(pod, "spec.activeDeadlineSeconds");
    const char *start = kc_json_str(pod, "status.startTime");
    double t0 = 0;
    if (!json_is_integer(ads) || !start || kc_time_parse_frac(start, &t0) != 0)
        return 86400;
    return t0 + (double)json_integer_value(ads) - (double)time(NULL);
}

/* A pod past its active deadline: its containers are stopped (within the pod's grace
 * period), then it is Failed with reason DeadlineExceeded, as the kubelet does. 0 done, >0
 * look again after that many ms, -1 error. */
static long deadline_exceeded(struct kc_agent *a, const json_t *pod)
{
    static const char msg[] = "Pod was active on the node longer than the specified deadline";
    long grace = kc_json_int(pod, "spec.terminationGracePeriodSeconds", 30);
    if (a->rt->ops->stop_pod(a->rt, pod, grace) > 0)
        return 100;
    if (!kc_json_path(pod, "status.reason"))
        kc_event(a->rec, pod, "Normal", "DeadlineExceeded", "%s", msg);
    json_t *patch = json_pack("{s:{s:s,s:s,s:s}}", "status", "phase", "Failed", "reason",
                              "DeadlineExceeded", "message", msg);
    int rc = kc_patch(a->client, &KC_GVR_PODS, kc_json_str(pod, "metadata.namespace"),
                      kc_json_str(pod, "metadata.name"), "status", "application/merge-patch+json",
                      patch, NULL);
    json_decref(patch);
    return rc == 200 || rc == 404 ? 0 : -1;
}

/* 0 done, >0 look again after that many ms, -1 error (retry with back-off). */
static long sync_pod(struct kc_agent *a, const char *key)
{
    json_t *pod = kc_informer_get(a->pods, key);
    long ret = 0;
    struct kc_container_state *cs = NULL;
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
        if (a->rt->ops->stop_pod(a->rt, pod, grace) > 0) {
            ret = 100; /* still within the grace period */
            goto out;
        }
        ip_release(a, uid);
        json_t *resp = NULL;
        int rc = kc_delete(a->client, &KC_GVR_PODS, ns, name, NULL, uid, 0, &resp);
        json_decref(resp);
        if (rc != 200 && rc != 404 && rc != 409)
            ret = -1;
        goto out;
    }
    char ip[64];
    if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0)) {
        /* finished for good: nothing restarts; what ran is removed with the pod */
        if (a->rt->ops->stop_pod(a->rt, pod, 0) > 0)
            ret = 200;
        goto out;
    }
    double left = deadline_left(pod);
    if (left <= 0) {
        ret = deadline_exceeded(a, pod);
        goto out;
    }
    if (json_is_true(kc_json_path(pod, "spec.hostNetwork")))
        snprintf(ip, sizeof ip, "%s", n->internal_ip); /* the node's address, no IP of its own */
    else if (ip_assign(a, n, uid, kc_json_str(pod, "status.podIP"), ip, sizeof ip) != 0) {
        ret = 1000; /* no pod CIDR yet (the control plane allocates it) */
        goto out;
    }
    size_t ncont = json_array_size(kc_json_path(pod, "spec.containers")) +
                   json_array_size(kc_json_path(pod, "spec.initContainers"));
    if (ncont > MAX_CONTAINERS)
        ncont = MAX_CONTAINERS;
    cs = calloc(ncont ? ncont : 1, sizeof *cs);
    struct kc_pod_report rep = {0};
    if (a->rt->ops->sync_pod(a->rt, pod, ip, cs, (int)ncont, &rep) != 0) {
        if (rep.event_reason[0])
            kc_event(a->rec, pod, "Warning", rep.event_reason, "%s", rep.event_msg);
        ret = -1;
        goto out;
    }
    if (rep.event_reason[0])
        kc_event(a->rec, pod, rep.event_warning ? "Warning" : "Normal", rep.event_reason, "%s",
                 rep.event_msg);
    char addr[64];
    if (a->rt->ops->pod_address)
        a->rt->ops->pod_address(a->rt, ip, addr, sizeof addr);
    else
        snprintf(addr, sizeof addr, "%s", ip);
    json_t *want = desired_status(n, pod, addr, cs, rep.n, &rep);
    if (status_differs(json_object_get(pod, "status"), want)) {
        json_t *patch = json_pack("{s:O}", "status", want);
        /* the answer (the whole pod) is not used: not parsing it is most of a sync's CPU */
        int rc = kc_patch(a->client, &KC_GVR_PODS, ns, name, "status",
                          "application/merge-patch+json", patch, NULL);
        json_decref(patch);
        if (rc != 200)
            ret = rc == 404 ? 0 : -1;
    }
    json_decref(want);
    if (ret == 0 && rep.requeue_ms > 0)
        ret = rep.requeue_ms;
    if (ret == 0 && left < 86400) /* look again when the deadline passes */
        ret = (long)(left * 1000.0) + 10;
    else if (ret > 0 && left * 1000.0 < (double)ret)
        ret = (long)(left * 1000.0) + 10;
out:
    free(cs);
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
    /* removed without our confirmation (force delete): what runs is killed and removed */
    a->rt->ops->forget_pod(a->rt, uid);
    ip_release(a, uid);
}

/* With a node network: our pod CIDR on cni0 and the host route; other nodes' pod CIDRs
 * routed via their InternalIP. */
static void route_node(struct kc_agent *a, const json_t *node, bool ours_)
{
    const char *cidr = kc_json_str(node, "spec.podCIDR");
    const char *name = kc_json_str(node, "metadata.name");
    if (!a->net || !cidr || !name)
        return;
    char err[256];
    if (ours_) {
        if (kc_netnode_set_pod_cidr(a->net, cidr, err, sizeof err) != 0)
            fprintf(stderr, "nodeagent: pod CIDR %s: %s\n", cidr, err);
        return;
    }
    const char *ip = NULL;
    size_t i;
    json_t *ad;
    json_array_foreach (kc_json_path(node, "status.addresses"), i, ad)
        if (strcmp(kc_json_str(ad, "type") ?: "", "InternalIP") == 0)
            ip = kc_json_str(ad, "address");
    if (!ip)
        return;
    char want[128];
    snprintf(want, sizeof want, "%s via %s", cidr, ip);
    if (strcmp(json_string_value(json_object_get(a->routes, name)) ?: "", want) == 0)
        return;
    if (kc_netnode_route(a->net, cidr, ip) == 0)
        json_object_set_new(a->routes, name, json_string(want));
}

static void on_node(void *ctx, const json_t *node)
{
    struct kc_agent *a = ctx;
    struct kc_agent_node *n = kc_agent_node_find(a, kc_json_str(node, "metadata.name"));
    if (n)
        kc_agent_node_set_cidr(n, kc_json_str(node, "spec.podCIDR"));
    route_node(a, node, n != NULL);
}

static void on_node_update(void *ctx, const json_t *old_node, const json_t *node)
{
    (void)old_node;
    on_node(ctx, node);
}

static void index_uid(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx)
{
    const char *uid = kc_json_str(obj, "metadata.uid");
    if (uid)
        emit(emit_ctx, uid);
}

/* What the runtime holds for pods the API no longer has (deleted while the agent was
 * down, or force-deleted) is removed; runs every 10 s once the pods are listed. */
static void *housekeeping_main(void *arg)
{
    struct kc_agent *a = arg;
    while (!a->stop) {
        if (kc_informer_synced(a->pods)) {
            json_t *uids = a->rt->ops->list_pods(a->rt);
            size_t i;
            json_t *u;
            json_array_foreach (uids, i, u) {
                json_t *found = kc_informer_by_index(a->pods, "uid", json_string_value(u));
                if (json_array_size(found) == 0) {
                    fprintf(stderr, "nodeagent: removing what is left of pod %s\n",
                            json_string_value(u));
                    a->rt->ops->forget_pod(a->rt, json_string_value(u));
                    ip_release(a, json_string_value(u));
                }
                json_decref(found);
            }
            json_decref(uids);
        }
        for (int k = 0; k < 100 && !a->stop; k++)
            usleep(100000);
    }
    return NULL;
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
    kc_informer_add_index(a->pods, "uid", index_uid);
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
    pthread_t hk;
    if (pthread_create(&hk, NULL, housekeeping_main, a) != 0)
        return -1;
    pthread_detach(hk);
    return 0;
}
