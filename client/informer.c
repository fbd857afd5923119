/* Informer: list + watch into an indexed cache.
 *
 * Locks: `mu` (a rwlock) guards the cache and indexes; `handler_mu` makes handler calls
 * one at a time (the informer thread and the resync thread both call them). Handlers are
 * called without `mu` held so they may read the cache. */
#include "client/informer.h"

#include "lib/jsonx.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_HANDLERS 8
#define MAX_INDEXES 8

struct index {
    char *name;
    kc_index_fn fn;
    json_t *map; /* value -> {key: true} */
};

struct kc_informer {
    struct kc_client *client;
    const struct kc_gvr *gvr;
    char *ns, *lsel, *fsel;
    struct kc_informer_handlers h[MAX_HANDLERS];
    int nh;
    struct index idx[MAX_INDEXES];
    int nidx;
    int resync_ms;

    pthread_rwlock_t mu;
    json_t *cache; /* key -> object (immutable once stored) */
    char rv[64];

    pthread_mutex_t handler_mu;
    pthread_mutex_t sync_mu;
    pthread_cond_t sync_cv;
    int synced;
    volatile int stop;
    unsigned long relists;
    int started;
    pthread_t thread, resync_thread;
    int resync_started;

    /* watch state */
    int gone; /* the watch ended with 410 */
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

char *kc_object_key(char *buf, size_t len, const json_t *obj)
{
    const char *ns = kc_json_str(obj, "metadata.namespace");
    const char *name = kc_json_str(obj, "metadata.name");
    if (ns && ns[0])
        snprintf(buf, len, "%s/%s", ns, name ? name : "");
    else
        snprintf(buf, len, "%s", name ? name : "");
    return buf;
}

void kc_key_split(const char *key, char *ns, size_t nslen, char *name, size_t namelen)
{
    const char *slash = strchr(key, '/');
    if (slash) {
        snprintf(ns, nslen, "%.*s", (int)(slash - key), key);
        snprintf(name, namelen, "%s", slash + 1);
    } else {
        snprintf(ns, nslen, "%s", "");
        snprintf(name, namelen, "%s", key);
    }
}

void kc_index_by_namespace(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx)
{
    const char *ns = kc_json_str(obj, "metadata.namespace");
    if (ns)
        emit(emit_ctx, ns);
}

void kc_index_by_owner_uid(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx)
{
    size_t i;
    json_t *ref;
    json_array_foreach (kc_json_path(obj, "metadata.ownerReferences"), i, ref) {
        const char *uid = kc_json_str(ref, "uid");
        if (uid)
            emit(emit_ctx, uid);
    }
}

void kc_index_by_node_name(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx)
{
    const char *n = kc_json_str(obj, "spec.nodeName");
    if (n && n[0])
        emit(emit_ctx, n);
}

struct kc_informer *kc_informer_new(struct kc_client *c, const struct kc_gvr *r, const char *ns,
                                    const char *label_selector, const char *field_selector)
{
    struct kc_informer *inf = calloc(1, sizeof *inf);
    if (!inf)
        return NULL;
    inf->client = c;
    inf->gvr = r;
    inf->ns = ns ? strdup(ns) : NULL;
    inf->lsel = label_selector ? strdup(label_selector) : NULL;
    inf->fsel = field_selector ? strdup(field_selector) : NULL;
    inf->cache = json_object();
    pthread_rwlock_init(&inf->mu, NULL);
    pthread_mutex_init(&inf->handler_mu, NULL);
    pthread_mutex_init(&inf->sync_mu, NULL);
    pthread_cond_init(&inf->sync_cv, NULL);
    return inf;
}

void kc_informer_add_handlers(struct kc_informer *inf, const struct kc_informer_handlers *h)
{
    /* Handlers run under handler_mu, so while we hold it no event is being delivered:
     * the new handler gets the cache as adds, then every later event, none twice. */
    pthread_mutex_lock(&inf->handler_mu);
    if (inf->nh < MAX_HANDLERS) {
        inf->h[inf->nh++] = *h;
        if (inf->started && h->on_add) {
            json_t *all = kc_informer_list(inf, NULL);
            size_t i;
            json_t *o;
            json_array_foreach (all, i, o)
                h->on_add(h->ctx, o);
            json_decref(all);
        }
    }
    pthread_mutex_unlock(&inf->handler_mu);
}

void kc_informer_add_index(struct kc_informer *inf, const char *name, kc_index_fn fn)
{
    for (int i = 0; i < inf->nidx; i++)
        if (strcmp(inf->idx[i].name, name) == 0)
            return; /* several controllers may ask for the same index */
    if (inf->nidx >= MAX_INDEXES)
        return;
    inf->idx[inf->nidx].name = strdup(name);
    inf->idx[inf->nidx].fn = fn;
    inf->idx[inf->nidx].map = json_object();
    inf->nidx++;
}

void kc_informer_set_resync(struct kc_informer *inf, int resync_ms)
{
    inf->resync_ms = resync_ms;
}

const struct kc_gvr *kc_informer_gvr(const struct kc_informer *inf)
{
    return inf->gvr;
}

/* ---- index maintenance (write lock held) ---- */

struct emit_ctx {
    json_t *map;
    const char *key;
    int add;
};

static void emit_value(void *ud, const char *value)
{
    struct emit_ctx *e = ud;
    json_t *set = json_object_get(e->map, value);
    if (e->add) {
        if (!set) {
            set = json_object();
            json_object_set_new(e->map, value, set);
        }
        json_object_set_new(set, e->key, json_true());
    } else if (set) {
        json_object_del(set, e->key);
        if (json_object_size(set) == 0)
            json_object_del(e->map, value);
    }
}

static void index_update(struct kc_informer *inf, const char *key, const json_t *old,
                         const json_t *neu)
{
    for (int i = 0; i < inf->nidx; i++) {
        struct emit_ctx e = {inf->idx[i].map, key, 0};
        if (old)
            inf->idx[i].fn(old, emit_value, &e);
        e.add = 1;
        if (neu)
            inf->idx[i].fn(neu, emit_value, &e);
    }
}

/* List items lack kind and apiVersion; objects in the cache always carry them. No
 * component reads managedFields, often the largest part of an object: the cache drops
 * them, as client-go's informers do for kube-scheduler and kube-controller-manager. */
static void normalize(struct kc_informer *inf, json_t *obj)
{
    json_object_del(json_object_get(obj, "metadata"), "managedFields");
    if (!json_object_get(obj, "kind"))
        json_object_set_new(obj, "kind", json_string(inf->gvr->kind));
    if (!json_object_get(obj, "apiVersion")) {
        char av[128];
        if (inf->gvr->group[0])
            snprintf(av, sizeof av, "%s/%s", inf->gvr->group, inf->gvr->version);
        else
            snprintf(av, sizeof av, "%s", inf->gvr->version);
        json_object_set_new(obj, "apiVersion", json_string(av));
    }
}

/* ---- handler dispatch ---- */

enum ev { EV_ADD, EV_UPDATE, EV_DELETE };

static void dispatch(struct kc_informer *inf, enum ev ev, const json_t *old, const json_t *neu)
{
    pthread_mutex_lock(&inf->handler_mu);
    for (int i = 0; i < inf->nh; i++) {
        const struct kc_informer_handlers *h = &inf->h[i];
        if (ev == EV_ADD && h->on_add)
            h->on_add(h->ctx, neu);
        else if (ev == EV_UPDATE && h->on_update)
            h->on_update(h->ctx, old, neu);
        else if (ev == EV_DELETE && h->on_delete)
            h->on_delete(h->ctx, old);
    }
    pthread_mutex_unlock(&inf->handler_mu);
}

/* Stores obj (a new reference, taken) under its key and calls the handlers. */
static void upsert(struct kc_informer *inf, json_t *obj)
{
    char key[512];
    normalize(inf, obj);
    kc_object_key(key, sizeof key, obj);
    pthread_rwlock_wrlock(&inf->mu);
    json_t *old = json_incref(json_object_get(inf->cache, key));
    index_update(inf, key, old, obj);
    json_object_set(inf->cache, key, obj);
    pthread_rwlock_unlock(&inf->mu);
    dispatch(inf, old ? EV_UPDATE : EV_ADD, old, obj);
    json_decref(old);
    json_decref(obj);
}

static void remove_key(struct kc_informer *inf, const char *key, json_t *last)
{
    pthread_rwlock_wrlock(&inf->mu);
    json_t *old = json_incref(json_object_get(inf->cache, key));
    if (old) {
        index_update(inf, key, old, NULL);
        json_object_del(inf->cache, key);
    }
    pthread_rwlock_unlock(&inf->mu);
    if (old || last) {
        if (last)
            normalize(inf, last);
        dispatch(inf, EV_DELETE, last ? last : old, NULL);
    }
    json_decref(old);
}

static void set_rv(struct kc_informer *inf, const char *rv)
{
    if (!rv)
        return;
    pthread_rwlock_wrlock(&inf->mu);
    snprintf(inf->rv, sizeof inf->rv, "%s", rv);
    pthread_rwlock_unlock(&inf->mu);
}

static void build_query(struct kc_informer *inf, char *buf, size_t len)
{
    char esc[1024];
    size_t n = 0;
    buf[0] = 0;
    if (inf->lsel && inf->lsel[0])
        n += (size_t)snprintf(buf + n, len - n, "&labelSelector=%s",
                              kc_client_query_escape(esc, sizeof esc, inf->lsel));
    if (inf->fsel && inf->fsel[0] && n < len)
        snprintf(buf + n, len - n, "&fieldSelector=%s",
                 kc_client_query_escape(esc, sizeof esc, inf->fsel));
}

/* Lists and replaces the cache. Returns 0 or -1. */
static int do_list(struct kc_informer *inf)
{
    char base[512], q[2200], path[3000];
    json_t *list = NULL;
    kc_client_path(base, sizeof base, inf->gvr, inf->ns, NULL, NULL);
    build_query(inf, q, sizeof q);
    /* No resourceVersion: a consistent list of the latest state. */
    snprintf(path, sizeof path, "%s%s%s", base, q[0] ? "?" : "", q[0] ? q + 1 : "");
    int rc = kc_client_do_flags(inf->client, "GET", path, NULL, NULL, KC_CLIENT_NO_MANAGED_FIELDS,
                                &list);
    if (rc != 200 || !json_is_array(json_object_get(list, "items"))) {
        json_decref(list);
        return -1;
    }
    json_t *seen = json_object();
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item) {
        char key[512];
        kc_object_key(key, sizeof key, item);
        json_object_set_new(seen, key, json_true());
        pthread_rwlock_rdlock(&inf->mu);
        json_t *old = json_object_get(inf->cache, key);
        bool same = old && kc_json_str(old, "metadata.resourceVersion") &&
                    kc_json_str(item, "metadata.resourceVersion") &&
                    strcmp(kc_json_str(old, "metadata.resourceVersion"),
                           kc_json_str(item, "metadata.resourceVersion")) == 0;
        pthread_rwlock_unlock(&inf->mu);
        if (!same)
            upsert(inf, json_incref(item));
    }
    /* What vanished while we were not watching is deleted. */
    json_t *gone = json_array();
    pthread_rwlock_rdlock(&inf->mu);
    const char *key;
    json_t *v;
    json_object_foreach (inf->cache, key, v) {
        if (!json_object_get(seen, key))
            json_array_append_new(gone, json_string(key));
    }
    pthread_rwlock_unlock(&inf->mu);
    json_array_foreach (gone, i, v)
        remove_key(inf, json_string_value(v), NULL);
    json_decref(gone);
    json_decref(seen);
    set_rv(inf, kc_json_str(list, "metadata.resourceVersion"));
    json_decref(list);
    return 0;
}

