/* The scheduler's cache: every node with what is placed on it, kept up to date
 * incrementally from the pod and node informers, plus the pods this scheduler has
 * assumed (decided, binding in flight) so consecutive decisions see each other.
 * Thread-safe: informer threads write, the scheduling thread reads the snapshot between
 * kc_sched_cache_lock() and kc_sched_cache_unlock(). */
#ifndef KUBEC_SCHEDULER_CACHE_H
#define KUBEC_SCHEDULER_CACHE_H

#include "scheduler/sched.h"

struct kc_sched_cache;

struct kc_sched_cache *kc_sched_cache_new(void);
void kc_sched_cache_free(struct kc_sched_cache *c);

/* Nodes (borrowed; the cache keeps a reference). Update replaces the Node object and
 * keeps the pods. */
void kc_sched_cache_set_node(struct kc_sched_cache *c, const json_t *node);
void kc_sched_cache_remove_node(struct kc_sched_cache *c, const char *name);

/* A pod with spec.nodeName (bound): added, or replacing the assumed or older copy. */
void kc_sched_cache_set_pod(struct kc_sched_cache *c, const json_t *pod);
void kc_sched_cache_remove_pod(struct kc_sched_cache *c, const char *key);

/* The scheduling thread's decision: pod (a copy with spec.nodeName set; the cache takes
 * the reference) counts on its node at once. */
void kc_sched_cache_assume(struct kc_sched_cache *c, json_t *pod);
/* Binding failed: the assumed pod is taken off its node, unless the informer has seen it
 * bound meanwhile. */
void kc_sched_cache_forget(struct kc_sched_cache *c, const char *key);

/* The snapshot is valid until unlock. */
const struct kc_sched_snapshot *kc_sched_cache_lock(struct kc_sched_cache *c);
void kc_sched_cache_unlock(struct kc_sched_cache *c);

size_t kc_sched_cache_nodes(struct kc_sched_cache *c);
size_t kc_sched_cache_assumed(struct kc_sched_cache *c);

#endif
