/* LMDB backend of the storage interface.
 *
 * Layout, one environment with three databases:
 *   objects: key -> [8-byte big-endian mod revision][JSON text]
 *   log:     8-byte big-endian revision -> change record (see log_encode)
 *   meta:    "rev" -> 8-byte big-endian current revision
 *
 * The change log keeps the last `window` revisions; it feeds watch resume (through the
 * hub, refilled from the log at startup) and consistent paginated lists (a page at an
 * older revision is rebuilt from current state plus the `prev` images in the log).
 *
 * Writes go through one committer thread: it drains the queue of pending writes, applies
 * them all in one write transaction and commits once (one fsync for the whole group),
 * then publishes the events and wakes the writers. Nothing is acknowledged before the
 * commit returned, so an acknowledged write survives kill -9.
 */
#include "apiserver/storage/storage.h"

#include "apiserver/watch/watch_hub.h"
#include "lib/jsonx.h"

#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct pending {
    struct kc_write *w;
    struct pending *next;
    bool done;
    pthread_cond_t done_cv; /* its writer waits on it: a commit wakes its own writers only */
};

struct lmdb_storage {
    struct kc_storage base; /* first: the interface */
    MDB_env *env;
    MDB_dbi objects, log, meta;
    uint64_t window;
    struct kc_watch_hub *hub;

    pthread_t committer;
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* committer waits for writes */
    struct pending *head, *tail;
    bool stopping;

    uint64_t rev;    /* last committed revision (guarded by mu for readers) */
    uint64_t oldest; /* oldest resumable revision */
    uint64_t commits, writes;
    uint64_t commit_ns, sync_ns;
};

static void put_be64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static void put_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#define ABSENT 0xffffffffu

/* Change record: [type:1][keylen:4][key][objlen:4][obj][prevlen:4 or ABSENT][prev] */
static unsigned char *log_encode(int type, const char *key, const char *obj, size_t objlen,
                                 const char *prev, size_t prevlen, size_t *outlen)
{
    size_t klen = strlen(key);
    size_t n = 1 + 4 + klen + 4 + objlen + 4 + (prev ? prevlen : 0);
    unsigned char *b = malloc(n), *p = b;
    if (!b)
        abort();
    *p++ = (unsigned char)type;
    put_u32(p, (uint32_t)klen);
    p += 4;
    memcpy(p, key, klen);
    p += klen;
    put_u32(p, (uint32_t)objlen);
    p += 4;
    memcpy(p, obj, objlen);
    p += objlen;
    put_u32(p, prev ? (uint32_t)prevlen : ABSENT);
    p += 4;
    if (prev) {
        memcpy(p, prev, prevlen);
        p += prevlen;
    }
    *outlen = n;
    return b;
}

struct log_rec {
    int type;
    const char *key;
    size_t keylen;
    const char *obj;
    size_t objlen;
    const char *prev; /* NULL when absent */
    size_t prevlen;
};

static int log_decode(const MDB_val *v, struct log_rec *r)
{
    const unsigned char *p = v->mv_data, *end = p + v->mv_size;
    if (v->mv_size < 13)
        return -1;
    r->type = *p++;
    r->keylen = get_u32(p);
    p += 4;
    if ((size_t)(end - p) < r->keylen + 8)
        return -1;
    r->key = (const char *)p;
    p += r->keylen;
    r->objlen = get_u32(p);
    p += 4;
    if ((size_t)(end - p) < r->objlen + 4)
        return -1;
    r->obj = (const char *)p;
    p += r->objlen;
    uint32_t pl = get_u32(p);
    p += 4;
    if (pl == ABSENT) {
        r->prev = NULL;
        r->prevlen = 0;
    } else {
        if ((size_t)(end - p) < pl)
            return -1;
        r->prev = (const char *)p;
        r->prevlen = pl;
    }
    return 0;
}

static void set_rv(json_t *obj, uint64_t rev)
{
    json_t *meta = json_object_get(obj, "metadata");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(obj, "metadata", meta);
    }
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)rev);
    json_object_set_new(meta, "resourceVersion", json_string(buf));
}

static json_t *parse_text(const char *s, size_t n)
{
    return kc_json_loadb(s, n);
}