static int on_watch_event(void *ud, const char *type, json_t *obj)
{
    struct kc_informer *inf = ud;
    if (inf->stop)
        return 1;
    if (strcmp(type, "ERROR") == 0) {
        if (json_integer_value(json_object_get(obj, "code")) == 410)
            inf->gone = 1;
        return 1;
    }
    const char *rv = kc_json_str(obj, "metadata.resourceVersion");
    if (strcmp(type, "BOOKMARK") == 0) {
        set_rv(inf, rv);
        return 0;
    }
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0) {
        /* The event line is parsed afresh for us: keep its object, no copy needed. */
        upsert(inf, json_incref(obj));
    } else if (strcmp(type, "DELETED") == 0) {
        char key[512];
        remove_key(inf, kc_object_key(key, sizeof key, obj), obj);
    }
    set_rv(inf, rv);
    return 0;
}

static void *informer_main(void *arg)
{
    struct kc_informer *inf = arg;
    long backoff = 100;
    bool need_list = true;
    while (!inf->stop && !kc_client_is_shutdown(inf->client)) {
        if (need_list) {
            if (do_list(inf) != 0) {
                sleep_ms(backoff);
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
                continue;
            }
            pthread_mutex_lock(&inf->sync_mu);
            if (inf->synced)
                inf->relists++;
            inf->synced = 1;
            pthread_cond_broadcast(&inf->sync_cv);
            pthread_mutex_unlock(&inf->sync_mu);
            need_list = false;
        }
        char base[512], q[2200], path[3000], rv[64];
        kc_informer_last_rv(inf, rv, sizeof rv);
        kc_client_path(base, sizeof base, inf->gvr, inf->ns, NULL, NULL);
        build_query(inf, q, sizeof q);
        /* Server-side timeouts between 5 and 10 minutes spread reconnects, as client-go. */
        int timeout = 300 + rand() % 300;
        snprintf(path, sizeof path,
                 "%s?watch=1&allowWatchBookmarks=true&resourceVersion=%s&timeoutSeconds=%d%s", base,
                 rv, timeout, q);
        inf->gone = 0;
        int rc = kc_client_watch_flags(inf->client, path, KC_CLIENT_NO_MANAGED_FIELDS,
                                       on_watch_event, inf);
        if (inf->stop)
            break;
        if (inf->gone || rc == 410) {
            need_list = true; /* our resourceVersion was compacted away */
        } else if (rc != 200) {
            /* broken stream or refused: back off, then list again */
            need_list = true;
            sleep_ms(backoff);
            backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
            continue;
        }
        backoff = 100;
    }
    /* Wake anyone still waiting for a first sync. */
    pthread_mutex_lock(&inf->sync_mu);
    pthread_cond_broadcast(&inf->sync_cv);
    pthread_mutex_unlock(&inf->sync_mu);
    return NULL;
}

