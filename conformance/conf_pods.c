/* [sig-node] Pods (test/e2e/common/node/pods.go upstream): the API behaviours of pods run by
 * a node. Upstream watches for the changes; here each is read back instead. Any image does:
 * the tests look at the API only. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define POD_START_MS 120000 /* generous: CI runs under sanitizers */

static int create_pod(struct kc_conf *t, const char *name, const char *labels_json)
{
    json_t *pod = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{"
                               "\"terminationGracePeriodSeconds\":1,\"restartPolicy\":\"Never\","
                               "\"containers\":[{\"name\":\"agnhost\",\"image\":\"%s\","
                               "\"command\":[\"sleep\",\"3600\"]}]}}",
                               name, labels_json, kc_conf_image(t));
    int code =
        pod ? kc_conf_call(t, "POST", pod, NULL, NULL, "/api/v1/namespaces/%s/pods", kc_conf_ns(t))
            : -1;
    json_decref(pod);
    return code;
}

static bool pod_running(struct kc_conf *t, void *name)
{
    json_t *pod = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                            kc_conf_ns(t), (const char *)name);
    bool running = code == 200 && !strcmp(kc_json_str(pod, "status.phase") ?: "", "Running");
    json_decref(pod);
    return running;
}

static bool pod_gone(struct kc_conf *t, void *name)
{
    return kc_conf_call(t, "GET", NULL, NULL, NULL, "/api/v1/namespaces/%s/pods/%s", kc_conf_ns(t),
                        (const char *)name) == 404;
}

/* The number of pods of the test's namespace a label selector (URL-encoded) lists; -1 when
 * the list fails. */
static long count_pods(struct kc_conf *t, const char *selector)
{
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list,
                            "/api/v1/namespaces/%s/pods?labelSelector=%s", kc_conf_ns(t), selector);
    long n = code == 200 ? (long)json_array_size(json_object_get(list, "items")) : -1;
    json_decref(list);
    return n;
}

static bool none_listed(struct kc_conf *t, void *selector)
{
    return count_pods(t, selector) == 0;
}

/* The status of a condition of a pod ("" when it has none of the type). */
static const char *condition(const json_t *pod, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "status.conditions"), i, c)
        if (!strcmp(kc_json_str(c, "type") ?: "", type))
            return kc_json_str(c, "status") ?: "";
    return "";
}

/* A pod MUST run, be listed across namespaces by label, be patchable (label and image), its
 * Ready and ContainersReady conditions replaceable through the status subresource, and be
 * gone after a delete of the collection by label. */
static void lifecycle(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    json_t *list = NULL, *pod = NULL, *answer = NULL; /* owned */
    json_t *patch = kc_conf_json(
        t,
        "{\"metadata\":{\"labels\":{\"test-pod\":\"patched\"}},\"spec\":{"
        "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"agnhost\",\"image\":"
        "\"%s\"}]}}",
        kc_conf_image_variant(t, 1));
    if (!patch)
        goto out;
    int code = create_pod(t, "pod-test", "{\"test-pod-static\":\"true\"}");
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to create Pod pod-test: HTTP %d", code);
        goto out;
    }
    if (!kc_conf_wait(t, POD_START_MS, pod_running, "pod-test")) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to see Pod pod-test in namespace %s running",
                        ns);
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &list,
                        "/api/v1/pods?labelSelector=test-pod-static%%3Dtrue");
    bool found = false;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item)
        if (!strcmp(kc_json_str(item, "metadata.name") ?: "", "pod-test") &&
            !strcmp(kc_json_str(item, "metadata.namespace") ?: "", ns))
            found = true;
    EXPECT(t, code == 200 && found, "Pod not in the list of all namespaces by label (HTTP %d)",
           code);
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/api/v1/namespaces/%s/pods/pod-test", ns);
    EXPECT(t, code == 200, "failed to patch Pod pod-test: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/pod-test", ns);
    EXPECT(t, code == 200, "failed to fetch Pod pod-test: HTTP %d", code);
    EXPECT(
        t,
        !strcmp(json_string_value(json_object_get(kc_json_path(pod, "metadata.labels"), "test-pod"))
                    ?: "",
                "patched"),
        "failed to patch Pod - missing label");
    EXPECT(
        t,
        !strcmp(kc_json_str(json_array_get(kc_json_path(pod, "spec.containers"), 0), "image") ?: "",
                kc_conf_image_variant(t, 1)),
        "failed to patch Pod - wrong image");
    /* replace the status: Ready and ContainersReady to False (retrying on a conflict) */
    bool updated = false;
    for (int attempt = 0; attempt < 5 && !updated; attempt++) {
        json_decref(pod);
        pod = NULL;
        code = kc_conf_call(t, "GET", NULL, NULL, &pod,
                            "/api/v1/namespaces/%s/pods/pod-test/status", ns);
        if (code != 200)
            break;
        int changed = 0;
        json_t *c;
        json_array_foreach (kc_json_path(pod, "status.conditions"), i, c) {
            const char *type = kc_json_str(c, "type") ?: "";
            if ((!strcmp(type, "Ready") || !strcmp(type, "ContainersReady")) &&
                !strcmp(kc_json_str(c, "status") ?: "", "True")) {
                json_object_set_new(c, "status", json_string("False"));
                changed++;
            }
        }
        if (changed != 2) {
            kc_conf_fail_at(t, __FILE__, __LINE__,
                            "failed to patch all relevant Pod conditions (%d of 2 True)", changed);
            goto out;
        }
        json_decref(answer);
        answer = NULL;
        code = kc_conf_call(t, "PUT", pod, NULL, &answer,
                            "/api/v1/namespaces/%s/pods/pod-test/status", ns);
        updated = code == 200;
        if (code != 409)
            break;
    }
    EXPECT(t, updated, "failed to update PodStatus of Pod pod-test: HTTP %d", code);
    EXPECT(t,
           !strcmp(condition(answer, "Ready"), "False") &&
               !strcmp(condition(answer, "ContainersReady"), "False"),
           "failed to update PodStatus - Ready %s, ContainersReady %s", condition(answer, "Ready"),
           condition(answer, "ContainersReady"));
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                        "/api/v1/namespaces/%s/pods?labelSelector=test-pod-static%%3Dtrue&"
                        "gracePeriodSeconds=1",
                        ns);
    EXPECT(t, code == 200, "failed to delete Pod by collection: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, 60000, pod_gone, "pod-test"),
           "pod pod-test found in namespace %s, but it should be deleted", ns);
