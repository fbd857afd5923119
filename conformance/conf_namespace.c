/* [sig-api-machinery] Namespaces (test/e2e/apimachinery/namespace.go upstream). */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <string.h>

static int create_namespace(struct kc_conf *t, const char *name)
{
    json_t *ns = kc_conf_json(t, "{\"metadata\":{\"name\":\"%s\"}}", name);
    int code = ns ? kc_conf_call(t, "POST", ns, NULL, NULL, "/api/v1/namespaces") : -1;
    json_decref(ns);
    return code;
}

/* Patching a Namespace's labels MUST show in a later get. */
static void patch_namespace(struct kc_conf *t)
{
    char name[64];
    kc_conf_unique(t, "nspatchtest", name, sizeof name);
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"labels\":{\"testLabel\":\"testValue\"}}}");
    json_t *out = NULL;
    int code = create_namespace(t, name);
    if (code != 201 || !patch) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed creating Namespace %s: HTTP %d", name, code);
        goto out;
    }
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/api/v1/namespaces/%s", name);
    EXPECT(t, code == 200, "failed to patch Namespace: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s", name);
    json_t *label =
        json_object_get(json_object_get(json_object_get(out, "metadata"), "labels"), "testLabel");
    EXPECT(t, code == 200 && !strcmp(json_string_value(label) ?: "", "testValue"),
           "namespace not patched (HTTP %d, testLabel %s)", code,
           json_string_value(label) ?: "(none)");
    kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s", name);
out:
    json_decref(patch);
    json_decref(out);
}

static bool namespace_gone(struct kc_conf *t, void *name)
{
    return kc_conf_call(t, "GET", NULL, NULL, NULL, "/api/v1/namespaces/%s", (char *)name) == 404;
}

/* For kc_conf_wait: the object at path (a char *) exists. */
static bool exists(struct kc_conf *t, void *path)
{
    return kc_conf_call(t, "GET", NULL, NULL, NULL, "%s", (char *)path) == 200;
}

/* For kc_conf_wait: the pod at path (a char *) is Running. */
static bool pod_running(struct kc_conf *t, void *path)
{
    json_t *pod = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "%s", (char *)path);
    bool ok = code == 200 && !strcmp(kc_json_str(pod, "status.phase") ?: "", "Running");
    json_decref(pod);
    return ok;
}

/* A Service in a deleted Namespace MUST be gone once the Namespace is, also after a
 * Namespace of the same name is made again. */
static void services_removed(struct kc_conf *t)
{
    char name[64];
    kc_conf_unique(t, "nsdeletetest", name, sizeof name);
    json_t *svc =
        kc_conf_json(t, "{\"metadata\":{\"name\":\"test-service\"},\"spec\":{\"selector\":"
                        "{\"foo\":\"bar\",\"baz\":\"blah\"},\"ports\":[{\"port\":80,"
                        "\"targetPort\":80}]}}");
    int code = create_namespace(t, name);
    REQUIRE(t, code == 201 && svc, "failed to create namespace %s: HTTP %d", name, code);
    code = kc_conf_call(t, "POST", svc, NULL, NULL, "/api/v1/namespaces/%s/services", name);
    json_decref(svc);
    REQUIRE(t, code == 201, "failed to create service test-service in namespace %s: HTTP %d", name,
            code);
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s", name);
    REQUIRE(t, code == 200 || code == 202, "failed to delete namespace %s: HTTP %d", name, code);
    /* upstream waits up to 3 minutes */
    REQUIRE(t, kc_conf_wait(t, 180000, namespace_gone, name),
            "namespace %s was not deleted within 3 minutes", name);
    code = create_namespace(t, name);
    REQUIRE(t, code == 201, "failed to recreate namespace %s: HTTP %d", name, code);
    code = kc_conf_call(t, "GET", NULL, NULL, NULL, "/api/v1/namespaces/%s/services/test-service",
                        name);
    EXPECT(t, code == 404, "service test-service in the recreated namespace %s: HTTP %d (want 404)",
           name, code);
    kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s", name);
}