static void *resync_main(void *arg)
{
    struct kc_informer *inf = arg;
    while (!inf->stop && !kc_client_is_shutdown(inf->client)) {
        for (int waited = 0; waited < inf->resync_ms && !inf->stop; waited += 100)
            sleep_ms(100);
        if (inf->stop)
            break;
        json_t *all = kc_informer_list(inf, NULL);
        size_t i;
        json_t *o;
        json_array_foreach (all, i, o)
            dispatch(inf, EV_UPDATE, o, o);
        json_decref(all);
    }
    return NULL;
}

int kc_informer_start(struct kc_informer *inf)
{
    if (pthread_create(&inf->thread, NULL, informer_main, inf) != 0)
        return -1;
    inf->started = 1;
    if (inf->resync_ms > 0 && pthread_create(&inf->resync_thread, NULL, resync_main, inf) == 0)
        inf->resync_started = 1;
    return 0;
}

bool kc_informer_synced(struct kc_informer *inf)
{
    pthread_mutex_lock(&inf->sync_mu);
    bool s = inf->synced != 0;
    pthread_mutex_unlock(&inf->sync_mu);
    return s;
}

bool kc_informer_wait_synced(struct kc_informer *inf, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&inf->sync_mu);
    while (!inf->synced && !inf->stop && !kc_client_is_shutdown(inf->client))
        if (pthread_cond_timedwait(&inf->sync_cv, &inf->sync_mu, &ts) == ETIMEDOUT)
            break;
    bool s = inf->synced != 0;
    pthread_mutex_unlock(&inf->sync_mu);
    return s;
}

