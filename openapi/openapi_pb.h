/* Encodes an OpenAPI v2 document (JSON) as the gnostic openapi_v2.Document protobuf that
 * kubectl <= 1.28 reads (explain on 1.20, client-side validation, dry-run detection). */
#ifndef KUBEC_OPENAPI_PB_H
#define KUBEC_OPENAPI_PB_H

#include <jansson.h>
#include <stddef.h>

/* Returns a malloc'd buffer (length in *len). doc is borrowed. */
unsigned char *kc_openapi_v2_protobuf(const json_t *doc, size_t *len);

#endif