/* Applies one write inside the group transaction. Returns the event to publish (or NULL
 * when the write failed its precondition; w->rc says why). */
static struct kc_event *apply_write(struct lmdb_storage *s, MDB_txn *txn, struct kc_write *w,
                                    uint64_t *rev, int *fatal)
{
    MDB_val k = {strlen(w->key), (void *)w->key}, cur;
    int rc = mdb_get(txn, s->objects, &k, &cur);
    bool exists = rc == 0;
    uint64_t cur_rev = exists && cur.mv_size >= 8 ? get_be64(cur.mv_data) : 0;
    struct kc_event *ev = NULL;
    char *text = NULL, *prev_copy = NULL;
    size_t prev_len = 0;

    if (rc != 0 && rc != MDB_NOTFOUND) {
        w->rc = KC_STORAGE_INTERNAL;
        *fatal = rc;
        return NULL;
    }
    if (w->type == KC_WRITE_CREATE && exists) {
        w->rc = KC_STORAGE_EXISTS;
        return NULL;
    }
    if (w->type != KC_WRITE_CREATE && !exists) {
        w->rc = KC_STORAGE_NOT_FOUND;
        return NULL;
    }
    if (w->type != KC_WRITE_CREATE && w->expect_rev && w->expect_rev != cur_rev) {
        w->rc = KC_STORAGE_CONFLICT;
        return NULL;
    }
    if (exists) {
        /* Copy: the page may move once we write in this transaction. */
        prev_len = cur.mv_size - 8;
        prev_copy = malloc(prev_len + 1);
        if (!prev_copy)
            abort();
        memcpy(prev_copy, (char *)cur.mv_data + 8, prev_len);
    }

    uint64_t r = *rev + 1;
    set_rv(w->obj, r);
    size_t tlen = 0;
    text = kc_json_dumps(w->obj, &tlen);
    if (!text) {
        w->rc = KC_STORAGE_INTERNAL;
        goto out;
    }

    if (w->type == KC_WRITE_DELETE) {
        rc = mdb_del(txn, s->objects, &k, NULL);
    } else {
        MDB_val v;
        v.mv_size = tlen + 8;
        rc = mdb_put(txn, s->objects, &k, &v, MDB_RESERVE);
        if (rc == 0) {
            put_be64(v.mv_data, r);
            memcpy((char *)v.mv_data + 8, text, tlen);
        }
    }
    if (rc != 0) {
        w->rc = KC_STORAGE_INTERNAL;
        *fatal = rc;
        goto out;
    }

    int type = w->type == KC_WRITE_CREATE   ? KC_EVENT_ADDED
               : w->type == KC_WRITE_UPDATE ? KC_EVENT_MODIFIED
                                            : KC_EVENT_DELETED;
    size_t reclen;
    unsigned char *rec = log_encode(type, w->key, text, tlen, prev_copy, prev_len, &reclen);
    unsigned char kb[8];
    put_be64(kb, r);
    MDB_val lk = {8, kb}, lv = {reclen, rec};
    rc = mdb_put(txn, s->log, &lk, &lv, MDB_APPEND);
    free(rec);
    if (rc != 0) {
        w->rc = KC_STORAGE_INTERNAL;
        *fatal = rc;
        goto out;
    }

    ev = kc_event_new(type, r, w->key, w->obj, prev_copy, prev_len, text, tlen);
    if (w->prev_attrs && w->expect_rev && type == KC_EVENT_MODIFIED) /* expect_rev matched */
        ev->prev_attrs = json_incref(w->prev_attrs);
    if (w->want_text) {
        w->text = text;
        w->text_len = tlen;
        text = NULL;
    }
    *rev = r;
    w->rev = r;
    w->rc = KC_STORAGE_OK;
out:
    free(text);
    free(prev_copy);
    return ev;
}

