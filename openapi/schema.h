/* The schemas of the served types, as C tables generated at build time from
 * openapi/types.def (see scripts/gen_openapi_c.py). Everything schema-driven reads them:
 * the OpenAPI documents, unknown-field detection, strategic merge patch. A custom
 * resource's schema would be one more kc_schema_type. */
#ifndef KUBEC_OPENAPI_SCHEMA_H
#define KUBEC_OPENAPI_SCHEMA_H

#include <stddef.h>

enum kc_schema_container { KC_SC_SCALAR, KC_SC_LIST, KC_SC_MAP };

enum kc_schema_kind {
    KC_SK_STRING,
    KC_SK_INTEGER,
    KC_SK_BOOLEAN,
    KC_SK_NUMBER,
    KC_SK_OBJECT, /* free-form object (RawExtension, FieldsV1) */
    KC_SK_INT_OR_STRING,
    KC_SK_QUANTITY,
    KC_SK_REF, /* a named type: ref indexes kc_schema_types */
};

struct kc_schema_field {
    const char *name;
    unsigned char container; /* enum kc_schema_container */
    unsigned char kind;      /* enum kc_schema_kind; for lists and maps, of the items */
    const char *format;      /* "int32", "date-time", ... or NULL */
    int ref;                 /* KC_SK_REF: index in kc_schema_types */
    unsigned char required;
    const char *merge_key;      /* x-kubernetes-patch-merge-key */
    const char *patch_strategy; /* x-kubernetes-patch-strategy ("merge", "retainKeys", ...) */
    const char *list_type;      /* x-kubernetes-list-type */
    const char *list_map_keys;  /* comma-separated */
    const char *map_type;       /* x-kubernetes-map-type */
    const char *enum_values;    /* comma-separated, or NULL */
    const char *description;
};

struct kc_schema_type {
    const char *name;                     /* "io.k8s.api.apps.v1.Deployment" */
    const char *group, *version, *kind;   /* for top-level kinds, else NULL */
    const struct kc_schema_field *fields; /* terminated by a NULL name */
    unsigned nfields;
    const char *description;
};

extern const struct kc_schema_type kc_schema_types[];
extern const size_t kc_schema_ntypes;

const struct kc_schema_type *kc_schema_find(const char *name);
/* The schema of a served kind; group "" for core. */
const struct kc_schema_type *kc_schema_for_kind(const char *group, const char *version,
                                                const char *kind);
const struct kc_schema_field *kc_schema_field(const struct kc_schema_type *t, const char *name);
/* The type a REF field points to (NULL otherwise). */
const struct kc_schema_type *kc_schema_ref(const struct kc_schema_field *f);

#endif
