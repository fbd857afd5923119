/* [sig-network] Services: the API behaviours (test/e2e/network/service.go upstream). Upstream
 * watches for the changes; here each is read back with a get or a list instead. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

/* The number of items a list answers with (-1 when the list fails). */
/* Whether a list has an item of this name and namespace. */
static bool list_has(const json_t *list, const char *name, const char *ns)
{
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item)
        if (!strcmp(kc_json_str(item, "metadata.name") ?: "", name) &&
            !strcmp(kc_json_str(item, "metadata.namespace") ?: "", ns))
            return true;
    return false;
}

/* A Service created in the test's namespace MUST be in the list of Services of all
 * namespaces. */
static void find_all_namespaces(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    json_t *svc = kc_conf_json(t, "{\"metadata\":{\"name\":\"test-service\"},\"spec\":{\"ports\":"
                                  "[{\"port\":80,\"targetPort\":80}]}}");
    json_t *list = NULL; /* owned */
    if (!svc)
        goto out;
    int code = kc_conf_call(t, "POST", svc, NULL, NULL, "/api/v1/namespaces/%s/services", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating the Service: HTTP %d", code);
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/services");
    EXPECT(t, code == 200, "listing Services in all namespaces: HTTP %d", code);
    EXPECT(t, list_has(list, "test-service", ns),
           "service test-service not found in the list of all namespaces");
out:
    json_decref(svc);
    json_decref(list);
}

/* Three Services with a label MUST be listed by it, deleted as a collection by it, and then
 * no longer listed. */
static void delete_collection(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char path[256];
    snprintf(path, sizeof path,
             "/api/v1/namespaces/%s/services?labelSelector=e2e-test-service%%3Ddelete", ns);
    for (int i = 0; i < 3; i++) {
        char name[64];
        char prefix[32];
        snprintf(prefix, sizeof prefix, "e2e-svc-%c", 'a' + i);
        json_t *svc = kc_conf_json(
            t,
            "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"e2e-test-service\":\"delete\"}},"
            "\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"name\":\"http\",\"protocol\":\"TCP\","
            "\"port\":8888,\"targetPort\":8080}]}}",
            kc_conf_unique(t, prefix, name, sizeof name));
        REQUIRE(t, svc, "no object");
        int code = kc_conf_call(t, "POST", svc, NULL, NULL, "/api/v1/namespaces/%s/services", ns);
        json_decref(svc);
        REQUIRE(t, code == 201, "creating Service %s: HTTP %d", name, code);
    }
    long n = kc_conf_list_len(t, path);
    REQUIRE(t, n == 3, "listing the Services by label: %ld (want 3)", n);
    int code =
        kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                     "/api/v1/namespaces/%s/services?labelSelector=e2e-test-service%%3Ddelete", ns);
    REQUIRE(t, code == 200, "deleting the Services by collection: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, 60000, kc_conf_list_empty, path),
           "Services still listed after being deleted by collection (%ld)",
           kc_conf_list_len(t, path));
}

/* Whether a Service's status has a loadBalancer ingress of this IP. */
static bool has_lb_ip(const json_t *svc, const char *ip)
{
    size_t i;
    json_t *ing;
    json_array_foreach (kc_json_path(svc, "status.loadBalancer.ingress"), i, ing)
        if (!strcmp(json_string_value(json_object_get(ing, "ip")) ?: "", ip))
            return true;
    return false;
}

static const char *annotation(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(kc_json_path(o, "metadata.annotations"), key)) ?: "";
}

/* A Service's status MUST be readable, patchable and replaceable through its status
 * subresource, its labels patchable, and it MUST be gone once deleted. */