/* A pod in a deleted Namespace MUST be gone once the Namespace is, also after a Namespace
 * of the same name is made again. */
static void pods_removed(struct kc_conf *t)
{
    char name[64];
    kc_conf_unique(t, "nsdeletetest", name, sizeof name);
    json_t *pod = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"test-pod\"},\"spec\":{\"containers\":"
                               "[{\"name\":\"nginx\",\"image\":\"%s\"}]}}",
                               kc_conf_image(t));
    int code = create_namespace(t, name);
    if (code != 201 || !pod) {
        json_decref(pod);
        REQUIRE(t, false, "failed to create namespace: %s: HTTP %d", name, code);
    }
    /* as upstream, the namespace's default service account first (upstream's admission
     * refuses pods until it exists) */
    char sa[160];
    snprintf(sa, sizeof sa, "/api/v1/namespaces/%s/serviceaccounts/default", name);
    if (!kc_conf_wait(t, 60000, exists, sa)) {
        json_decref(pod);
        REQUIRE(t, false,
                "failure while waiting for a default service account to be provisioned in "
                "namespace: %s",
                name);
    }
    code = kc_conf_call(t, "POST", pod, NULL, NULL, "/api/v1/namespaces/%s/pods", name);
    json_decref(pod);
    REQUIRE(t, code == 201, "failed to create pod test-pod in namespace: %s: HTTP %d", name, code);
    /* upstream waits for Running with the framework's pod start timeout */
    char path[160];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/test-pod", name);
    REQUIRE(t, kc_conf_wait(t, 180000, pod_running, path), "pod test-pod in %s not Running", name);
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s", name);
    REQUIRE(t, code == 200 || code == 202, "failed to delete namespace: %s: HTTP %d", name, code);
    /* upstream: 60 s plus the pod's grace period (30 s); more here for sanitizer builds */
    REQUIRE(t, kc_conf_wait(t, 180000, namespace_gone, name),
            "namespace %s was not removed (the pod's grace period is 30 s)", name);
    code = create_namespace(t, name);
    REQUIRE(t, code == 201, "failed to create namespace: %s: HTTP %d", name, code);
    code = kc_conf_call(t, "GET", NULL, NULL, NULL, "%s", path);
    EXPECT(t, code == 404, "pod test-pod in the recreated namespace %s: HTTP %d (want 404)", name,
           code);
    kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s", name);
}

/* The last condition of the namespace's status, NULL when there is none;
 * borrowed from ns. */
static json_t *last_condition(json_t *ns)
{
    json_t *conds = kc_json_path(ns, "status.conditions");
    size_t n = json_array_size(conds);
    return n ? json_array_get(conds, n - 1) : NULL;
}

/* The status subresource: GET shows phase Active; a merge patch of metadata and a status
 * condition shows both; a PUT adding a condition shows it last. */