/* Drops change records at or below `limit`. */
static int compact_log(struct lmdb_storage *s, MDB_txn *txn, uint64_t limit)
{
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_cursor_open(txn, s->log, &c);
    if (rc)
        return rc;
    while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
        if (k.mv_size != 8 || get_be64(k.mv_data) > limit)
            break;
        rc = mdb_cursor_del(c, 0);
        if (rc)
            break;
    }
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void commit_group(struct lmdb_storage *s, struct pending *list)
{
    uint64_t t0 = mono_ns(), t1;
    MDB_txn *txn = NULL;
    size_t n = 0, cap = 16;
    struct kc_event **events = malloc(cap * sizeof *events);
    int fatal = 0;
    uint64_t rev = s->rev;
    if (!events)
        abort();

    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) {
        fatal = rc;
        goto fail;
    }
    for (struct pending *p = list; p; p = p->next) {
        struct kc_event *e = apply_write(s, txn, p->w, &rev, &fatal);
        if (fatal)
            goto fail;
        if (e) {
            if (n == cap) {
                cap *= 2;
                events = realloc(events, cap * sizeof *events);
                if (!events)
                    abort();
            }
            events[n++] = e;
        }
    }
    if (n) {
        unsigned char rb[8];
        put_be64(rb, rev);
        MDB_val mk = {3, "rev"}, mv = {8, rb};
        rc = mdb_put(txn, s->meta, &mk, &mv, 0);
        if (rc) {
            fatal = rc;
            goto fail;
        }
        if (rev > s->window) {
            rc = compact_log(s, txn, rev - s->window);
            if (rc) {
                fatal = rc;
                goto fail;
            }
        }
    }
    t1 = mono_ns();
    rc = mdb_txn_commit(txn);
    txn = NULL;
    if (rc) {
        fatal = rc;
        goto fail;
    }
    uint64_t t2 = mono_ns();
    pthread_mutex_lock(&s->mu);
    s->rev = rev;
    if (rev > s->window && rev - s->window > s->oldest)
        s->oldest = rev - s->window;
    s->commits++;
    s->writes += n;
    s->commit_ns += t2 - t0;
    s->sync_ns += t2 - t1;
    pthread_mutex_unlock(&s->mu);
    if (s->hub) {
        kc_hub_publish_batch(s->hub, events, n);
    } else {
        for (size_t i = 0; i < n; i++)
            kc_event_unref(events[i]);
    }
    free(events);
    return;

fail:
    fprintf(stderr, "storage: group commit failed: %s\n", mdb_strerror(fatal));
    if (txn)
        mdb_txn_abort(txn);
    for (size_t i = 0; i < n; i++)
        kc_event_unref(events[i]);
    free(events);
    for (struct pending *p = list; p; p = p->next) {
        if (p->w->rc == KC_STORAGE_OK)
            p->w->rc = KC_STORAGE_INTERNAL;
        free(p->w->text);
        p->w->text = NULL;
    }
}