static void status_lifecycle(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[64];
    kc_conf_unique(t, "test-service", name, sizeof name);
    json_t *svc = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"test-service-static\":"
                               "\"true\"}},\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"name\":"
                               "\"http\",\"protocol\":\"TCP\",\"port\":80,\"targetPort\":80}]}}",
                               name);
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"annotations\":{\"patchedstatus\":\"true\"}},"
                                    "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":"
                                    "\"203.0.113.1\"}]}}}");
    json_t *lpatch = kc_conf_json(t, "{\"metadata\":{\"labels\":{\"test-service\":\"patched\"}}}");
    json_t *cond = kc_conf_json(t, "[{\"type\":\"StatusUpdate\",\"status\":\"True\",\"reason\":"
                                   "\"E2E\",\"message\":\"Set from e2e test\","
                                   "\"lastTransitionTime\":\"2025-01-01T00:00:00Z\"}]");
    json_t *out = NULL; /* owned */
    if (!svc || !patch || !lpatch || !cond)
        goto out;
    int code = kc_conf_call(t, "POST", svc, NULL, NULL, "/api/v1/namespaces/%s/services", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating the Service: HTTP %d", code);
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/services/%s/status", ns,
                        name);
    if (code != 200 || strcmp(kc_json_str(out, "metadata.name") ?: "", name)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "getting the Service status: HTTP %d", code);
        goto out;
    }
    json_decref(out);
    out = NULL;
    code = kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", &out,
                        "/api/v1/namespaces/%s/services/%s/status", ns, name);
    EXPECT(t, code == 200, "patching the Service status: HTTP %d", code);
    EXPECT(t, has_lb_ip(out, "203.0.113.1"),
           "patched status has no loadBalancer ingress 203.0.113.1");
    EXPECT(t, !strcmp(annotation(out, "patchedstatus"), "true"),
           "patched Service has no annotation patchedstatus=true");
    json_decref(out);
    out = NULL;
    /* replace the status with a condition (retrying on a conflict as upstream) */
    bool updated = false;
    for (int attempt = 0; attempt < 5 && !updated; attempt++) {
        code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/services/%s/status",
                            ns, name);
        if (code != 200)
            break;
        json_object_set(kc_json_ensure_obj(out, "status"), "conditions", cond);
        json_t *answer = NULL; /* owned */
        code = kc_conf_call(t, "PUT", out, NULL, &answer,
                            "/api/v1/namespaces/%s/services/%s/status", ns, name);
        json_decref(out);
        out = answer;
        updated = code == 200;
        if (code != 409)
            break;
        json_decref(out);
        out = NULL;
    }
    EXPECT(t, updated, "updating the Service status: HTTP %d", code);
    json_t *c = json_array_get(kc_json_path(out, "status.conditions"), 0);
    EXPECT(t,
           updated &&
               !strcmp(json_string_value(json_object_get(c, "type")) ?: "", "StatusUpdate") &&
               !strcmp(json_string_value(json_object_get(c, "reason")) ?: "", "E2E") &&
               !strcmp(json_string_value(json_object_get(c, "message")) ?: "", "Set from e2e test"),
           "updated status has no StatusUpdate condition");
    json_decref(out);
    out = NULL;
    code = kc_conf_call(t, "PATCH", lpatch, "application/strategic-merge-patch+json", NULL,
                        "/api/v1/namespaces/%s/services/%s", ns, name);
    EXPECT(t, code == 200, "patching the Service labels: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/services/%s", ns, name);
    EXPECT(t,
           code == 200 && !strcmp(json_string_value(json_object_get(
                                      kc_json_path(out, "metadata.labels"), "test-service"))
                                      ?: "",
                                  "patched"),
           "Service not patched (HTTP %d)", code);
    EXPECT(t, has_lb_ip(out, "203.0.113.1"), "the Service lost its loadBalancer status");
    code =
        kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s/services/%s", ns, name);
    EXPECT(t, code == 200 || code == 202, "deleting the Service: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, NULL, "/api/v1/namespaces/%s/services/%s", ns, name);
    EXPECT(t, code == 404, "the deleted Service: HTTP %d (want 404)", code);
out:
    json_decref(svc);
    json_decref(patch);
    json_decref(lpatch);
    json_decref(cond);
    json_decref(out);
}

/* Whether an Endpoints object has this address and this port. */
static bool endpoints_have(const json_t *ep, const char *ip, long long port)
{
    json_t *subset = json_array_get(json_object_get(ep, "subsets"), 0);
    json_t *addr = json_array_get(json_object_get(subset, "addresses"), 0);
    json_t *p = json_array_get(json_object_get(subset, "ports"), 0);
    return !strcmp(json_string_value(json_object_get(addr, "ip")) ?: "", ip) &&
           kc_json_int(p, "port", -1) == port;
}

