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

const struct kc_conf_test kc_conf_tests_namespace[] = {
    {"[sig-api-machinery] Namespaces [Serial] should patch a Namespace [Conformance]",
     patch_namespace, KC_CONF_SERIAL},
    {"[sig-api-machinery] Namespaces [Serial] should ensure that all services are removed when a "
     "namespace is deleted [Conformance]",
     services_removed, KC_CONF_SERIAL},
    {NULL, NULL, 0},
};
