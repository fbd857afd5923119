/* [sig-node] ConfigMap: the API behaviours (test/e2e/common/node/configmap.go upstream). The
 * two that read a ConfigMap into a container's environment are in conf_env.c. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <string.h>

/* A ConfigMap with an empty key MUST be refused. */
static void empty_key(struct kc_conf *t)
{
    char name[64];
    json_t *cm = kc_conf_json(t, "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"\":\"value-1\"}}",
                              kc_conf_unique(t, "configmap-test-emptykey", name, sizeof name));
    json_t *out = NULL;
    REQUIRE(t, cm, "no object");
    int code =
        kc_conf_call(t, "POST", cm, NULL, &out, "/api/v1/namespaces/%s/configmaps", kc_conf_ns(t));
    EXPECT(t, code == 422, "created ConfigMap %s with an empty key: HTTP %d (want 422 Invalid)",
           name, code);
    EXPECT(t, code != 422 || !strcmp(kc_conf_reason(out), "Invalid"), "reason %s, want Invalid",
           kc_conf_reason(out));
    json_decref(cm);
    json_decref(out);
}

/* Create, get, strategic-merge patch, list across namespaces by label, delete the collection by
 * label, and the list by label is then empty. */
static void lifecycle(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[64];
    kc_conf_unique(t, "test-configmap", name, sizeof name);
    json_t *cm =
        kc_conf_json(t,
                     "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"test-configmap-static\":"
                     "\"true\"}},\"data\":{\"valueName\":\"value\"}}",
                     name);
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"labels\":{\"test-configmap\":\"patched\"}},"
                                    "\"data\":{\"valueName\":\"value1\"}}");
    json_t *out = NULL, *list = NULL;
    if (!cm || !patch)
        goto out;
    int code = kc_conf_call(t, "POST", cm, NULL, NULL, "/api/v1/namespaces/%s/configmaps", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating the ConfigMap: HTTP %d", code);
        goto out;
    }
    code =
        kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/configmaps/%s", ns, name);
    EXPECT(t, code == 200, "fetching the ConfigMap: HTTP %d", code);
    EXPECT(t, !strcmp(kc_json_str(out, "data.valueName") ?: "", "value"), "data.valueName is %s",
           kc_json_str(out, "data.valueName") ?: "(none)");
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/api/v1/namespaces/%s/configmaps/%s", ns, name);
    EXPECT(t, code == 200, "patching the ConfigMap: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, &list,
                        "/api/v1/configmaps?labelSelector=test-configmap%%3Dpatched");
    EXPECT(t, code == 200, "listing ConfigMaps in all namespaces by label: HTTP %d", code);
    bool found = false;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item) {
        json_t *labels = json_object_get(json_object_get(item, "metadata"), "labels");
        if (!strcmp(kc_json_str(item, "metadata.name") ?: "", name) &&
            !strcmp(kc_json_str(item, "metadata.namespace") ?: "", ns) &&
            !strcmp(json_string_value(json_object_get(labels, "test-configmap-static")) ?: "",
                    "true") &&
            !strcmp(json_string_value(json_object_get(labels, "test-configmap")) ?: "",
                    "patched") &&
            !strcmp(kc_json_str(item, "data.valueName") ?: "", "value1"))
            found = true;
    }
    EXPECT(t, found, "the patched ConfigMap %s/%s is not in the list by label selector", ns, name);
    code = kc_conf_call(
        t, "DELETE", NULL, NULL, NULL,
        "/api/v1/namespaces/%s/configmaps?labelSelector=test-configmap-static%%3Dtrue", ns);
    EXPECT(t, code == 200, "deleting the ConfigMaps by collection: HTTP %d", code);
    json_decref(list);
    list = NULL;
    code = kc_conf_call(
        t, "GET", NULL, NULL, &list,
        "/api/v1/namespaces/%s/configmaps?labelSelector=test-configmap-static%%3Dtrue", ns);
    EXPECT(t, code == 200 && json_array_size(json_object_get(list, "items")) == 0,
           "ConfigMap still present after being deleted by collection (HTTP %d, %zu items)", code,
           json_array_size(json_object_get(list, "items")));
out:
    json_decref(cm);
    json_decref(patch);
    json_decref(out);
    json_decref(list);
}

const struct kc_conf_test kc_conf_tests_configmap[] = {
    {"[sig-node] ConfigMap should fail to create ConfigMap with empty key [Conformance]", empty_key,
     0},
    {"[sig-node] ConfigMap should run through a ConfigMap lifecycle [Conformance]", lifecycle, 0},
    {NULL, NULL, 0},
};
