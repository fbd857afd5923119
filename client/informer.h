/* Informers: list, then watch from the list's resourceVersion; relist on 410 Gone or a
 * broken stream; an in-memory cache indexed by key and by any index function; handlers
 * called on add, update and delete.
 *
 * Threads: each informer runs one thread. Handlers run on it, one at a time, after the
 * cache has been updated; they must not block (enqueue keys into a work queue instead).
 *
 * Ownership: objects in the cache are shared and IMMUTABLE: never modify a json_t obtained
 * from an informer; json_deep_copy() it first. Getters return NEW references (decref when
 * done); handler arguments are BORROWED for the call.
 *
 * Keys are "namespace/name" for namespaced objects and "name" otherwise. Cached objects
 * carry kind and apiVersion, and no metadata.managedFields. */
#ifndef KUBEC_CLIENT_INFORMER_H
#define KUBEC_CLIENT_INFORMER_H

#include "client/client.h"

struct kc_informer;

struct kc_informer_handlers {
    void (*on_add)(void *ctx, const json_t *obj);
    void (*on_update)(void *ctx, const json_t *old_obj, const json_t *new_obj);
    /* obj is the last state seen (after a relist, the one in the cache before). */
    void (*on_delete)(void *ctx, const json_t *obj);
    void *ctx;
};

/* An index function: writes the index values of obj by calling emit(emit_ctx, value) for
 * each (none, one or many). */
typedef void (*kc_index_emit_fn)(void *emit_ctx, const char *value);
typedef void (*kc_index_fn)(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx);

/* ns: NULL for all namespaces. label_selector / field_selector: NULL for all. The gvr is
 * copied by pointer (use the static KC_GVR_* or keep it alive). */
struct kc_informer *kc_informer_new(struct kc_client *c, const struct kc_gvr *r, const char *ns,
                                    const char *label_selector, const char *field_selector);
/* Up to 8 handler sets. Added to a running informer, the handler first gets on_add for
 * every cached object, then the events that follow. */
void kc_informer_add_handlers(struct kc_informer *inf, const struct kc_informer_handlers *h);
/* Before start only. Up to 8 indexes. */
void kc_informer_add_index(struct kc_informer *inf, const char *name, kc_index_fn fn);
/* Every resync_ms (0 = never) handlers get on_update(obj, obj) for every cached object. */
void kc_informer_set_resync(struct kc_informer *inf, int resync_ms);
int kc_informer_start(struct kc_informer *inf);
/* True once the first list has been delivered; waits at most timeout_ms. */
bool kc_informer_wait_synced(struct kc_informer *inf, int timeout_ms);
bool kc_informer_synced(struct kc_informer *inf);
/* Stops the thread (the client must be shut down, or the watch ends at its timeout). */
void kc_informer_stop(struct kc_informer *inf);
void kc_informer_free(struct kc_informer *inf);

/* New reference or NULL. */
json_t *kc_informer_get(struct kc_informer *inf, const char *key);
json_t *kc_informer_get_ns(struct kc_informer *inf, const char *ns, const char *name);
/* New array (of shared objects): every object, or those of namespace ns. */
json_t *kc_informer_list(struct kc_informer *inf, const char *ns);
/* New array of the objects whose index `index` holds value. */
json_t *kc_informer_by_index(struct kc_informer *inf, const char *index, const char *value);
size_t kc_informer_len(struct kc_informer *inf);
/* The resourceVersion last seen (list or watch event). Copied into buf. */
void kc_informer_last_rv(struct kc_informer *inf, char *buf, size_t len);
const struct kc_gvr *kc_informer_gvr(const struct kc_informer *inf);
/* Number of relists (after the first list) and watch restarts, for tests and metrics. */
unsigned long kc_informer_relists(struct kc_informer *inf);

/* The key of an object: "ns/name" or "name", into buf. Returns buf. */
char *kc_object_key(char *buf, size_t len, const json_t *obj);
/* Splits "ns/name" into ns (may be "") and name, into the buffers. */
void kc_key_split(const char *key, char *ns, size_t nslen, char *name, size_t namelen);

/* Index functions used by several controllers. */
void kc_index_by_namespace(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx);
/* Owner uid of every ownerReference. */
void kc_index_by_owner_uid(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx);
/* spec.nodeName (pods). */
void kc_index_by_node_name(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx);

#endif
