/* [sig-node] and [sig-architecture] API behaviours of nodes and pods: a node's lifecycle
 * (test/e2e/node/node_lifecycle.go upstream), the QOS class of a pod
 * (test/e2e/node/pods.go), invalid sysctls (test/e2e/common/node/sysctl.go) and the two
 * untainted nodes conformance needs (test/e2e/architecture/conformance.go). */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

/* Whether a Node has a condition of this type and status. */
static bool has_condition(const json_t *node, const char *type, const char *status)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(node, "status.conditions"), i, c)
        if (!strcmp(kc_json_str(c, "type") ?: "", type))
            return !strcmp(kc_json_str(c, "status") ?: "", status);
    return false;
}

/* A fake Node (unschedulable, so nothing runs there) MUST be creatable, gettable,
 * patchable (its new label found), listable by that label (only it), updatable, and gone
 * once deleted. */
static void node_lifecycle(struct kc_conf *t)
{
    char name[64], sel[160];
    kc_conf_unique(t, "e2e-fake-node", name, sizeof name);
    json_t *node = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"unschedulable\":true},\"status\":{"
        "\"phase\":\"Running\",\"conditions\":[{\"status\":\"True\",\"message\":\"Set from e2e "
        "test\",\"reason\":\"E2E\",\"type\":\"Ready\"}]}}",
        name);
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"labels\":{\"%s\":\"patched\"}}}", name);
    json_t *out = NULL; /* owned */
    if (!node || !patch)
        goto out;
    int code = kc_conf_call(t, "POST", node, NULL, &out, "/api/v1/nodes");
    if (code != 201 || strcmp(kc_json_str(out, "metadata.name") ?: "", name)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to create node %s: HTTP %d", name, code);
        goto out;
    }
    json_decref(out);
    out = NULL;
    code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/nodes/%s", name);
    EXPECT(t, code == 200 && !strcmp(kc_json_str(out, "metadata.name") ?: "", name),
           "failed to retrieve node %s: HTTP %d", name, code);
    json_decref(out);
    out = NULL;
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", &out,
                        "/api/v1/nodes/%s", name);
    EXPECT(t,
           code == 200 && !strcmp(json_string_value(
                                      json_object_get(kc_json_path(out, "metadata.labels"), name))
                                      ?: "",
                                  "patched"),
           "patching node %s: HTTP %d, or the patched label is missing", name, code);
    json_decref(out);
    out = NULL;
    snprintf(sel, sizeof sel, "/api/v1/nodes?labelSelector=%s%%3Dpatched", name);
    long n = kc_conf_list_len(t, sel);
    EXPECT(t, n == 1, "listing nodes by the patched label: %ld (want 1)", n);
    bool updated = false;
    for (int attempt = 0; attempt < 5 && !updated; attempt++) {
        code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/nodes/%s", name);
        if (code != 200)
            break;
        json_object_set_new(kc_json_ensure_obj(kc_json_ensure_obj(out, "metadata"), "labels"), name,
                            json_string("updated"));
        json_t *answer = NULL; /* owned */
        code = kc_conf_call(t, "PUT", out, NULL, &answer, "/api/v1/nodes/%s", name);
        json_decref(out);
        out = answer;
        updated = code == 200;
        if (code != 409)
            break;
        json_decref(out);
        out = NULL;
    }
    EXPECT(t,
           updated && !strcmp(json_string_value(
                                  json_object_get(kc_json_path(out, "metadata.labels"), name))
                                  ?: "",
                              "updated"),
           "failed to update node %s: HTTP %d", name, code);
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/nodes/%s", name);
    EXPECT(t, code == 200 || code == 202, "failed to delete node %s: HTTP %d", name, code);
    char path[128];
    snprintf(path, sizeof path, "/api/v1/nodes?fieldSelector=metadata.name%%3D%s", name);
    EXPECT(t, kc_conf_wait(t, 60000, kc_conf_list_empty, path),
           "node %s still exists after its deletion", name);
out:
    json_decref(node);
    json_decref(patch);
    json_decref(out);
}

/* A pod whose containers' requests equal their limits for cpu and memory MUST be of QOS
 * class Guaranteed. */