static void *committer_main(void *arg)
{
    struct lmdb_storage *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->stopping)
            pthread_cond_wait(&s->work_cv, &s->mu);
        if (!s->head && s->stopping)
            break;
        struct pending *list = s->head;
        s->head = s->tail = NULL;
        pthread_mutex_unlock(&s->mu);

        commit_group(s, list);

        pthread_mutex_lock(&s->mu);
        for (struct pending *p = list, *next; p; p = next) {
            next = p->next; /* p belongs to its writer once done */
            p->done = true;
            pthread_cond_signal(&p->done_cv);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static int lmdb_write(struct kc_storage *base, struct kc_write *w)
{
    struct lmdb_storage *s = (struct lmdb_storage *)base;
    struct pending p = {w, NULL, false, PTHREAD_COND_INITIALIZER};
    w->rc = KC_STORAGE_INTERNAL;
    w->rev = 0;
    w->text = NULL;
    w->text_len = 0;
    pthread_mutex_lock(&s->mu);
    if (s->stopping) {
        pthread_mutex_unlock(&s->mu);
        return w->rc;
    }
    if (s->tail)
        s->tail->next = &p;
    else
        s->head = &p;
    s->tail = &p;
    pthread_cond_signal(&s->work_cv);
    while (!p.done)
        pthread_cond_wait(&p.done_cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
    pthread_cond_destroy(&p.done_cv);
    return w->rc;
}

static uint64_t lmdb_revision(struct kc_storage *base)
{
    struct lmdb_storage *s = (struct lmdb_storage *)base;
    pthread_mutex_lock(&s->mu);
    uint64_t r = s->rev;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static uint64_t lmdb_oldest(struct kc_storage *base)
{
    struct lmdb_storage *s = (struct lmdb_storage *)base;
    pthread_mutex_lock(&s->mu);
    uint64_t r = s->oldest;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static int lmdb_get_raw(struct kc_storage *base, const char *key, char **json, size_t *len,
                        uint64_t *mod_rev)
{
    struct lmdb_storage *s = (struct lmdb_storage *)base;
    MDB_txn *txn;
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return KC_STORAGE_INTERNAL;
    rc = mdb_get(txn, s->objects, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size < 8)) {
        mdb_txn_abort(txn);
        return KC_STORAGE_NOT_FOUND;
    }
    if (rc) {
        mdb_txn_abort(txn);
        return KC_STORAGE_INTERNAL;
    }
    *len = v.mv_size - 8;
    *json = malloc(*len + 1);
    if (!*json)
        abort();
    memcpy(*json, (char *)v.mv_data + 8, *len);
    (*json)[*len] = 0;
    if (mod_rev)
        *mod_rev = get_be64(v.mv_data);
    mdb_txn_abort(txn);
    return KC_STORAGE_OK;
}

/* The stored revision tells which write the object is from; the hub's event of that
 * revision, when still in its ring, holds it parsed. */
static int lmdb_get_shared(struct kc_storage *base, const char *key, json_t **out,
                           uint64_t *mod_rev)
{
    struct lmdb_storage *s = (struct lmdb_storage *)base;
    MDB_txn *txn;
    MDB_val k = {strlen(key), (void *)key}, v;
    int ret = KC_STORAGE_OK;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return KC_STORAGE_INTERNAL;
    rc = mdb_get(txn, s->objects, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size < 8)) {
        ret = KC_STORAGE_NOT_FOUND;
        goto out;
    }
    if (rc) {
        ret = KC_STORAGE_INTERNAL;
        goto out;
    }
    uint64_t rev = get_be64(v.mv_data);
    if (mod_rev)
        *mod_rev = rev;
    *out = s->hub ? kc_hub_object(s->hub, key, rev) : NULL;
    if (!*out) /* parsed straight from the map: the read transaction keeps it valid */
        *out = kc_json_loadb((const char *)v.mv_data + 8, v.mv_size - 8);
    if (!*out)
        ret = KC_STORAGE_INTERNAL;
out:
    mdb_txn_abort(txn);
    return ret;
}

/* An override for a paginated list at an older revision: the key's state as of then. */
struct override {
    char *key;
    char *prev; /* NULL: the key did not exist then */
    size_t prevlen;
    uint64_t order;
};

static int override_cmp(const void *a, const void *b)
{
    const struct override *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->order < y->order ? -1 : x->order > y->order;
}

static bool key_in_range(const char *key, size_t keylen, const char *prefix, size_t plen,
                         const char *start_after)
{
    if (keylen < plen || memcmp(key, prefix, plen) != 0)
        return false;
    if (start_after) {
        size_t sl = strlen(start_after);
        size_t m = keylen < sl ? keylen : sl;
        int c = memcmp(key, start_after, m);
        if (c < 0 || (c == 0 && keylen <= sl))
            return false;
    }
    return true;
}

static int lmdb_list(struct kc_storage *base, const char *prefix, const char *start_after,
                     uint64_t at_rev, kc_list_fn fn, void *ctx, uint64_t *snap_rev)
{
    struct lmdb_storage *s = (struct lmdb_storage *)base;
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    MDB_val k, v;
    size_t plen = strlen(prefix);
    struct override *ov = NULL;
    size_t nov = 0, cap = 0, oi = 0;
    int ret = KC_STORAGE_OK;
    char keybuf[1024];

    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return KC_STORAGE_INTERNAL;
    uint64_t cur_rev = 0;
    MDB_val mk = {3, "rev"}, mv;
    if (mdb_get(txn, s->meta, &mk, &mv) == 0 && mv.mv_size == 8)
        cur_rev = get_be64(mv.mv_data);
    *snap_rev = cur_rev;

    if (at_rev && at_rev < cur_rev) {
        /* Rebuild the state at at_rev: for each key changed since, its first change record
         * after at_rev carries the image it had at at_rev. */
        uint64_t first_log = 0;
        rc = mdb_cursor_open(txn, s->log, &c);
        if (rc) {
            ret = KC_STORAGE_INTERNAL;
            goto out;
        }
        if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0)
            first_log = get_be64(k.mv_data);
        if (!first_log || at_rev + 1 < first_log) {
            ret = KC_STORAGE_EXPIRED;
            goto out;
        }
        unsigned char kb[8];
        put_be64(kb, at_rev + 1);
        k.mv_size = 8;
        k.mv_data = kb;
        for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            struct log_rec r;
            if (log_decode(&v, &r) != 0)
                continue;
            if (!key_in_range(r.key, r.keylen, prefix, plen, start_after))
                continue;
            if (nov == cap) {
                cap = cap ? cap * 2 : 64;
                ov = realloc(ov, cap * sizeof *ov);
                if (!ov)
                    abort();
            }
            ov[nov].key = strndup(r.key, r.keylen);
            ov[nov].prev = r.prev ? strndup(r.prev, r.prevlen) : NULL;
            ov[nov].prevlen = r.prevlen;
            ov[nov].order = nov;
            nov++;
        }
        mdb_cursor_close(c);
        c = NULL;
        if (nov > 1) /* ov is NULL when the log has no record in range */
            qsort(ov, nov, sizeof *ov, override_cmp);
        /* keep the first record per key */
        size_t w = 0;
        for (size_t i = 0; i < nov; i++) {
            if (w && strcmp(ov[w - 1].key, ov[i].key) == 0) {
                free(ov[i].key);
                free(ov[i].prev);
                continue;
            }
            ov[w++] = ov[i];
        }
        nov = w;
        *snap_rev = at_rev;
    }

    rc = mdb_cursor_open(txn, s->objects, &c);
    if (rc) {
        ret = KC_STORAGE_INTERNAL;
        goto out;
    }
    if (start_after) {
        k.mv_size = strlen(start_after);
        k.mv_data = (void *)start_after;
    } else {
        k.mv_size = plen;
        k.mv_data = (void *)prefix;
    }
    rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
    for (;;) {
        bool have = rc == 0;
        if (have && !key_in_range(k.mv_data, k.mv_size, prefix, plen, start_after)) {
            /* skip start_after itself; stop once past the prefix */
            if (k.mv_size >= plen && memcmp(k.mv_data, prefix, plen) == 0) {
                rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
                continue;
            }
            have = false;
        }
        const char *ck = NULL;
        if (have) {
            if (k.mv_size >= sizeof keybuf) {
                rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
                continue;
            }
            memcpy(keybuf, k.mv_data, k.mv_size);
            keybuf[k.mv_size] = 0;
            ck = keybuf;
        }
        /* Merge the current keys with the override keys, in key order. */
        int cmp = !ck ? 1 : oi >= nov ? -1 : strcmp(ck, ov[oi].key);
        if (!ck && oi >= nov)
            break;
        int stop = 0;
        if (cmp < 0) {
            stop = fn(ctx, ck, (char *)v.mv_data + 8, v.mv_size - 8, get_be64(v.mv_data));
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        } else {
            struct override *o = &ov[oi++];
            if (o->prev)
                stop = fn(ctx, o->key, o->prev, o->prevlen, 0);
            if (cmp == 0)
                rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        }
        if (stop)
            break;
    }
out:
    if (c)
        mdb_cursor_close(c);
    mdb_txn_abort(txn);
    for (size_t i = 0; i < nov; i++) {
        free(ov[i].key);
        free(ov[i].prev);
    }
    free(ov);
    return ret;
}

