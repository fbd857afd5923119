/* [sig-network] EndpointSlice: the API behaviours (test/e2e/network/endpointslice.go
 * upstream). Upstream watches for the changes; here each is read back instead. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* The label selector of a Service's EndpointSlices, URL-encoded. */
#define SLICES_OF "labelSelector=kubernetes.io%%2Fservice-name%%3D%s"

/* For kc_conf_wait: the Endpoints object named arg is gone. */
static bool endpoints_gone(struct kc_conf *t, void *arg)
{
    return kc_conf_call(t, "GET", NULL, NULL, NULL, "/api/v1/namespaces/%s/endpoints/%s",
                        kc_conf_ns(t), (const char *)arg) == 404;
}

/* For kc_conf_wait: the Endpoints object named arg exists. */
static bool endpoints_exist(struct kc_conf *t, void *arg)
{
    return kc_conf_call(t, "GET", NULL, NULL, NULL, "/api/v1/namespaces/%s/endpoints/%s",
                        kc_conf_ns(t), (const char *)arg) == 200;
}

/* The EndpointSlices of a Service (a list, new reference), NULL when the list fails. */
static json_t *slices_of(struct kc_conf *t, const char *svc)
{
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list,
                            "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?" SLICES_OF,
                            kc_conf_ns(t), svc);
    if (code != 200) {
        json_decref(list);
        return NULL;
    }
    return list;
}

/* A Service with a selector that matches nothing MUST get an Endpoints object and an empty
 * EndpointSlice managed by endpointslice-controller.k8s.io; both MUST go with the Service. */
static void selector_create_delete(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "example-empty-selector";
    char path[256];
    json_t *slices = NULL; /* owned */
    json_t *svc = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selector\":{\"does-not-match-anything\":"
        "\"endpoints-and-endpoint-slices-should-still-be-created\"},\"ports\":[{\"name\":"
        "\"example\",\"port\":80,\"protocol\":\"TCP\"}]}}",
        name);
    REQUIRE(t, svc, "no object");
    int code = kc_conf_call(t, "POST", svc, NULL, NULL, "/api/v1/namespaces/%s/services", ns);
    json_decref(svc);
    REQUIRE(t, code == 201, "creating Service %s: HTTP %d", name, code);
    /* upstream waits wait.ForeverTestTimeout (30 s) for each */
    REQUIRE(t, kc_conf_wait(t, 30000, endpoints_exist, (void *)name),
            "No Endpoints found for Service %s/%s", ns, name);
    snprintf(path, sizeof path,
             "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices?labelSelector=kubernetes.io"
             "%%2Fservice-name%%3D%s",
             ns, name);
    for (int i = 0; i < 300; i++) {
        json_decref(slices);
        slices = slices_of(t, name);
        if (json_array_size(json_object_get(slices, "items")) > 0)
            break;
        usleep(100 * 1000);
    }
    json_t *slice = json_array_get(json_object_get(slices, "items"), 0);
    if (!slice) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "No EndpointSlice found for Service %s/%s", ns,
                        name);
        goto out;
    }
    const char *managed_by = json_string_value(json_object_get(
        kc_json_path(slice, "metadata.labels"), "endpointslice.kubernetes.io/managed-by"));
    EXPECT(t, managed_by && !strcmp(managed_by, "endpointslice-controller.k8s.io"),
           "Expected EndpointSlice to have endpointslice.kubernetes.io/managed-by label with "
           "endpointslice-controller.k8s.io value, got %s",
           managed_by ?: "(none)");
    EXPECT(t, json_array_size(json_object_get(slice, "endpoints")) == 0,
           "Expected EndpointSlice to have 0 endpoints, got %zu",
           json_array_size(json_object_get(slice, "endpoints")));
    code =
        kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s/services/%s", ns, name);
    if (code != 200 && code != 202) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "error deleting Service: HTTP %d", code);
        goto out;
    }
    EXPECT(t, kc_conf_wait(t, 30000, endpoints_gone, (void *)name),
           "Endpoints resource not deleted after Service %s/%s was deleted", ns, name);
    /* upstream allows 90 s: the garbage collector removes the slices */
    EXPECT(t, kc_conf_wait(t, 90000, kc_conf_list_empty, path),
           "EndpointSlice resource not deleted after Service %s/%s was deleted", ns, name);
