/* The scheduling queue, as kube-scheduler's: an active FIFO of pods to try now, a
 * back-off set of pods waiting out a delay after a failed attempt (1 s doubling to 10 s),
 * and an unschedulable set of pods that failed for lack of a fitting node, moved back
 * when the cluster changes (a node added or changed, a pod deleted) or after 60 s.
 * Keys are "namespace/name". Thread-safe. */
#ifndef KUBEC_SCHEDULER_QUEUE_H
#define KUBEC_SCHEDULER_QUEUE_H

#include <stddef.h>

struct kc_sched_queue;

struct kc_sched_queue *kc_sq_new(void);
/* A new or changed pending pod: active now (unless it is already queued somewhere). A
 * changed pod parked as unschedulable goes back to active. */
void kc_sq_add(struct kc_sched_queue *q, const char *key);
/* After an attempt found no node: parked until the cluster changes. */
void kc_sq_add_unschedulable(struct kc_sched_queue *q, const char *key);
/* After an error (bind failed): back to active after its back-off. */
void kc_sq_add_backoff(struct kc_sched_queue *q, const char *key);
/* Cluster changed: every unschedulable pod goes to back-off (or active when its back-off
 * has passed). */
void kc_sq_move_all_to_active(struct kc_sched_queue *q);
/* The pod was bound or deleted: forget it and its attempts. */
void kc_sq_delete(struct kc_sched_queue *q, const char *key);
/* Blocks for the next active pod; malloc'd key, or NULL after shutdown. */
char *kc_sq_pop(struct kc_sched_queue *q);
void kc_sq_shutdown(struct kc_sched_queue *q);
void kc_sq_sizes(struct kc_sched_queue *q, size_t *active, size_t *backoff, size_t *unschedulable);
void kc_sq_free(struct kc_sched_queue *q);

#endif