/* Refills the hub from the retained change log. */
static int replay_log(struct lmdb_storage *s)
{
    MDB_txn *txn;
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn);
    if (rc)
        return rc;
    rc = mdb_cursor_open(txn, s->log, &c);
    if (rc) {
        mdb_txn_abort(txn);
        return rc;
    }
    bool firstrec = true;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        struct log_rec r;
        uint64_t rev = get_be64(k.mv_data);
        if (firstrec) {
            s->oldest = rev - 1;
            firstrec = false;
        }
        if (log_decode(&v, &r) != 0 || !s->hub)
            continue;
        json_t *obj = parse_text(r.obj, r.objlen);
        if (!obj)
            continue;
        char *key = strndup(r.key, r.keylen);
        kc_hub_publish(s->hub,
                       kc_event_new(r.type, rev, key, obj, r.prev, r.prevlen, r.obj, r.objlen));
        free(key);
        json_decref(obj);
    }
    if (firstrec)
        s->oldest = s->rev;
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    if (s->hub)
        kc_hub_set_revision(s->hub, s->rev);
    return 0;
}

static void lmdb_close(struct kc_storage *base);
static void lmdb_stats(struct kc_storage *base, struct kc_storage_stats *out);

static const struct kc_storage_ops lmdb_ops = {
    .name = "lmdb",
    .close = lmdb_close,
    .revision = lmdb_revision,
    .oldest = lmdb_oldest,
    .get_raw = lmdb_get_raw,
    .get_shared = lmdb_get_shared,
    .list = lmdb_list,
    .write = lmdb_write,
    .stats = lmdb_stats,
};

