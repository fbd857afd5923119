/* Fuzz target for the Kubernetes protobuf decoder (kubectl 1.32+ request bodies). The
 * magic and an envelope prefix are added to half of the inputs so the fuzzer reaches the
 * object decoder quickly. */
#include "apiserver/protobuf/protobuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_t *out = NULL;
    if (kc_pb_decode_object(data, size, &out, err, sizeof err) == 0)
        json_decref(out);
    /* "k8s\0" + typeMeta{apiVersion:"apps/v1", kind:"Deployment"} + raw (the input) */
    static const unsigned char head[] = {'k', '8', 's', 0,   0x0a, 0x14, 0x0a, 0x07, 'a',
                                         'p', 'p', 's', '/', 'v',  '1',  0x12, 0x0a, 'D',
                                         'e', 'p', 'l', 'o', 'y',  'm',  'e',  'n',  't'};
    if (size > 100000)
        return 0;
    unsigned char *buf = malloc(sizeof head + 6 + size);
    if (!buf)
        return 0;
    memcpy(buf, head, sizeof head);
    size_t n = sizeof head;
    buf[n++] = 0x12;
    size_t v = size;
    do {
        buf[n++] = (unsigned char)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
        v >>= 7;
    } while (v);
    memcpy(buf + n, data, size);
    if (kc_pb_decode_object(buf, n + size, &out, err, sizeof err) == 0)
        json_decref(out);
    free(buf);
    return 0;
}