static void namespace_status(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    json_t *obj = NULL, *patch = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &obj, "/api/v1/namespaces/%s/status", ns);
    REQUIRE(t, code == 200, "failed to fetch NamespaceStatus %s: HTTP %d", ns, code);
    EXPECT(t, !strcmp(kc_json_str(obj, "status.phase") ?: "", "Active"),
           "The phase returned was %s", kc_json_str(obj, "status.phase") ?: "(none)");
    json_decref(obj);
    obj = NULL;

    patch = kc_conf_json(t,
                         "{\"metadata\":{\"annotations\":{\"e2e-patched-ns-status\":\"%s\"}},"
                         "\"status\":{\"conditions\":[{\"type\":\"StatusPatch\",\"status\":"
                         "\"True\",\"reason\":\"E2E\",\"message\":\"Patched by an e2e test\"}]}}",
                         ns);
    code = patch ? kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", &obj,
                                "/api/v1/namespaces/%s/status", ns)
                 : -1;
    json_decref(patch);
    if (code != 200) {
        json_decref(obj);
        REQUIRE(t, false, "Failed to patch status: HTTP %d", code);
    }
    EXPECT(t, !strcmp(kc_json_str(obj, "metadata.annotations.e2e-patched-ns-status") ?: "", ns),
           "patched object should have the applied annotation");
    json_t *c = last_condition(obj); /* borrowed */
    EXPECT(t, !strcmp(kc_json_str(c, "reason") ?: "", "E2E"), "The Reason returned was %s",
           kc_json_str(c, "reason") ?: "(none)");
    EXPECT(t, !strcmp(kc_json_str(c, "message") ?: "", "Patched by an e2e test"),
           "The Message returned was %s", kc_json_str(c, "message") ?: "(none)");
    json_decref(obj);
    obj = NULL;

    /* read status, add a condition, PUT it back (again after a conflict); the answer MUST
     * show the condition last */
    for (int tries = 0; tries < 20; tries++) {
        json_t *cur = NULL; /* owned */
        code = kc_conf_call(t, "GET", NULL, NULL, &cur, "/api/v1/namespaces/%s/status", ns);
        if (code == 200) {
            json_t *status = kc_json_ensure_obj(cur, "status"); /* borrowed */
            json_t *conds = json_object_get(status, "conditions");
            if (!json_is_array(conds)) {
                conds = json_array();
                json_object_set_new(status, "conditions", conds);
            }
            json_array_append_new(conds, json_pack("{s:s, s:s, s:s, s:s}", "type", "StatusUpdate",
                                                   "status", "True", "reason", "E2E", "message",
                                                   "Updated by an e2e test"));
            json_decref(obj);
            obj = NULL;
            code = kc_conf_call(t, "PUT", cur, NULL, &obj, "/api/v1/namespaces/%s/status", ns);
        }
        json_decref(cur);
        if (code != 409)
            break;
    }
    if (code != 200) {
        json_decref(obj);
        REQUIRE(t, false, "failed to update namespace status %s: HTTP %d", ns, code);
    }
    c = last_condition(obj);
    EXPECT(t, code == 200 && !strcmp(kc_json_str(c, "type") ?: "", "StatusUpdate"),
           "updated object should have the approved condition (HTTP %d, last %s)", code,
           kc_json_str(c, "type") ?: "(none)");
    EXPECT(t, !strcmp(kc_json_str(c, "message") ?: "", "Updated by an e2e test"),
           "The Message returned was %s", kc_json_str(c, "message") ?: "(none)");
    json_decref(obj);
}

/* A PUT of the namespace with a label added MUST answer it with the label. */
static void namespace_update(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    json_t *obj = NULL; /* owned */
    int code = 0;
    for (int i = 0; i < 20; i++) { /* retried on conflict, as upstream's RetryOnConflict */
        json_decref(obj);
        obj = NULL;
        code = kc_conf_call(t, "GET", NULL, NULL, &obj, "/api/v1/namespaces/%s", ns);
        if (code != 200)
            break;
        json_object_set_new(kc_json_ensure_obj(kc_json_ensure_obj(obj, "metadata"), "labels"), ns,
                            json_string("updated"));
        json_t *body = obj; /* owned, replaced by the answer */
        obj = NULL;
        code = kc_conf_call(t, "PUT", body, NULL, &obj, "/api/v1/namespaces/%s", ns);
        json_decref(body);
        if (code != 409)
            break;
    }
    EXPECT(t, code == 200, "failed to update Namespace: \"%s\": HTTP %d", ns, code);
    json_t *labels = kc_json_path(obj, "metadata.labels"); /* borrowed */
    EXPECT(t,
           code != 200 || !strcmp(json_string_value(json_object_get(labels, ns)) ?: "", "updated"),
           "Failed to update namespace \"%s\"", ns);
    json_decref(obj);
}

