/* OCI and Docker schema-2 documents (descriptors, manifests, indexes, image configs,
 * a layout's index.json) and SHA-256 digests. Pure functions over bytes and json_t: the
 * registry client, the layout reader and the fuzz target share them. */
#include "nodeagent/image_internal.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kc_image_errf(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- digests ---- */

struct kc_sha256 {
    EVP_MD_CTX *ctx;
};

struct kc_sha256 *kc_sha256_new(void)
{
    struct kc_sha256 *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->ctx = EVP_MD_CTX_new();
    if (!h->ctx || EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1) {
        kc_sha256_free(h);
        return NULL;
    }
    return h;
}

void kc_sha256_update(struct kc_sha256 *h, const void *data, size_t len)
{
    if (len)
        EVP_DigestUpdate(h->ctx, data, len);
}

void kc_sha256_final(struct kc_sha256 *h, char out[72])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h->ctx, md, &n);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    kc_sha256_free(h);
}

void kc_sha256_free(struct kc_sha256 *h)
{
    if (!h)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

void kc_sha256_buf(const void *data, size_t len, char out[72])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(data, len, md, &n, EVP_sha256(), NULL);
    memcpy(out, "sha256:", 7);
    for (int i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* ---- documents ---- */

int kc_oci_desc_parse(const json_t *j, struct kc_oci_desc *d, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    if (!json_is_object(j)) {
        kc_image_errf(err, errlen, "descriptor is not an object");
        return -1;
    }
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    const char *digest = json_string_value(json_object_get(j, "digest"));
    json_t *size = json_object_get(j, "size");
    if (!kc_image_digest_valid(digest)) {
        kc_image_errf(err, errlen, "descriptor has an invalid or unsupported digest");
        return -1;
    }
    if (!json_is_integer(size) || json_integer_value(size) < 0) {
        kc_image_errf(err, errlen, "descriptor %s has no valid size", digest);
        return -1;
    }
    snprintf(d->media_type, sizeof d->media_type, "%s", mt ? mt : "");
    snprintf(d->digest, sizeof d->digest, "%s", digest);
    d->size = json_integer_value(size);
    return 0;
}

enum kc_oci_kind kc_oci_kind_of(const json_t *doc, const char *media_type)
{
    const char *mt = json_string_value(json_object_get(doc, "mediaType"));
    if (!mt || !*mt)
        mt = media_type;
    if (mt && (strcmp(mt, KC_MT_OCI_INDEX) == 0 || strcmp(mt, KC_MT_DOCKER_LIST) == 0))
        return KC_OCI_KIND_INDEX;
    if (mt && (strcmp(mt, KC_MT_OCI_MANIFEST) == 0 || strcmp(mt, KC_MT_DOCKER_MANIFEST) == 0))
        return KC_OCI_KIND_MANIFEST;
    if (json_is_array(json_object_get(doc, "manifests")))
        return KC_OCI_KIND_INDEX;
    if (json_is_object(json_object_get(doc, "config")) &&
        json_is_array(json_object_get(doc, "layers")))
        return KC_OCI_KIND_MANIFEST;
    return KC_OCI_KIND_UNKNOWN;
}

static bool layer_type_ok(const char *mt)
{
    /* plain, gzip and zstd tars (OCI and Docker names; Docker's foreign layers are gzip
     * tars too); an empty type is tolerated, libarchive sniffs the compression */
    static const char *const ok[] = {
        "",
        KC_MT_OCI_LAYER,
        KC_MT_OCI_LAYER_GZIP,
        "application/vnd.oci.image.layer.v1.tar+zstd",
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (strcmp(mt, ok[i]) == 0)
            return true;
    return false;
}

int kc_oci_manifest_parse(const char *body, size_t len, struct kc_oci_manifest *m, char *err,
                          size_t errlen)
{
    int rc = -1;
    memset(m, 0, sizeof *m);
    json_t *doc = json_loadb(body, len, 0, NULL);
    if (!json_is_object(doc)) {
        kc_image_errf(err, errlen, "manifest is not a JSON object");
        goto out;
    }
    if (kc_oci_kind_of(doc, NULL) != KC_OCI_KIND_MANIFEST) {
        kc_image_errf(err, errlen, "not an image manifest");
        goto out;
    }
    if (json_integer_value(json_object_get(doc, "schemaVersion")) != 2) {
        kc_image_errf(err, errlen, "manifest schemaVersion is not 2");
        goto out;
    }
    char why[256];
    if (kc_oci_desc_parse(json_object_get(doc, "config"), &m->config, why, sizeof why) != 0) {
        kc_image_errf(err, errlen, "manifest config: %s", why);
        goto out;
    }
    json_t *layers = json_object_get(doc, "layers");
    if (!json_is_array(layers)) {
        kc_image_errf(err, errlen, "manifest has no layers array");
        goto out;
    }
    size_t n = json_array_size(layers);
    if (n > 1000) {
        kc_image_errf(err, errlen, "manifest has %zu layers", n);
        goto out;
    }
    m->layers = calloc(n ? n : 1, sizeof *m->layers);
    if (!m->layers) {
        kc_image_errf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (kc_oci_desc_parse(json_array_get(layers, i), &m->layers[i], why, sizeof why) != 0) {
            kc_image_errf(err, errlen, "manifest layer %zu: %s", i, why);
            goto out;
        }
        if (!layer_type_ok(m->layers[i].media_type)) {
            kc_image_errf(err, errlen, "manifest layer %zu: unsupported media type %s", i,
                          m->layers[i].media_type);
            goto out;
        }
        m->nlayers++;
    }
    rc = 0;
out:
    if (rc != 0)
        kc_oci_manifest_release(m);
    json_decref(doc);
    return rc;
}

void kc_oci_manifest_release(struct kc_oci_manifest *m)
{
    free(m->layers);
    m->layers = NULL;
    m->nlayers = 0;
}

int kc_oci_index_pick(const char *body, size_t len, struct kc_oci_desc *out, char *err,
                      size_t errlen)
{
    int rc = -1;
    json_t *doc = json_loadb(body, len, 0, NULL);
    json_t *list = json_object_get(doc, "manifests");
    if (!json_is_array(list)) {
        kc_image_errf(err, errlen, "index has no manifests array");
        goto out;
    }
    size_t i;
    json_t *d;
    json_array_foreach (list, i, d) {
        json_t *platform = json_object_get(d, "platform");
        const char *os = json_string_value(json_object_get(platform, "os"));
        const char *arch = json_string_value(json_object_get(platform, "architecture"));
        if (!os || !arch || strcmp(os, "linux") != 0 || strcmp(arch, "amd64") != 0)
            continue;
        char why[256];
        if (kc_oci_desc_parse(d, out, why, sizeof why) != 0) {
            kc_image_errf(err, errlen, "index entry for linux/amd64: %s", why);
            goto out;
        }
        if (strcmp(out->media_type, KC_MT_OCI_MANIFEST) != 0 &&
            strcmp(out->media_type, KC_MT_DOCKER_MANIFEST) != 0) {
            kc_image_errf(err, errlen, "index entry for linux/amd64 is a %s, not a manifest",
                          out->media_type[0] ? out->media_type : "document of no type");
            goto out;
        }
        rc = 0;
        goto out;
    }
    kc_image_errf(err, errlen, "no match for platform in manifest: not found");
out:
    json_decref(doc);
    return rc;
}

int kc_oci_config_parse(const char *body, size_t len, size_t nlayers, json_t **out, char *err,
                        size_t errlen)
{
    *out = NULL;
    json_t *doc = json_loadb(body, len, 0, NULL);
    if (!json_is_object(doc)) {
        kc_image_errf(err, errlen, "image config is not a JSON object");
        json_decref(doc);
        return -1;
    }
    json_t *ids = json_object_get(json_object_get(doc, "rootfs"), "diff_ids");
    if (!json_is_array(ids) || json_array_size(ids) != nlayers) {
        kc_image_errf(err, errlen, "image config has %zu rootfs.diff_ids for %zu layers",
                      json_array_size(ids), nlayers);
        json_decref(doc);
        return -1;
    }
    for (size_t i = 0; i < nlayers; i++) {
        if (!kc_image_digest_valid(json_string_value(json_array_get(ids, i)))) {
            kc_image_errf(err, errlen, "image config: diff_id %zu is not a sha256 digest", i);
            json_decref(doc);
            return -1;
        }
    }
    json_t *cfg = json_object_get(doc, "config");
    if (cfg && !json_is_object(cfg) && !json_is_null(cfg)) {
        kc_image_errf(err, errlen, "image config: \"config\" is not an object");
        json_decref(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

const char *kc_oci_config_diff_id(const json_t *config, size_t i)
{
    return json_string_value(
        json_array_get(json_object_get(json_object_get(config, "rootfs"), "diff_ids"), i));
}

/* Does annotation value v name the same image (name and tag) as ref? */
static bool names_ref(const char *v, const struct kc_image_ref *ref)
{
    struct kc_image_ref other;
    char err[256];
    if (!v || kc_image_ref_parse(v, &other, err, sizeof err) != 0)
        return false;
    if (strcmp(other.name, ref->name) != 0)
        return false;
    if (ref->tag[0] || !ref->digest[0])
        return strcmp(other.tag[0] ? other.tag : "latest", ref->tag[0] ? ref->tag : "latest") == 0;
    return false;
}

int kc_oci_layout_find(const json_t *index, const struct kc_image_ref *ref, const char *dirname,
                       struct kc_oci_desc *out)
{
    json_t *list = json_object_get(index, "manifests");
    if (!json_is_array(list))
        return -1;
    const char *last = strrchr(ref->path, '/');
    last = last ? last + 1 : ref->path;
    const char *tag = ref->tag[0] ? ref->tag : "latest";
    size_t i;
    json_t *d;
    json_array_foreach (list, i, d) {
        struct kc_oci_desc desc;
        char why[256];
        if (kc_oci_desc_parse(d, &desc, why, sizeof why) != 0)
            continue;
        if (ref->digest[0]) {
            if (strcmp(desc.digest, ref->digest) == 0)
                goto found;
            continue;
        }
        json_t *ann = json_object_get(d, "annotations");
        const char *cname = json_string_value(json_object_get(ann, KC_ANN_CONTAINERD_NAME));
        const char *rname = json_string_value(json_object_get(ann, KC_ANN_REF_NAME));
        if (names_ref(cname, ref))
            goto found;
        /* a bare tag cannot contain '/' or ':'; anything else is a reference */
        if (rname && !strpbrk(rname, "/:@") && strcmp(rname, tag) == 0) {
            if (!dirname || strcmp(dirname, last) == 0)
                goto found;
            continue;
        }
        if (names_ref(rname, ref))
            goto found;
        continue;
    found:
        *out = desc;
        return 0;
    }
    return -1;
}
