/* Watch hub: a revision-indexed ring of shared events; see watch_hub.h. */
#include "apiserver/watch/watch_hub.h"

#include "lib/jsonx.h"

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

/* Readers take the ring's read lock only to copy event references. Each waiting watcher
 * registers its key prefix and sleeps on a futex of its own: a commit wakes only the
 * watchers it has events for, rather than every watch thread of every resource. */
struct waiter {
    struct waiter *prev, *next;
    const char *prefix; /* NULL: every event */
    size_t plen;
    uint64_t after;   /* how far it has looked (atomic): the ring-wrap guard */
    unsigned int seq; /* bumped (atomically) to wake it */
};

struct kc_watch_hub {
    pthread_rwlock_t mu;
    struct kc_event **ring;
    size_t cap;
    uint64_t head;  /* newest revision published (or set) */
    uint64_t first; /* oldest revision whose event is still in the ring */
    bool closed;
    pthread_mutex_t wmu; /* guards the waiter list */
    struct waiter *waiters;
    size_t nwaiters;
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
    return e->prev_text ? kc_json_loadb(e->prev_text, e->prev_len) : NULL;
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
    pthread_mutex_init(&h->wmu, NULL);
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
    pthread_mutex_destroy(&h->wmu);
    free(h);
}

static bool has_prefix(const struct kc_event *e, const struct waiter *w)
{
    return !w->prefix || strncmp(e->key, w->prefix, w->plen) == 0;
}

static void wake(struct waiter *w)
{
    __atomic_add_fetch(&w->seq, 1, __ATOMIC_SEQ_CST);
    syscall(SYS_futex, &w->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Wakes the waiters that events (n of them; all waiters when n is 0) concern, and those
 * that lag half a ring behind head, so that quiet watchers keep their place. */
static void wake_waiters(struct kc_watch_hub *h, struct kc_event **events, size_t n, uint64_t head)
{
    pthread_mutex_lock(&h->wmu);
    for (struct waiter *w = h->waiters; w; w = w->next) {
        bool concerned =
            n == 0 || head - __atomic_load_n(&w->after, __ATOMIC_RELAXED) >= h->cap / 2;
        for (size_t i = 0; i < n && !concerned; i++)
            concerned = has_prefix(events[i], w);
        if (concerned)
            wake(w);
    }
    pthread_mutex_unlock(&h->wmu);
}

void kc_hub_publish_batch(struct kc_watch_hub *h, struct kc_event **events, size_t n)
{
    if (n == 0)
        return;
    pthread_rwlock_wrlock(&h->mu);
    for (size_t i = 0; i < n; i++) {
        struct kc_event *e = events[i];
        size_t slot = (size_t)(e->rev % h->cap);
        kc_event_unref(h->ring[slot]);
        h->ring[slot] = kc_event_ref(e);
        if (h->head == 0 && h->first == 1 && e->rev > 1)
            h->first = e->rev; /* first event after an empty start (replay of a window) */
        h->head = e->rev;
        if (h->head >= h->cap && h->head - h->cap + 1 > h->first)
            h->first = h->head - h->cap + 1;
    }
    uint64_t head = h->head;
    pthread_rwlock_unlock(&h->mu);
    wake_waiters(h, events, n, head);
    for (size_t i = 0; i < n; i++)
        kc_event_unref(events[i]); /* the caller's references: the ring holds its own */
}

void kc_hub_publish(struct kc_watch_hub *h, struct kc_event *e)
{
    kc_hub_publish_batch(h, &e, 1);
}

void kc_hub_set_revision(struct kc_watch_hub *h, uint64_t rev)
{
    pthread_rwlock_wrlock(&h->mu);
    if (rev > h->head) {
        h->head = rev;
        h->first = rev + 1;
    }
    uint64_t head = h->head;
    pthread_rwlock_unlock(&h->mu);
    wake_waiters(h, NULL, 0, head);
}

json_t *kc_hub_object(struct kc_watch_hub *h, const char *key, uint64_t rev)
{
    json_t *o = NULL;
    pthread_rwlock_rdlock(&h->mu);
    struct kc_event *e = h->ring[rev % h->cap];
    if (e && e->rev == rev && e->type != KC_EVENT_DELETED && strcmp(e->key, key) == 0)
        o = json_incref(e->obj);
    pthread_rwlock_unlock(&h->mu);
    return o;
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
    pthread_mutex_lock(&h->wmu);
    size_t n = h->nwaiters;
    pthread_mutex_unlock(&h->wmu);
    return n;
}

static long ms_until(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
           (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

int kc_hub_wait(struct kc_watch_hub *h, uint64_t *after, const char *prefix, struct kc_event **out,
                size_t max, int timeout_ms)
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
    struct waiter w = {.prefix = prefix && *prefix ? prefix : NULL,
                       .plen = prefix ? strlen(prefix) : 0,
                       .after = *after};
    /* Registered before the first look: an event published after it wakes us. */
    pthread_mutex_lock(&h->wmu);
    w.next = h->waiters;
    if (h->waiters)
        h->waiters->prev = &w;
    h->waiters = &w;
    h->nwaiters++;
    pthread_mutex_unlock(&h->wmu);
    for (;;) {
        unsigned int seq = __atomic_load_n(&w.seq, __ATOMIC_SEQ_CST);
        pthread_rwlock_rdlock(&h->mu);
        if (h->closed) {
            n = KC_HUB_CLOSED;
        } else if (*after + 1 < h->first) {
            n = KC_HUB_EXPIRED;
        } else {
            for (uint64_t r = *after + 1; r <= h->head && (size_t)n < max; r++) {
                struct kc_event *e = h->ring[r % h->cap];
                if (e && e->rev == r && has_prefix(e, &w))
                    out[n++] = kc_event_ref(e);
                *after = r;
            }
        }
        pthread_rwlock_unlock(&h->mu);
        __atomic_store_n(&w.after, *after, __ATOMIC_RELAXED);
        if (n != 0 || timeout_ms <= 0)
            break;
        long left = ms_until(&deadline);
        if (left <= 0)
            break;
        struct timespec ts = {left / 1000, (left % 1000) * 1000000L};
        syscall(SYS_futex, &w.seq, FUTEX_WAIT_PRIVATE, seq, &ts, NULL, 0);
    }
    pthread_mutex_lock(&h->wmu);
    if (w.prev)
        w.prev->next = w.next;
    else
        h->waiters = w.next;
    if (w.next)
        w.next->prev = w.prev;
    h->nwaiters--;
    pthread_mutex_unlock(&h->wmu);
    return n;
}

void kc_hub_shutdown(struct kc_watch_hub *h)
{
    pthread_rwlock_wrlock(&h->mu);
    h->closed = true;
    uint64_t head = h->head;
    pthread_rwlock_unlock(&h->mu);
    wake_waiters(h, NULL, 0, head);
}
