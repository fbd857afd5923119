/* Field tables of the Kubernetes protobuf messages (generated into pb_schema.c). */
#ifndef KUBEC_PB_SCHEMA_H
#define KUBEC_PB_SCHEMA_H

#include <stddef.h>

enum kc_pb_type {
    KC_PB_STRING,
    KC_PB_INT,
    KC_PB_BOOL,
    KC_PB_BYTES, /* base64 in JSON */
    KC_PB_DOUBLE,
    KC_PB_FLOAT,
    KC_PB_MESSAGE,
    KC_PB_TIME, /* meta.v1.Time {seconds, nanos} -> RFC 3339 */
    KC_PB_MICROTIME,
    KC_PB_DURATION, /* meta.v1.Duration {duration ns} -> Go duration text */
    KC_PB_INTSTR,   /* intstr.IntOrString -> int or string */
    KC_PB_QUANTITY, /* resource.Quantity {string} -> string */
    KC_PB_RAWJSON,  /* runtime.RawExtension / FieldsV1 {raw} -> embedded JSON */
};

/* KC_PB_INLINE: an embedded struct whose fields JSON puts in the parent (json:",inline") */
enum kc_pb_flags { KC_PB_REPEATED = 1, KC_PB_MAP = 2, KC_PB_INLINE = 4 };

struct kc_pb_message;

struct kc_pb_field {
    unsigned number;
    const char *name;
    enum kc_pb_type type;
    unsigned flags;
    const struct kc_pb_message *message; /* KC_PB_MESSAGE (and map values of that type) */
};

struct kc_pb_message {
    const char *name;
    const struct kc_pb_field *fields;
    size_t nfields;
};

struct kc_pb_kind {
    const char *api_version;
    const char *kind;
    const struct kc_pb_message *message;
};

/* Top-level kinds the decoder accepts, terminated by a NULL kind. */
extern const struct kc_pb_kind kc_pb_kinds[];

#endif
