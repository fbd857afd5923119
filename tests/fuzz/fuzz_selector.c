/* Fuzz target for label and field selector parsing, matching and printing. */
#include "lib/selector.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *labels, *obj;
    char *s = malloc(size + 1), err[256];
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = 0;
    if (!labels) {
        labels = json_loads("{\"app\":\"web\",\"n\":\"5\",\"a.b/c\":\"\"}", 0, NULL);
        obj = json_pack("{s:{s:s, s:o}, s:{s:s}}", "metadata", "name", "x", "labels",
                        json_incref(labels), "spec", "nodeName", "n1");
    }
    struct kc_selector *sel = NULL;
    if (kc_label_selector_parse(s, &sel, err, sizeof err) == 0) {
        kc_label_selector_matches(sel, labels);
        free(kc_selector_string(sel));
    }
    kc_selector_free(sel);
    sel = NULL;
    if (kc_field_selector_parse(s, &sel, err, sizeof err) == 0) {
        kc_field_selector_matches(sel, obj, kc_field_get_path, NULL);
        for (size_t i = 0; i < kc_selector_len(sel); i++)
            (void)kc_selector_key(sel, i);
    }
    kc_selector_free(sel);
    json_t *js = json_loadb((const char *)data, size, 0, NULL);
    if (js) {
        free(kc_label_selector_json_to_string(js));
        json_decref(js);
    }
    free(s);
    return 0;
}
