/* Small jansson helpers used everywhere: dotted-path access to nested objects.
 *
 * Ownership: every getter returns a BORROWED reference (valid while the parent lives and is
 * not modified); kc_json_ensure_obj() returns a borrowed reference to a child it may create.
 */
#ifndef KUBEC_LIB_JSONX_H
#define KUBEC_LIB_JSONX_H

#include <jansson.h>
#include <stdbool.h>

/* Walks "a.b.c" through nested objects. Borrowed; NULL if any step is missing. */
json_t *kc_json_path(const json_t *o, const char *path);
/* String at path, or NULL when missing or not a string. Borrowed. */
const char *kc_json_str(const json_t *o, const char *path);
/* Integer at path, or def when missing or not an integer. */
long long kc_json_int(const json_t *o, const char *path, long long def);
/* Boolean at path, or def. */
bool kc_json_bool(const json_t *o, const char *path, bool def);
/* Child object under key, created (as {}) when missing or not an object. Borrowed. */
json_t *kc_json_ensure_obj(json_t *o, const char *key);
/* Sets key to a new string only when key is absent. */
void kc_json_default_str(json_t *o, const char *key, const char *value);
/* Sets key to a new integer only when key is absent. */
void kc_json_default_int(json_t *o, const char *key, long long value);
/* True when two versions of an API object differ only in status (or in what every write
 * changes: metadata.resourceVersion and metadata.managedFields). */
bool kc_json_only_status_changed(const json_t *old_obj, const json_t *new_obj);
/* Deep equality ignoring nothing (json_equal wrapper that tolerates NULLs). */
bool kc_json_equal(const json_t *a, const json_t *b);

/* json_loadb(s, n, 0, NULL) (an object or array, nothing after it but white space), about
 * twice as fast: no per-byte stream callbacks and token buffer copies. The same tree, or
 * NULL wherever json_loadb fails (call it for the error text), and also for a raw NUL byte
 * outside strings, which jansson's stream sometimes skips. New reference. */
json_t *kc_json_loadb(const char *s, size_t n);
/* The same, failing (NULL) on a duplicated object member too, as json_loadb with
 * JSON_REJECT_DUPLICATES: for request bodies, whose failures are re-read with jansson for
 * its error text and duplicate handling. */
json_t *kc_json_loadb_nodup(const char *s, size_t n);

/* The dotted paths ("spec.replicas", "spec.containers[0].name") of the object members that
 * repeat an earlier member of the same object in the well-formed JSON text s (n bytes), in
 * text order, each written to out (outn bytes) ended by a newline; what does not fit is left
 * out. Upstream's strict decoder names duplicates this way. The number found. */
size_t kc_json_duplicate_paths(const char *s, size_t n, char *out, size_t outn);

/* json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY), byte for byte, about three times faster:
 * no circular-reference bookkeeping (a hash table insert per object and array, which our
 * trees never need) and a byte loop over strings. A malloc'd NUL-terminated text with its
 * length in *len (may be NULL), or NULL where json_dumps fails (invalid UTF-8, nesting
 * deeper than 2048, a real it cannot print). */
char *kc_json_dumps(const json_t *j, size_t *len);

/* Removes from the JSON text s (n bytes, modified in place) every member named by path
 * before it is parsed: a NULL-terminated list of member names, "[]" standing for every
 * element of an array; {"object", "metadata", "managedFields", NULL} drops a watch event's
 * managedFields. Cheaper than parsing what is thrown away (managedFields are most of the
 * small objects of a pod). Returns the new length; text that is not well-formed JSON, or
 * spells the names with escapes, is left as it was. */
size_t kc_json_text_drop(char *s, size_t n, const char *const *path);

#endif