/* An Endpoints object MUST be creatable, listed across namespaces by label, patchable, and
 * deleted as a collection by label. */
static void endpoint_lifecycle(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char path[256];
    json_t *ep = kc_conf_json(
        t, "{\"metadata\":{\"name\":\"testservice\",\"labels\":{\"test-endpoint-static\":"
           "\"true\"}},\"subsets\":[{\"addresses\":[{\"ip\":\"10.0.0.24\"}],\"ports\":[{\"name\":"
           "\"http\",\"port\":80,\"protocol\":\"TCP\"}]}]}");
    json_t *patch = kc_conf_json(
        t, "{\"metadata\":{\"labels\":{\"test-service\":\"patched\"}},\"subsets\":[{"
           "\"addresses\":[{\"ip\":\"10.0.0.25\"}],\"ports\":[{\"name\":\"http-test\",\"port\":"
           "8080,\"protocol\":\"TCP\"}]}]}");
    json_t *out = NULL; /* owned */
    if (!ep || !patch)
        goto out;
    int code = kc_conf_call(t, "POST", ep, NULL, NULL, "/api/v1/namespaces/%s/endpoints", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating the Endpoints: HTTP %d", code);
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &out,
                        "/api/v1/endpoints?labelSelector=test-endpoint-static%%3Dtrue");
    EXPECT(t, code == 200 && list_has(out, "testservice", ns),
           "Endpoints not in the list of all namespaces by label (HTTP %d)", code);
    json_decref(out);
    out = NULL;
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/api/v1/namespaces/%s/endpoints/testservice", ns);
    EXPECT(t, code == 200, "patching the Endpoints: HTTP %d", code);
    code =
        kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/endpoints/testservice", ns);
    EXPECT(t, code == 200, "fetching the Endpoints: HTTP %d", code);
    EXPECT(t,
           !strcmp(json_string_value(
                       json_object_get(kc_json_path(out, "metadata.labels"), "test-service"))
                       ?: "",
                   "patched"),
           "failed to patch the Endpoints labels");
    EXPECT(t, endpoints_have(out, "10.0.0.25", 8080),
           "failed to patch the Endpoints: address or port not updated");
    code = kc_conf_call(
        t, "DELETE", NULL, NULL, NULL,
        "/api/v1/namespaces/%s/endpoints?labelSelector=test-endpoint-static%%3Dtrue", ns);
    EXPECT(t, code == 200, "deleting the Endpoints by collection: HTTP %d", code);
    snprintf(path, sizeof path,
             "/api/v1/namespaces/%s/endpoints?labelSelector=test-endpoint-static%%3Dtrue", ns);
    EXPECT(t, kc_conf_wait(t, 60000, kc_conf_list_empty, path),
           "Endpoints still listed after being deleted by collection");
out:
    json_decref(ep);
    json_decref(patch);
    json_decref(out);
}

/* The default/kubernetes Service MUST exist. */
static void secure_master(struct kc_conf *t)
{
    int code =
        kc_conf_call(t, "GET", NULL, NULL, NULL, "/api/v1/namespaces/default/services/kubernetes");
    EXPECT(t, code == 200, "getting the default/kubernetes Service: HTTP %d", code);
}

const struct kc_conf_test kc_conf_tests_service[] = {
    {"[sig-network] Services should provide secure master service [Conformance]", secure_master, 0},
    {"[sig-network] Services should find a service from listing all namespaces [Conformance]",
     find_all_namespaces, 0},
    {"[sig-network] Services should delete a collection of services [Conformance]",
     delete_collection, 0},
    {"[sig-network] Services should test the lifecycle of an Endpoint [Conformance]",
     endpoint_lifecycle, 0},
    {"[sig-network] Services should complete a service status lifecycle [Conformance]",
     status_lifecycle, 0},
    {NULL, NULL, 0},
};