out:
    json_decref(slices);
}

/* What a Service's Endpoints and EndpointSlices must show (upstream's
 * expectEndpointsAndSlices). */
struct eps_want {
    const json_t *svc;         /* the Service as created (borrowed) */
    const json_t *const *pods; /* the pods it selects, with their IPs (borrowed) */
    size_t npods, nsubsets, nslices;
    bool named; /* its port's targetPort is a container port's name */
};

/* The pod of want with this IP, or NULL. */
static const json_t *pod_by_ip(const struct eps_want *w, const char *ip)
{
    for (size_t i = 0; i < w->npods; i++)
        if (!strcmp(kc_json_str(w->pods[i], "status.podIP") ?: "-", ip ?: ""))
            return w->pods[i];
    return NULL;
}

/* A targetRef MUST name the pod: kind, namespace, name and uid. */
static void expect_target_ref(struct kc_conf *t, const json_t *pod, const json_t *ref)
{
    EXPECT(t, ref, "Expected TargetRef to not be nil");
    EXPECT(t, !strcmp(kc_json_str(ref, "kind") ?: "", "Pod"), "Expected TargetRef.Kind to be Pod");
    EXPECT(
        t,
        !strcmp(kc_json_str(ref, "namespace") ?: "", kc_json_str(pod, "metadata.namespace") ?: "-"),
        "Expected TargetRef.Namespace to be the pod's");
    EXPECT(t, !strcmp(kc_json_str(ref, "name") ?: "", kc_json_str(pod, "metadata.name") ?: "-"),
           "Expected TargetRef.Name to be %s", kc_json_str(pod, "metadata.name"));
    EXPECT(t, !strcmp(kc_json_str(ref, "uid") ?: "", kc_json_str(pod, "metadata.uid") ?: "-"),
           "Expected TargetRef.UID to be the pod's");
}

/* The port of a pod's container named like the Service's first targetPort, -1 if none. */
static long long named_port(const struct eps_want *w, const json_t *pod)
{
    const char *want =
        kc_json_str(json_array_get(kc_json_path(w->svc, "spec.ports"), 0), "targetPort");
    json_t *c = json_array_get(kc_json_path(pod, "spec.containers"), 0), *p;
    size_t i;
    json_array_foreach (json_object_get(c, "ports"), i, p)
        if (want && !strcmp(kc_json_str(p, "name") ?: "", want))
            return kc_json_int(p, "containerPort", -1);
    return -1;
}

/* Whether an endpoint or subset port (name, protocol, port) is the Service's port i, with
 * the port its targetPort when not named (else port, the pod's container port). */
static bool port_matches(const struct eps_want *w, const json_t *port, size_t i, long long named)
{
    json_t *sp = json_array_get(kc_json_path(w->svc, "spec.ports"), i);
    if (!sp || strcmp(kc_json_str(port, "name") ?: "", kc_json_str(sp, "name") ?: ""))
        return false;
    if (w->named)
        return named < 0 || kc_json_int(port, "port", -1) == named;
    return !strcmp(kc_json_str(port, "protocol") ?: "", kc_json_str(sp, "protocol") ?: "TCP") &&
           kc_json_int(port, "port", -1) == kc_json_int(sp, "targetPort", -2);
}

struct eps_found {
    const struct eps_want *w;
    const char *svc;
    json_t *slices, *endpoints; /* the last read (owned) */
};

/* For kc_conf_wait: at least nslices slices with at least npods endpoints in all. */
static bool slices_match(struct kc_conf *t, void *arg)
{
    struct eps_found *f = arg;
    json_decref(f->slices);
    f->slices = slices_of(t, f->svc);
    json_t *items = json_object_get(f->slices, "items"), *s;
    size_t i, n = 0;
    json_array_foreach (items, i, s)
        n += json_array_size(json_object_get(s, "endpoints"));
    return json_array_size(items) > 0 && json_array_size(items) >= f->w->nslices &&
           n >= f->w->npods;
}

