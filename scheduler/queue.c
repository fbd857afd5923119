/* Scheduling queue. One mutex; per-key state in a jansson object (a hash table):
 *   where: "a" active, "b" back-off, "u" unschedulable, "p" popped (being scheduled)
 *   attempts: failed attempts so far (back-off = 1 s << (attempts-1), at most 10 s)
 *   due: when back-off ends; since: when it was parked unschedulable.
 * The active FIFO may hold stale entries (a key moved elsewhere); pop skips them. */
#include "scheduler/queue.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_INITIAL 1.0
#define BACKOFF_MAX 10.0
#define UNSCHEDULABLE_MAX_SECONDS 60.0

struct delayed {
    double due;
    char *key;
    struct delayed *next;
};

struct kc_sched_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    char **fifo;
    size_t head, len, cap;
    json_t *info;
    struct delayed *backoff; /* sorted by due */
    size_t n_active, n_backoff, n_unsched;
    double last_flush;
    int shutdown;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct kc_sched_queue *kc_sq_new(void)
{
    struct kc_sched_queue *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    q->info = json_object();
    q->last_flush = now_s();
    return q;
}

static const char *where_of(json_t *st)
{
    return json_string_value(json_object_get(st, "where"));
}

static void set_where(struct kc_sched_queue *q, json_t *st, const char *w)
{
    const char *old = where_of(st);
    if (old) {
        if (old[0] == 'a')
            q->n_active--;
        else if (old[0] == 'b')
            q->n_backoff--;
        else if (old[0] == 'u')
            q->n_unsched--;
    }
    if (w[0] == 'a')
        q->n_active++;
    else if (w[0] == 'b')
        q->n_backoff++;
    else if (w[0] == 'u')
        q->n_unsched++;
    json_object_set_new(st, "where", json_string(w));
}

static void fifo_push(struct kc_sched_queue *q, const char *key)
{
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 256;
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

/* Lock held. */
static void to_active(struct kc_sched_queue *q, const char *key, json_t *st)
{
    set_where(q, st, "a");
    fifo_push(q, key);
    pthread_cond_signal(&q->cv);
}

static json_t *state_of(struct kc_sched_queue *q, const char *key)
{
    json_t *st = json_object_get(q->info, key);
    if (!st) {
        st = json_object();
        json_object_set_new(q->info, key, st);
    }
    return st;
}

static void backoff_remove(struct kc_sched_queue *q, const char *key)
{
    for (struct delayed **pp = &q->backoff; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->key, key) == 0) {
            struct delayed *d = *pp;
            *pp = d->next;
            free(d->key);
            free(d);
            return;
        }
    }
}

static void to_backoff(struct kc_sched_queue *q, const char *key, json_t *st, double due)
{
    backoff_remove(q, key);
    struct delayed *d = malloc(sizeof *d);
    if (!d)
        return;
    d->due = due;
    d->key = strdup(key);
    struct delayed **pp = &q->backoff;
    while (*pp && (*pp)->due <= due)
        pp = &(*pp)->next;
    d->next = *pp;
    *pp = d;
    set_where(q, st, "b");
    json_object_set_new(st, "due", json_real(due));
    pthread_cond_signal(&q->cv);
}

static double backoff_for(json_t *st)
{
    long long attempts = json_integer_value(json_object_get(st, "attempts"));
    double d = BACKOFF_INITIAL;
    for (long long i = 1; i < attempts && d < BACKOFF_MAX; i++)
        d *= 2;
    return d > BACKOFF_MAX ? BACKOFF_MAX : d;
}

void kc_sq_add(struct kc_sched_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    json_t *st = state_of(q, key);
    const char *w = where_of(st);
    if (!w || w[0] == 'u') {
        to_active(q, key, st);
    } else if (w[0] == 'p') {
        /* changed while being scheduled: try again once this attempt is over */
        json_object_set_new(st, "again", json_true());
    }
    pthread_mutex_unlock(&q->mu);
}

static void after_attempt(struct kc_sched_queue *q, const char *key, bool unschedulable)
{
    pthread_mutex_lock(&q->mu);
    json_t *st = state_of(q, key);
    json_object_set_new(st, "attempts",
                        json_integer(json_integer_value(json_object_get(st, "attempts")) + 1));
    double now = now_s();
    if (json_is_true(json_object_get(st, "again"))) {
        /* the pod changed during the attempt: the result may be stale */
        json_object_del(st, "again");
        to_backoff(q, key, st, now + backoff_for(st));
    } else if (unschedulable) {
        set_where(q, st, "u");
        json_object_set_new(st, "since", json_real(now));
    } else {
        to_backoff(q, key, st, now + backoff_for(st));
    }
    pthread_mutex_unlock(&q->mu);
}

