/* [sig-network] EndpointSlice: the API behaviours (test/e2e/network/endpointslice.go
 * upstream). Upstream watches for the changes; here each is read back instead. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

/* Whether a discovery document lists this resource. */
static bool serves(const json_t *doc, const char *resource)
{
    size_t i;
    json_t *r;
    json_array_foreach (json_object_get(doc, "resources"), i, r)
        if (!strcmp(json_string_value(json_object_get(r, "name")) ?: "", resource))
            return true;
    return false;
}

/* EndpointSlices MUST be discoverable in discovery.k8s.io/v1, and creatable, gettable,
 * listable in a namespace and in all, patchable, updatable, deletable and deletable as a
 * collection. */
static void api_operations(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char names[3][64], path[256], all[256];
    json_t *doc = NULL, *out = NULL; /* owned */
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"annotations\":{\"patched\":\"true\"}}}");
    if (!patch)
        goto out;
    int code = kc_conf_call(t, "GET", NULL, NULL, &doc, "/apis/discovery.k8s.io/v1");
    if (code != 200 || !serves(doc, "endpointslices")) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "discovery.k8s.io/v1 does not list endpointslices (HTTP %d)", code);
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        json_t *eps = kc_conf_json(
            t,
            "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"special-label\":\"%s\"}},"
            "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"1.2.3.4\",\"5.6.7.8\"]}],"
            "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"}]}",
            kc_conf_unique(t, "e2e-example-ing", names[i], sizeof names[i]), ns);
        if (!eps)
            goto out;
        code = kc_conf_call(t, "POST", eps, NULL, NULL,
                            "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices", ns);
        json_decref(eps);
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "creating EndpointSlice %s: HTTP %d", names[i],
                            code);
            goto out;
        }
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &out,
                        "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns, names[0]);
    EXPECT(t, code == 200 && !strcmp(kc_json_str(out, "metadata.name") ?: "", names[0]),
           "getting EndpointSlice %s: HTTP %d", names[0], code);
    json_decref(out);
    out = NULL;
    snprintf(path, sizeof path,
             "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector=special-label"
             "%%3D%s",
             ns, ns);
    snprintf(all, sizeof all,
             "/apis/discovery.k8s.io/v1/endpointslices?labelSelector=special-label%%3D%s", ns);
    long n = kc_conf_list_len(t, path);
    EXPECT(t, n == 3, "listing the EndpointSlices in the namespace: %ld (want 3)", n);
    n = kc_conf_list_len(t, all);
    EXPECT(t, n == 3, "listing the EndpointSlices in all namespaces: %ld (want 3)", n);
    code = kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", &out,
                        "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns, names[0]);
    EXPECT(t, code == 200, "patching the EndpointSlice: HTTP %d", code);
    EXPECT(t,
           !strcmp(json_string_value(
                       json_object_get(kc_json_path(out, "metadata.annotations"), "patched"))
                       ?: "",
                   "true"),
           "patched EndpointSlice has no annotation patched=true");
    /* update: the answer of the patch, with one more annotation */
    json_object_set_new(kc_json_ensure_obj(kc_json_ensure_obj(out, "metadata"), "annotations"),
                        "updated", json_string("true"));
    json_t *updated = NULL; /* owned */
    code = kc_conf_call(t, "PUT", out, NULL, &updated,
                        "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns, names[0]);
    EXPECT(t, code == 200, "updating the EndpointSlice: HTTP %d", code);
    EXPECT(t,
           !strcmp(json_string_value(
                       json_object_get(kc_json_path(updated, "metadata.annotations"), "updated"))
                       ?: "",
                   "true"),
           "updated EndpointSlice has no annotation updated=true");
    json_decref(updated);
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                        "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns, names[1]);
    EXPECT(t, code == 200 || code == 202, "deleting EndpointSlice %s: HTTP %d", names[1], code);
    code = kc_conf_call(t, "GET", NULL, NULL, NULL,
                        "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns, names[1]);
    EXPECT(t, code == 404, "the deleted EndpointSlice: HTTP %d (want 404)", code);
    n = kc_conf_list_len(t, path);
    EXPECT(t, n == 2, "listing the EndpointSlices after a delete: %ld (want 2)", n);
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                        "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector="
                        "special-label%%3D%s",
                        ns, ns);
    EXPECT(t, code == 200, "deleting the EndpointSlices by collection: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, 60000, kc_conf_list_empty, path),
           "EndpointSlices still listed after being deleted by collection");
out:
    json_decref(patch);
    json_decref(doc);
    json_decref(out);
}

