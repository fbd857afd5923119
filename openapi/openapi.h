/* /openapi/v2 and /openapi/v3. For now the smallest documents that let every kubectl from
 * 1.20 to 1.33 run apply, edit and create -f (client-side validation finds no schema and
 * leaves validation to the server); the schema-driven documents are the next step. */
#ifndef KUBEC_OPENAPI_H
#define KUBEC_OPENAPI_H

#include "apiserver/http/request.h"

void kc_openapi_serve(const struct kc_request *req, struct kc_response *resp);

#endif
