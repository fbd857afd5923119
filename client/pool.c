/* Thread pool for parallel API calls; see pool.h.
 *
 * Batches wait in a FIFO list while they still have indexes to hand out; whoever takes
 * the last index unlinks the batch. A batch lives on its caller's stack: the caller
 * returns only once `done` reached `n`, after which no thread touches it again. */
#include "client/pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

struct batch {
    void (*fn)(void *arg, int i);
    void *arg;
    int n;
    int next; /* next index to hand out */
    int done; /* calls that returned */
    pthread_cond_t done_cv;
    struct batch *link;
};

struct kc_pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv;
    struct batch *head, *tail;
    bool stop;
    pthread_t *threads;
    int nthreads;
};

/* Takes the next index of the first batch (mu held). False when there is none. */
static bool take(struct kc_pool *p, struct batch **b, int *i)
{
    struct batch *h = p->head;
    if (!h)
        return false;
    *b = h;
    *i = h->next++;
    if (h->next == h->n) {
        p->head = h->link;
        if (!p->head)
            p->tail = NULL;
    }
    return true;
}

/* Runs one taken call and accounts for it (mu held on entry and exit). */
static void run_one(struct kc_pool *p, struct batch *b, int i)
{
    pthread_mutex_unlock(&p->mu);
    b->fn(b->arg, i);
    pthread_mutex_lock(&p->mu);
    if (++b->done == b->n)
        pthread_cond_signal(&b->done_cv);
}

static void *pool_main(void *arg)
{
    struct kc_pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        struct batch *b;
        int i;
        if (take(p, &b, &i)) {
            run_one(p, b, i);
            continue;
        }
        if (p->stop)
            break;
        pthread_cond_wait(&p->work_cv, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct kc_pool *kc_pool_new(int threads)
{
    struct kc_pool *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    if (threads > 0) {
        p->threads = calloc((size_t)threads, sizeof *p->threads);
        if (!p->threads)
            abort();
    }
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, p) != 0) {
            kc_pool_free(p);
            return NULL;
        }
        p->nthreads++;
    }
    return p;
}

void kc_pool_free(struct kc_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_cond_destroy(&p->work_cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void kc_pool_run(struct kc_pool *p, int n, void (*fn)(void *arg, int i), void *arg)
{
    if (n <= 0)
        return;
    if (n == 1 || !p) {
        for (int i = 0; i < n; i++)
            fn(arg, i);
        return;
    }
    struct batch b = {.fn = fn, .arg = arg, .n = n};
    pthread_cond_init(&b.done_cv, NULL);
    pthread_mutex_lock(&p->mu);
    if (p->tail)
        p->tail->link = &b;
    else
        p->head = &b;
    p->tail = &b;
    pthread_cond_broadcast(&p->work_cv);
    /* Work on our own batch meanwhile (not on others': our caller waits for us). */
    while (b.next < b.n) {
        int i = b.next++;
        if (b.next == b.n) {
            /* unlink: it may sit anywhere in the list */
            struct batch **pp = &p->head, *prev = NULL;
            while (*pp && *pp != &b) {
                prev = *pp;
                pp = &(*pp)->link;
            }
            if (*pp) {
                *pp = b.link;
                if (p->tail == &b)
                    p->tail = prev;
            }
        }
        run_one(p, &b, i);
    }
    while (b.done < b.n)
        pthread_cond_wait(&b.done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    pthread_cond_destroy(&b.done_cv);
}
