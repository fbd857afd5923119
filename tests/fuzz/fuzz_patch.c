/* Fuzz target for the patch engines: the input is two JSON texts separated by a NUL byte,
 * the target and the patch; all three patch kinds are applied. */
#include "lib/patch.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    if (!nul)
        return 0;
    json_t *t = json_loadb((const char *)data, (size_t)(nul - data), JSON_DECODE_ANY, NULL);
    json_t *p =
        json_loadb((const char *)nul + 1, size - (size_t)(nul - data) - 1, JSON_DECODE_ANY, NULL);
    if (t && p) {
        char err[256];
        bool tf;
        json_t *out = NULL;
        json_decref(kc_merge_patch(t, p));
        if (kc_json_patch(t, p, &out, &tf, err, sizeof err) == 0)
            json_decref(out);
        json_decref(kc_strategic_merge_patch(t, p, err, sizeof err));
    }
    json_decref(t);
    json_decref(p);
    return 0;
}
