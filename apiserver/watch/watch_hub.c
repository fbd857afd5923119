/* Watch hub: a revision-indexed ring of shared events; see watch_hub.h. */
#include "apiserver/watch/watch_hub.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Readers take the ring's read lock only to copy event references, and sleep on a futex
 * over `seq` rather than on a condition variable: a new event wakes every watcher at once
 * and they read in parallel instead of queueing for one mutex. */
struct kc_watch_hub {
    pthread_rwlock_t mu;
    unsigned int seq; /* bumped (atomically) after every change readers wait for */
    struct kc_event **ring;
    size_t cap;
    uint64_t head;  /* newest revision published (or set) */
    uint64_t first; /* oldest revision whose event is still in the ring */
    size_t waiters;
    bool closed;
};

static const char *const event_names[] = {"ADDED", "MODIFIED", "DELETED"};

const char *kc_event_type_name(enum kc_event_type t)
{
    return event_names[t];
}

struct kc_event *kc_event_new(enum kc_event_type type, uint64_t rev, const char *key, json_t *obj,
                              const char *prev_text, size_t prev_len, const char *obj_text,
                              size_t obj_len)
{
    struct kc_event *e = calloc(1, sizeof *e);
    if (!e)
        abort();
    e->refs = 1;
    e->type = type;
    e->rev = rev;
    e->key = strdup(key);
    e->obj = json_incref(obj);
    if (prev_text) {
        e->prev_text = strndup(prev_text, prev_len);
        e->prev_len = prev_len;
    }
    const char *name = event_names[type];
    /* {"type":"ADDED","object":<obj>}\n */
    size_t cap = obj_len + strlen(name) + 32;
    e->line = malloc(cap);
    if (!e->line || !e->key)
        abort();
    int n = snprintf(e->line, cap, "{\"type\":\"%s\",\"object\":", name);
    memcpy(e->line + n, obj_text, obj_len);
    e->line_len = (size_t)n + obj_len;
    e->line[e->line_len++] = '}';
    e->line[e->line_len++] = '\n';
    e->line[e->line_len] = 0;
    return e;
}

json_t *kc_event_prev(const struct kc_event *e)
{
    return e->prev_text ? json_loadb(e->prev_text, e->prev_len, 0, NULL) : NULL;
}

json_t *kc_event_prev_attrs(const struct kc_event *e)
{
    return e->prev_attrs ? json_incref(e->prev_attrs) : kc_event_prev(e);
}

struct kc_event *kc_event_ref(struct kc_event *e)
{
    __atomic_add_fetch(&e->refs, 1, __ATOMIC_RELAXED);
    return e;
}

void kc_event_unref(struct kc_event *e)
{
    if (!e || __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    json_decref(e->obj);
    json_decref(e->prev_attrs);
    free(e->prev_text);
    free(e->key);
    free(e->line);
    free(e);
}

struct kc_watch_hub *kc_hub_new(size_t capacity)
{
    struct kc_watch_hub *h = calloc(1, sizeof *h);
    if (!h)
        abort();
    if (capacity < 16)
        capacity = 16;
    h->ring = calloc(capacity, sizeof *h->ring);
    if (!h->ring)
        abort();
    h->cap = capacity;
    h->first = 1;
    pthread_rwlock_init(&h->mu, NULL);
    return h;
}

void kc_hub_free(struct kc_watch_hub *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->cap; i++)
        kc_event_unref(h->ring[i]);
    free(h->ring);
    pthread_rwlock_destroy(&h->mu);
    free(h);
}

static void wake_all(struct kc_watch_hub *h)
{
    __atomic_add_fetch(&h->seq, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &h->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void kc_hub_publish(struct kc_watch_hub *h, struct kc_event *e)
{
    pthread_rwlock_wrlock(&h->mu);
    size_t slot = (size_t)(e->rev % h->cap);
    kc_event_unref(h->ring[slot]);
    h->ring[slot] = e;
    if (h->head == 0 && h->first == 1 && e->rev > 1)
        h->first = e->rev; /* first event after an empty start (replay of a window) */
    h->head = e->rev;
    if (h->head >= h->cap && h->head - h->cap + 1 > h->first)
        h->first = h->head - h->cap + 1;
    pthread_rwlock_unlock(&h->mu);
    wake_all(h);
}

void kc_hub_set_revision(struct kc_watch_hub *h, uint64_t rev)
{
    pthread_rwlock_wrlock(&h->mu);
    if (rev > h->head) {
        h->head = rev;
        h->first = rev + 1;
    }
    pthread_rwlock_unlock(&h->mu);
    wake_all(h);
}

uint64_t kc_hub_oldest(struct kc_watch_hub *h)
{
    pthread_rwlock_rdlock(&h->mu);
    uint64_t o = h->first - 1;
    pthread_rwlock_unlock(&h->mu);
    return o;
}

uint64_t kc_hub_revision(struct kc_watch_hub *h)
{
    pthread_rwlock_rdlock(&h->mu);
    uint64_t r = h->head;
    pthread_rwlock_unlock(&h->mu);
    return r;
}

size_t kc_hub_waiters(struct kc_watch_hub *h)
{
    return __atomic_load_n(&h->waiters, __ATOMIC_RELAXED);
}

static long ms_until(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
           (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

int kc_hub_wait(struct kc_watch_hub *h, uint64_t after, struct kc_event **out, size_t max,
                int timeout_ms)
{
    struct timespec deadline;
    int n = 0;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    __atomic_add_fetch(&h->waiters, 1, __ATOMIC_RELAXED);
    for (;;) {
        unsigned int seq = __atomic_load_n(&h->seq, __ATOMIC_SEQ_CST);
        pthread_rwlock_rdlock(&h->mu);
        if (h->closed) {
            n = KC_HUB_CLOSED;
        } else if (after + 1 < h->first) {
            n = KC_HUB_EXPIRED;
        } else {
            for (uint64_t r = after + 1; r <= h->head && (size_t)n < max; r++) {
                struct kc_event *e = h->ring[r % h->cap];
                if (e && e->rev == r)
                    out[n++] = kc_event_ref(e);
            }
        }
        pthread_rwlock_unlock(&h->mu);
        if (n != 0 || timeout_ms <= 0)
            break;
        long left = ms_until(&deadline);
        if (left <= 0)
            break;
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        syscall(SYS_futex, &h->seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
    }
    __atomic_sub_fetch(&h->waiters, 1, __ATOMIC_RELAXED);
    return n;
}

void kc_hub_shutdown(struct kc_watch_hub *h)
{
    pthread_rwlock_wrlock(&h->mu);
    h->closed = true;
    pthread_rwlock_unlock(&h->mu);
    wake_all(h);
}
