/* JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.
 *
 * Ownership: inputs are borrowed and never modified; results are new references. */
#ifndef KUBEC_LIB_PATCH_H
#define KUBEC_LIB_PATCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* RFC 7386. Returns a new reference (NULL only when nesting is deeper than 100). */
json_t *kc_merge_patch(const json_t *target, const json_t *patch);
/* The same result, but sharing with target (borrowed) the members the patch leaves alone:
 * cheaper for large targets and small patches. Neither may be modified afterwards where
 * they share (copy first). New reference, or NULL when nested too deep. */
json_t *kc_merge_patch_shared(const json_t *target, const json_t *patch);

/* RFC 6902 with RFC 6901 pointers. 0 and a new reference in *out, or -1 with err;
 * *is_test_failure tells a failed "test" apart from other errors. */
int kc_json_patch(const json_t *target, const json_t *patch, json_t **out, bool *is_test_failure,
                  char *err, size_t errlen);

/* Strategic merge patch with the merge keys of the built-in types and the directives
 * $patch (replace, delete, merge), $setElementOrder/<list>, $deleteFromPrimitiveList/<list>
 * and $retainKeys. Returns a new reference, or NULL with err. */
json_t *kc_strategic_merge_patch(const json_t *target, const json_t *patch, char *err,
                                 size_t errlen);

/* What the engine needs to know of a field to merge it; the type is opaque to it. */
struct kc_smp_field {
    bool merge;            /* a list merged (patch strategy "merge") rather than replaced */
    const char *merge_key; /* with merge: the key of the elements; NULL = a primitive set */
    const void *child;     /* type of the objects under the field (list elements too) */
};
/* Describes field of type (NULL type = unknown: lists are replaced). False when the field
 * is unknown. */
typedef bool (*kc_smp_lookup_fn)(const void *type, const char *field, struct kc_smp_field *out);

/* Strategic merge patch driven by a schema: merge keys and strategies come from lookup. */
json_t *kc_strategic_merge_patch_typed(const json_t *target, const json_t *patch, const void *type,
                                       kc_smp_lookup_fn lookup, char *err, size_t errlen);

#endif
