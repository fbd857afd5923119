/* Rate-limited work queue. One mutex guards everything; waiting getters sleep on a
 * condition variable with a deadline set by the earliest delayed key, so no timer thread
 * is needed. Sets are jansson objects (hash tables keyed by the work key). */
#include "client/workqueue.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct delayed {
    double due; /* monotonic seconds */
    char *key;
    struct delayed *next;
};

#define WQ_BUCKETS 10
static const double bucket_le[WQ_BUCKETS] = {0.0001, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10};

struct kc_workqueue {
    char *name;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **fifo; /* ring of keys waiting, each also in dirty */
    size_t head, len, cap;
    json_t *dirty;           /* keys needing work */
    json_t *processing;      /* key -> start time (real) */
    json_t *failures;        /* key -> count of rate-limited adds since forget */
    struct delayed *delayed; /* sorted by due */
    int shutdown;
    /* metrics */
    unsigned long adds, retries;
    unsigned long hist[WQ_BUCKETS];
    unsigned long hist_count;
    double hist_sum;
};

static double mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct kc_workqueue *kc_wq_new(const char *name)
{
    struct kc_workqueue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->name = strdup(name);
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->dirty = json_object();
    q->processing = json_object();
    q->failures = json_object();
    return q;
}

static void fifo_push(struct kc_workqueue *q, const char *key)
{
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 64;
        char **n = malloc(ncap * sizeof *n);
        if (!n)
            return;
        for (size_t i = 0; i < q->len; i++)
            n[i] = q->fifo[(q->head + i) % q->cap];
        free(q->fifo);
        q->fifo = n;
        q->head = 0;
        q->cap = ncap;
    }
    q->fifo[(q->head + q->len) % q->cap] = strdup(key);
    q->len++;
}

/* With the lock held. */
static void add_locked(struct kc_workqueue *q, const char *key)
{
    if (q->shutdown || json_object_get(q->dirty, key))
        return;
    q->adds++;
    json_object_set_new(q->dirty, key, json_true());
    /* A key being worked on is queued again when its worker is done. */
    if (json_object_get(q->processing, key))
        return;
    fifo_push(q, key);
    pthread_cond_signal(&q->cv);
}

void kc_wq_add(struct kc_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    add_locked(q, key);
    pthread_mutex_unlock(&q->mu);
}

void kc_wq_add_after(struct kc_workqueue *q, const char *key, long delay_ms)
{
    if (delay_ms <= 0) {
        kc_wq_add(q, key);
        return;
    }
    pthread_mutex_lock(&q->mu);
    if (q->shutdown)
        goto out;
    double due = mono_now() + (double)delay_ms / 1000.0;
    /* One pending delay per key: keep the earlier. */
    for (struct delayed **pp = &q->delayed; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            if ((*pp)->due <= due)
                goto out;
            struct delayed *d = *pp;
            *pp = d->next;
            free(d->key);
            free(d);
            break;
        }
    }
    struct delayed *d = malloc(sizeof *d);
    if (!d)
        goto out;
    d->due = due;
    d->key = strdup(key);
    struct delayed **pp = &q->delayed;
    while (*pp && (*pp)->due <= due)
        pp = &(*pp)->next;
    d->next = *pp;
    *pp = d;
    pthread_cond_broadcast(&q->cv);
out:
    pthread_mutex_unlock(&q->mu);
}

void kc_wq_add_rate_limited(struct kc_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    long long n = json_integer_value(json_object_get(q->failures, key));
    json_object_set_new(q->failures, key, json_integer(n + 1));
    q->retries++;
    pthread_mutex_unlock(&q->mu);
    /* 5 ms doubling, capped at 1000 s, as client-go's default item limiter. */
    double ms = 5.0;
    for (long long i = 0; i < n && ms < 1000000.0; i++)
        ms *= 2;
    if (ms > 1000000.0)
        ms = 1000000.0;
    kc_wq_add_after(q, key, (long)ms);
}

void kc_wq_forget(struct kc_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    json_object_del(q->failures, key);
    pthread_mutex_unlock(&q->mu);
}

