/* [sig-scheduling] SchedulerPredicates [Serial] (test/e2e/scheduling/predicates.go upstream):
 * the scheduler's filters seen from the API. Upstream's pause and agnhost pods are the test
 * image (its entrypoint serves $HOSTNAME on $PORT). Upstream observes the scheduler's
 * events with a watch; here the namespace's events are polled for the pod's
 * FailedScheduling. The tests label the nodes they use and take the labels off again on
 * every path. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"
#include "lib/quantity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POD_START_MS 180000 /* generous: CI runs under sanitizers on 2 shared cores */
#define SCHEDULE_MS 60000   /* for the scheduler's answer on a pod (an event) */
#define MAX_NODES 64

/* A pod of the test image: name, labels and the rest of its spec as JSON texts ("{}" when
 * none; extra_spec is spliced into the spec object, "" or ",\"k\":v..."); container_extra
 * likewise into the container. New reference. */
static json_t *pause_pod(struct kc_conf *t, const char *name, const char *labels,
                         const char *extra_spec, const char *container_extra)
{
    return kc_conf_json(t,
                        "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{"
                        "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"%s\","
                        "\"image\":\"%s\"%s}]%s}}",
                        name, labels, name, kc_conf_image(t), container_extra, extra_spec);
}

static int create_pod(struct kc_conf *t, json_t *pod /* stolen */)
{
    int code = pod ? kc_conf_pod_create(t, pod) : -1;
    json_decref(pod);
    return code;
}

static json_t *get_pod(struct kc_conf *t, const char *name)
{
    json_t *pod = NULL; /* owned, returned */
    if (kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s", kc_conf_ns(t),
                     name) != 200) {
        json_decref(pod);
        return NULL;
    }
    return pod;
}

/* The node a pod is bound to, into buf ("" when none). */
static const char *pod_node(struct kc_conf *t, const char *name, char *buf, size_t len)
{
    json_t *pod = get_pod(t, name); /* owned */
    snprintf(buf, len, "%s", kc_json_str(pod, "spec.nodeName") ?: "");
    json_decref(pod);
    return buf;
}

/* For kc_conf_wait: the pod's phase is no longer Pending (upstream's WaitForPodNotPending). */
static bool not_pending(struct kc_conf *t, void *name)
{
    json_t *pod = get_pod(t, name); /* owned */
    const char *phase = kc_json_str(pod, "status.phase") ?: "";
    bool ok = pod && *phase && strcmp(phase, "Pending") != 0;
    json_decref(pod);
    return ok;
}

/* For kc_conf_wait: a FailedScheduling event names the pod (upstream's
 * scheduleFailureEvent). */
static bool failed_scheduling_seen(struct kc_conf *t, void *name)
{
    json_t *list = NULL; /* owned */
    bool seen = false;
    if (kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/namespaces/%s/events", kc_conf_ns(t)) ==
        200) {
        size_t i;
        json_t *e;
        json_array_foreach (json_object_get(list, "items"), i, e) {
            if (!strcmp(kc_json_str(e, "involvedObject.name") ?: "", name) &&
                !strcmp(kc_json_str(e, "involvedObject.kind") ?: "", "Pod") &&
                !strcmp(kc_json_str(e, "reason") ?: "", "FailedScheduling")) {
                kc_conf_log(t, "FailedScheduling for %s: %s", (const char *)name,
                            kc_json_str(e, "message") ?: "");
                seen = true;
            }
        }
    }
    json_decref(list);
    return seen;
}

/* Upstream's verifyResult: the test namespace's pods bound to a node (each with
 * PodScheduled True) and not bound, against what is expected. */
