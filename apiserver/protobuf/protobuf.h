#include <jansson.h>
#include <stdbool.h>
bool kc_pb_is_k8s(const unsigned char *buf, size_t len);
int kc_pb_decode_object(const unsigned char *buf, size_t len, json_t **out, char *err, size_t errlen);
