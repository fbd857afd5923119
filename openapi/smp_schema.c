#include "openapi/smp_schema.h"

#include <string.h>

static bool schema_lookup(const void *type, const char *field, struct kc_smp_field *out)
{
    const struct kc_schema_field *f = type ? kc_schema_field(type, field) : NULL;
    out->merge = false;
    out->merge_key = NULL;
    out->child = NULL;
    if (!f)
        return false;
    out->child = kc_schema_ref(f);
    /* "merge" or "merge,retainKeys" */
    out->merge = f->container == KC_SC_LIST && f->patch_strategy &&
                 strstr(f->patch_strategy, "merge") != NULL;
    out->merge_key = f->merge_key;
    return true;
}

json_t *kc_schema_strategic_merge_patch(const struct kc_schema_type *type, const json_t *target,
                                        const json_t *patch, char *err, size_t errlen)
{
    return kc_strategic_merge_patch_typed(target, patch, type, schema_lookup, err, errlen);
}
