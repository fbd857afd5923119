/* [sig-node] Lease (test/e2e/common/node/lease.go upstream): coordination.k8s.io/v1 leases. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Whether two MicroTime texts are the same instant ("...:05Z" and "...:05.000000Z" are). */
static bool same_time(const char *a, const char *b)
{
    if (!a || !b || strlen(a) < 19 || strlen(b) < 19 || strncmp(a, b, 19))
        return false;
    double fa = a[19] == '.' ? strtod(a + 19, NULL) : 0,
           fb = b[19] == '.' ? strtod(b + 19, NULL) : 0;
    return fa == fb;
}

/* A lease's spec as upstream's test gives it: holder, duration, acquire and renew seconds
 * after the zero time, transitions. */
struct spec {
    const char *holder;
    int duration, acquire, renew, transitions;
};

static json_t *spec_json(struct kc_conf *t, const struct spec *s)
{
    return kc_conf_json(t,
                        "{\"holderIdentity\":\"%s\",\"leaseDurationSeconds\":%d,\"acquireTime\":"
                        "\"0001-01-01T00:%02d:%02d.000000Z\",\"renewTime\":\"0001-01-01T00:%02d:"
                        "%02d.000000Z\",\"leaseTransitions\":%d}",
                        s->holder, s->duration, s->acquire / 60, s->acquire % 60, s->renew / 60,
                        s->renew % 60, s->transitions);
}

/* Reads the lease back and compares its spec with s. */
static void check_spec(struct kc_conf *t, const char *name, const struct spec *s, const char *step)
{
    json_t *lease = NULL;           /* owned */
    json_t *want = spec_json(t, s); /* owned */
    int code =
        kc_conf_call(t, "GET", NULL, NULL, &lease,
                     "/apis/coordination.k8s.io/v1/namespaces/%s/leases/%s", kc_conf_ns(t), name);
    json_t *spec = json_object_get(lease, "spec");
    EXPECT(t, code == 200, "couldn't read Lease after %s: HTTP %d", step, code);
    EXPECT(t,
           code != 200 ||
               (!strcmp(kc_json_str(spec, "holderIdentity") ?: "", s->holder) &&
                kc_json_int(spec, "leaseDurationSeconds", -1) == s->duration &&
                kc_json_int(spec, "leaseTransitions", -1) == s->transitions &&
                same_time(kc_json_str(spec, "acquireTime"), kc_json_str(want, "acquireTime")) &&
                same_time(kc_json_str(spec, "renewTime"), kc_json_str(want, "renewTime"))),
           "Leases don't match after %s: holder %s duration %lld transitions %lld acquire %s renew "
           "%s",
           step, kc_json_str(spec, "holderIdentity") ?: "-",
           kc_json_int(spec, "leaseDurationSeconds", -1), kc_json_int(spec, "leaseTransitions", -1),
           kc_json_str(spec, "acquireTime") ?: "-", kc_json_str(spec, "renewTime") ?: "-");
    json_decref(lease);
    json_decref(want);
}

static long count_leases(struct kc_conf *t, const char *ns)
{
    json_t *list = NULL; /* owned */
    int code =
        ns ? kc_conf_call(t, "GET", NULL, NULL, &list,
                          "/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns)
           : kc_conf_call(t, "GET", NULL, NULL, &list, "/apis/coordination.k8s.io/v1/leases");
    long n = code == 200 ? (long)json_array_size(json_object_get(list, "items")) : -1;
    json_decref(list);
    return n;
}

/* Create, get, update, strategic-merge patch, list, delete a labelled collection, delete,
 * get (not found), and list in all namespaces. */
static void lease_api(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    static const struct spec first = {"holder", 30, 2, 5, 0}, second = {"holder2", 30, 20, 50, 1},
                             third = {"holder3", 60, 50, 70, 2};
    json_t *lease = NULL, *out = NULL, *patch = NULL; /* owned */
    json_t *spec = spec_json(t, &first);              /* owned */
    if (!spec)
        goto out;
    lease = json_pack("{s:{s:s},s:O}", "metadata", "name", "lease", "spec", spec);
    int code = kc_conf_call(t, "POST", lease, NULL, &out,
                            "/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating Lease failed: HTTP %d", code);
        goto out;
    }
    check_spec(t, "lease", &first, "create");
    json_decref(spec);
    spec = spec_json(t, &second);
    json_object_set(out, "spec", spec);
    code = kc_conf_call(t, "PUT", out, NULL, NULL,
                        "/apis/coordination.k8s.io/v1/namespaces/%s/leases/lease", ns);
    EXPECT(t, code == 200, "updating Lease failed: HTTP %d", code);
    check_spec(t, "lease", &second, "update");
    json_decref(spec);
    spec = spec_json(t, &third);
    patch = json_pack("{s:O}", "spec", spec);
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/apis/coordination.k8s.io/v1/namespaces/%s/leases/lease", ns);
    EXPECT(t, code == 200, "patching Lease failed: HTTP %d", code);
    check_spec(t, "lease", &third, "patch");
    json_decref(lease);
    json_decref(spec);
    spec = spec_json(t, &first);
    lease = json_pack("{s:{s:s,s:{s:s}},s:O}", "metadata", "name", "lease2", "labels",
                      "deletecollection", "true", "spec", spec);
    code = kc_conf_call(t, "POST", lease, NULL, NULL,
                        "/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
    EXPECT(t, code == 201, "creating Lease lease2 failed: HTTP %d", code);
    long n = count_leases(t, ns);
    EXPECT(t, n == 2, "listing Leases: %ld (want 2)", n);
    code = kc_conf_call(
        t, "DELETE", NULL, NULL, NULL,
        "/apis/coordination.k8s.io/v1/namespaces/%s/leases?labelSelector=deletecollection%%3Dtrue",
        ns);
    EXPECT(t, code == 200, "couldn't delete collection: HTTP %d", code);
    n = count_leases(t, ns);
    EXPECT(t, n == 1, "listing Leases after the delete of the collection: %ld (want 1)", n);
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                        "/apis/coordination.k8s.io/v1/namespaces/%s/leases/lease", ns);
    EXPECT(t, code == 200 || code == 202, "deleting Lease failed: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, NULL,
                        "/apis/coordination.k8s.io/v1/namespaces/%s/leases/lease", ns);
    EXPECT(t, code == 404, "the deleted Lease: HTTP %d (want 404 NotFound)", code);
    EXPECT(t, count_leases(t, NULL) >= 0, "couldn't list Leases from all namespaces");
out:
    json_decref(spec);
    json_decref(lease);
    json_decref(out);
    json_decref(patch);
}

const struct kc_conf_test kc_conf_tests_lease[] = {
    {"[sig-node] Lease lease API should be available [Conformance]", lease_api, 0},
    {NULL, NULL, 0},
};
