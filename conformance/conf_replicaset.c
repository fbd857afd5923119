/* [sig-apps] ReplicaSet (test/e2e/apps/replica_set.go upstream). The pods run busybox on any
 * node agent (upstream uses httpd; no test here reads what a pod serves). Upstream's watches
 * for a state are re-expressed as polls of the object until it shows that state. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <string.h>

#define RS_IMAGE kc_conf_image(t)
#define RS_PATCH_IMAGE kc_conf_image_variant((struct kc_conf *)t, 1)
#define WAIT_MS 60000

/* A ReplicaSet name with `replicas` pods labelled (and selected) by labels_json, a JSON
 * object's text. New reference. */
static json_t *new_rs(struct kc_conf *t, const char *name, int replicas, const char *labels_json)
{
    return kc_conf_json(
        t,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":"
        "\"%s\",\"labels\":%s},\"spec\":{\"replicas\":%d,\"selector\":{"
        "\"matchLabels\":%s},\"template\":{\"metadata\":{\"labels\":%s},\"spec\":{"
        "\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":\"httpd\","
        "\"image\":\"%s\",\"command\":[\"sleep\",\"3600\"]}]}}}}",
        name, labels_json, replicas, labels_json, labels_json, RS_IMAGE);
}

static int create_rs(struct kc_conf *t, const char *name, int replicas, const char *labels_json,
                     json_t **out)
{
    json_t *rs = new_rs(t, name, replicas, labels_json); /* owned */
    int code = rs ? kc_conf_call(t, "POST", rs, NULL, out,
                                 "/apis/apps/v1/namespaces/%s/replicasets", kc_conf_ns(t))
                  : -1;
    json_decref(rs);
    return code;
}

struct pods_want {
    const char *selector; /* URL-escaped label selector */
    int want;             /* pods not being deleted, all Running */
};

/* The pods matching w->selector number w->want and are all Running (upstream's
 * VerifyPodsRunning). */
static bool pods_running(struct kc_conf *t, void *arg)
{
    struct pods_want *w = arg;
    json_t *list = NULL; /* owned */
    int code =
        kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/namespaces/%s/pods?labelSelector=%s",
                     kc_conf_ns(t), w->selector);
    int live = 0, running = 0;
    size_t i;
    json_t *pod;
    json_array_foreach (json_object_get(list, "items"), i, pod) {
        if (kc_json_str(pod, "metadata.deletionTimestamp"))
            continue;
        live++;
        if (!strcmp(kc_json_str(pod, "status.phase") ?: "", "Running"))
            running++;
    }
    json_decref(list);
    return code == 200 && live == w->want && running == w->want;
}

/* The owner reference of obj that is its controller, or NULL. Borrowed. */
static const json_t *controller_ref(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach (kc_json_path(obj, "metadata.ownerReferences"), i, ref) {
        if (json_is_true(json_object_get(ref, "controller")))
            return ref;
    }
    return NULL;
}

struct adopt {
    const char *pod;
    const char *uid; /* the ReplicaSet's */
    bool want_owned;
};

/* The pod is controlled by the ReplicaSet (or, when want_owned, already gone: replaced). */
static bool pod_ownership(struct kc_conf *t, void *arg)
{
    struct adopt *a = arg;
    json_t *pod = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                            kc_conf_ns(t), a->pod);
    const json_t *ref = controller_ref(pod);
    bool owned = ref && !strcmp(json_string_value(json_object_get(ref, "uid")) ?: "", a->uid);
    bool done = a->want_owned ? (code == 404 || (code == 200 && owned)) : (code == 200 && !owned);
    json_decref(pod);
    return done;
}

/* A pod matching a ReplicaSet created after it MUST be adopted (or replaced); a pod whose
 * labels stop matching MUST be released. */
