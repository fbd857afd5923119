/* A fixed pool of threads for fanning out independent API calls and waiting for all of
 * them, as upstream controllers fan a batch of creates out to goroutines: each pool
 * thread keeps its own kept-alive connection (see client.h), so a batch of N requests is
 * in flight at once instead of paying N round trips (and N commits) one after another.
 *
 * Several callers may run batches on one pool at the same time; the calling thread takes
 * part in its own batch, so a batch finishes even when every pool thread is busy (or the
 * pool has no threads). Thread-safe. */
#ifndef KUBEC_CLIENT_POOL_H
#define KUBEC_CLIENT_POOL_H

struct kc_pool;

/* Starts `threads` threads (0 is allowed: batches then run on the caller alone). NULL
 * when a thread could not be started. */
struct kc_pool *kc_pool_new(int threads);
/* Stops the threads once the batches in progress are done; NULL is a no-op. */
void kc_pool_free(struct kc_pool *p);

/* Calls fn(arg, i) for every i in [0, n), in parallel on the pool's threads and the
 * caller's, and returns when every call has returned. fn must be thread-safe for
 * distinct i; indexes are handed out in increasing order. */
void kc_pool_run(struct kc_pool *p, int n, void (*fn)(void *arg, int i), void *arg);

#endif
