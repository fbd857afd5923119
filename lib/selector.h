/* Label and field selectors (k8s.io/apimachinery labels and fields): parsing, matching
 * and printing. A parsed selector is an AND of requirements. */
#ifndef KUBEC_LIB_SELECTOR_H
#define KUBEC_LIB_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct kc_selector;

/* Label selector syntax as labels.Parse accepts it: comma-separated requirements
 * `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`, `k>N`, `k<N`.
 * Empty = everything. -1 with a message in err on a syntax or validation error. */
int kc_label_selector_parse(const char *s, struct kc_selector **out, char *err, size_t errlen);
/* metav1.LabelSelector JSON (borrowed): matchLabels and matchExpressions. */
int kc_label_selector_from_json(const json_t *sel, struct kc_selector **out, char *err,
                                size_t errlen);
/* labels: a JSON object of strings (borrowed) or NULL. */
bool kc_label_selector_matches(const struct kc_selector *sel, const json_t *labels);

/* Field selector syntax: `k=v`, `k==v`, `k!=v`, comma-separated; backslash escapes. */
int kc_field_selector_parse(const char *s, struct kc_selector **out, char *err, size_t errlen);

size_t kc_selector_len(const struct kc_selector *sel);
const char *kc_selector_key(const struct kc_selector *sel, size_t i);
bool kc_selector_empty(const struct kc_selector *sel);

/* Resolves a field's string value into buf: 0, or -1 when absent (compares as ""). */
typedef int (*kc_field_get_fn)(const json_t *obj, const char *field, char *buf, size_t buflen,
                               void *ctx);
bool kc_field_selector_matches(const struct kc_selector *sel, const json_t *obj,
                               kc_field_get_fn get, void *ctx);
/* The default getter: a dotted JSON path; strings as they are, numbers and booleans in
 * their text form. */
int kc_field_get_path(const json_t *obj, const char *field, char *buf, size_t buflen, void *ctx);

/* Canonical text (requirements sorted by key), malloc'd. */
char *kc_selector_string(const struct kc_selector *sel);
/* The text of a metav1.LabelSelector as kubectl prints it ("app=demo"), malloc'd. */
char *kc_label_selector_json_to_string(const json_t *sel);

void kc_selector_free(struct kc_selector *sel);

#endif