/* For kc_conf_wait: the Endpoints have nsubsets subsets and npods addresses in all. */
static bool endpoints_match(struct kc_conf *t, void *arg)
{
    struct eps_found *f = arg;
    json_decref(f->endpoints);
    f->endpoints = NULL;
    if (kc_conf_call(t, "GET", NULL, NULL, &f->endpoints, "/api/v1/namespaces/%s/endpoints/%s",
                     kc_conf_ns(t), f->svc) != 200)
        return false;
    json_t *subsets = json_object_get(f->endpoints, "subsets"), *s;
    size_t i, n = 0;
    json_array_foreach (subsets, i, s)
        n += json_array_size(json_object_get(s, "addresses")) +
             json_array_size(json_object_get(s, "notReadyAddresses"));
    return json_array_size(subsets) == f->w->nsubsets && n == f->w->npods;
}

static void expect_endpoints_and_slices(struct kc_conf *t, const struct eps_want *w)
{
    const char *svc = kc_json_str(w->svc, "metadata.name");
    struct eps_found f = {w, svc, NULL, NULL};
    size_t nports = json_array_size(kc_json_path(w->svc, "spec.ports"));
    size_t i, j, k;
    json_t *subset, *slice, *e, *a, *p;
    /* upstream polls for 2 minutes */
    if (!kc_conf_wait(t, 120000, slices_match, &f)) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "Timed out waiting for EndpointSlices of %s to match expectations", svc);
        goto out;
    }
    if (!kc_conf_wait(t, 120000, endpoints_match, &f)) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "Timed out waiting for Endpoints of %s to match expectations", svc);
        goto out;
    }
    size_t total = 0;
    json_array_foreach (json_object_get(f.endpoints, "subsets"), i, subset) {
        EXPECT(t, json_array_size(json_object_get(subset, "ports")) == nports,
               "Expected subset to have %zu ports, got %zu", nports,
               json_array_size(json_object_get(subset, "ports")));
        for (int ready = 0; ready < 2; ready++)
            json_array_foreach (json_object_get(subset, ready ? "addresses" : "notReadyAddresses"),
                                j, a) {
                total++;
                const json_t *pod = pod_by_ip(w, kc_json_str(a, "ip"));
                if (!pod) {
                    kc_conf_fail_at(t, __FILE__, __LINE__, "Unexpected address with IP: %s",
                                    kc_json_str(a, "ip") ?: "");
                    continue;
                }
                expect_target_ref(t, pod, json_object_get(a, "targetRef"));
                json_array_foreach (json_object_get(subset, "ports"), k, p)
                    EXPECT(t, port_matches(w, p, k, named_port(w, pod)),
                           "subset port %lld of Endpoints %s does not match the Service",
                           kc_json_int(p, "port", -1), svc);
            }
    }
    EXPECT(t, total == w->npods, "Expected %zu addresses, got %zu", w->npods, total);
    json_t *items = json_object_get(f.slices, "items");
    EXPECT(t, w->npods > 0 || json_array_size(items) == 1, "Expected 1 EndpointSlice, got %zu",
           json_array_size(items));
    json_t *addrs = json_object(); /* owned: a set of the slices' first addresses */
    json_array_foreach (items, i, slice) {
        size_t sp = json_array_size(json_object_get(slice, "ports"));
        EXPECT(t, w->npods > 0 || sp == 0, "Expected EndpointSlice to have 0 ports, got %zu", sp);
        EXPECT(t, w->npods == 0 || sp == nports,
               "Expected EndpointSlice to have %zu ports, got %zu", nports, sp);
        json_array_foreach (json_object_get(slice, "endpoints"), j, e) {
            const char *ip = json_string_value(json_array_get(json_object_get(e, "addresses"), 0));
            if (!ip) {
                kc_conf_fail_at(t, __FILE__, __LINE__,
                                "Expected EndpointSlice endpoint to have at least 1 address");
                continue;
            }
            json_object_set_new(addrs, ip, json_true());
            const json_t *pod = pod_by_ip(w, ip);
            if (!pod) {
                kc_conf_fail_at(t, __FILE__, __LINE__, "Unexpected address with IP: %s", ip);
                continue;
            }
            expect_target_ref(t, pod, json_object_get(e, "targetRef"));
            json_array_foreach (json_object_get(slice, "ports"), k, p)
                EXPECT(t, port_matches(w, p, k, named_port(w, pod)),
                       "EndpointSlice port %lld for %s does not match the Service",
                       kc_json_int(p, "port", -1), svc);
        }
        if (!w->named)
            json_array_foreach (json_object_get(slice, "ports"), k, p)
                EXPECT(t, port_matches(w, p, k, -1),
                       "EndpointSlice port %lld of %s does not match the Service",
                       kc_json_int(p, "port", -1), svc);
    }
    EXPECT(t, json_object_size(addrs) == w->npods, "Expected %zu addresses, got %zu", w->npods,
           json_object_size(addrs));
    json_decref(addrs);
