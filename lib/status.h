/* The one error convention of kubec.
 *
 * Functions that can fail return 0 on success and -1 on failure; on failure they fill a
 * caller-provided struct kc_status with what the client must see: the HTTP code, the
 * Kubernetes Status reason (NotFound, Conflict, Invalid, ...), the message printed by
 * kubectl, and optional details (name, group, kind, causes).
 *
 * Field validation collects errors in a struct kc_errlist first; kc_status_invalid() turns
 * the list into the 422 Invalid Status with one cause per field error, worded as the real
 * apiserver words them ("spec.replicas: Invalid value: -1: must be greater than or equal to 0").
 */
#ifndef KUBEC_LIB_STATUS_H
#define KUBEC_LIB_STATUS_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>

struct kc_status {
    int code;        /* HTTP status code; 0 while no error was set */
    char reason[48]; /* metav1.StatusReason, e.g. "NotFound" */
    char *message;   /* owned; may be NULL */
    json_t *details; /* owned reference; NULL or a StatusDetails object */
};

#define KC_STATUS_INIT                                                                             \
    {                                                                                              \
        0, {0}, NULL, NULL                                                                         \
    }

/* Sets code, reason and message (printf-style); clears details. Always returns -1 so that
 * callers can write `return kc_status_set(st, 404, "NotFound", "...")`. */
int kc_status_set(struct kc_status *st, int code, const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Sets details.{name,group,kind} (kind is the plural resource for NotFound / AlreadyExists /
 * Conflict, the Kind for Invalid, as upstream does). NULL arguments are omitted, except group
 * which is always written ("" for the core group). */
void kc_status_set_details(struct kc_status *st, const char *name, const char *group,
                           const char *kind);

/* Frees message and details and resets to KC_STATUS_INIT. */
void kc_status_release(struct kc_status *st);

/* Builds the metav1.Status JSON object. Returns a new reference. */
json_t *kc_status_to_json(const struct kc_status *st);

/* Builds {"kind":"Status",...,"status":"Success"} with details. Returns a new reference. */
json_t *kc_status_success_json(const char *name, const char *group, const char *kind,
                               const char *uid);

/* ---- common errors, worded as the real apiserver words them ----
 * `qualified` is the "resource.group" form used in messages: "pods", "deployments.apps". */
int kc_status_not_found(struct kc_status *st, const char *group, const char *resource,
                        const char *name);
int kc_status_already_exists(struct kc_status *st, const char *group, const char *resource,
                             const char *name);
int kc_status_conflict(struct kc_status *st, const char *group, const char *resource,
                       const char *name, const char *why);
int kc_status_bad_request(struct kc_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int kc_status_internal(struct kc_status *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- field error lists (metav1.StatusCause) ---- */
struct kc_errlist;

struct kc_errlist *kc_errlist_new(void);
void kc_errlist_free(struct kc_errlist *l);
size_t kc_errlist_len(const struct kc_errlist *l);
/* Accessors for entry i (borrowed strings, valid until the list is freed). */
const char *kc_errlist_reason(const struct kc_errlist *l, size_t i);
const char *kc_errlist_field(const struct kc_errlist *l, size_t i);
const char *kc_errlist_message(const struct kc_errlist *l, size_t i);

/* Raw entry: reason is a metav1.CauseType ("FieldValueInvalid", ...), message the whole
 * cause message ("Invalid value: -1: must be ..."). */
void kc_errlist_add(struct kc_errlist *l, const char *reason, const char *field, const char *fmt,
                    ...) __attribute__((format(printf, 4, 5)));

/* Typed helpers producing upstream field.Error wording. `value` is borrowed and printed as
 * Go prints it: strings quoted, numbers and booleans bare, null as "null". */
void kc_err_invalid(struct kc_errlist *l, const char *field, const json_t *value,
                    const char *detail);
void kc_err_required(struct kc_errlist *l, const char *field, const char *detail);
void kc_err_forbidden(struct kc_errlist *l, const char *field, const char *detail);
void kc_err_duplicate(struct kc_errlist *l, const char *field, const json_t *value);
void kc_err_not_supported(struct kc_errlist *l, const char *field, const json_t *value,
                          const char *const *supported /* NULL-terminated */);
void kc_err_too_long(struct kc_errlist *l, const char *field, size_t max);

/* Fills st with 422 Invalid: message `<Kind>[.<group>] "<name>" is invalid: <errors>` where a
 * single error is printed as is and several as "[e1, e2]"; details.kind = Kind; one cause per
 * entry. Returns -1. */
int kc_status_invalid(struct kc_status *st, const char *group, const char *kind, const char *name,
                      const struct kc_errlist *l);

#endif
