/* [sig-network] Ingress API and IngressClass API (test/e2e/network/ingress.go and
 * ingressclass.go upstream): networking.k8s.io/v1. Upstream watches for the changes; here
 * each is read back instead. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

/* Whether /apis lists networking.k8s.io and its v1 document lists this resource. */
static bool discovered(struct kc_conf *t, const char *resource)
{
    json_t *doc = NULL; /* owned */
    bool group = false, found = false;
    size_t i;
    json_t *g;
    if (kc_conf_call(t, "GET", NULL, NULL, &doc, "/apis") == 200)
        json_array_foreach (json_object_get(doc, "groups"), i, g)
            if (!strcmp(kc_json_str(g, "name") ?: "", "networking.k8s.io"))
                group = true;
    json_decref(doc);
    doc = NULL;
    if (group && kc_conf_call(t, "GET", NULL, NULL, &doc, "/apis/networking.k8s.io/v1") == 200)
        json_array_foreach (json_object_get(doc, "resources"), i, g)
            if (!strcmp(kc_json_str(g, "name") ?: "", resource))
                found = true;
    json_decref(doc);
    return found;
}

static const char *annotation(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(kc_json_path(o, "metadata.annotations"), key)) ?: "";
}

static const char *lb_ip(const json_t *ing)
{
    return json_string_value(json_object_get(
               json_array_get(kc_json_path(ing, "status.loadBalancer.ingress"), 0), "ip"))
               ?: "";
}

/* Ingresses MUST be discoverable, creatable, gettable, listable in a namespace and in all,
 * patchable, updatable, their status patchable and updatable through the status
 * subresource, deletable, and deletable as a collection. */
static void ingress_api(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char names[3][64], path[256], all[256];
    json_t *out = NULL, *answer = NULL; /* owned */
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"annotations\":{\"patched\":\"true\"}}}");
    json_t *spatch =
        kc_conf_json(t, "{\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"169.1.1.1\"}]}}}");
    if (!patch || !spatch)
        goto out;
    if (!discovered(t, "ingresses")) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "networking.k8s.io/v1 ingresses not discovered");
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        json_t *ing = kc_conf_json(
            t,
            "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"special-label\":\"%s\"}},\"spec\":{"
            "\"defaultBackend\":{\"service\":{\"name\":\"default-backend\",\"port\":{\"number\":"
            "8080}}},\"rules\":[{\"host\":\"foo.bar.com\",\"http\":{\"paths\":[{\"path\":\"/\","
            "\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"test-backend\","
            "\"port\":{\"number\":8080}}}}]}}]}}",
            kc_conf_unique(t, "e2e-example-ing", names[i], sizeof names[i]), ns);
        if (!ing)
            goto out;
        int code = kc_conf_call(t, "POST", ing, NULL, NULL,
                                "/apis/networking.k8s.io/v1/namespaces/%s/ingresses", ns);
        json_decref(ing);
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "creating Ingress %s: HTTP %d", names[i], code);
            goto out;
        }
    }
    int code = kc_conf_call(t, "GET", NULL, NULL, &out,
                            "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s", ns, names[0]);
    EXPECT(t, code == 200 && !strcmp(kc_json_str(out, "metadata.name") ?: "", names[0]),
           "getting Ingress %s: HTTP %d", names[0], code);
    json_decref(out);
    out = NULL;
    snprintf(path, sizeof path,
             "/apis/networking.k8s.io/v1/namespaces/%s/ingresses?labelSelector=special-label%%3D%s",
             ns, ns);
    snprintf(all, sizeof all,
             "/apis/networking.k8s.io/v1/ingresses?labelSelector=special-label%%3D%s", ns);
    long n = kc_conf_list_len(t, path);
    EXPECT(t, n == 3, "listing the Ingresses in the namespace: %ld (want 3)", n);
    n = kc_conf_list_len(t, all);
    EXPECT(t, n == 3, "listing the Ingresses in all namespaces: %ld (want 3)", n);
    code = kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", &out,
                        "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s", ns, names[0]);
    EXPECT(t, code == 200 && !strcmp(annotation(out, "patched"), "true"),
           "patching the Ingress: HTTP %d, annotation patched=%s", code,
           annotation(out, "patched"));
    json_object_set_new(kc_json_ensure_obj(kc_json_ensure_obj(out, "metadata"), "annotations"),
                        "updated", json_string("true"));
    code = kc_conf_call(t, "PUT", out, NULL, &answer,
                        "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s", ns, names[0]);
    EXPECT(t, code == 200 && !strcmp(annotation(answer, "updated"), "true"),
           "updating the Ingress: HTTP %d, annotation updated=%s", code,
           annotation(answer, "updated"));
    json_decref(out);
    json_decref(answer);
    out = answer = NULL;
    code =
        kc_conf_call(t, "PATCH", spatch, "application/merge-patch+json", &out,
                     "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s/status", ns, names[0]);
    EXPECT(t, code == 200 && !strcmp(lb_ip(out), "169.1.1.1"),
           "patching the Ingress status: HTTP %d, ip %s", code, lb_ip(out));
    json_object_set_new(json_array_get(kc_json_path(out, "status.loadBalancer.ingress"), 0), "ip",
                        json_string("169.1.1.2"));
    code =
        kc_conf_call(t, "PUT", out, NULL, &answer,
                     "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s/status", ns, names[0]);
    EXPECT(t, code == 200 && !strcmp(lb_ip(answer), "169.1.1.2"),
           "updating the Ingress status: HTTP %d, ip %s", code, lb_ip(answer));
    json_decref(out);
    json_decref(answer);
    out = answer = NULL;
    code =
        kc_conf_call(t, "GET", NULL, NULL, &out,
                     "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s/status", ns, names[0]);
    EXPECT(t, code == 200 && !strcmp(lb_ip(out), "169.1.1.2"),
           "getting the Ingress status: HTTP %d, ip %s", code, lb_ip(out));
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                        "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s", ns, names[1]);
    EXPECT(t, code == 200 || code == 202, "deleting Ingress %s: HTTP %d", names[1], code);
    code = kc_conf_call(t, "GET", NULL, NULL, NULL,
                        "/apis/networking.k8s.io/v1/namespaces/%s/ingresses/%s", ns, names[1]);
    EXPECT(t, code == 404, "the deleted Ingress: HTTP %d (want 404)", code);
    n = kc_conf_list_len(t, path);
    EXPECT(t, n == 2, "listing the Ingresses after a delete: %ld (want 2)", n);
    code = kc_conf_call(
        t, "DELETE", NULL, NULL, NULL,
        "/apis/networking.k8s.io/v1/namespaces/%s/ingresses?labelSelector=special-label%%3D%s", ns,
        ns);
    EXPECT(t, code == 200, "deleting the Ingresses by collection: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, 60000, kc_conf_list_empty, path),
           "Ingresses still listed after being deleted by collection");