out:
    json_decref(f.slices);
    json_decref(f.endpoints);
}

/* For kc_conf_wait: the pod (a json_t ** the wait refreshes) has an IP. */
struct pod_ip_wait {
    const char *name;
    json_t *pod; /* owned */
};

static bool pod_has_ip(struct kc_conf *t, void *arg)
{
    struct pod_ip_wait *w = arg;
    json_decref(w->pod);
    w->pod = NULL;
    return kc_conf_call(t, "GET", NULL, NULL, &w->pod, "/api/v1/namespaces/%s/pods/%s",
                        kc_conf_ns(t), w->name) == 200 &&
           json_array_size(kc_json_path(w->pod, "status.podIPs")) > 0;
}

/* Pods matched by Services through a number port, a named port and nothing MUST be in
 * those Services' Endpoints and EndpointSlices (grouped by the port they resolve to), and
 * deleted EndpointSlices MUST come back. */
static void pods_matching(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    /* upstream runs nginx; any image does, the pods only need addresses */
    static const char *const pods[][3] = {
        {"pod1", "\"pod1\":\"on\",\"shared12\":\"on\"",
         "[{\"name\":\"example-name\",\"containerPort\":3000}]"},
        {"pod2", "\"pod2\":\"on\",\"shared12\":\"on\"",
         "[{\"name\":\"example-name\",\"containerPort\":3001},{\"name\":\"other-port\","
         "\"containerPort\":3002}]"},
    };
    static const char *const svcs[][3] = {
        {"example-int-port", "\"pod1\":\"on\"", "\"name\":\"example\",\"targetPort\":3000"},
        {"example-named-port", "\"shared12\":\"on\"",
         "\"name\":\"http\",\"targetPort\":"
         "\"example-name\""},
        {"example-no-match", "\"pod3\":\"on\"",
         "\"name\":\"example-no-match\",\"targetPort\":8080"},
    };
    struct pod_ip_wait pw[2] = {{pods[0][0], NULL}, {pods[1][0], NULL}};
    json_t *svc[3] = {NULL, NULL, NULL}; /* owned */
    for (int i = 0; i < 2; i++) {
        json_t *pod = kc_conf_json(
            t,
            "{\"metadata\":{\"name\":\"%s\",\"labels\":{%s}},\"spec\":{"
            "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"container1\","
            "\"image\":\"%s\",\"command\":[\"sleep\",\"3600\"],\"ports\":%s}]}}",
            pods[i][0], pods[i][1], kc_conf_image(t), pods[i][2]);
        int code = pod ? kc_conf_pod_create(t, pod) : -1;
        json_decref(pod);
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", pods[i][0], code);
            goto out;
        }
    }
    for (int i = 0; i < 3; i++) {
        json_t *s = kc_conf_json(t,
                                 "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"selector\":{%s},"
                                 "\"publishNotReadyAddresses\":true,\"ports\":[{%s,\"port\":80,"
                                 "\"protocol\":\"TCP\"}]}}",
                                 svcs[i][0], svcs[i][1], svcs[i][2]);
        int code =
            s ? kc_conf_call(t, "POST", s, NULL, &svc[i], "/api/v1/namespaces/%s/services", ns)
              : -1;
        json_decref(s);
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "creating Service %s: HTTP %d", svcs[i][0],
                            code);
            goto out;
        }
    }
    /* upstream allows 3 minutes for the pods' IPs */
    for (int i = 0; i < 2; i++)
        if (!kc_conf_wait(t, 180000, pod_has_ip, &pw[i])) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "timed out waiting for Pods to have IPs");
            goto out;
        }
    const json_t *both[] = {pw[0].pod, pw[1].pod};
    kc_conf_log(t, "referencing a single matching pod");
    struct eps_want w1 = {svc[0], both, 1, 1, 1, false};
    expect_endpoints_and_slices(t, &w1);
    kc_conf_log(t, "referencing matching pods with named port");
    struct eps_want w2 = {svc[1], both, 2, 2, 2, true};
    expect_endpoints_and_slices(t, &w2);
    kc_conf_log(t, "creating empty Endpoints and EndpointSlices for no matching Pods");
    struct eps_want w3 = {svc[2], both, 0, 0, 1, false};
    expect_endpoints_and_slices(t, &w3);
    kc_conf_log(t, "recreating EndpointSlices after they've been deleted");
    json_t *slices = slices_of(t, svcs[1][0]), *s; /* owned */
    size_t si;
    json_array_foreach (json_object_get(slices, "items"), si, s) {
        int code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                                "/apis/discovery.k8s.io/v1/namespaces/%s/endpointslices/%s", ns,
                                kc_json_str(s, "metadata.name"));
        EXPECT(t, code == 200 || code == 202, "Error deleting EndpointSlice %s: HTTP %d",
               kc_json_str(s, "metadata.name"), code);
    }
    json_decref(slices);
    expect_endpoints_and_slices(t, &w2);
