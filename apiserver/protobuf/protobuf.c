#include "apiserver/protobuf/protobuf.h"
#include <stdio.h>
#include <string.h>
bool kc_pb_is_k8s(const unsigned char *b, size_t n) { return n >= 4 && memcmp(b, "k8s\0", 4) == 0; }
int kc_pb_decode_object(const unsigned char *b, size_t n, json_t **out, char *err, size_t el)
{
    snprintf(err, el, "protobuf not yet supported");
    return -1;
}