static void qos_guaranteed(struct kc_conf *t)
{
    char name[80];
    kc_conf_unique(t, "pod-qos-class", name, sizeof name);
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"%s\"}},\"spec\":{"
        "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"agnhost\",\"image\":"
        "\"%s\",\"command\":[\"sleep\",\"3600\"],\"resources\":{\"limits\":{\"cpu\":\"100m\","
        "\"memory\":\"100Mi\"},\"requests\":{\"cpu\":\"100m\",\"memory\":\"100Mi\"}}}]}}",
        name, name, kc_conf_image(t));
    json_t *out = NULL; /* owned */
    REQUIRE(t, pod, "no object");
    int code = kc_conf_pod_create(t, pod);
    json_decref(pod);
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/pods/%s", kc_conf_ns(t),
                        name);
    EXPECT(t, code == 200 && !strcmp(kc_json_str(out, "status.qosClass") ?: "", "Guaranteed"),
           "pod %s: HTTP %d, QOS class %s (want Guaranteed)", name, code,
           kc_json_str(out, "status.qosClass") ?: "(none)");
    json_decref(out);
    kc_conf_pod_delete(t, name, 0);
}

/* A pod with invalid sysctl names MUST be refused, naming the invalid ones and not the
 * valid ones. */
static void invalid_sysctls(struct kc_conf *t)
{
    char name[80];
    kc_conf_unique(t, "sysctl", name, sizeof name);
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"Never\","
        "\"securityContext\":{\"sysctls\":[{\"name\":\"foo-\",\"value\":\"bar\"},{\"name\":"
        "\"kernel.shmmax\",\"value\":\"100000000\"},{\"name\":\"safe-and-unsafe\",\"value\":"
        "\"100000000\"},{\"name\":\"bar..\",\"value\":\"42\"}]},\"containers\":[{\"name\":"
        "\"test-container\",\"image\":\"%s\",\"command\":[\"/bin/sysctl\",\"kernel.shmmax\"]}]}}",
        name, kc_conf_image(t));
    json_t *out = NULL; /* owned */
    REQUIRE(t, pod, "no object");
    int code =
        kc_conf_call(t, "POST", pod, NULL, &out, "/api/v1/namespaces/%s/pods", kc_conf_ns(t));
    json_decref(pod);
    const char *msg = kc_json_str(out, "message") ?: "";
    EXPECT(t, code == 422, "creating a pod with invalid sysctls: HTTP %d (want 422)", code);
    EXPECT(t, strstr(msg, "Invalid value: \"foo-\""), "the error does not name foo-: %s", msg);
    EXPECT(t, strstr(msg, "Invalid value: \"bar..\""), "the error does not name bar..: %s", msg);
    EXPECT(t, !strstr(msg, "safe-and-unsafe"), "the error names safe-and-unsafe: %s", msg);
    EXPECT(t, !strstr(msg, "kernel.shmmax"), "the error names kernel.shmmax: %s", msg);
    json_decref(out);
}

/* Whether a node is ready and schedulable for a pod without tolerations (upstream's
 * GetReadySchedulableNodes). */
static bool ready_schedulable(const json_t *node)
{
    if (json_is_true(kc_json_path(node, "spec.unschedulable")) ||
        !has_condition(node, "Ready", "True") || has_condition(node, "NetworkUnavailable", "True"))
        return false;
    size_t i;
    json_t *taint;
    json_array_foreach (kc_json_path(node, "spec.taints"), i, taint) {
        const char *effect = kc_json_str(taint, "effect") ?: "";
        if (!strcmp(effect, "NoSchedule") || !strcmp(effect, "NoExecute"))
            return false;
    }
    return true;
}

/* At least two nodes MUST be ready, schedulable and untainted. */
static void two_untainted_nodes(struct kc_conf *t)
{
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/nodes");
    REQUIRE(t, code == 200, "listing nodes: HTTP %d", code);
    size_t i, n = 0;
    json_t *node;
    json_array_foreach (json_object_get(list, "items"), i, node)
        if (ready_schedulable(node))
            n++;
    json_decref(list);
    EXPECT(t, n >= 2,
           "Conformance requires at least two nodes (%zu ready, schedulable and "
           "untainted)",
           n);
}

const struct kc_conf_test kc_conf_tests_node[] = {
    {"[sig-node] Node Lifecycle should run through the lifecycle of a node [Conformance]",
     node_lifecycle, 0},
    {"[sig-node] Pods Extended Pods Set QOS Class should be set on Pods with matching resource "
     "requests and limits for memory and cpu [Conformance]",
     qos_guaranteed, 0},
    {"[sig-node] Sysctls [LinuxOnly] [NodeConformance] should reject invalid sysctls "
     "[MinimumKubeletVersion:1.21] [Conformance]",
     invalid_sysctls, 0},
    {"[sig-architecture] Conformance Tests should have at least two untainted nodes "
     "[Conformance]",
     two_untainted_nodes, 0},
    {NULL, NULL, 0},
};
