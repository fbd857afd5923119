/* Fuzz target for resource.Quantity parsing: both scales, as a string and as JSON. */
#include "lib/quantity.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    int64_t v;
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    int64_t m = 0, u = 0;
    int rm = kc_quantity_parse_milli(s, &m);
    int ru = kc_quantity_parse_value(s, &u);
    /* both scales accept the same texts, and a valid value has the milli value's sign */
    if (rm != ru)
        abort();
    if (rm == 0 && ((m > 0 && u < 0) || (m < 0 && u > 0)))
        abort();
    json_t *js = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (js) {
        kc_quantity_json_milli(js, &v);
        kc_quantity_json_value(js, &v);
        json_decref(js);
    }
    free(s);
    return 0;
}
