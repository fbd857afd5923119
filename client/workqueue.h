/* Rate-limited work queues, as controllers use them: a key added many times while waiting
 * is queued once; a key being processed is not handed to a second worker at once (it is
 * re-queued when its worker calls done); failed keys come back after a per-key exponential
 * back-off (5 ms doubling up to 1000 s, reset by forget). Thread-safe. */
#ifndef KUBEC_CLIENT_WORKQUEUE_H
#define KUBEC_CLIENT_WORKQUEUE_H

#include <stddef.h>
#include <stdio.h>

struct kc_workqueue;

struct kc_workqueue *kc_wq_new(const char *name);
void kc_wq_add(struct kc_workqueue *q, const char *key);
void kc_wq_add_after(struct kc_workqueue *q, const char *key, long delay_ms);
/* Adds after this key's next back-off delay. */
void kc_wq_add_rate_limited(struct kc_workqueue *q, const char *key);
/* Resets the key's back-off. */
void kc_wq_forget(struct kc_workqueue *q, const char *key);
int kc_wq_num_requeues(struct kc_workqueue *q, const char *key);
/* Blocks for the next key; returns a malloc'd key (free it after kc_wq_done), or NULL once
 * the queue is shut down. */
char *kc_wq_get(struct kc_workqueue *q);
void kc_wq_done(struct kc_workqueue *q, const char *key);
void kc_wq_shutdown(struct kc_workqueue *q);
size_t kc_wq_len(struct kc_workqueue *q);
void kc_wq_free(struct kc_workqueue *q);
/* Appends Prometheus text for this queue (depth, adds, retries, work duration histogram,
 * labelled name="...") to f. */
void kc_wq_write_metrics(struct kc_workqueue *q, FILE *f);

#endif
