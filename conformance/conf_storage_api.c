/* [sig-storage] API behaviours of volume sources: immutable ConfigMaps and Secrets
 * (test/e2e/common/storage/configmap_volume.go, secrets_volume.go upstream) and pods with an
 * inline CSI volume (test/e2e/storage/csi_inline.go), which need not run. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

/* PUT obj (borrowed) to path; the HTTP status, *out (may be NULL) the answer. */
static int put(struct kc_conf *t, const json_t *obj, json_t **out, const char *path)
{
    return kc_conf_call(t, "PUT", obj, NULL, out, "%s", path);
}

/* The round upstream makes on a ConfigMap or Secret (resource names which): the data
 * changes while mutable; once marked immutable, neither the data nor the mark may change
 * (422 Invalid), the labels still may, and it can be deleted. v4/v5 are the values of the
 * new keys (base64 for Secrets). */
static void immutable_round(struct kc_conf *t, const char *resource, const char *v1, const char *v2,
                            const char *v3, const char *v4, const char *v5)
{
    const char *ns = kc_conf_ns(t);
    char name[64], path[256];
    kc_conf_unique(t, "immutable", name, sizeof name);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/%s/%s", ns, resource, name);
    json_t *obj = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"data-1\":\"%s\",\"data-2\":\"%s\","
        "\"data-3\":\"%s\"}}",
        name, v1, v2, v3);
    json_t *cur = NULL, *answer = NULL; /* owned */
    if (!obj)
        goto out;
    int code = kc_conf_call(t, "POST", obj, NULL, &cur, "/api/v1/namespaces/%s/%s", ns, resource);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating %s %s: HTTP %d", resource, name, code);
        goto out;
    }
    json_object_set_new(kc_json_ensure_obj(cur, "data"), "data-4", json_string(v4));
    code = put(t, cur, &answer, path);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "updating %s %s: HTTP %d", resource, name, code);
        goto out;
    }
    json_decref(cur);
    cur = answer;
    answer = NULL;
    json_object_set_new(cur, "immutable", json_true());
    code = put(t, cur, &answer, path);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "marking %s %s immutable: HTTP %d", resource, name,
                        code);
        goto out;
    }
    json_decref(cur);
    cur = answer;
    answer = NULL;
    /* the data can't change now */
    json_object_set_new(kc_json_ensure_obj(cur, "data"), "data-5", json_string(v5));
    code = put(t, cur, &answer, path);
    EXPECT(t, code == 422 && !strcmp(kc_conf_reason(answer), "Invalid"),
           "changing the data of immutable %s %s: HTTP %d %s (want 422 Invalid)", resource, name,
           code, kc_conf_reason(answer));
    EXPECT(t, strstr(kc_json_str(answer, "message") ?: "", "field is immutable when"),
           "the error does not say the field is immutable: %s",
           kc_json_str(answer, "message") ?: "");
    json_decref(answer);
    answer = NULL;
    /* nor can it be switched back to mutable */
    json_decref(cur);
    cur = NULL;
    code = kc_conf_call(t, "GET", NULL, NULL, &cur, "%s", path);
    if (code != 200 || !json_is_true(json_object_get(cur, "immutable"))) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "%s %s can be switched from immutable to mutable",
                        resource, name);
        goto out;
    }
    json_object_set_new(cur, "immutable", json_false());
    code = put(t, cur, &answer, path);
    EXPECT(t, code == 422 && !strcmp(kc_conf_reason(answer), "Invalid"),
           "making immutable %s %s mutable: HTTP %d %s (want 422 Invalid)", resource, name, code,
           kc_conf_reason(answer));
    json_decref(answer);
    answer = NULL;
    /* its metadata can still change */
    json_decref(cur);
    cur = NULL;
    code = kc_conf_call(t, "GET", NULL, NULL, &cur, "%s", path);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "getting %s %s: HTTP %d", resource, name, code);
        goto out;
    }
    json_object_set_new(kc_json_ensure_obj(cur, "metadata"), "labels",
                        json_pack("{s:s}", "label1", "value1"));
    code = put(t, cur, NULL, path);
    EXPECT(t, code == 200, "updating the labels of immutable %s %s: HTTP %d", resource, name, code);
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL, "%s", path);
    EXPECT(t, code == 200 || code == 202, "deleting immutable %s %s: HTTP %d", resource, name,
           code);
out:
    json_decref(obj);
    json_decref(cur);
    json_decref(answer);
}

static void configmap_immutable(struct kc_conf *t)
{
    immutable_round(t, "configmaps", "value-1", "value-2", "value-3", "value-4", "value-5");
}