int kc_wq_num_requeues(struct kc_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    int n = (int)json_integer_value(json_object_get(q->failures, key));
    pthread_mutex_unlock(&q->mu);
    return n;
}

/* Moves due delayed keys into the queue. Lock held. */
static void promote_due(struct kc_workqueue *q, double now)
{
    while (q->delayed && q->delayed->due <= now) {
        struct delayed *d = q->delayed;
        q->delayed = d->next;
        add_locked(q, d->key);
        free(d->key);
        free(d);
    }
}

char *kc_wq_get(struct kc_workqueue *q)
{
    char *key = NULL;
    pthread_mutex_lock(&q->mu);
    for (;;) {
        if (q->shutdown)
            goto out;
        promote_due(q, mono_now());
        if (q->len > 0)
            break;
        if (q->delayed) {
            double due = q->delayed->due;
            struct timespec ts = {(time_t)due, (long)((due - (double)(time_t)due) * 1e9)};
            pthread_cond_timedwait(&q->cv, &q->mu, &ts);
        } else {
            pthread_cond_wait(&q->cv, &q->mu);
        }
    }
    key = q->fifo[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    json_object_del(q->dirty, key);
    json_object_set_new(q->processing, key, json_real(mono_now()));
out:
    pthread_mutex_unlock(&q->mu);
    return key;
}

void kc_wq_done(struct kc_workqueue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    json_t *start = json_object_get(q->processing, key);
    if (start) {
        double d = mono_now() - json_real_value(start);
        q->hist_count++;
        q->hist_sum += d;
        for (int i = 0; i < WQ_BUCKETS; i++)
            if (d <= bucket_le[i])
                q->hist[i]++;
        json_object_del(q->processing, key);
    }
    /* Added again while being processed: queue it now. */
    if (json_object_get(q->dirty, key) && !q->shutdown) {
        fifo_push(q, key);
        pthread_cond_signal(&q->cv);
    }
    pthread_mutex_unlock(&q->mu);
}

void kc_wq_shutdown(struct kc_workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutdown = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

size_t kc_wq_len(struct kc_workqueue *q)
{
    pthread_mutex_lock(&q->mu);
    size_t n = q->len;
    pthread_mutex_unlock(&q->mu);
    return n;
}

void kc_wq_free(struct kc_workqueue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->len; i++)
        free(q->fifo[(q->head + i) % q->cap]);
    free(q->fifo);
    while (q->delayed) {
        struct delayed *d = q->delayed;
        q->delayed = d->next;
        free(d->key);
        free(d);
    }
    json_decref(q->dirty);
    json_decref(q->processing);
    json_decref(q->failures);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q->name);
    free(q);
}

void kc_wq_write_metrics(struct kc_workqueue *q, FILE *f)
{
    pthread_mutex_lock(&q->mu);
    size_t delayed = 0;
    for (struct delayed *d = q->delayed; d; d = d->next)
        delayed++;
    fprintf(f, "workqueue_depth{name=\"%s\"} %zu\n", q->name, q->len);
    fprintf(f, "workqueue_delayed{name=\"%s\"} %zu\n", q->name, delayed);
    fprintf(f, "workqueue_adds_total{name=\"%s\"} %lu\n", q->name, q->adds);
    fprintf(f, "workqueue_retries_total{name=\"%s\"} %lu\n", q->name, q->retries);
    for (int i = 0; i < WQ_BUCKETS; i++)
        fprintf(f, "workqueue_work_duration_seconds_bucket{name=\"%s\",le=\"%g\"} %lu\n", q->name,
                bucket_le[i], q->hist[i]);
    fprintf(f, "workqueue_work_duration_seconds_bucket{name=\"%s\",le=\"+Inf\"} %lu\n", q->name,
            q->hist_count);
    fprintf(f, "workqueue_work_duration_seconds_sum{name=\"%s\"} %.6f\n", q->name, q->hist_sum);
    fprintf(f, "workqueue_work_duration_seconds_count{name=\"%s\"} %lu\n", q->name, q->hist_count);
    pthread_mutex_unlock(&q->mu);
}