static void adopt_release(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "pod-adoption-release";
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"%s\"}},\"spec\":{\"containers\":"
        "[{\"name\":\"%s\",\"image\":\"%s\",\"command\":[\"sleep\",\"3600\"]}]}}",
        name, name, name, RS_IMAGE);
    json_t *rs = NULL, *list = NULL, *p = NULL; /* owned */
    char owned_pod[256] = "";
    if (!pod)
        goto out;
    int code = kc_conf_call(t, "POST", pod, NULL, NULL, "/api/v1/namespaces/%s/pods", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    struct pods_want w = {"name%3Dpod-adoption-release", 1};
    if (!kc_conf_wait(t, WAIT_MS, pods_running, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s is not running", name);
        goto out;
    }
    code = create_rs(t, name, 1, "{\"name\":\"pod-adoption-release\"}", &rs);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating ReplicaSet %s: HTTP %d", name, code);
        goto out;
    }
    const char *uid = kc_json_str(rs, "metadata.uid") ?: "";
    struct adopt a = {name, uid, true};
    if (!kc_conf_wait(t, WAIT_MS, pod_ownership, &a)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "the orphan pod %s was not adopted by ReplicaSet %s",
                        name, name);
        goto out;
    }
    if (!kc_conf_wait(t, WAIT_MS, pods_running, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "ReplicaSet %s has not 1 running pod", name);
        goto out;
    }
    code =
        kc_conf_call(t, "GET", NULL, NULL, &list,
                     "/api/v1/namespaces/%s/pods?labelSelector=name%%3Dpod-adoption-release", ns);
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item) {
        const json_t *ref = controller_ref(item);
        if (ref && !strcmp(json_string_value(json_object_get(ref, "uid")) ?: "", uid))
            snprintf(owned_pod, sizeof owned_pod, "%s", kc_json_str(item, "metadata.name") ?: "");
    }
    if (!owned_pod[0]) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "no pod controlled by ReplicaSet %s (HTTP %d)", name,
                        code);
        goto out;
    }
    /* relabel it so that it no longer matches, retrying on conflicts */
    for (int tries = 0; tries < 20; tries++) {
        json_decref(p);
        p = NULL;
        code =
            kc_conf_call(t, "GET", NULL, NULL, &p, "/api/v1/namespaces/%s/pods/%s", ns, owned_pod);
        if (code != 200)
            break;
        json_object_set_new(kc_json_ensure_obj(p, "metadata"), "labels",
                            json_pack("{s:s}", "name", "not-matching-name"));
        code =
            kc_conf_call(t, "PUT", p, NULL, NULL, "/api/v1/namespaces/%s/pods/%s", ns, owned_pod);
        if (code != 409)
            break;
    }
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "relabelling pod %s: HTTP %d", owned_pod, code);
        goto out;
    }
    struct adopt r = {owned_pod, uid, false};
    EXPECT(t, kc_conf_wait(t, WAIT_MS, pod_ownership, &r),
           "pod %s no longer matches but ReplicaSet %s did not release it", owned_pod, name);
out:
    json_decref(pod);
    json_decref(rs);
    json_decref(list);
    json_decref(p);
}

struct scale_want {
    const char *name;
    long long replicas;
};

static bool scale_status(struct kc_conf *t, void *arg)
{
    struct scale_want *s = arg;
    json_t *scale = NULL; /* owned */
    int code =
        kc_conf_call(t, "GET", NULL, NULL, &scale,
                     "/apis/apps/v1/namespaces/%s/replicasets/%s/scale", kc_conf_ns(t), s->name);
    bool ok = code == 200 && kc_json_int(scale, "status.replicas", -1) == s->replicas;
    json_decref(scale);
    return ok;
}

#define SAMPLE_LABELS "{\"name\":\"sample-pod\",\"pod\":\"httpd\"}"
#define SAMPLE_SELECTOR "name%3Dsample-pod"

/* The scale subresource: get (spec and status replicas), update, strategic-merge patch; each
 * change shows in the ReplicaSet's spec.replicas. */
static void scale_subresource(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "test-rs";
    json_t *scale = NULL, *res = NULL, *rs = NULL; /* owned */
    json_t *patch = kc_conf_json(t, "{\"spec\":{\"replicas\":4}}");
    int code = create_rs(t, name, 1, SAMPLE_LABELS, NULL);
    if (code != 201 || !patch) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating ReplicaSet %s: HTTP %d", name, code);
        goto out;
    }
    struct pods_want w = {SAMPLE_SELECTOR, 1};
    if (!kc_conf_wait(t, WAIT_MS, pods_running, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "error in waiting for pods to come up");
        goto out;
    }
    struct scale_want sw = {name, 1};
    kc_conf_wait(t, WAIT_MS, scale_status, &sw); /* status.replicas follows the running pod */
    code = kc_conf_call(t, "GET", NULL, NULL, &scale,
                        "/apis/apps/v1/namespaces/%s/replicasets/%s/scale", ns, name);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to get scale subresource: HTTP %d", code);
        goto out;
    }
    EXPECT(t, kc_json_int(scale, "spec.replicas", -1) == 1, "scale spec.replicas %lld, want 1",
           kc_json_int(scale, "spec.replicas", -1));
    EXPECT(t, kc_json_int(scale, "status.replicas", -1) == 1, "scale status.replicas %lld, want 1",
           kc_json_int(scale, "status.replicas", -1));
    /* unconditional update */
    json_object_del(kc_json_ensure_obj(scale, "metadata"), "resourceVersion");
    json_object_set_new(kc_json_ensure_obj(scale, "spec"), "replicas", json_integer(2));
    code = kc_conf_call(t, "PUT", scale, NULL, &res,
                        "/apis/apps/v1/namespaces/%s/replicasets/%s/scale", ns, name);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to put scale subresource: HTTP %d", code);
        goto out;
    }
    EXPECT(t, kc_json_int(res, "spec.replicas", -1) == 2,
           "updated scale spec.replicas %lld, want 2", kc_json_int(res, "spec.replicas", -1));
    code = kc_conf_call(t, "GET", NULL, NULL, &rs, "/apis/apps/v1/namespaces/%s/replicasets/%s", ns,
                        name);
    EXPECT(t, code == 200 && kc_json_int(rs, "spec.replicas", -1) == 2,
           "ReplicaSet spec.replicas %lld after the scale update, want 2 (HTTP %d)",
           kc_json_int(rs, "spec.replicas", -1), code);
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/apis/apps/v1/namespaces/%s/replicasets/%s/scale", ns, name);
    EXPECT(t, code == 200, "Failed to patch replicaset scale: HTTP %d", code);
    json_decref(rs);
    rs = NULL;
    code = kc_conf_call(t, "GET", NULL, NULL, &rs, "/apis/apps/v1/namespaces/%s/replicasets/%s", ns,
                        name);
    EXPECT(t, code == 200 && kc_json_int(rs, "spec.replicas", -1) == 4,
           "replicaset should have 4 replicas, has %lld (HTTP %d)",
           kc_json_int(rs, "spec.replicas", -1), code);
