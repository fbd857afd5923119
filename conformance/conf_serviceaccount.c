/* [sig-auth] ServiceAccounts: the API behaviours (test/e2e/auth/service_accounts.go
 * upstream). Upstream watches for the changes; here each is read back instead. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <string.h>

static bool sa_gone(struct kc_conf *t, void *arg)
{
    (void)arg;
    return kc_conf_call(t, "GET", NULL, NULL, NULL,
                        "/api/v1/namespaces/%s/serviceaccounts/testserviceaccount",
                        kc_conf_ns(t)) == 404;
}

/* A ServiceAccount with a static label MUST be created, patched (automountServiceAccountToken
 * false), listed with its patched value across namespaces by label, and deleted with the
 * namespace's collection. */
static void lifecycle(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    json_t *created = NULL, *got = NULL, *list = NULL; /* owned */
    json_t *sa = kc_conf_json(t, "{\"metadata\":{\"name\":\"testserviceaccount\",\"labels\":{"
                                 "\"test-serviceaccount-static\":\"true\"}}}");
    json_t *patch = kc_conf_json(t, "{\"automountServiceAccountToken\":false}");
    if (!sa || !patch)
        goto out;
    int code =
        kc_conf_call(t, "POST", sa, NULL, &created, "/api/v1/namespaces/%s/serviceaccounts", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to create a ServiceAccount: HTTP %d", code);
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &got,
                        "/api/v1/namespaces/%s/serviceaccounts/testserviceaccount", ns);
    EXPECT(t, code == 200, "failed to fetch the created ServiceAccount: HTTP %d", code);
    EXPECT(t,
           !strcmp(kc_json_str(created, "metadata.uid") ?: "-",
                   kc_json_str(got, "metadata.uid") ?: ""),
           "the fetched ServiceAccount has another uid");
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/api/v1/namespaces/%s/serviceaccounts/testserviceaccount", ns);
    EXPECT(t, code == 200, "failed to patch the ServiceAccount: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, &list,
                        "/api/v1/serviceaccounts?labelSelector=test-serviceaccount-static%%3Dtrue");
    EXPECT(t, code == 200, "failed to list ServiceAccounts by LabelSelector: HTTP %d", code);
    bool found = false;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item) {
        json_t *automount = json_object_get(item, "automountServiceAccountToken");
        if (!strcmp(kc_json_str(item, "metadata.name") ?: "", "testserviceaccount") &&
            !strcmp(kc_json_str(item, "metadata.namespace") ?: "", ns) && json_is_false(automount))
            found = true;
    }
    EXPECT(t, found, "failed to find the created ServiceAccount");
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s/serviceaccounts", ns);
    EXPECT(t, code == 200, "failed to delete the ServiceAccount by Collection: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, 60000, sa_gone, NULL), "the ServiceAccount was not deleted");
out:
    json_decref(sa);
    json_decref(patch);
    json_decref(created);
    json_decref(got);
    json_decref(list);
}

/* A ServiceAccount created with automountServiceAccountToken false MUST have it, and an
 * update setting it true MUST answer with it true. */
static void update(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[64];
    kc_conf_unique(t, "e2e-sa", name, sizeof name);
    json_t *out = NULL, *answer = NULL; /* owned */
    json_t *sa = kc_conf_json(
        t, "{\"metadata\":{\"name\":\"%s\"},\"automountServiceAccountToken\":false}", name);
    if (!sa)
        goto out;
    int code = kc_conf_call(t, "POST", sa, NULL, &out, "/api/v1/namespaces/%s/serviceaccounts", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating ServiceAccount %s: HTTP %d", name, code);
        goto out;
    }
    EXPECT(t, json_is_false(json_object_get(out, "automountServiceAccountToken")),
           "Failed to set AutomountServiceAccountToken");
    bool done = false;
    for (int attempt = 0; attempt < 5 && !done; attempt++) {
        json_decref(out);
        out = NULL;
        code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/serviceaccounts/%s",
                            ns, name);
        if (code != 200)
            break;
        json_object_set_new(out, "automountServiceAccountToken", json_true());
        json_decref(answer);
        answer = NULL;
        code = kc_conf_call(t, "PUT", out, NULL, &answer,
                            "/api/v1/namespaces/%s/serviceaccounts/%s", ns, name);
        done = code == 200;
        if (code != 409)
            break;
    }
    EXPECT(t, done, "Failed to update ServiceAccount: HTTP %d", code);
    EXPECT(t, json_is_true(json_object_get(answer, "automountServiceAccountToken")),
           "Failed to set AutomountServiceAccountToken");
out:
    json_decref(sa);
    json_decref(out);
    json_decref(answer);
}

const struct kc_conf_test kc_conf_tests_serviceaccount[] = {
    {"[sig-auth] ServiceAccounts should run through the lifecycle of a ServiceAccount "
     "[Conformance]",
     lifecycle, 0},
    {"[sig-auth] ServiceAccounts should update a ServiceAccount [Conformance]", update, 0},
    {NULL, NULL, 0},
};