out:
    for (int i = 0; i < 3; i++)
        json_decref(svc[i]);
    json_decref(pw[0].pod);
    json_decref(pw[1].pod);
}

/* What mirrored_as waits for: the Service's slices all carry one port 80 and one endpoint
 * of one address ip; exactly one slice when exact (upstream tolerates a duplicate at
 * creation, made from a stale cache); none at all when ip is NULL. */
struct mirror_want {
    const char *svc, *ip;
    bool exact;
    char why[256]; /* the last mismatch */
};

static bool mirrored_as(struct kc_conf *t, void *arg)
{
    struct mirror_want *w = arg;
    json_t *list = slices_of(t, w->svc); /* owned */
    json_t *items = json_object_get(list, "items"), *slice;
    size_t i, n = json_array_size(items);
    bool ok = list != NULL;
    if (!list)
        snprintf(w->why, sizeof w->why, "listing the EndpointSlices failed");
    else if (!w->ip ? n != 0 : (n == 0 || (w->exact && n != 1))) {
        snprintf(w->why, sizeof w->why, "%zu EndpointSlices (want %s)", n,
                 !w->ip     ? "0"
                 : w->exact ? "1"
                            : "at least 1");
        ok = false;
    }
    json_array_foreach (items, i, slice) {
        if (!ok || !w->ip)
            break;
        json_t *ports = json_object_get(slice, "ports"), *eps = json_object_get(slice, "endpoints");
        json_t *addrs = json_object_get(json_array_get(eps, 0), "addresses");
        if (json_array_size(ports) != 1 || kc_json_int(json_array_get(ports, 0), "port", -1) != 80)
            snprintf(w->why, sizeof w->why, "Expected EndpointSlice to have 1 Port 80");
        else if (json_array_size(eps) != 1)
            snprintf(w->why, sizeof w->why, "Expected EndpointSlice to have 1 endpoints, got %zu",
                     json_array_size(eps));
        else if (json_array_size(addrs) != 1)
            snprintf(w->why, sizeof w->why,
                     "Expected EndpointSlice endpoint to have 1 address, got %zu",
                     json_array_size(addrs));
        else if (strcmp(json_string_value(json_array_get(addrs, 0)) ?: "", w->ip))
            snprintf(w->why, sizeof w->why, "Expected EndpointSlice to have %s as address, got %s",
                     w->ip, json_string_value(json_array_get(addrs, 0)) ?: "");
        else
            continue;
        ok = false;
    }
    json_decref(list);
    return ok;
}

