/* [sig-node] Secrets: the API behaviours (test/e2e/common/node/secrets.go upstream). Those
 * that read a Secret into a container's environment are in conf_env.c. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <string.h>

/* A Secret with an empty key MUST be refused. */
static void empty_key(struct kc_conf *t)
{
    char name[64];
    json_t *s = kc_conf_json(t, "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"\":\"dmFsdWUtMQo=\"}}",
                             kc_conf_unique(t, "secret-emptykey-test", name, sizeof name));
    json_t *out = NULL;
    REQUIRE(t, s, "no object");
    int code =
        kc_conf_call(t, "POST", s, NULL, &out, "/api/v1/namespaces/%s/secrets", kc_conf_ns(t));
    EXPECT(t, code == 422, "created Secret %s with an empty key: HTTP %d (want 422 Invalid)", name,
           code);
    json_decref(s);
    json_decref(out);
}

/* Is the Secret ns/name in the list of every namespace's Secrets labelled
 * testsecret-constant=true? -1 when the list fails. */
static int listed(struct kc_conf *t, const char *ns, const char *name)
{
    json_t *list = NULL;
    int code = kc_conf_call(t, "GET", NULL, NULL, &list,
                            "/api/v1/secrets?labelSelector=testsecret-constant%%3Dtrue");
    int found = code == 200 ? 0 : -1;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item)
        if (!strcmp(kc_json_str(item, "metadata.name") ?: "", name) &&
            !strcmp(kc_json_str(item, "metadata.namespace") ?: "", ns))
            found = 1;
    json_decref(list);
    return found;
}

/* Create with a constant label, find it listing every namespace, strategic-merge patch a
 * label and the data, read the new data back, delete the collection by the patched label,
 * and it is gone from the list. */
static void patch_secret(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[64];
    kc_conf_unique(t, "test-secret", name, sizeof name);
    /* data.key is "value"; the patch's is base64 of base64("value1"), as upstream sends */
    json_t *s = kc_conf_json(t,
                             "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"testsecret-constant\":"
                             "\"true\"}},\"data\":{\"key\":\"dmFsdWU=\"},\"type\":\"Opaque\"}",
                             name);
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"labels\":{\"testsecret\":\"true\"}},"
                                    "\"data\":{\"key\":\"ZG1Gc2RXVXg=\"}}");
    json_t *out = NULL;
    if (!s || !patch)
        goto out;
    int code = kc_conf_call(t, "POST", s, NULL, NULL, "/api/v1/namespaces/%s/secrets", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating the Secret: HTTP %d", code);
        goto out;
    }
    EXPECT(t, listed(t, ns, name) == 1, "unable to find secret %s/%s by name", ns, name);
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/api/v1/namespaces/%s/secrets/%s", ns, name);
    EXPECT(t, code == 200, "patching the Secret: HTTP %d", code);
    code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/secrets/%s", ns, name);
    EXPECT(t, code == 200 && !strcmp(kc_json_str(out, "data.key") ?: "", "ZG1Gc2RXVXg="),
           "found secret, but the data wasn't updated from the patch (data.key %s)",
           kc_json_str(out, "data.key") ?: "(none)");
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                        "/api/v1/namespaces/%s/secrets?labelSelector=testsecret%%3Dtrue", ns);
    EXPECT(t, code == 200, "deleting the Secret by label: HTTP %d", code);
    EXPECT(t, listed(t, ns, name) == 0, "secret %s/%s was not deleted successfully", ns, name);
out:
    json_decref(s);
    json_decref(patch);
    json_decref(out);
}

const struct kc_conf_test kc_conf_tests_secret[] = {
    {"[sig-node] Secrets should fail to create secret due to empty secret key [Conformance]",
     empty_key, 0},
    {"[sig-node] Secrets should patch a secret [Conformance]", patch_secret, 0},
    {NULL, NULL, 0},
};
