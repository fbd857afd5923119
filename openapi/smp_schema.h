/* Strategic merge patch with merge keys and strategies from the schema tables. */
#ifndef KUBEC_OPENAPI_SMP_SCHEMA_H
#define KUBEC_OPENAPI_SMP_SCHEMA_H

#include "lib/patch.h"
#include "openapi/schema.h"

/* type may be NULL (then only maps merge and lists are replaced). New reference or NULL
 * with err. */
json_t *kc_schema_strategic_merge_patch(const struct kc_schema_type *type, const json_t *target,
                                        const json_t *patch, char *err, size_t errlen);

#endif
