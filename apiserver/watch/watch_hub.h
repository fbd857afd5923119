/* The watch hub: the recent change events of the whole store, in one ring indexed by
 * revision (one event per revision), each serialized once and shared by every watcher.
 *
 * The storage publishes each committed event; watchers read from their own cursor
 * (the last revision they saw) and filter for themselves. A watcher that falls further
 * behind than the ring holds gets KC_HUB_EXPIRED and is closed with 410, as the real
 * apiserver's watch cache does; memory never grows with slow watchers.
 */
#ifndef KUBEC_WATCH_HUB_H
#define KUBEC_WATCH_HUB_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kc_event_type { KC_EVENT_ADDED, KC_EVENT_MODIFIED, KC_EVENT_DELETED };

/* Immutable once published; reference-counted. */
struct kc_event {
    int refs;
    enum kc_event_type type;
    uint64_t rev;
    char *key;       /* storage key */
    json_t *obj;     /* the object (DELETED: last state); shared read-only */
    char *prev_text; /* MODIFIED/DELETED: the previous state's JSON (selector transitions);
                      * kept as text, parsed on demand: most watchers never need it */
    size_t prev_len;
    /* MODIFIED: when the writer knew it, what selectors see of the previous state (a pruned
     * copy: metadata name, namespace and labels, and the resource's field-selector paths),
     * so that selector transitions need no parse of prev_text; NULL otherwise. */
    json_t *prev_attrs;
    char *line; /* {"type":"...","object":{...}}\n — the JSON watch line */
    size_t line_len;
};

const char *kc_event_type_name(enum kc_event_type t);

/* Builds an event; takes a new reference to obj; prev_text (may be NULL) and obj_text are
 * copied. refs starts at 1. */
struct kc_event *kc_event_new(enum kc_event_type type, uint64_t rev, const char *key, json_t *obj,
                              const char *prev_text, size_t prev_len, const char *obj_text,
                              size_t obj_len);
/* The previous state, parsed (new reference), or NULL. */
json_t *kc_event_prev(const struct kc_event *e);
/* What selectors see of the previous state: prev_attrs when present, else the parsed
 * previous state (new reference, read-only), or NULL. */
json_t *kc_event_prev_attrs(const struct kc_event *e);
struct kc_event *kc_event_ref(struct kc_event *e);
void kc_event_unref(struct kc_event *e);

struct kc_watch_hub;

struct kc_watch_hub *kc_hub_new(size_t capacity);
void kc_hub_free(struct kc_watch_hub *h);

/* Storage side: append an event (the hub takes over the caller's reference). Events must
 * come in increasing revision order. */
void kc_hub_publish(struct kc_watch_hub *h, struct kc_event *e);
/* The same for the n events of one commit, with one wake-up of each watcher concerned. */
void kc_hub_publish_batch(struct kc_watch_hub *h, struct kc_event **events, size_t n);
/* Sets the revision the hub has seen up to without events (startup). */
void kc_hub_set_revision(struct kc_watch_hub *h, uint64_t rev);

#define KC_HUB_EXPIRED (-2)
#define KC_HUB_CLOSED (-3)

/* Watcher side: waits up to timeout_ms for events with revision > *after whose key starts
 * with prefix (NULL: any); stores up to max new references in out and moves *after past
 * every event it looked at, those of other keys included. A watcher is woken only by
 * events under its prefix (or before it would fall out of the ring), not by every commit.
 * Returns the count (0 on timeout), KC_HUB_EXPIRED when events after *after were already
 * dropped, KC_HUB_CLOSED on shutdown. */
int kc_hub_wait(struct kc_watch_hub *h, uint64_t *after, const char *prefix, struct kc_event **out,
                size_t max, int timeout_ms);
/* The object of the event at revision rev when the ring still holds it, it is about key
 * and not a deletion: a new reference to the shared, read-only object. NULL otherwise. */
json_t *kc_hub_object(struct kc_watch_hub *h, const char *key, uint64_t rev);
/* The oldest revision still resumable: a watch from `rev` works iff rev >= oldest. */
uint64_t kc_hub_oldest(struct kc_watch_hub *h);
uint64_t kc_hub_revision(struct kc_watch_hub *h);
/* Wakes every waiter and makes further waits return KC_HUB_CLOSED. */
void kc_hub_shutdown(struct kc_watch_hub *h);
/* Number of watchers currently inside kc_hub_wait (for metrics). */
size_t kc_hub_waiters(struct kc_watch_hub *h);

#endif
