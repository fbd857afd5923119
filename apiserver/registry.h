/* The generic registry: create, get, list, update and delete for every resource in the
 * table, applying the resource's strategy (defaults, validation, allocation, graceful
 * deletion, finalizers) around the storage interface. It plays the role of
 * k8s.io/apiserver's genericregistry.Store.
 *
 * Ownership: objects passed in are borrowed unless stated; objects returned through
 * `out` are new references. Returned objects may be shared read-only with watchers.
 */
#ifndef KUBEC_REGISTRY_H
#define KUBEC_REGISTRY_H

#include "apiserver/resources.h"
#include "lib/status.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct kc_server;

/* Read-modify-write loops retry a lost compare-and-swap this many times: as with
 * upstream's GuaranteedUpdate, a write without a client precondition should not fail just
 * because others wrote at the same time (each round, one writer wins). */
#define KC_WRITE_RETRIES 128

/* Storage keys: "/registry/<group>/<resource>/<namespace>/<name>"; group "core" for "". */
void kc_registry_key(const struct kc_resource *r, const char *ns, const char *name, char *buf,
                     size_t n);
/* List prefix for all namespaces (ns NULL or "") or one namespace; ends with '/'. */
void kc_registry_prefix(const struct kc_resource *r, const char *ns, char *buf, size_t n);

enum kc_update_target { KC_UPDATE_MAIN, KC_UPDATE_STATUS, KC_UPDATE_FINALIZE };

struct kc_write_opts {
    bool dry_run;
    /* Field manager of a non-apply write (recorded in managedFields as an Update);
     * NULL records nothing. */
    const char *manager;
    const char *manager_api_version; /* the API version the client wrote in */
    /* The object carries managedFields computed by server-side apply: keep them as is. */
    bool applied;
    /* Update: the stored object as the caller just read it at revision current_rev
     * (borrowed, read-only), so that the update need not read and parse it again. The
     * write still fails with 409 Conflict if the object moved on since. */
    const json_t *current;
    uint64_t current_rev;
    /* Create and update: when non-NULL, receives the written object's JSON text as stored
     * (malloc'd, caller frees; NULL when nothing was written, as on a dry run or a no-op
     * update), so that the answer need not serialize the object again. */
    char **text_out;
};

/* obj is modified in place (defaults, metadata) and then owned by the caller as before. */
int kc_registry_create(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                       json_t *obj, const struct kc_write_opts *wo, json_t **out,
                       struct kc_status *st);

int kc_registry_get(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                    const char *name, json_t **out, uint64_t *rev, struct kc_status *st);
/* The same, but *out may be shared with watch events and other readers (see
 * kc_storage_get_shared): read-only. */
int kc_registry_get_shared(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                           const char *name, json_t **out, uint64_t *rev, struct kc_status *st);

/* Replaces the object (PUT semantics). When obj carries metadata.resourceVersion it is a
 * precondition (409 on mismatch); otherwise the update is unconditional. */
int kc_registry_update(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                       const char *name, json_t *obj, enum kc_update_target target,
                       const struct kc_write_opts *wo, json_t **out, struct kc_status *st);

struct kc_delete_opts {
    long long grace_seconds; /* -1 = not given */
    const char *propagation; /* NULL, "Background", "Foreground", "Orphan" */
    const char *precondition_uid;
    const char *precondition_rv;
    bool dry_run;
};

/* Deletes or starts deleting. On success *out is the object (deleted, or still present
 * with deletionTimestamp) and *gone tells whether it is gone from storage. */
int kc_registry_delete(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                       const char *name, const struct kc_delete_opts *o, json_t **out, bool *gone,
                       struct kc_status *st);

/* Random RFC 4122 v4 UUID (37 bytes with NUL). */
void kc_new_uid(char out[37]);
/* 5 random characters from upstream's generateName alphabet. */
void kc_random_suffix(char out[6]);

/* Compare-and-swap write of obj without strategy hooks, for subresources with their own
 * rules (binding). 409 Conflict when the stored revision is not expect_rev. prev_attrs:
 * kc_watch_attrs() of the object stored at expect_rev (borrowed), or NULL. */
int kc_registry_put_raw(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                        const char *name, json_t *obj, uint64_t expect_rev, json_t *prev_attrs,
                        struct kc_status *st);
#endif