static void secret_immutable(struct kc_conf *t)
{
    /* base64 of value-1 .. value-5 */
    immutable_round(t, "secrets",
                    "dmFsdWUtMQ==", "dmFsdWUtMg==", "dmFsdWUtMw==", "dmFsdWUtNA==", "dmFsdWUtNQ==");
}

/* A pod with inline CSI volumes (a driver that need not exist) MUST be creatable (once:
 * again is 409), gettable, listable, patchable and deletable. */
static void csi_inline(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "pod-csi-inline-volumes";
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"Never\","
        "\"terminationGracePeriodSeconds\":1,\"volumes\":[{\"name\":\"csi-inline-vol1\","
        "\"csi\":{\"driver\":\"e2e.example.com\"}},{\"name\":\"csi-inline-vol2\",\"csi\":{"
        "\"driver\":\"e2e.example.com\",\"fsType\":\"ext4\",\"readOnly\":true,"
        "\"volumeAttributes\":{\"foo\":\"bar\"}}}],\"containers\":[{\"name\":\"%s\","
        "\"image\":\"%s\",\"command\":[\"sh\",\"-c\",\"ls /mnt/*\"],\"volumeMounts\":[{\"name\":"
        "\"csi-inline-vol1\",\"mountPath\":\"/mnt/vol1\"},{\"name\":\"csi-inline-vol2\","
        "\"mountPath\":\"/mnt/vol2\"}]}]}}",
        name, name, kc_conf_image(t));
    json_t *patch = kc_conf_json(t, "{\"metadata\":{\"annotations\":{\"patched\":\"true\"}}}");
    json_t *created = NULL, *out = NULL; /* owned */
    if (!pod || !patch)
        goto out;
    int code = kc_conf_call(t, "POST", pod, NULL, &created, "/api/v1/namespaces/%s/pods", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    EXPECT(t,
           !strcmp(kc_json_str(json_array_get(kc_json_path(created, "spec.volumes"), 1),
                               "csi.volumeAttributes.foo")
                       ?: "",
                   "bar"),
           "the created pod lost its CSI volume's attributes");
    code = kc_conf_call(t, "POST", pod, NULL, &out, "/api/v1/namespaces/%s/pods", ns);
    EXPECT(t, code == 409 && !strcmp(kc_conf_reason(out), "AlreadyExists"),
           "creating pod %s again: HTTP %d %s (want 409 AlreadyExists)", name, code,
           kc_conf_reason(out));
    json_decref(out);
    out = NULL;
    code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/pods/%s", ns, name);
    EXPECT(t,
           code == 200 && !strcmp(kc_json_str(out, "metadata.uid") ?: "",
                                  kc_json_str(created, "metadata.uid") ?: "-"),
           "getting pod %s: HTTP %d, or another uid", name, code);
    json_decref(out);
    out = NULL;
    char list[256];
    snprintf(list, sizeof list, "/api/v1/namespaces/%s/pods", ns);
    long n = kc_conf_list_len(t, list);
    EXPECT(t, n == 1, "listing the pods of the namespace: %ld (want 1)", n);
    code = kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", &out,
                        "/api/v1/namespaces/%s/pods/%s", ns, name);
    EXPECT(t,
           code == 200 && !strcmp(json_string_value(json_object_get(
                                      kc_json_path(out, "metadata.annotations"), "patched"))
                                      ?: "",
                                  "true"),
           "patching pod %s: HTTP %d, or no annotation patched=true", name, code);
    json_decref(out);
    out = NULL;
    code = kc_conf_pod_delete(t, name, -1);
    EXPECT(t, code == 200 || code == 202, "deleting pod %s: HTTP %d", name, code);
    code = kc_conf_call(t, "GET", NULL, NULL, &out, "/api/v1/namespaces/%s/pods/%s", ns, name);
    EXPECT(t, code == 404 || (code == 200 && kc_json_str(out, "metadata.deletionTimestamp")),
           "pod %s with a CSI volume is neither gone nor being deleted (HTTP %d)", name, code);
out:
    json_decref(pod);
    json_decref(patch);
    json_decref(created);
    json_decref(out);
}

const struct kc_conf_test kc_conf_tests_storage_api[] = {
    {"[sig-storage] ConfigMap should be immutable if `immutable` field is set [Conformance]",
     configmap_immutable, 0},
    {"[sig-storage] Secrets should be immutable if `immutable` field is set [Conformance]",
     secret_immutable, 0},
    {"[sig-storage] CSIInlineVolumes should support CSIVolumeSource in Pod API [Conformance]",
     csi_inline, 0},
    {NULL, NULL, 0},
};