void kc_informer_stop(struct kc_informer *inf)
{
    inf->stop = 1;
    if (inf->started) {
        pthread_join(inf->thread, NULL);
        inf->started = 0;
    }
    if (inf->resync_started) {
        pthread_join(inf->resync_thread, NULL);
        inf->resync_started = 0;
    }
}

void kc_informer_free(struct kc_informer *inf)
{
    if (!inf)
        return;
    kc_informer_stop(inf);
    for (int i = 0; i < inf->nidx; i++) {
        free(inf->idx[i].name);
        json_decref(inf->idx[i].map);
    }
    json_decref(inf->cache);
    free(inf->ns);
    free(inf->lsel);
    free(inf->fsel);
    pthread_rwlock_destroy(&inf->mu);
    pthread_mutex_destroy(&inf->handler_mu);
    pthread_mutex_destroy(&inf->sync_mu);
    pthread_cond_destroy(&inf->sync_cv);
    free(inf);
}

json_t *kc_informer_get(struct kc_informer *inf, const char *key)
{
    pthread_rwlock_rdlock(&inf->mu);
    json_t *o = json_incref(json_object_get(inf->cache, key));
    pthread_rwlock_unlock(&inf->mu);
    return o;
}

json_t *kc_informer_get_ns(struct kc_informer *inf, const char *ns, const char *name)
{
    char key[512];
    if (ns && ns[0])
        snprintf(key, sizeof key, "%s/%s", ns, name);
    else
        snprintf(key, sizeof key, "%s", name);
    return kc_informer_get(inf, key);
}

