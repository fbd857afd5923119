/* Field ownership (metadata.managedFields, fieldsV1) and server-side apply.
 *
 * A field set is a fieldsV1 JSON object: "f:<field>" for object fields and map keys,
 * "k:{...}" for elements of keyed lists, "v:<json>" for set members, "." for the node
 * itself; an empty object is a leaf. Which lists are keyed or sets comes from the schema.
 */
#ifndef KUBEC_MANAGEDFIELDS_H
#define KUBEC_MANAGEDFIELDS_H

#include "lib/status.h"
#include "openapi/schema.h"

#include <jansson.h>
#include <stdbool.h>

/* The fields set in obj (borrowed), as a new fieldsV1 object; identity and server-owned
 * metadata are left out. */
json_t *kc_fieldset_of(const struct kc_schema_type *t, const json_t *obj);

/* Records a non-apply write (operation "Update") by manager: the fields that changed from
 * old (NULL on create) to obj become the manager's, and no longer anyone else's. Rewrites
 * obj's metadata.managedFields. */
void kc_managed_fields_record(const struct kc_schema_type *t, const json_t *old, json_t *obj,
                              const char *manager, const char *api_version,
                              const char *subresource);

/* Server-side apply of config by manager onto cur (NULL when the object does not exist).
 * On success *out is the new object (new reference) with managedFields updated; on a
 * conflict (force false) returns -1 with 409 Conflict and one cause per field. */
int kc_server_side_apply(const struct kc_schema_type *t, const json_t *cur, const json_t *config,
                         const char *manager, bool force, const char *api_version, json_t **out,
                         struct kc_status *st);

/* The same, where conflicts on the fields of `forgive` (a field set, may be NULL) do not
 * fail the apply but pass to manager: upstream's upgrade path from client-side apply
 * forgives the fields of the last-applied configuration for the manager "kubectl". */
int kc_server_side_apply_forgiving(const struct kc_schema_type *t, const json_t *cur,
                                   const json_t *config, const char *manager, bool force,
                                   const json_t *forgive, const char *api_version, json_t **out,
                                   struct kc_status *st);

#endif
