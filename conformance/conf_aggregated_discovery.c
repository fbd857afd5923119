/* [sig-api-machinery] AggregatedDiscovery (test/e2e/apimachinery/aggregated_discovery.go
 * upstream): /api and /apis answer the aggregated discovery document (apidiscovery.k8s.io v2
 * APIGroupDiscoveryList) when asked, and it lists the built-in resources upstream names. The
 * CRD variants are out of scope (apiextensions.k8s.io is not served). */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdlib.h>
#include <string.h>

/* The group, version and resource upstream expects under /apis; ("", "v1", "namespaces")
 * under /api. */
static const struct gvr {
    const char *group, *version, *resource;
} expected[] = {
    {"admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations"},
    {"apiextensions.k8s.io", "v1", "customresourcedefinitions"},
    {"apiregistration.k8s.io", "v1", "apiservices"},
    {"apps", "v1", "deployments"},
    {"authentication.k8s.io", "v1", "tokenreviews"},
    {"authorization.k8s.io", "v1", "selfsubjectaccessreviews"},
    {"autoscaling", "v1", "horizontalpodautoscalers"},
    {"autoscaling", "v2", "horizontalpodautoscalers"},
    {"batch", "v1", "jobs"},
    {"certificates.k8s.io", "v1", "certificatesigningrequests"},
    {"coordination.k8s.io", "v1", "leases"},
    {"discovery.k8s.io", "v1", "endpointslices"},
    {"events.k8s.io", "v1", "events"},
    {"networking.k8s.io", "v1", "ingresses"},
    {"node.k8s.io", "v1", "runtimeclasses"},
    {"policy", "v1", "poddisruptionbudgets"},
    {"scheduling.k8s.io", "v1", "priorityclasses"},
    {"storage.k8s.io", "v1", "csinodes"},
};
static const struct gvr legacy = {"", "v1", "namespaces"};

#define AGGREGATED_ACCEPT "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
/* What client-go's discovery client asks for: aggregated v2, v2beta1, then legacy JSON. */
#define CLIENT_ACCEPT                                                                              \
    AGGREGATED_ACCEPT ",application/json;g=apidiscovery.k8s.io;v=v2beta1;as="                      \
                      "APIGroupDiscoveryList;q=0.9,application/json;q=0.8"

/* The version entry of group (an APIGroupDiscovery) named version; borrowed, or NULL. */
static json_t *version_of(const json_t *group, const char *version)
{
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(group, "versions"), i, v)
        if (!strcmp(kc_json_str(v, "version") ?: "", version))
            return v;
    return NULL;
}

/* upstream's isGVRPresentAPIDiscovery: list (an APIGroupDiscoveryList) has the resource. */
static bool gvr_present(const json_t *list, const struct gvr *g)
{
    size_t i, j;
    json_t *group, *r;
    json_array_foreach (json_object_get(list, "items"), i, group) {
        if (strcmp(kc_json_str(group, "metadata.name") ?: "", g->group))
            continue;
        json_array_foreach (json_object_get(version_of(group, g->version), "resources"), j, r)
            if (!strcmp(kc_json_str(r, "resource") ?: "", g->resource))
                return true;
    }
    return false;
}

/* upstream's isGVPresent: list has group g->group with version g->version. */
static bool gv_present(const json_t *list, const struct gvr *g)
{
    size_t i;
    json_t *group;
    json_array_foreach (json_object_get(list, "items"), i, group)
        if (!strcmp(kc_json_str(group, "metadata.name") ?: "", g->group) &&
            version_of(group, g->version))
            return true;
    return false;
}

/* GETs path with accept; the parsed aggregated document (new reference), or NULL with a
 * recorded failure when the answer is not one. */
static json_t *aggregated(struct kc_conf *t, const char *path, const char *accept)
{
    struct kc_client_raw r = {.accept = accept};
    int code = kc_conf_raw(t, "GET", &r, "%s", path);
    json_t *doc = NULL; /* owned, returned */
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "Failed to get raw aggregated discovery document "
                        "%s: HTTP %d",
                        path, code);
        goto out;
    }
    if (!strstr(r.answer_type, "as=APIGroupDiscoveryList")) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "%s answered Content-Type %s, not the aggregated discovery document", path,
                        r.answer_type);
        goto out;
    }
    json_error_t err;
    doc = json_loadb(r.answer, r.answer_len, 0, &err);
    if (!doc || strcmp(kc_json_str(doc, "kind") ?: "", "APIGroupDiscoveryList")) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to parse discovery: %s",
                        doc ? "kind is not APIGroupDiscoveryList" : err.text);
        json_decref(doc);
        doc = NULL;
    }
out:
    free(r.answer);
    return doc;
}

/* With upstream's exact Accept, /apis MUST list every expected resource and /api namespaces. */
static void raw_accept(struct kc_conf *t)
{
    json_t *apis = aggregated(t, "/apis", AGGREGATED_ACCEPT); /* owned */
    json_t *api = aggregated(t, "/api", AGGREGATED_ACCEPT);   /* owned */
    for (size_t i = 0; apis && i < sizeof expected / sizeof expected[0]; i++)
        EXPECT(t, gvr_present(apis, &expected[i]), "Expected gvr %s %s %s to exist in discovery",
               expected[i].group, expected[i].version, expected[i].resource);
    EXPECT(t, !api || gvr_present(api, &legacy),
           "Expected legacy gvr api %s %s to exist in discovery", legacy.version, legacy.resource);
    json_decref(apis);
    json_decref(api);
}

/* As client-go's aggregated discovery client (GroupsAndMaybeResources): its Accept gets the
 * aggregated documents of /api and /apis, which MUST hold every expected group version and
 * resource. */
static void client_interface(struct kc_conf *t)
{
    json_t *apis = aggregated(t, "/apis", CLIENT_ACCEPT); /* owned */
    json_t *api = aggregated(t, "/api", CLIENT_ACCEPT);   /* owned */
    if (!apis || !api)
        goto out;
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        EXPECT(t, gvr_present(apis, &expected[i]), "Expected {%s %s %s} to be present",
               expected[i].group, expected[i].version, expected[i].resource);
        EXPECT(t, gv_present(apis, &expected[i]), "Expected {%s %s} to be present",
               expected[i].group, expected[i].version);
    }
    EXPECT(t, gvr_present(api, &legacy), "Expected { %s %s} to be present", legacy.version,
           legacy.resource);
    EXPECT(t, gv_present(api, &legacy), "Expected { %s} to be present", legacy.version);
out:
    json_decref(apis);
    json_decref(api);
}

/* Not in kc_conf_suites: kubec does not serve every group upstream expects (see
 * conf_discovery.c's kc_conf_tests_discovery_pending: admissionregistration, apiextensions,
 * apiregistration, autoscaling, batch, certificates, node, policy, scheduling, storage and
 * authentication's tokenreviews). */
const struct kc_conf_test kc_conf_tests_aggregated_discovery_failing[] = {
    {"[sig-api-machinery] AggregatedDiscovery should support aggregated discovery interface "
     "[Conformance]",
     client_interface, 0},
    {"[sig-api-machinery] AggregatedDiscovery should support raw aggregated discovery endpoint "
     "Accept headers [Conformance]",
     raw_accept, 0},
    {NULL, NULL, 0},
};