out:
    json_decref(patch);
    json_decref(list);
    json_decref(pod);
    json_decref(answer);
}

/* A running pod's status MUST be patchable through the status subresource (message and
 * reason). */
static void patch_status(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[64], labels[128];
    kc_conf_unique(t, "pod", name, sizeof name);
    snprintf(labels, sizeof labels, "{\"e2e\":\"%s\"}", name);
    json_t *out = NULL; /* owned */
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"annotations\":{\"patchedstatus\":\"true\"}},"
                                    "\"status\":{\"message\":\"Patched by e2e test\",\"reason\":"
                                    "\"E2E\"}}");
    if (!patch)
        goto out;
    int code = create_pod(t, name, labels);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to create Pod %s: HTTP %d", name, code);
        goto out;
    }
    if (!kc_conf_wait(t, POD_START_MS, pod_running, name)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Pod didn't start within time out period");
        goto out;
    }
    code = kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", &out,
                        "/api/v1/namespaces/%s/pods/%s/status", ns, name);
    EXPECT(t, code == 200, "failed to patch pod %s: HTTP %d", name, code);
    EXPECT(t, !strcmp(kc_json_str(out, "status.message") ?: "", "Patched by e2e test"),
           "Status.Message for %s was %s but expected it to be \"Patched by e2e test\"", name,
           kc_json_str(out, "status.message") ?: "");
    EXPECT(t, !strcmp(kc_json_str(out, "status.reason") ?: "", "E2E"),
           "Status.Reason for %s was %s but expected it to be \"E2E\"", name,
           kc_json_str(out, "status.reason") ?: "");
out:
    json_decref(patch);
    json_decref(out);
}

/* Three running pods with a label MUST be gone after a delete of the collection by it. */
static void delete_collection(struct kc_conf *t)
{
    static const char *const names[] = {"test-pod-1", "test-pod-2", "test-pod-3"};
    for (int i = 0; i < 3; i++) {
        int code = create_pod(t, names[i], "{\"type\":\"Testing\"}");
        REQUIRE(t, code == 201, "failed to create pod %s: HTTP %d", names[i], code);
    }
    for (int i = 0; i < 3; i++)
        REQUIRE(t, kc_conf_wait(t, POD_START_MS, pod_running, (void *)names[i]),
                "pod %s not running", names[i]);
    int code = kc_conf_call(
        t, "DELETE", NULL, NULL, NULL,
        "/api/v1/namespaces/%s/pods?labelSelector=type%%3DTesting&gracePeriodSeconds=1",
        kc_conf_ns(t));
    REQUIRE(t, code == 200, "failed to delete the pods by collection: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, 60000, none_listed, "type%3DTesting"),
           "pods still listed after being deleted by collection (%ld)",
           count_pods(t, "type%3DTesting"));
}

/* A running pod MUST have a host IP. */
static void host_ip(struct kc_conf *t)
{
    char name[64];
    kc_conf_unique(t, "pod-hostip", name, sizeof name);
    int code = create_pod(t, name, "{}");
    REQUIRE(t, code == 201, "failed to create pod %s: HTTP %d", name, code);
    REQUIRE(t, kc_conf_wait(t, POD_START_MS, pod_running, name), "pod %s not running", name);
    json_t *pod = NULL; /* owned */
    code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s", kc_conf_ns(t),
                        name);
    const char *ip = kc_json_str(pod, "status.hostIP") ?: "";
    unsigned char buf[16];
    EXPECT(t,
           code == 200 && (inet_pton(AF_INET, ip, buf) == 1 || inet_pton(AF_INET6, ip, buf) == 1),
           "pod %s has no valid host IP: \"%s\" (HTTP %d)", name, ip, code);
    json_decref(pod);
}

