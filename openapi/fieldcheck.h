/* Checks an object against its schema: fields the schema does not know (for
 * fieldValidation Strict/Warn) and values of the wrong JSON type. */
#ifndef KUBEC_OPENAPI_FIELDCHECK_H
#define KUBEC_OPENAPI_FIELDCHECK_H

#include "lib/status.h"
#include "openapi/schema.h"

#include <jansson.h>

struct kc_fieldcheck {
    char **unknown; /* paths of unknown fields, e.g. "spec.template.spec.containers[0].imagex" */
    size_t nunknown;
    struct kc_errlist *types; /* wrong types, as FieldValueInvalid / FieldValueTypeInvalid */
};

/* Walks obj (borrowed) against t. The result must be released. */
void kc_fieldcheck_run(const struct kc_schema_type *t, const json_t *obj,
                       struct kc_fieldcheck *out);
void kc_fieldcheck_release(struct kc_fieldcheck *fc);

/* Removes the fields the schema does not know from obj (in place), as decoding into the
 * typed objects does on a real server: unknown fields are never stored. */
void kc_schema_prune(const struct kc_schema_type *t, json_t *obj);

#endif