void kc_sq_add_unschedulable(struct kc_sched_queue *q, const char *key)
{
    after_attempt(q, key, true);
}

void kc_sq_add_backoff(struct kc_sched_queue *q, const char *key)
{
    after_attempt(q, key, false);
}

/* Lock held. */
static void move_unschedulable(struct kc_sched_queue *q, double older_than)
{
    if (q->n_unsched == 0)
        return; /* the common case, on every bind and node heartbeat: nothing to walk */
    double now = now_s();
    const char *key;
    json_t *st;
    json_object_foreach (q->info, key, st) {
        const char *w = where_of(st);
        if (!w || w[0] != 'u')
            continue;
        if (older_than > 0 && now - json_real_value(json_object_get(st, "since")) < older_than)
            continue;
        double due = json_real_value(json_object_get(st, "since")) + backoff_for(st);
        if (due <= now)
            to_active(q, key, st);
        else
            to_backoff(q, key, st, due);
    }
}

void kc_sq_move_all_to_active(struct kc_sched_queue *q)
{
    pthread_mutex_lock(&q->mu);
    move_unschedulable(q, 0);
    pthread_mutex_unlock(&q->mu);
}

void kc_sq_delete(struct kc_sched_queue *q, const char *key)
{
    pthread_mutex_lock(&q->mu);
    json_t *st = json_object_get(q->info, key);
    if (st) {
        const char *w = where_of(st);
        if (w && w[0] == 'b')
            backoff_remove(q, key);
        set_where(q, st, "-");
        json_object_del(q->info, key);
    }
    pthread_mutex_unlock(&q->mu);
}

char *kc_sq_pop(struct kc_sched_queue *q)
{
    char *key = NULL;
    pthread_mutex_lock(&q->mu);
    while (!q->shutdown) {
        double now = now_s();
        while (q->backoff && q->backoff->due <= now) {
            struct delayed *d = q->backoff;
            q->backoff = d->next;
            json_t *st = json_object_get(q->info, d->key);
            if (st && where_of(st) && where_of(st)[0] == 'b')
                to_active(q, d->key, st);
            free(d->key);
            free(d);
        }
        if (now - q->last_flush > 5) {
            q->last_flush = now;
            move_unschedulable(q, UNSCHEDULABLE_MAX_SECONDS);
        }
        while (q->len > 0) {
            char *k = q->fifo[q->head];
            q->head = (q->head + 1) % q->cap;
            q->len--;
            json_t *st = json_object_get(q->info, k);
            const char *w = st ? where_of(st) : NULL;
            if (w && w[0] == 'a') {
                set_where(q, st, "p");
                key = k;
                goto out;
            }
            free(k); /* stale: moved or deleted since */
        }
        double wait = 1.0;
        if (q->backoff && q->backoff->due - now < wait)
            wait = q->backoff->due - now;
        double until = now + (wait > 0 ? wait : 0);
        struct timespec ts = {(time_t)until, (long)((until - (double)(time_t)until) * 1e9)};
        pthread_cond_timedwait(&q->cv, &q->mu, &ts);
    }
out:
    pthread_mutex_unlock(&q->mu);
    return key;
}

void kc_sq_shutdown(struct kc_sched_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->shutdown = 1;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
}

void kc_sq_sizes(struct kc_sched_queue *q, size_t *active, size_t *backoff, size_t *unschedulable)
{
    pthread_mutex_lock(&q->mu);
    *active = q->n_active;
    *backoff = q->n_backoff;
    *unschedulable = q->n_unsched;
    pthread_mutex_unlock(&q->mu);
}

void kc_sq_free(struct kc_sched_queue *q)
{
    if (!q)
        return;
    for (size_t i = 0; i < q->len; i++)
        free(q->fifo[(q->head + i) % q->cap]);
    free(q->fifo);
    while (q->backoff) {
        struct delayed *d = q->backoff;
        q->backoff = d->next;
        free(d->key);
        free(d);
    }
    json_decref(q->info);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->cv);
    free(q);
}
