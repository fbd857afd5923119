/* Standard base64 (RFC 4648, with padding), as Kubernetes uses for Secret data, protobuf
 * bytes fields and continue tokens. */
#ifndef KUBEC_LIB_BASE64_H
#define KUBEC_LIB_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Returns a malloc'd NUL-terminated encoding of n bytes. */
char *kc_base64_encode(const void *data, size_t n);
/* Decodes s into out (cap bytes, NUL-terminated on success): 0, or -1 on bad input or
 * when out is too small. */
int kc_base64_decode(const char *s, char *out, size_t cap, size_t *outlen);
/* True when s is well-formed padded base64. */
bool kc_base64_valid(const char *s);

#endif