/* A pod MUST be listed by its labels once submitted, run, and once deleted (gracefully) be
 * marked for deletion and then gone from the list. */
static void submitted_and_removed(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[64], value[64], labels[160], selector[160];
    kc_conf_unique(t, "pod-submit-remove", name, sizeof name);
    kc_conf_unique(t, "t", value, sizeof value);
    snprintf(labels, sizeof labels, "{\"name\":\"foo\",\"time\":\"%s\"}", value);
    snprintf(selector, sizeof selector, "name%%3Dfoo%%2Ctime%%3D%s", value);
    long n = count_pods(t, selector);
    REQUIRE(t, n == 0, "pods listed by the selector before the submission: %ld", n);
    json_t *pod = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"%s\",\"labels\":%s},\"spec\":{"
                               "\"containers\":[{\"name\":\"agnhost\",\"image\":\"%s\","
                               "\"command\":[\"sleep\",\"3600\"]}]}}",
                               name, labels, kc_conf_image(t));
    REQUIRE(t, pod, "no object");
    int code = kc_conf_call(t, "POST", pod, NULL, NULL, "/api/v1/namespaces/%s/pods", ns);
    json_decref(pod);
    pod = NULL;
    REQUIRE(t, code == 201, "failed to create pod: HTTP %d", code);
    n = count_pods(t, selector);
    REQUIRE(t, n == 1, "pods listed by the selector after the submission: %ld (want 1)", n);
    REQUIRE(t, kc_conf_wait(t, POD_START_MS, pod_running, name), "pod %s not running", name);
    code = kc_conf_call(t, "DELETE", NULL, NULL, &pod,
                        "/api/v1/namespaces/%s/pods/%s?gracePeriodSeconds=30", ns, name);
    REQUIRE(t, code == 200 || code == 202, "failed to delete pod: HTTP %d", code);
    /* a graceful delete answers with the pod marked for deletion */
    EXPECT(t, kc_json_str(pod, "metadata.deletionTimestamp") != NULL,
           "the deleted pod has no deletionTimestamp");
    EXPECT(t, kc_json_int(pod, "metadata.deletionGracePeriodSeconds", 0) != 0,
           "the deleted pod has a zero grace period");
    json_decref(pod);
    EXPECT(t, kc_conf_wait(t, 60000, pod_gone, name), "kubelet never observed the termination");
    n = count_pods(t, selector);
    EXPECT(t, n == 0, "pods listed by the selector after the deletion: %ld (want 0)", n);
}

/* A running pod's labels MUST be updatable, and the pod listed by the new one. */
static void updated(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[64], value[64], labels[160], selector[160];
    kc_conf_unique(t, "pod-update", name, sizeof name);
    kc_conf_unique(t, "t", value, sizeof value);
    snprintf(labels, sizeof labels, "{\"name\":\"foo\",\"time\":\"%s\"}", value);
    snprintf(selector, sizeof selector, "name%%3Dfoo%%2Ctime%%3D%s", value);
    int code = create_pod(t, name, labels);
    REQUIRE(t, code == 201, "failed to create pod: HTTP %d", code);
    REQUIRE(t, kc_conf_wait(t, POD_START_MS, pod_running, name), "pod %s not running", name);
    long n = count_pods(t, selector);
    REQUIRE(t, n == 1, "pods listed by the selector: %ld (want 1)", n);
    bool done = false;
    for (int attempt = 0; attempt < 5 && !done; attempt++) {
        json_t *pod = NULL; /* owned */
        code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s", ns, name);
        if (code != 200) {
            json_decref(pod);
            break;
        }
        json_object_set_new(kc_json_ensure_obj(kc_json_ensure_obj(pod, "metadata"), "labels"),
                            "time", json_string("value2"));
        code = kc_conf_call(t, "PUT", pod, NULL, NULL, "/api/v1/namespaces/%s/pods/%s", ns, name);
        json_decref(pod);
        done = code == 200;
        if (code != 409)
            break;
    }
    REQUIRE(t, done, "failed to update pod: HTTP %d", code);
    n = count_pods(t, "time%3Dvalue2");
    EXPECT(t, n == 1, "pods listed by the updated label: %ld (want 1)", n);
}

const struct kc_conf_test kc_conf_tests_pods[] = {
    {"[sig-node] Pods should run through the lifecycle of Pods and PodStatus [Conformance]",
     lifecycle, 0},
    {"[sig-node] Pods should patch a pod status [Conformance]", patch_status, 0},
    {"[sig-node] Pods should delete a collection of pods [Conformance]", delete_collection, 0},
    {"[sig-node] Pods should get a host IP [NodeConformance] [Conformance]", host_ip, 0},
    {"[sig-node] Pods should be submitted and removed [NodeConformance] [Conformance]",
     submitted_and_removed, 0},
    {"[sig-node] Pods should be updated [NodeConformance] [Conformance]", updated, 0},
    {NULL, NULL, 0},
};