/* Whether the namespace's spec.finalizers holds f. */
static bool has_finalizer(const json_t *ns, const char *f)
{
    size_t i;
    json_t *v;
    json_array_foreach (kc_json_path(ns, "spec.finalizers"), i, v)
        if (!strcmp(json_string_value(v) ?: "", f))
            return true;
    return false;
}

/* PUT to the finalize subresource with spec.finalizers changed: adds, then removes, a
 * finalizer; each answer MUST show the change. */
static int finalize_round(struct kc_conf *t, const char *name, const char *f, bool add,
                          json_t **out)
{
    int code = 0;
    for (int i = 0; i < 20; i++) {
        json_t *obj = NULL; /* owned */
        code = kc_conf_call(t, "GET", NULL, NULL, &obj, "/api/v1/namespaces/%s", name);
        if (code != 200) {
            json_decref(obj);
            return code;
        }
        json_t *fins = kc_json_path(obj, "spec.finalizers"); /* borrowed */
        if (!json_is_array(fins)) {
            fins = json_array();
            json_object_set_new(kc_json_ensure_obj(obj, "spec"), "finalizers", fins);
        }
        if (add) {
            json_array_append_new(fins, json_string(f));
        } else {
            for (size_t j = json_array_size(fins); j-- > 0;)
                if (!strcmp(json_string_value(json_array_get(fins, j)) ?: "", f))
                    json_array_remove(fins, j);
        }
        json_decref(*out);
        *out = NULL;
        code = kc_conf_call(t, "PUT", obj, NULL, out, "/api/v1/namespaces/%s/finalize", name);
        json_decref(obj);
        if (code != 409)
            break;
    }
    return code;
}

static void namespace_finalizer(struct kc_conf *t)
{
    static const char fake[] = "e2e.example.com/fakeFinalizer";
    char name[64];
    kc_conf_unique(t, "e2e-ns", name, sizeof name);
    int code = create_namespace(t, name);
    REQUIRE(t, code == 201, "failed creating Namespace %s: HTTP %d", name, code);
    json_t *out = NULL; /* owned */
    code = finalize_round(t, name, fake, true, &out);
    EXPECT(t, code == 200, "failed to add finalizer to the namespace: \"%s\": HTTP %d", name, code);
    EXPECT(t, code != 200 || has_finalizer(out, fake),
           "Finalizer \"%s\" was not found. Namespace \"%s\"", fake, name);
    if (code == 200) {
        code = finalize_round(t, name, fake, false, &out);
        EXPECT(t, code == 200, "failed to remove finalizer from namespace: \"%s\": HTTP %d", name,
               code);
        EXPECT(t, code != 200 || !has_finalizer(out, fake),
               "Finalizer \"%s\" was found. Namespace \"%s\"", fake, name);
    }
    json_decref(out);
    kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s", name);
}

const struct kc_conf_test kc_conf_tests_namespace[] = {
    {"[sig-api-machinery] Namespaces [Serial] should patch a Namespace [Conformance]",
     patch_namespace, KC_CONF_SERIAL},
    {"[sig-api-machinery] Namespaces [Serial] should ensure that all services are removed when a "
     "namespace is deleted [Conformance]",
     services_removed, KC_CONF_SERIAL},
    {"[sig-api-machinery] Namespaces [Serial] should ensure that all pods are removed when a "
     "namespace is deleted [Conformance]",
     pods_removed, KC_CONF_SERIAL},
    {"[sig-api-machinery] Namespaces [Serial] should apply changes to a namespace status "
     "[Conformance]",
     namespace_status, KC_CONF_SERIAL},
    {"[sig-api-machinery] Namespaces [Serial] should apply an update to a Namespace [Conformance]",
     namespace_update, KC_CONF_SERIAL},
    {"[sig-api-machinery] Namespaces [Serial] should apply a finalizer to a Namespace "
     "[Conformance]",
     namespace_finalizer, KC_CONF_SERIAL},
    {NULL, NULL, 0},
};
