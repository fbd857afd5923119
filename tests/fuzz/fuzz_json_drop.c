/* Fuzz target for kc_json_text_drop: whatever the input, the result is no longer than it,
 * and when the input is JSON the result is too, and both are equal once the member is
 * removed from the parsed values (a name spelled with escapes may be left in the text). */
#include "lib/jsonx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const path[] = {"object", "metadata", "managedFields", NULL};
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    size_t n = kc_json_text_drop(s, size, path);
    if (n > size)
        abort();
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    if (in) {
        json_t *out = json_loadb(s, n, 0, NULL);
        if (!out)
            abort();
        json_object_del(json_object_get(json_object_get(in, "object"), "metadata"),
                        "managedFields");
        json_object_del(json_object_get(json_object_get(out, "object"), "metadata"),
                        "managedFields");
        if (!json_equal(in, out))
            abort();
        json_decref(out);
    }
    json_decref(in);
    free(s);
    return 0;
}