static void verify_result(struct kc_conf *t, int want_scheduled, int want_not_scheduled)
{
    json_t *list = NULL; /* owned */
    int code =
        kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/namespaces/%s/pods", kc_conf_ns(t));
    int scheduled = 0, not_scheduled = 0;
    size_t i, j;
    json_t *pod, *c;
    json_array_foreach (json_object_get(list, "items"), i, pod) {
        if (kc_json_str(pod, "metadata.deletionTimestamp"))
            continue; /* a pod this test already let go of */
        const char *node = kc_json_str(pod, "spec.nodeName");
        if (node && *node) {
            const char *st = NULL;
            json_array_foreach (kc_json_path(pod, "status.conditions"), j, c) {
                if (!strcmp(kc_json_str(c, "type") ?: "", "PodScheduled"))
                    st = kc_json_str(c, "status");
            }
            EXPECT(t, st && !strcmp(st, "True"), "PodScheduled isn't True for pod %s (%s)",
                   kc_json_str(pod, "metadata.name") ?: "", st ? st : "none");
            scheduled++;
        } else {
            not_scheduled++;
        }
    }
    json_decref(list);
    EXPECT(t, code == 200, "listing pods: HTTP %d", code);
    EXPECT(t, not_scheduled == want_not_scheduled, "Not scheduled Pods: %d, expected %d",
           not_scheduled, want_not_scheduled);
    EXPECT(t, scheduled == want_scheduled, "Scheduled Pods: %d, expected %d", scheduled,
           want_scheduled);
}

/* Sets (value non-NULL) or removes a node label with a merge patch. The HTTP status. */
static int label_node(struct kc_conf *t, const char *node, const char *key, const char *value)
{
    json_t *labels = json_object(); /* owned by patch below */
    json_object_set_new(labels, key, value ? json_string(value) : json_null());
    json_t *patch = json_pack("{s:{s:o}}", "metadata", "labels", labels); /* owned */
    int code = kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", NULL,
                            "/api/v1/nodes/%s", node);
    json_decref(patch);
    if (value && code == 200) {
        /* upstream's ExpectNodeHasLabel */
        json_t *n = NULL; /* owned */
        code = kc_conf_call(t, "GET", NULL, NULL, &n, "/api/v1/nodes/%s", node);
        const char *v = json_string_value(json_object_get(kc_json_path(n, "metadata.labels"), key));
        if (code == 200 && (!v || strcmp(v, value) != 0))
            code = -1;
        json_decref(n);
    }
    return code;
}

/* Upstream's GetNodeThatCanRunPod: runs a pod without a label, notes its node, deletes it.
 * The node's name into buf, false (a recorded failure) when it did not run. */
static bool node_that_can_run_pod(struct kc_conf *t, char *buf, size_t len)
{
    const char *name = "without-label";
    int code = create_pod(t, pause_pod(t, name, "{}", "", ""));
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        return false;
    }
    if (!kc_conf_pod_wait_phase(t, name, "Running", POD_START_MS))
        return false;
    pod_node(t, name, buf, len);
    code = kc_conf_pod_delete(t, name, 0);
    if (code != 200 || !*buf) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s: node \"%s\", delete HTTP %d", name, buf,
                        code);
        return false;
    }
    return true;
}

/* The names and allocatable CPU (milli) of the Ready, schedulable nodes (upstream's
 * GetReadySchedulableNodes). The count, -1 on failure. */
static int ready_nodes(struct kc_conf *t, char names[][254], long long *cpu, int max)
{
    json_t *list = NULL; /* owned */
    int n = 0;
    if (kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/nodes") != 200) {
        json_decref(list);
        return -1;
    }
    size_t i, j;
    json_t *node, *c;
    json_array_foreach (json_object_get(list, "items"), i, node) {
        bool ready = false;
        json_array_foreach (kc_json_path(node, "status.conditions"), j, c) {
            if (!strcmp(kc_json_str(c, "type") ?: "", "Ready") &&
                !strcmp(kc_json_str(c, "status") ?: "", "True"))
                ready = true;
        }
        /* upstream also leaves out nodes with a NoSchedule or NoExecute taint */
        bool tainted = false;
        json_array_foreach (kc_json_path(node, "spec.taints"), j, c) {
            const char *effect = kc_json_str(c, "effect") ?: "";
            if (!strcmp(effect, "NoSchedule") || !strcmp(effect, "NoExecute"))
                tainted = true;
        }
        if (!ready || tainted || json_is_true(kc_json_path(node, "spec.unschedulable")) || n >= max)
            continue;
        int64_t milli = 0;
        if (kc_quantity_json_milli(kc_json_path(node, "status.allocatable.cpu"), &milli) != 0)
            milli = -1;
        snprintf(names[n], 254, "%s", kc_json_str(node, "metadata.name") ?: "");
        cpu[n++] = milli;
    }
    json_decref(list);
    return n;
}

