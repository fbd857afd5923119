/* [sig-node] NoExecuteTaintManager [Serial] (test/e2e/node/taints.go upstream): the taint
 * eviction controller deleting pods from a node with a NoExecute taint once their
 * tolerationSeconds run out, and forgetting them when the taint goes first. Upstream's
 * pause pods are the test image; its informer on deletions is a poll of the pods here (an
 * eviction is seen when the pod is marked for deletion or gone). The taints added are
 * taken off again on every path. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POD_START_MS 180000 /* generous: CI runs under sanitizers on 2 shared cores */
#define TAINT_KEY "kubernetes.io/e2e-evict-taint-key"
#define TAINT_VALUE "evictTaintVal"
#define POLL_MS 200

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Upstream's createPodForTaintsTest with a toleration of the test taint for
 * toleration_seconds; node_selector_json is "" or ",\"nodeSelector\":{...}". New
 * reference. */
static json_t *taints_pod(struct kc_conf *t, const char *name, const char *group,
                          int toleration_seconds, const char *node_selector_json)
{
    return kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"group\":\"%s\"}},\"spec\":{"
        "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"pause\",\"image\":"
        "\"%s\"}],\"tolerations\":[{\"key\":\"" TAINT_KEY "\",\"value\":\"" TAINT_VALUE
        "\",\"effect\":\"NoExecute\",\"tolerationSeconds\":%d}]%s}}",
        name, group, kc_conf_image(t), toleration_seconds, node_selector_json);
}

/* Upstream's RunPodAndGetNodeName: creates pod (stolen), waits for it to run, its node's
 * name into buf. false (a recorded failure) otherwise. */
static bool run_pod_get_node(struct kc_conf *t, json_t *pod, char *buf, size_t len)
{
    char name[64];
    snprintf(name, sizeof name, "%s", kc_json_str(pod, "metadata.name") ?: "");
    int code = pod ? kc_conf_pod_create(t, pod) : -1;
    json_decref(pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        return false;
    }
    if (!kc_conf_pod_wait_phase(t, name, "Running", POD_START_MS))
        return false;
    json_t *got = NULL; /* owned */
    kc_conf_call(t, "GET", NULL, NULL, &got, "/api/v1/namespaces/%s/pods/%s", kc_conf_ns(t), name);
    snprintf(buf, len, "%s", kc_json_str(got, "spec.nodeName") ?: "");
    json_decref(got);
    if (!*buf) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "running pod %s has no node", name);
        return false;
    }
    return true;
}

/* Adds (add) or removes the test's NoExecute taint on node: read, change spec.taints, PUT,
 * again after a conflict. The last HTTP status. */
static int set_taint(struct kc_conf *t, const char *node, bool add)
{
    int code = -1;
    for (int tries = 0; tries < 20; tries++) {
        json_t *n = NULL; /* owned */
        code = kc_conf_call(t, "GET", NULL, NULL, &n, "/api/v1/nodes/%s", node);
        if (code != 200) {
            json_decref(n);
            return code;
        }
        json_t *spec = kc_json_ensure_obj(n, "spec");       /* borrowed */
        json_t *taints = json_array();                      /* owned, then spec's */
        json_t *old = json_object_get(spec, "taints"), *tt; /* borrowed */
        size_t i;
        json_array_foreach (old, i, tt) {
            /* upstream's MatchTaint: the same key and effect */
            if (!strcmp(kc_json_str(tt, "key") ?: "", TAINT_KEY) &&
                !strcmp(kc_json_str(tt, "effect") ?: "", "NoExecute"))
                continue;
            json_array_append(taints, tt);
        }
        if (add) {
            char ts[32];
            time_t now = time(NULL);
            struct tm tm;
            strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
            json_array_append_new(taints,
                                  json_pack("{s:s, s:s, s:s, s:s}", "key", TAINT_KEY, "value",
                                            TAINT_VALUE, "effect", "NoExecute", "timeAdded", ts));
        }
        if (json_array_size(taints))
            json_object_set_new(spec, "taints", taints);
        else { /* as the node was before the test: no taints field at all */
            json_object_del(spec, "taints");
            json_decref(taints);
        }
        code = kc_conf_call(t, "PUT", n, NULL, NULL, "/api/v1/nodes/%s", node);
        json_decref(n);
        if (code != 409)
            break;
    }
    return code;
}

/* 1 when the pod is marked for deletion or gone (evicted), 2 when gone, 0 when still there
 * undisturbed, -1 when it cannot be read. */
static int eviction_state(struct kc_conf *t, const char *name)
{
    json_t *pod = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                            kc_conf_ns(t), name);
    int st = code == 404                                      ? 2
             : code != 200                                    ? -1
             : kc_json_str(pod, "metadata.deletionTimestamp") ? 1
                                                              : 0;
    json_decref(pod);
    return st;
}

/* ---- Single Pod: removing taint cancels eviction ---- */

/* A pod tolerating the taint for 10 s: the node is tainted, and untainted 5 s later; the pod
 * MUST NOT be evicted. Upstream then watches for 75 s; the eviction would have been due 10 s
 * after the taint (the controller acts at that moment), so 25 s after the removal (20 s past
 * the due time) is watched here. */
