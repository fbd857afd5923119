/* Fuzz target for the image store's parsers: image references (a parsed reference's
 * normalised form must parse again to itself) and the OCI documents a registry or a
 * layout hands over (manifests, indexes, image configs, a layout's index.json). */
#include "nodeagent/image_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), err[512];
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;

    struct kc_image_ref r, again;
    if (kc_image_ref_parse(s, &r, err, sizeof err) == 0) {
        if (kc_image_ref_parse(r.full, &again, err, sizeof err) != 0)
            abort();
        if (strcmp(again.full, r.full) != 0 || strcmp(again.name, r.name) != 0 ||
            strcmp(again.digest, r.digest) != 0)
            abort();
        if (strlen(r.name) > 255 || (r.digest[0] && !kc_image_digest_valid(r.digest)))
            abort();
        (void)kc_image_ref_default_policy(&r);
        (void)kc_image_ref_target(&r);
        (void)kc_image_host_is_loopback(r.domain);
    } else {
        kc_image_ref_parse("busybox", &r, err, sizeof err);
    }

    struct kc_oci_manifest m;
    if (kc_oci_manifest_parse(s, size, &m, err, sizeof err) == 0) {
        for (size_t i = 0; i < m.nlayers; i++)
            if (!kc_image_digest_valid(m.layers[i].digest) || m.layers[i].size < 0)
                abort();
        json_t *cfg;
        if (kc_oci_config_parse(s, size, m.nlayers, &cfg, err, sizeof err) == 0)
            json_decref(cfg);
        kc_oci_manifest_release(&m);
    }
    struct kc_oci_desc d;
    if (kc_oci_index_pick(s, size, &d, err, sizeof err) == 0 && !kc_image_digest_valid(d.digest))
        abort();
    json_t *doc = json_loadb(s, size, 0, NULL);
    if (doc) {
        (void)kc_oci_kind_of(doc, KC_MT_OCI_INDEX);
        if (kc_oci_layout_find(doc, &r, "busybox", &d) == 0 && !kc_image_digest_valid(d.digest))
            abort();
        json_t *cfg;
        for (size_t n = 0; n < 3; n++) {
            if (kc_oci_config_parse(s, size, n, &cfg, err, sizeof err) == 0) {
                for (size_t i = 0; i < n; i++)
                    if (!kc_image_digest_valid(kc_oci_config_diff_id(cfg, i)))
                        abort();
                json_decref(cfg);
            }
        }
        json_decref(doc);
    }
    free(s);
    return 0;
}