int kc_storage_open_lmdb(const char *dir, const struct kc_storage_options *opt,
                         struct kc_watch_hub *hub, struct kc_storage **out, char *err,
                         size_t errlen)
{
    struct lmdb_storage *s = calloc(1, sizeof *s);
    MDB_txn *txn = NULL;
    if (s)
        s->base.ops = &lmdb_ops;
    int rc;
    if (!s)
        abort();
    s->window = opt->window ? opt->window : 10000;
    s->hub = hub;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create data directory %s: %s", dir, strerror(errno));
        free(s);
        return -1;
    }
    if ((rc = mdb_env_create(&s->env)) != 0)
        goto fail;
    mdb_env_set_maxdbs(s->env, 4);
    mdb_env_set_maxreaders(s->env, 4096);
    mdb_env_set_mapsize(s->env, opt->map_size ? opt->map_size : (size_t)8 << 30);
    /* MDB_NOTLS: read transactions are short and may run on any of many connection
     * threads; without it every thread would pin a reader slot until it exits. */
    unsigned flags = MDB_NOTLS | (opt->no_sync ? MDB_NOSYNC : 0);
    if ((rc = mdb_env_open(s->env, dir, flags, 0600)) != 0)
        goto fail;
    if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
        goto fail;
    if ((rc = mdb_dbi_open(txn, "objects", MDB_CREATE, &s->objects)) != 0 ||
        (rc = mdb_dbi_open(txn, "log", MDB_CREATE, &s->log)) != 0 ||
        (rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) != 0)
        goto fail;
    MDB_val mk = {3, "rev"}, mv;
    if (mdb_get(txn, s->meta, &mk, &mv) == 0 && mv.mv_size == 8)
        s->rev = get_be64(mv.mv_data);
    if ((rc = mdb_txn_commit(txn)) != 0) {
        txn = NULL;
        goto fail;
    }
    txn = NULL;
    if ((rc = replay_log(s)) != 0)
        goto fail;

    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work_cv, NULL);
    if (pthread_create(&s->committer, NULL, committer_main, s) != 0) {
        snprintf(err, errlen, "cannot start the committer thread");
        mdb_env_close(s->env);
        free(s);
        return -1;
    }
    *out = &s->base;
    return 0;
fail:
    snprintf(err, errlen, "lmdb: %s: %s", dir, mdb_strerror(rc));
    if (txn)
        mdb_txn_abort(txn);
    if (s->env)
        mdb_env_close(s->env);
    free(s);
    return -1;
}

static void lmdb_close(struct kc_storage *base)
{
    struct lmdb_storage *s = (struct lmdb_storage *)base;
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->work_cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->committer, NULL);
    mdb_env_close(s->env);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->work_cv);
    free(s);
}

static void lmdb_stats(struct kc_storage *base, struct kc_storage_stats *out)
{
    struct lmdb_storage *s = (struct lmdb_storage *)base;
    pthread_mutex_lock(&s->mu);
    out->commits = s->commits;
    out->writes = s->writes;
    out->commit_ns = s->commit_ns;
    out->sync_ns = s->sync_ns;
    pthread_mutex_unlock(&s->mu);
}
