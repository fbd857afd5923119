/* resource.Quantity parsing (k8s.io/apimachinery/pkg/api/resource) into integers, as the
 * scheduler and the controllers count: Value() and MilliValue() rounded up (away from
 * zero), saturating at INT64_MAX / -INT64_MAX instead of overflowing.
 *
 * Accepted: [+-] digits [. digits] followed by one optional suffix: decimal SI
 * (n u m k M G T P E), binary SI (Ki Mi Gi Ti Pi Ei) or a decimal exponent (e3, E-2). */
#ifndef KUBEC_LIB_QUANTITY_H
#define KUBEC_LIB_QUANTITY_H

#include <jansson.h>
#include <stdint.h>

/* "100m" -> 100, "1" -> 1000, "0.5" -> 500. 0, or -1 on bad input (*out untouched). */
int kc_quantity_parse_milli(const char *s, int64_t *out);
/* "2Gi" -> 2147483648, "500M" -> 500000000, "1e3" -> 1000, "0.1" -> 1. 0 or -1. */
int kc_quantity_parse_value(const char *s, int64_t *out);
/* The same for a JSON value (borrowed): a quantity string or a JSON number. */
int kc_quantity_json_milli(const json_t *v, int64_t *out);
int kc_quantity_json_value(const json_t *v, int64_t *out);

#endif