out:
    json_decref(patch);
    json_decref(scale);
    json_decref(res);
    json_decref(rs);
}

static bool rs_patched(struct kc_conf *t, void *arg)
{
    json_t *rs = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &rs, "/apis/apps/v1/namespaces/%s/replicasets/%s",
                            kc_conf_ns(t), (const char *)arg);
    json_t *c0 = json_array_get(kc_json_path(rs, "spec.template.spec.containers"), 0);
    bool ok = code == 200 && !strcmp(kc_json_str(rs, "metadata.labels.test-rs") ?: "", "patched") &&
              kc_json_int(rs, "status.readyReplicas", -1) == 3 &&
              kc_json_int(rs, "status.availableReplicas", -1) == 3 &&
              !strcmp(json_string_value(json_object_get(c0, "image")) ?: "", RS_PATCH_IMAGE) &&
              kc_json_int(rs, "spec.template.spec.terminationGracePeriodSeconds", -1) == 0;
    if (!ok)
        kc_conf_log(t, "ReplicaSet: test-rs label %s, readyReplicas %lld, availableReplicas %lld",
                    kc_json_str(rs, "metadata.labels.test-rs") ?: "(none)",
                    kc_json_int(rs, "status.readyReplicas", -1),
                    kc_json_int(rs, "status.availableReplicas", -1));
    json_decref(rs);
    return ok;
}

/* Update spec.replicas with a get and put, retried on conflicts. */
static int update_replicas(struct kc_conf *t, const char *resource, const char *name, int replicas)
{
    int code = -1;
    for (int tries = 0; tries < 20; tries++) {
        json_t *obj = NULL; /* owned */
        code = kc_conf_call(t, "GET", NULL, NULL, &obj, "/apis/apps/v1/namespaces/%s/%s/%s",
                            kc_conf_ns(t), resource, name);
        if (code == 200) {
            json_object_set_new(kc_json_ensure_obj(obj, "spec"), "replicas",
                                json_integer(replicas));
            code = kc_conf_call(t, "PUT", obj, NULL, NULL, "/apis/apps/v1/namespaces/%s/%s/%s",
                                kc_conf_ns(t), resource, name);
        }
        json_decref(obj);
        if (code != 409)
            break;
    }
    return code;
}

/* Create, scale up by update, strategic-merge patch (labels, replicas, the template's
 * container); the ReplicaSet MUST reach the patched state with all its replicas ready. */
