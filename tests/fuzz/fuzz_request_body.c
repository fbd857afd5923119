/* Fuzz target for request-body decoding: the first byte picks the content type (JSON,
 * Kubernetes protobuf, or an unknown type), the rest is the body; every resource of the
 * table is tried. Must never crash or leak, whatever the bytes. */
#include "apiserver/api_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *fuzz_ctype;

static const char *fuzz_header(void *t, const char *name)
{
    return strcmp(name, "Content-Type") == 0 ? fuzz_ctype : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"application/json", "application/vnd.kubernetes.protobuf",
                                        "application/json; charset=utf-8", "text/plain"};
    if (size < 1)
        return 0;
    fuzz_ctype = types[data[0] % 4];
    char *body = malloc(size);
    if (!body)
        return 0;
    memcpy(body, data + 1, size - 1);
    struct kc_request req = {
        .method = "POST", .path = "/", .header = fuzz_header, .body = body, .body_len = size - 1};
    for (const struct kc_resource *r = kc_resources; r->resource; r++) {
        struct kc_status st = KC_STATUS_INIT;
        json_t *obj = NULL;
        if (kc_decode_body(&req, r, &obj, &st) == 0)
            json_decref(obj);
        kc_status_release(&st);
    }
    free(body);
    return 0;
}