static void removing_taint_cancels_eviction(struct kc_conf *t)
{
    char node[254];
    bool tainted = false;
    if (!run_pod_get_node(t, taints_pod(t, "taint-eviction-4", "taint-eviction-4", 10, ""), node,
                          sizeof node))
        return;
    kc_conf_log(t, "Pod is running on %s. Tainting Node", node);
    int code = set_taint(t, node, true);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "tainting node %s: HTTP %d", node, code);
        goto out;
    }
    tainted = true;
    double start = now_s();
    while (now_s() - start < 5.0) {
        if (eviction_state(t, "taint-eviction-4") > 0) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "Pod was evicted despite toleration");
            goto out;
        }
        usleep(POLL_MS * 1000);
    }
    code = set_taint(t, node, false);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "removing the taint off node %s: HTTP %d", node,
                        code);
        goto out;
    }
    tainted = false;
    start = now_s();
    while (now_s() - start < 25.0) {
        int st = eviction_state(t, "taint-eviction-4");
        if (st > 0) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "Pod was evicted despite toleration");
            goto out;
        }
        usleep(POLL_MS * 1000);
    }
    kc_conf_log(t, "Pod wasn't evicted");
out:
    if (tainted)
        EXPECT(t, set_taint(t, node, false) == 200, "removing the taint off node %s", node);
}

/* ---- Multiple Pods: evicts pods with minTolerationSeconds ---- */

/* Two pods on one node tolerate the taint for 5 s and 25 s: after the node is tainted both
 * MUST be deleted, each as its toleration runs out: the 5 s one first, the 25 s one not
 * before its time (upstream allows 75 s for both; so does this test). */
static void evicts_with_min_toleration_seconds(struct kc_conf *t)
{
    static const char *const names[] = {"taint-eviction-b1", "taint-eviction-b2"};
    char node[254], sel[512] = "";
    bool tainted = false;
    double evicted_at[2] = {-1, -1};
    if (!run_pod_get_node(t, taints_pod(t, names[0], "taint-eviction-b", 5, ""), node, sizeof node))
        return;
    /* pod2 lands on pod1's node through its kubernetes.io/hostname label, as upstream */
    json_t *n = NULL; /* owned */
    kc_conf_call(t, "GET", NULL, NULL, &n, "/api/v1/nodes/%s", node);
    const char *host = json_string_value(
        json_object_get(kc_json_path(n, "metadata.labels"), "kubernetes.io/hostname"));
    if (host)
        snprintf(sel, sizeof sel, ",\"nodeSelector\":{\"kubernetes.io/hostname\":\"%s\"}", host);
    json_decref(n);
    REQUIRE(t, *sel, "error getting kubernetes.io/hostname label on node %s", node);
    char node2[254];
    if (!run_pod_get_node(t, taints_pod(t, names[1], "taint-eviction-b", 25, sel), node2,
                          sizeof node2))
        return;
    REQUIRE(t, !strcmp(node, node2), "pod2 on %s, pod1 on %s", node2, node);
    kc_conf_log(t, "Pods are running on %s. Tainting Node", node);
    int code = set_taint(t, node, true);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "tainting node %s: HTTP %d", node, code);
        goto out;
    }
    tainted = true;
    double start = now_s();
    int gone = 0;
    while (gone < 2 && now_s() - start < 75.0) {
        gone = 0;
        for (int i = 0; i < 2; i++) {
            int st = eviction_state(t, names[i]);
            if (st > 0 && evicted_at[i] < 0) {
                evicted_at[i] = now_s() - start;
                kc_conf_log(t, "Noticed Pod %s gets evicted after %.1f s", names[i], evicted_at[i]);
            }
            gone += st == 2;
        }
        if (gone < 2)
            usleep(POLL_MS * 1000);
    }
    if (gone < 2) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "Failed to evict all Pods. %d pod(s) is not evicted.", 2 - gone);
        goto out;
    }
    EXPECT(t, evicted_at[0] <= evicted_at[1],
           "pod tolerating 25 s evicted (%.1f s) before the one tolerating 5 s (%.1f s)",
           evicted_at[1], evicted_at[0]);
    /* the taint's timeAdded has whole seconds: allow one less */
    EXPECT(t, evicted_at[1] >= 24.0, "pod tolerating 25 s was evicted after %.1f s", evicted_at[1]);
    EXPECT(t, evicted_at[0] >= 4.0, "pod tolerating 5 s was evicted after %.1f s", evicted_at[0]);
out:
    if (tainted)
        EXPECT(t, set_taint(t, node, false) == 200, "removing the taint off node %s", node);
}

/* clang-format off */
const struct kc_conf_test kc_conf_tests_taints[] = {
    {"[sig-node] NoExecuteTaintManager Multiple Pods [Serial] evicts pods with "
     "minTolerationSeconds [Disruptive] [Conformance]", evicts_with_min_toleration_seconds,
     KC_CONF_SERIAL},
    {"[sig-node] NoExecuteTaintManager Single Pod [Serial] removing taint cancels eviction "
     "[Disruptive] [Conformance]", removing_taint_cancels_eviction, KC_CONF_SERIAL},
    {NULL},
};
/* clang-format on */