out:
    json_decref(patch);
    json_decref(spatch);
    json_decref(out);
    json_decref(answer);
}

/* IngressClasses (cluster scoped) MUST be discoverable, creatable, gettable, listable,
 * patchable, updatable, deletable, and deletable as a collection. */
static void ingressclass_api(struct kc_conf *t)
{
    const char *label = kc_conf_ns(t); /* unique to this run */
    char names[3][64], path[256];
    json_t *out = NULL, *answer = NULL; /* owned */
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"annotations\":{\"patched\":\"true\"}}}");
    int created = 0;
    if (!patch)
        goto out;
    if (!discovered(t, "ingressclasses")) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "networking.k8s.io/v1 ingressclasses not discovered");
        goto out;
    }
    for (; created < 3; created++) {
        json_t *ic = kc_conf_json(
            t,
            "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"special-label\":\"%s\"}},\"spec\":{"
            "\"controller\":\"example.com/controller\"}}",
            kc_conf_unique(t, "e2e-example-ingressclass", names[created], sizeof names[created]),
            label);
        if (!ic)
            goto out;
        int code =
            kc_conf_call(t, "POST", ic, NULL, NULL, "/apis/networking.k8s.io/v1/ingressclasses");
        json_decref(ic);
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "creating IngressClass %s: HTTP %d",
                            names[created], code);
            goto out;
        }
    }
    int code = kc_conf_call(t, "GET", NULL, NULL, &out,
                            "/apis/networking.k8s.io/v1/ingressclasses/%s", names[0]);
    EXPECT(t, code == 200 && !strcmp(kc_json_str(out, "metadata.name") ?: "", names[0]),
           "getting IngressClass %s: HTTP %d", names[0], code);
    json_decref(out);
    out = NULL;
    snprintf(path, sizeof path,
             "/apis/networking.k8s.io/v1/ingressclasses?labelSelector=special-label%%3D%s", label);
    long n = kc_conf_list_len(t, path);
    EXPECT(t, n == 3, "listing the IngressClasses: %ld (want 3)", n);
    code = kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", &out,
                        "/apis/networking.k8s.io/v1/ingressclasses/%s", names[0]);
    EXPECT(t, code == 200 && !strcmp(annotation(out, "patched"), "true"),
           "patching the IngressClass: HTTP %d, annotation patched=%s", code,
           annotation(out, "patched"));
    json_object_set_new(kc_json_ensure_obj(kc_json_ensure_obj(out, "metadata"), "annotations"),
                        "updated", json_string("true"));
    code = kc_conf_call(t, "PUT", out, NULL, &answer,
                        "/apis/networking.k8s.io/v1/ingressclasses/%s", names[0]);
    EXPECT(t, code == 200 && !strcmp(annotation(answer, "updated"), "true"),
           "updating the IngressClass: HTTP %d, annotation updated=%s", code,
           annotation(answer, "updated"));
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                        "/apis/networking.k8s.io/v1/ingressclasses/%s", names[1]);
    EXPECT(t, code == 200 || code == 202, "deleting IngressClass %s: HTTP %d", names[1], code);
    code = kc_conf_call(t, "GET", NULL, NULL, NULL, "/apis/networking.k8s.io/v1/ingressclasses/%s",
                        names[1]);
    EXPECT(t, code == 404, "the deleted IngressClass: HTTP %d (want 404)", code);
    n = kc_conf_list_len(t, path);
    EXPECT(t, n == 2, "listing the IngressClasses after a delete: %ld (want 2)", n);
    code = kc_conf_call(
        t, "DELETE", NULL, NULL, NULL,
        "/apis/networking.k8s.io/v1/ingressclasses?labelSelector=special-label%%3D%s", label);
    EXPECT(t, code == 200, "deleting the IngressClasses by collection: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, 60000, kc_conf_list_empty, path),
           "IngressClasses still listed after being deleted by collection");
out:
    /* cluster scoped: not removed with the namespace */
    if (kc_conf_failed(t))
        for (int i = 0; i < created; i++)
            kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                         "/apis/networking.k8s.io/v1/ingressclasses/%s", names[i]);
    json_decref(patch);
    json_decref(out);
    json_decref(answer);
}

const struct kc_conf_test kc_conf_tests_ingress[] = {
    {"[sig-network] Ingress API should support creating Ingress API operations [Conformance]",
     ingress_api, 0},
    {"[sig-network] IngressClass API should support creating IngressClass API operations "
     "[Conformance]",
     ingressclass_api, 0},
    {NULL, NULL, 0},
};