/* The number of addresses of all subsets of an Endpoints object. */
static size_t endpoints_addresses(const json_t *ep)
{
    size_t i, n = 0;
    json_t *subset;
    json_array_foreach (json_object_get(ep, "subsets"), i, subset)
        n += json_array_size(json_object_get(subset, "addresses"));
    return n;
}

/* The default/kubernetes Service MUST have an Endpoints object with one subset and one
 * EndpointSlice (label kubernetes.io/service-name=kubernetes) with as many endpoints and the
 * same ports. */
static void api_server(struct kc_conf *t)
{
    json_t *ep = NULL, *slices = NULL; /* owned */
    int code =
        kc_conf_call(t, "GET", NULL, NULL, &ep, "/api/v1/namespaces/default/endpoints/kubernetes");
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "getting default/kubernetes Endpoints: HTTP %d",
                        code);
        goto out;
    }
    EXPECT(t, json_array_size(json_object_get(ep, "subsets")) == 1,
           "default/kubernetes Endpoints has %zu subsets (want 1)",
           json_array_size(json_object_get(ep, "subsets")));
    code = kc_conf_call(t, "GET", NULL, NULL, &slices,
                        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?"
                        "labelSelector=kubernetes.io%%2Fservice-name%%3Dkubernetes");
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "listing the EndpointSlices: HTTP %d", code);
        goto out;
    }
    json_t *items = json_object_get(slices, "items");
    if (json_array_size(items) != 1) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "%zu EndpointSlices for default/kubernetes (want 1)",
                        json_array_size(items));
        goto out;
    }
    json_t *slice = json_array_get(items, 0);
    json_t *subset = json_array_get(json_object_get(ep, "subsets"), 0);
    size_t addrs = endpoints_addresses(ep);
    EXPECT(t, json_array_size(json_object_get(slice, "endpoints")) == addrs,
           "the EndpointSlice has %zu endpoints, the Endpoints %zu addresses",
           json_array_size(json_object_get(slice, "endpoints")), addrs);
    json_t *sports = json_object_get(slice, "ports"), *eports = json_object_get(subset, "ports");
    EXPECT(t, json_array_size(sports) == json_array_size(eports),
           "the EndpointSlice has %zu ports, the Endpoints %zu", json_array_size(sports),
           json_array_size(eports));
    size_t i;
    json_t *sp;
    json_array_foreach (sports, i, sp) {
        bool found = false;
        size_t j;
        json_t *ept;
        json_array_foreach (eports, j, ept)
            if (kc_json_int(ept, "port", -1) == kc_json_int(sp, "port", -2) &&
                !strcmp(kc_json_str(ept, "name") ?: "", kc_json_str(sp, "name") ?: "") &&
                !strcmp(kc_json_str(ept, "protocol") ?: "TCP",
                        kc_json_str(sp, "protocol") ?: "TCP"))
                found = true;
        EXPECT(t, found, "EndpointSlice port %lld is not a port of the Endpoints",
               kc_json_int(sp, "port", -1));
    }
out:
    json_decref(ep);
    json_decref(slices);
}

const struct kc_conf_test kc_conf_tests_endpointslice[] = {
    {"[sig-network] EndpointSlice should support creating EndpointSlice API operations "
     "[Conformance]",
     api_operations, 0},
    {"[sig-network] EndpointSlice should have Endpoints and EndpointSlices pointing to API "
     "Server [Conformance]",
     api_server, 0},
    {NULL, NULL, 0},
};
