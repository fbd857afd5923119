/* The storage interface: what the generic registry needs from a key-value store with one
 * global revision, shaped after k8s.io/apiserver's storage.Interface so that a second
 * backend (etcd, for HA) can implement the same operations.
 *
 * Keys are "/registry/<group>/<resource>/<namespace>/<name>" (core group: "/registry/core/..."
 * is not used; see registry keys in apiserver/registry.c). Values are JSON objects. Every
 * successful write bumps the global revision by one; that revision is the object's
 * metadata.resourceVersion, which the storage writes into the object itself before storing it.
 *
 * Threading: all calls are thread-safe. Writes are funnelled to one committer thread that
 * groups concurrent writes into one transaction and one sync ("group commit"); a write call
 * returns only after its transaction is durable.
 */
#ifndef KUBEC_STORAGE_H
#define KUBEC_STORAGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kc_watch_hub;

enum kc_storage_rc {
    KC_STORAGE_OK = 0,
    KC_STORAGE_NOT_FOUND = -1,
    KC_STORAGE_EXISTS = -2,
    KC_STORAGE_CONFLICT = -3, /* resourceVersion precondition failed */
    KC_STORAGE_EXPIRED = -4,  /* revision older than the retained window */
    KC_STORAGE_INTERNAL = -5,
};

enum kc_write_type { KC_WRITE_CREATE, KC_WRITE_UPDATE, KC_WRITE_DELETE };

struct kc_write {
    enum kc_write_type type;
    const char *key;
    /* CREATE/UPDATE: the new object; DELETE: the object's last state (recorded in the
     * DELETED event). Borrowed; the storage sets metadata.resourceVersion in it and, on
     * success, takes a reference for the watch event, so the caller must treat the object
     * as read-only afterwards. */
    json_t *obj;
    /* UPDATE/DELETE: when non-zero, the write fails with KC_STORAGE_CONFLICT unless the
     * stored object's revision equals this. */
    uint64_t expect_rev;
    /* UPDATE with expect_rev: what watch selectors can see of the object being replaced
     * (see kc_event.prev_attrs; borrowed, may be NULL). The event takes a reference, so
     * watchers need not parse the previous state to tell selector transitions. */
    json_t *prev_attrs;
    /* CREATE/UPDATE: hand the stored JSON text back in text/text_len. */
    bool want_text;
    /* Results. */
    int rc;
    uint64_t rev; /* the revision of this write */
    char *text;   /* want_text and rc == OK: malloc'd, NUL-terminated, the caller frees */
    size_t text_len;
};

struct kc_storage_options {
    size_t map_size; /* LMDB map size in bytes */
    uint64_t window; /* revisions kept in the change log (watch resume window) */
    bool no_sync;    /* tests only: skip fsync */
};

/* Counters for benchmarks and /metrics. */
struct kc_storage_stats {
    uint64_t commits;   /* transactions committed */
    uint64_t writes;    /* writes in them */
    uint64_t commit_ns; /* time spent applying and committing groups */
    uint64_t sync_ns;   /* of which in the backend's commit (page writes, sync) */
};

struct kc_storage;

/* Called for each listed object with its stored JSON text (not NUL-terminated; valid only
 * during the call). Return non-zero to stop early. */
typedef int (*kc_list_fn)(void *ctx, const char *key, const char *json, size_t len,
                          uint64_t mod_rev);

/* What a backend implements; the kc_storage_* functions below dispatch to it. A backend's
 * own struct starts with `struct kc_storage base` (the shape of git's ref_storage_be). */
struct kc_storage_ops {
    const char *name;
    void (*close)(struct kc_storage *s);
    uint64_t (*revision)(struct kc_storage *s);
    uint64_t (*oldest)(struct kc_storage *s);
    int (*get_raw)(struct kc_storage *s, const char *key, char **json, size_t *len,
                   uint64_t *mod_rev);
    /* May be NULL (kc_storage_get_shared then parses, as kc_storage_get). */
    int (*get_shared)(struct kc_storage *s, const char *key, json_t **out, uint64_t *mod_rev);
    int (*list)(struct kc_storage *s, const char *prefix, const char *start_after, uint64_t at_rev,
                kc_list_fn fn, void *ctx, uint64_t *snap_rev);
    int (*write)(struct kc_storage *s, struct kc_write *w);
    void (*stats)(struct kc_storage *s, struct kc_storage_stats *out);
};

struct kc_storage {
    const struct kc_storage_ops *ops;
};

/* The LMDB backend: opens (creating when needed) the environment in dir and starts the
 * committer. hub (borrowed, may be NULL) receives every committed event, in revision
 * order; on startup the retained change log is replayed into it. 0 or -1 with err. */
int kc_storage_open_lmdb(const char *dir, const struct kc_storage_options *opt,
                         struct kc_watch_hub *hub, struct kc_storage **out, char *err,
                         size_t errlen);

void kc_storage_close(struct kc_storage *s);

/* The current (latest committed) revision. */
uint64_t kc_storage_revision(struct kc_storage *s);
/* The oldest revision from which a watch can still resume (events after it are kept). */
uint64_t kc_storage_oldest(struct kc_storage *s);

/* Reads one object: *out gets a new reference. Returns KC_STORAGE_OK or _NOT_FOUND. */
int kc_storage_get(struct kc_storage *s, const char *key, json_t **out, uint64_t *mod_rev);

/* Same, but *out may be shared with the watch events and other readers (a new reference
 * to an object nobody modifies): the object the last write of key handed in, when the
 * watch window still holds that write, which saves parsing what was just written. The
 * caller must not modify it (json_deep_copy() first). */
int kc_storage_get_shared(struct kc_storage *s, const char *key, json_t **out, uint64_t *mod_rev);

/* Same, but returns the stored JSON text (malloc'd, NUL-terminated, caller frees)
 * without parsing it. */
int kc_storage_get_raw(struct kc_storage *s, const char *key, char **json, size_t *len,
                       uint64_t *mod_rev);

/* Lists keys under prefix, in key order, strictly after start_after (NULL = from the
 * start), calling fn for each. When at_rev is non-zero the listing is the state as of that
 * revision (consistent pagination); KC_STORAGE_EXPIRED if it is older than the window.
 * *snap_rev gets the revision the listing represents. */
int kc_storage_list(struct kc_storage *s, const char *prefix, const char *start_after,
                    uint64_t at_rev, kc_list_fn fn, void *ctx, uint64_t *snap_rev);

/* Performs one write (see struct kc_write) and waits until it is durable. Returns w->rc. */
int kc_storage_write(struct kc_storage *s, struct kc_write *w);

void kc_storage_stats(struct kc_storage *s, struct kc_storage_stats *out);

#endif