/* The CPU (milli) a pod's containers request (upstream's getRequestedCPU). */
static long long requested_cpu(const json_t *pod)
{
    long long sum = 0;
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "spec.containers"), i, c) {
        int64_t m = 0;
        const json_t *q = kc_json_path(c, "resources.requests.cpu");
        if (q && kc_quantity_json_milli(q, &m) == 0)
            sum += m;
    }
    return sum;
}

/* ---- validates resource limits of pods that are allowed to run ---- */

/* Each node's allocatable CPU less what its pods request gets a filler pod (pinned to it by
 * node affinity on a "node" label) asking for 70% of it; one more pod asking for half of
 * the largest node's allocatable MUST then fail to schedule. */
static void resource_limits(struct kc_conf *t)
{
    char names[MAX_NODES][254], fillers[MAX_NODES][64];
    long long cpu[MAX_NODES], max_alloc = 0;
    int labelled = 0, n = ready_nodes(t, names, cpu, MAX_NODES), nfill = 0;
    json_t *pods = NULL; /* owned */
    REQUIRE(t, n > 0, "no ready schedulable nodes (%d)", n);
    for (; labelled < n; labelled++) {
        if (cpu[labelled] < 0) {
            kc_conf_fail_at(t, __FILE__, __LINE__,
                            "node.Status.Allocatable of %s does not contain entry cpu",
                            names[labelled]);
            goto out;
        }
        int code = label_node(t, names[labelled], "node", names[labelled]);
        if (code != 200) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "labelling node %s: HTTP %d", names[labelled],
                            code);
            goto out;
        }
        if (cpu[labelled] > max_alloc)
            max_alloc = cpu[labelled];
    }
    int code = kc_conf_call(t, "GET", NULL, NULL, &pods, "/api/v1/pods");
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "listing all pods: HTTP %d", code);
        goto out;
    }
    size_t i;
    json_t *pod;
    json_array_foreach (json_object_get(pods, "items"), i, pod) {
        const char *node = kc_json_str(pod, "spec.nodeName") ?: "";
        const char *phase = kc_json_str(pod, "status.phase") ?: "";
        if (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))
            continue;
        for (int k = 0; k < n; k++)
            if (!strcmp(names[k], node))
                cpu[k] -= requested_cpu(pod);
    }
    for (int k = 0; k < n; k++) {
        long long want = cpu[k] * 7 / 10;
        char extra[1024];
        kc_conf_unique(t, "filler-pod", fillers[k], sizeof fillers[k]);
        kc_conf_log(t, "a pod which consumes cpu=%lldm on node %s", want, names[k]);
        snprintf(extra, sizeof extra,
                 ",\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution"
                 "\":{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":\"node\",\"operator\":"
                 "\"In\",\"values\":[\"%s\"]}]}]}}}",
                 names[k]);
        char res[256];
        snprintf(res, sizeof res,
                 ",\"command\":[\"sleep\",\"3600\"],\"resources\":{\"limits\":{\"cpu\":\"%lldm\"},"
                 "\"requests\":{\"cpu\":\"%lldm\"}}",
                 want, want);
        code = create_pod(t, pause_pod(t, fillers[k], "{}", extra, res));
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "creating %s: HTTP %d", fillers[k], code);
            goto out;
        }
        nfill++;
    }
    for (int k = 0; k < nfill; k++)
        if (!kc_conf_pod_wait_phase(t, fillers[k], "Running", POD_START_MS))
            goto out;
    /* half of the largest node: more than the 30% any node has left */
    char res[256];
    snprintf(res, sizeof res,
             ",\"command\":[\"sleep\",\"3600\"],\"resources\":{\"limits\":{\"cpu\":\"%lldm\"},"
             "\"requests\":{\"cpu\":\"%lldm\"}}",
             max_alloc * 5 / 10, max_alloc * 5 / 10);
    code = create_pod(t, pause_pod(t, "additional-pod", "{\"name\":\"additional\"}", "", res));
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating additional-pod: HTTP %d", code);
        goto out;
    }
    if (!kc_conf_wait(t, SCHEDULE_MS, failed_scheduling_seen, "additional-pod")) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "Did not observe failed event after performing the supplied action for "
                        "pod additional-pod");
        goto out;
    }
    verify_result(t, nfill, 1);
