/* meta.k8s.io/v1 Table responses built from the printers' columns and cells. */
#ifndef KUBEC_TABLE_H
#define KUBEC_TABLE_H

#include "apiserver/resources.h"

#include <jansson.h>
#include <stdbool.h>

enum kc_include_object { KC_INCLUDE_METADATA, KC_INCLUDE_OBJECT, KC_INCLUDE_NONE };

/* Starts an empty Table (new reference) with columnDefinitions when with_columns. */
json_t *kc_table_new(const struct kc_resource *r, bool with_columns);
/* Appends one row for obj (borrowed). */
void kc_table_add_row(json_t *table, const struct kc_resource *r, const json_t *obj,
                      enum kc_include_object inc, time_t now);
enum kc_include_object kc_include_object_parse(const char *s);

#endif