static void replace_patch(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "test-rs";
    /* upstream's patched container runs pause; this image's entrypoint would serve on the
     * port the pod's first container holds, so it sleeps instead, as pause does */
    json_t *patch = kc_conf_json(
        t,
        "{\"metadata\":{\"labels\":{\"test-rs\":\"patched\"}},\"spec\":{\"replicas\":3,"
        "\"template\":{\"spec\":{\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":"
        "\"%s\",\"image\":\"%s\",\"command\":[\"sleep\",\"3600\"]}]}}}}",
        name, RS_PATCH_IMAGE); /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, NULL,
                            "/apis/apps/v1/replicasets?labelSelector=test-rs%%3Dpatched");
    EXPECT(t, code == 200, "failed to list ReplicaSets: HTTP %d", code);
    code = create_rs(t, name, 1, SAMPLE_LABELS, NULL);
    if (code != 201 || !patch) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating ReplicaSet %s: HTTP %d", name, code);
        goto out;
    }
    struct pods_want w = {SAMPLE_SELECTOR, 1};
    if (!kc_conf_wait(t, WAIT_MS, pods_running, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to create pods");
        goto out;
    }
    code = update_replicas(t, "replicasets", name, 2);
    EXPECT(t, code == 200, "ReplicaSet failed to scale to 2 replicas: HTTP %d", code);
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/apis/apps/v1/namespaces/%s/replicasets/%s", ns, name);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to patch ReplicaSet: HTTP %d", code);
        goto out;
    }
    EXPECT(t, kc_conf_wait(t, WAIT_MS, rs_patched, (void *)name),
           "failed to see replicas of %s in namespace %s scale to requested amount of 3", name, ns);
out:
    json_decref(patch);
}

/* List ReplicaSets across namespaces by label, delete the collection by label: the list is
 * then empty. */
static void list_delete_collection(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "test-rs";
    char e2e[32], labels[128], selector[64];
    kc_conf_unique(t, "e2e", e2e, sizeof e2e);
    snprintf(labels, sizeof labels, "{\"name\":\"sample-pod\",\"pod\":\"httpd\",\"e2e\":\"%s\"}",
             e2e);
    snprintf(selector, sizeof selector, "e2e%%3D%s", e2e);
    json_t *list = NULL, *opts = kc_conf_json(t, "{\"gracePeriodSeconds\":1}"); /* owned */
    int code = create_rs(t, name, 3, labels, NULL);
    if (code != 201 || !opts) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating ReplicaSet %s: HTTP %d", name, code);
        goto out;
    }
    struct pods_want w = {SAMPLE_SELECTOR, 3};
    if (!kc_conf_wait(t, WAIT_MS, pods_running, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to create pods");
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, NULL, "/apis/apps/v1/namespaces/%s/replicasets/%s",
                        ns, name);
    EXPECT(t, code == 200, "failed to get ReplicaSets: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, &list, "/apis/apps/v1/replicasets?labelSelector=%s",
                        selector);
    EXPECT(t, code == 200 && json_array_size(json_object_get(list, "items")) == 1,
           "filtered list wasn't found (HTTP %d, %zu items)", code,
           json_array_size(json_object_get(list, "items")));
    code = kc_conf_call(t, "DELETE", opts, NULL, NULL,
                        "/apis/apps/v1/namespaces/%s/replicasets?labelSelector=%s", ns, selector);
    EXPECT(t, code == 200, "failed to delete ReplicaSets: HTTP %d", code);
    json_decref(list);
    list = NULL;
    code = kc_conf_call(t, "GET", NULL, NULL, &list, "/apis/apps/v1/replicasets?labelSelector=%s",
                        selector);
    EXPECT(t, code == 200 && json_array_size(json_object_get(list, "items")) == 0,
           "filtered list should have no replicas (HTTP %d, %zu items)", code,
           json_array_size(json_object_get(list, "items")));
out:
    json_decref(list);
    json_decref(opts);
}

/* Read, update and merge-patch the status subresource; each change MUST show in later
 * reads. */
static void status_endpoints(struct kc_conf *t)
{
    const char *name = "test-rs";
    char path[512];
    int code = create_rs(t, name, 1, SAMPLE_LABELS, NULL);
    REQUIRE(t, code == 201, "creating ReplicaSet %s: HTTP %d", name, code);
    struct pods_want w = {SAMPLE_SELECTOR, 1};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, pods_running, &w), "Failed to create pods");
    static const char *const labels[] = {"name", "sample-pod", "pod", "httpd", NULL};
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/replicasets/%s", kc_conf_ns(t), name);
    kc_conf_status_round(t, path, "replicaset", labels);
}

const struct kc_conf_test kc_conf_tests_replicaset[] = {
    {"[sig-apps] ReplicaSet should adopt matching pods on creation and release no longer matching "
     "pods [Conformance]",
     adopt_release, 0},
    {"[sig-apps] ReplicaSet Replicaset should have a working scale subresource [Conformance]",
     scale_subresource, 0},
    {"[sig-apps] ReplicaSet should list and delete a collection of ReplicaSets [Conformance]",
     list_delete_collection, 0},
    {"[sig-apps] ReplicaSet should validate Replicaset Status endpoints [Conformance]",
     status_endpoints, 0},
    {"[sig-apps] ReplicaSet Replace and Patch tests [Conformance]", replace_patch, 0},
    {NULL, NULL, 0},
};