out:
    /* the fillers hold most of each node's CPU: free it before the next test */
    for (int k = 0; k < nfill; k++)
        kc_conf_pod_delete(t, fillers[k], 0);
    for (int k = 0; k < labelled; k++)
        EXPECT(t, label_node(t, names[k], "node", NULL) == 200, "removing label node off %s",
               names[k]);
    json_decref(pods);
}

/* ---- validates that NodeSelector is respected if not matching ---- */

/* No node has the label label=nonempty: a pod selecting it MUST stay unscheduled with a
 * FailedScheduling event. */
static void node_selector_not_matching(struct kc_conf *t)
{
    int code = create_pod(t, pause_pod(t, "restricted-pod", "{\"name\":\"restricted\"}",
                                       ",\"nodeSelector\":{\"label\":\"nonempty\"}", ""));
    REQUIRE(t, code == 201, "creating restricted-pod: HTTP %d", code);
    REQUIRE(t, kc_conf_wait(t, SCHEDULE_MS, failed_scheduling_seen, "restricted-pod"),
            "Did not observe failed event after performing the supplied action for pod "
            "restricted-pod");
    verify_result(t, 0, 1);
}

/* ---- validates that NodeSelector is respected if matching ---- */

/* A node that can run a pod gets a random label; a pod selecting that label MUST be bound
 * to that node. */
static void node_selector_matching(struct kc_conf *t)
{
    char node[254], key[96], extra[256], got[254];
    if (!node_that_can_run_pod(t, node, sizeof node))
        return;
    kc_conf_unique(t, "kubernetes.io/e2e", key, sizeof key);
    int code = label_node(t, node, key, "42");
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "labelling node %s: HTTP %d", node, code);
        goto out;
    }
    snprintf(extra, sizeof extra, ",\"nodeSelector\":{\"%s\":\"42\"}", key);
    code = create_pod(t, pause_pod(t, "with-labels", "{}", extra, ""));
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating with-labels: HTTP %d", code);
        goto out;
    }
    /* upstream waits for "not Pending" only: the kubelet may not know the label yet */
    if (!kc_conf_wait(t, POD_START_MS, not_pending, "with-labels")) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod with-labels still Pending");
        goto out;
    }
    pod_node(t, "with-labels", got, sizeof got);
    EXPECT(t, !strcmp(got, node), "pod with-labels on node \"%s\", expected %s", got, node);
out:
    EXPECT(t, label_node(t, node, key, NULL) == 200, "removing label %s off node %s", key, node);
}

/* ---- hostPort conflict with a 0.0.0.0 hostIP ---- */

/* Upstream's createHostPortPodOnNode: a server on 8080 published on the node's hostPort with
 * hostIP, pinned by nodeSelector, with a readiness probe on /hostname. */
