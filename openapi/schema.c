#include "openapi/schema.h"

#include <string.h>

const struct kc_schema_type *kc_schema_find(const char *name)
{
    for (size_t i = 0; i < kc_schema_ntypes; i++)
        if (strcmp(kc_schema_types[i].name, name) == 0)
            return &kc_schema_types[i];
    return NULL;
}

const struct kc_schema_type *kc_schema_for_kind(const char *group, const char *version,
                                                const char *kind)
{
    for (size_t i = 0; i < kc_schema_ntypes; i++) {
        const struct kc_schema_type *t = &kc_schema_types[i];
        if (t->kind && !strcmp(t->kind, kind) && !strcmp(t->group, group) &&
            !strcmp(t->version, version))
            return t;
    }
    return NULL;
}

const struct kc_schema_field *kc_schema_field(const struct kc_schema_type *t, const char *name)
{
    for (const struct kc_schema_field *f = t->fields; f->name; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

const struct kc_schema_type *kc_schema_ref(const struct kc_schema_field *f)
{
    return f->kind == KC_SK_REF && f->ref >= 0 ? &kc_schema_types[f->ref] : NULL;
}
