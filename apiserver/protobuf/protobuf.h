/* Kubernetes protobuf request bodies ("k8s\0" + runtime.Unknown), as kubectl 1.32+ sends
 * them for typed-client commands (create deployment, create service, ...). Decoded into
 * the same JSON the JSON clients send, driven by the generated message tables. */
#ifndef KUBEC_PROTOBUF_H
#define KUBEC_PROTOBUF_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* True when buf starts with the "k8s\0" magic. */
bool kc_pb_is_k8s(const unsigned char *buf, size_t len);

/* Decodes the envelope and the object; *out gets a new reference to a JSON object with
 * apiVersion and kind set. Returns 0, or -1 with a message in err (unknown kind,
 * malformed data). Never reads outside buf; nesting is bounded. */
int kc_pb_decode_object(const unsigned char *buf, size_t len, json_t **out, char *err,
                        size_t errlen);

#endif