static int host_port_pod(struct kc_conf *t, const char *name, const char *host_ip, int port,
                         const char *selector_key, const char *selector_value)
{
    char extra[256], ctr[768];
    snprintf(extra, sizeof extra, ",\"nodeSelector\":{\"%s\":\"%s\"}", selector_key,
             selector_value);
    snprintf(ctr, sizeof ctr,
             ",\"env\":[{\"name\":\"PORT\",\"value\":\"8080\"}],\"ports\":[{\"hostPort\":%d,"
             "\"containerPort\":8080,\"protocol\":\"TCP\",\"hostIP\":\"%s\"}],"
             "\"readinessProbe\":{\"httpGet\":{\"path\":\"/hostname\",\"port\":8080,\"scheme\":"
             "\"HTTP\"}}",
             port, host_ip);
    return create_pod(t, pause_pod(t, name, "{}", extra, ctr));
}

/* The node's first InternalIP, into buf. */
static const char *node_internal_ip(struct kc_conf *t, const char *node, char *buf, size_t len)
{
    json_t *n = NULL; /* owned */
    *buf = 0;
    if (kc_conf_call(t, "GET", NULL, NULL, &n, "/api/v1/nodes/%s", node) == 200) {
        size_t i;
        json_t *a;
        json_array_foreach (kc_json_path(n, "status.addresses"), i, a) {
            if (!*buf && !strcmp(kc_json_str(a, "type") ?: "", "InternalIP"))
                snprintf(buf, len, "%s", kc_json_str(a, "address") ?: "");
        }
    }
    json_decref(n);
    return buf;
}

/* pod4 takes hostPort 54322/TCP on every address of a labelled node (hostIP empty, i.e.
 * 0.0.0.0); pod5, asking for the same port and protocol on the node's own IP and pinned to
 * the same node, MUST NOT be scheduled. Upstream only waits on pod5; here its
 * FailedScheduling event is awaited and it MUST still be unbound after. */
static void host_port_conflict(struct kc_conf *t)
{
    char node[254], key[96], ip[64], got[254];
    if (!node_that_can_run_pod(t, node, sizeof node))
        return;
    node_internal_ip(t, node, ip, sizeof ip);
    REQUIRE(t, *ip, "node %s has no InternalIP", node);
    kc_conf_unique(t, "kubernetes.io/e2e", key, sizeof key);
    int code = label_node(t, node, key, "95");
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "labelling node %s: HTTP %d", node, code);
        goto out;
    }
    code = host_port_pod(t, "pod4", "", 54322, key, "95");
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod4: HTTP %d", code);
        goto out;
    }
    if (!kc_conf_wait(t, POD_START_MS, not_pending, "pod4")) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod4 still Pending");
        goto out;
    }
    code = host_port_pod(t, "pod5", ip, 54322, key, "95");
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod5: HTTP %d", code);
        goto out;
    }
    if (!kc_conf_wait(t, SCHEDULE_MS, failed_scheduling_seen, "pod5")) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "no FailedScheduling event for pod5");
        goto out;
    }
    pod_node(t, "pod5", got, sizeof got);
    EXPECT(t, !*got, "pod5 was scheduled to %s despite the hostPort conflict", got);
out:
    EXPECT(t, label_node(t, node, key, NULL) == 200, "removing label %s off node %s", key, node);
}

/* clang-format off */
const struct kc_conf_test kc_conf_tests_scheduling[] = {
    {"[sig-scheduling] SchedulerPredicates [Serial] validates resource limits of pods that are "
     "allowed to run [Conformance]", resource_limits, KC_CONF_SERIAL},
    {"[sig-scheduling] SchedulerPredicates [Serial] validates that NodeSelector is respected if "
     "not matching [Conformance]", node_selector_not_matching, KC_CONF_SERIAL},
    {"[sig-scheduling] SchedulerPredicates [Serial] validates that NodeSelector is respected if "
     "matching [Conformance]", node_selector_matching, KC_CONF_SERIAL},
    {"[sig-scheduling] SchedulerPredicates [Serial] validates that there exists conflict between "
     "pods with same hostPort and protocol but one using 0.0.0.0 hostIP [Conformance]",
     host_port_conflict, KC_CONF_SERIAL},
    {NULL},
};
/* clang-format on */