json_t *kc_informer_list(struct kc_informer *inf, const char *ns)
{
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&inf->mu);
    const char *key;
    json_t *v;
    json_object_foreach (inf->cache, key, v) {
        if (ns) {
            const char *ons = kc_json_str(v, "metadata.namespace");
            if (!ons || strcmp(ons, ns) != 0)
                continue;
        }
        json_array_append(arr, v);
    }
    pthread_rwlock_unlock(&inf->mu);
    return arr;
}

json_t *kc_informer_by_index(struct kc_informer *inf, const char *index, const char *value)
{
    json_t *arr = json_array();
    pthread_rwlock_rdlock(&inf->mu);
    for (int i = 0; i < inf->nidx; i++) {
        if (strcmp(inf->idx[i].name, index) != 0)
            continue;
        const char *key;
        json_t *v;
        json_object_foreach (json_object_get(inf->idx[i].map, value), key, v) {
            json_t *o = json_object_get(inf->cache, key);
            if (o)
                json_array_append(arr, o);
        }
    }
    pthread_rwlock_unlock(&inf->mu);
    return arr;
}

size_t kc_informer_len(struct kc_informer *inf)
{
    pthread_rwlock_rdlock(&inf->mu);
    size_t n = json_object_size(inf->cache);
    pthread_rwlock_unlock(&inf->mu);
    return n;
}

void kc_informer_last_rv(struct kc_informer *inf, char *buf, size_t len)
{
    pthread_rwlock_rdlock(&inf->mu);
    snprintf(buf, len, "%s", inf->rv);
    pthread_rwlock_unlock(&inf->mu);
}

unsigned long kc_informer_relists(struct kc_informer *inf)
{
    pthread_mutex_lock(&inf->sync_mu);
    unsigned long n = inf->relists;
    pthread_mutex_unlock(&inf->sync_mu);
    return n;
}