/* The Endpoints of a Service without a selector MUST be mirrored into an EndpointSlice
 * through their create, update and delete. Upstream polls 12 s for each step; under
 * sanitizers the controller gets 60 s. */
static void mirroring(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "example-custom-endpoints";
    json_t *svc = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"ports\":[{\"name\":"
                               "\"example\",\"port\":80,\"protocol\":\"TCP\"}]}}",
                               name);
    json_t *ep = kc_conf_json(t,
                              "{\"metadata\":{\"name\":\"%s\"},\"subsets\":[{\"ports\":[{\"port\":"
                              "80}],\"addresses\":[{\"ip\":\"10.1.2.3\"}]}]}",
                              name);
    json_t *out = NULL; /* owned */
    struct mirror_want w = {name, "10.1.2.3", false, ""};
    if (!svc || !ep)
        goto out;
    int code = kc_conf_call(t, "POST", svc, NULL, NULL, "/api/v1/namespaces/%s/services", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "error creating Service: HTTP %d", code);
        goto out;
    }
    code = kc_conf_call(t, "POST", ep, NULL, &out, "/api/v1/namespaces/%s/endpoints", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Unexpected error creating Endpoints: HTTP %d",
                        code);
        goto out;
    }
    if (!kc_conf_wait(t, 60000, mirrored_as, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Did not find matching EndpointSlice for %s/%s: %s",
                        ns, name, w.why);
        goto out;
    }
    /* mirroring an update */
    json_object_set_new(json_array_get(json_object_get(out, "subsets"), 0), "addresses",
                        json_pack("[{s:s}]", "ip", "10.2.3.4"));
    code = kc_conf_call(t, "PUT", out, NULL, NULL, "/api/v1/namespaces/%s/endpoints/%s", ns, name);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Unexpected error updating Endpoints: HTTP %d",
                        code);
        goto out;
    }
    w.ip = "10.2.3.4";
    w.exact = true;
    if (!kc_conf_wait(t, 60000, mirrored_as, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Did not find matching EndpointSlice for %s/%s: %s",
                        ns, name, w.why);
        goto out;
    }
    /* mirroring the delete */
    code =
        kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s/endpoints/%s", ns, name);
    if (code != 200 && code != 202) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Unexpected error deleting Endpoints: HTTP %d",
                        code);
        goto out;
    }
    w.ip = NULL;
    EXPECT(t, kc_conf_wait(t, 60000, mirrored_as, &w),
           "EndpointSlices for %s/%s not deleted with the Endpoints: %s", ns, name, w.why);
out:
    json_decref(svc);
    json_decref(ep);
    json_decref(out);
}

const struct kc_conf_test kc_conf_tests_endpointslice[] = {
    {"[sig-network] EndpointSlice should support creating EndpointSlice API operations "
     "[Conformance]",
     api_operations, 0},
    {"[sig-network] EndpointSlice should have Endpoints and EndpointSlices pointing to API "
     "Server [Conformance]",
     api_server, 0},
    {"[sig-network] EndpointSlice should create and delete Endpoints and EndpointSlices for a "
     "Service with a selector specified [Conformance]",
     selector_create_delete, 0},
    {"[sig-network] EndpointSlice should create Endpoints and EndpointSlices for Pods matching a "
     "Service [Conformance]",
     pods_matching, 0},
    {"[sig-network] EndpointSliceMirroring should mirror a custom Endpoints resource through "
     "create update and delete [Conformance]",
     mirroring, 0},
    {NULL, NULL, 0},
};
