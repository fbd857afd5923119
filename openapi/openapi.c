#include "openapi/openapi.h"

#include <stdlib.h>
#include <string.h>

/* gnostic openapi_v2.Document{swagger:"2.0", info:{title:"Kubernetes", version:"v1.33.1"}} */
static const unsigned char v2_pb[] = {0x0a, 0x03, 0x32, 0x2e, 0x30, 0x12, 0x15, 0x0a, 0x0a, 0x4b,
                                      0x75, 0x62, 0x65, 0x72, 0x6e, 0x65, 0x74, 0x65, 0x73, 0x12,
                                      0x07, 0x76, 0x31, 0x2e, 0x33, 0x33, 0x2e, 0x31};

void kc_openapi_serve(const struct kc_request *req, struct kc_response *resp)
{
    const char *accept = kc_req_header(req, "Accept");
    if (strcmp(req->path, "/openapi/v2") == 0) {
        if (accept && strstr(accept, "protobuf")) {
            char *b = malloc(sizeof v2_pb);
            if (!b)
                abort();
            memcpy(b, v2_pb, sizeof v2_pb);
            /* the dotted form: Go's MIME parser rejects the '@' one */
            kc_response_set(resp, 200, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                            b, sizeof v2_pb);
            return;
        }
        const char *j = "{\"swagger\":\"2.0\",\"info\":{\"title\":\"Kubernetes\",\"version\":"
                        "\"v1.33.1\"},\"paths\":{},\"definitions\":{}}";
        kc_response_set(resp, 200, "application/json", strdup(j), strlen(j));
        return;
    }
    if (strcmp(req->path, "/openapi/v3") == 0 || strcmp(req->path, "/openapi/v3/") == 0) {
        const char *j = "{\"paths\":{}}";
        kc_response_set(resp, 200, "application/json", strdup(j), strlen(j));
        return;
    }
    const char *j = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                    "\"Failure\",\"message\":\"the server could not find the requested "
                    "resource\",\"reason\":\"NotFound\",\"details\":{},\"code\":404}";
    kc_response_set(resp, 404, "application/json", strdup(j), strlen(j));
}
