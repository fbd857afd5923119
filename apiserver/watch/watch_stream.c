/* Watch streams; see watch_stream.h and request.h for the read side. */
#include "apiserver/watch/watch_stream.h"

#include "apiserver/http/request.h"
#include "apiserver/metrics.h"
#include "apiserver/registry.h"
#include "apiserver/server.h"
#include "apiserver/storage/storage.h"
#include "apiserver/watch/watch_hub.h"
#include "lib/jsonx.h"
#include "lib/selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define BATCH 128
#define BOOKMARK_EVERY 30 /* seconds */

struct text {
    char *s;
    size_t n;
};

struct kc_watch_stream {
    struct kc_server *srv;
    const struct kc_resource *r;
    char prefix[512];
    size_t prefix_len;
    struct kc_selector *label, *field;
    bool bookmarks, table, columns_sent, initial_end_bookmark;
    char table_version[16];
    enum kc_include_object include;
    uint64_t after; /* last revision delivered or skipped */
    uint64_t sent;  /* events framed (for metrics) */
    time_t deadline, last_bookmark;
    bool done;

    struct text *initial; /* snapshot objects still to send as ADDED */
    size_t ninitial, initial_pos;

    char *out; /* framed bytes not yet handed to the transport */
    size_t out_len, out_off, out_cap;

    bool (*alive)(void *);
    void *alive_arg;

    /* set for a stream of something else than watch events: its bytes come from src */
    const struct kc_stream_source_ops *src_ops;
    void *src;
};

static void out_append(struct kc_watch_stream *ws, const char *s, size_t n)
{
    if (ws->out_off == ws->out_len)
        ws->out_off = ws->out_len = 0;
    if (ws->out_len + n > ws->out_cap) {
        size_t cap = ws->out_cap ? ws->out_cap : 16384;
        while (cap < ws->out_len + n)
            cap *= 2;
        ws->out = realloc(ws->out, cap);
        if (!ws->out)
            abort();
        ws->out_cap = cap;
    }
    memcpy(ws->out + ws->out_len, s, n);
    ws->out_len += n;
}

static bool obj_matches(struct kc_watch_stream *ws, const json_t *obj)
{
    if (!obj)
        return false;
    if (ws->label && !kc_label_selector_matches(ws->label, kc_json_path(obj, "metadata.labels")))
        return false;
    if (ws->field && !kc_field_selector_matches(ws->field, obj, kc_field_get_path, NULL))
        return false;
    return true;
}

static void emit_table(struct kc_watch_stream *ws, const char *head, int hn, const json_t *obj);

/* Appends {"type":T,"object":<obj>}\n, converting to a one-row Table when asked. */
static void emit(struct kc_watch_stream *ws, const char *type, const json_t *obj, const char *text,
                 size_t len)
{
    char head[64];
    int hn = snprintf(head, sizeof head, "{\"type\":\"%s\",\"object\":", type);
    ws->sent++;
    if (ws->r->convert_out) {
        /* an older version: convert a copy, then frame it like any other */
        json_t *c = obj ? json_deep_copy(obj) : kc_json_loadb(text, len);
        if (!c)
            return;
        kc_resource_to_external(ws->r, c);
        char *ctext = json_dumps(c, JSON_COMPACT);
        if (ctext) {
            if (!ws->table) {
                out_append(ws, head, (size_t)hn);
                out_append(ws, ctext, strlen(ctext));
                out_append(ws, "}\n", 2);
            } else {
                emit_table(ws, head, hn, c);
            }
        }
        free(ctext);
        json_decref(c);
        return;
    }
    if (!ws->table) {
        out_append(ws, head, (size_t)hn);
        out_append(ws, text, len);
        out_append(ws, "}\n", 2);
        return;
    }
    json_t *parsed = NULL;
    if (!obj)
        obj = parsed = kc_json_loadb(text, len);
    if (!obj)
        return;
    emit_table(ws, head, hn, obj);
    json_decref(parsed);
}

/* Appends one event whose object is a one-row Table of obj. */
static void emit_table(struct kc_watch_stream *ws, const char *head, int hn, const json_t *obj)
{
    json_t *t = kc_table_new(ws->r, !ws->columns_sent);
    if (strcmp(ws->table_version, "v1beta1") == 0)
        json_object_set_new(t, "apiVersion", json_string("meta.k8s.io/v1beta1"));
    ws->columns_sent = true;
    const char *rv = kc_json_str(obj, "metadata.resourceVersion");
    json_object_set_new(json_object_get(t, "metadata"), "resourceVersion",
                        json_string(rv ? rv : ""));
    kc_table_add_row(t, ws->r, obj, ws->include, time(NULL));
    char *s = json_dumps(t, JSON_COMPACT);
    json_decref(t);
    if (!s)
        return;
    out_append(ws, head, (size_t)hn);
    out_append(ws, s, strlen(s));
    out_append(ws, "}\n", 2);
    free(s);
}

static void emit_bookmark(struct kc_watch_stream *ws, bool initial_end)
{
    char av[128], buf[512];
    kc_resource_api_version(ws->r, av, sizeof av);
    int n =
        snprintf(buf, sizeof buf,
                 "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"%s\",\"apiVersion\":\"%s\","
                 "\"metadata\":{\"resourceVersion\":\"%llu\"%s}}}\n",
                 ws->r->kind, av, (unsigned long long)ws->after,
                 initial_end ? ",\"annotations\":{\"k8s.io/initial-events-end\":\"true\"}" : "");
    out_append(ws, buf, (size_t)n);
    ws->last_bookmark = time(NULL);
}

static void emit_expired(struct kc_watch_stream *ws)
{
    char buf[512];
    int n = snprintf(
        buf, sizeof buf,
        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
        "\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource version: %llu "
        "(%llu)\",\"reason\":\"Expired\",\"code\":410}}\n",
        (unsigned long long)ws->after, (unsigned long long)kc_hub_oldest(ws->srv->hub) + 1);
    out_append(ws, buf, (size_t)n);
}

/* An object that no longer matches the selectors leaves this watcher's view: as upstream,
 * a DELETED carrying the previous state at the event's resourceVersion. */
static void emit_left(struct kc_watch_stream *ws, const struct kc_event *e)
{
    char rv[24];
    json_t *old = kc_event_prev(e);
    snprintf(rv, sizeof rv, "%llu", (unsigned long long)e->rev);
    json_object_set_new(kc_json_ensure_obj(old, "metadata"), "resourceVersion", json_string(rv));
    char *text = json_dumps(old, JSON_COMPACT);
    if (text)
        emit(ws, "DELETED", old, text, strlen(text));
    free(text);
    json_decref(old);
}

static void handle_event(struct kc_watch_stream *ws, struct kc_event *e)
{
    if (strncmp(e->key, ws->prefix, ws->prefix_len) != 0)
        return;
    size_t head = strlen(kc_event_type_name(e->type)) + 20; /* {"type":"X","object": */
    const char *text = e->line + head;
    size_t len = e->line_len - head - 2;
    if (!ws->label && !ws->field) {
        if (!ws->table && !ws->r->convert_out) {
            out_append(ws, e->line, e->line_len); /* the shared, once-serialized bytes */
            ws->sent++;
        } else
            emit(ws, kc_event_type_name(e->type), e->obj, text, len);
        return;
    }
    bool cur = obj_matches(ws, e->obj);
    if (e->type == KC_EVENT_ADDED) {
        if (cur)
            emit(ws, "ADDED", e->obj, text, len);
    } else if (e->type == KC_EVENT_DELETED) {
        if (cur)
            emit(ws, "DELETED", e->obj, text, len);
    } else {
        json_t *p = kc_event_prev_attrs(e);
        bool prev = obj_matches(ws, p);
        json_decref(p);
        if (cur && prev)
            emit(ws, "MODIFIED", e->obj, text, len);
        else if (cur)
            emit(ws, "ADDED", e->obj, text, len);
        else if (prev)
            emit_left(ws, e);
    }
}

/* Copies the value at the dotted path of src into dst (creating the objects on the way),
 * sharing it. */
static void copy_path(json_t *dst, const json_t *src, const char *path)
{
    char seg[128];
    const char *p = path;
    for (;;) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof seg || !json_is_object(src))
            return;
        memcpy(seg, p, n);
        seg[n] = 0;
        json_t *v = json_object_get(src, seg);
        if (!v)
            return;
        if (!p[n]) {
            json_object_set(dst, seg, v);
            return;
        }
        json_t *next = json_object_get(dst, seg);
        if (!json_is_object(next)) {
            next = json_object();
            json_object_set_new(dst, seg, next);
        }
        dst = next;
        src = v;
        p += n + 1;
    }
}

json_t *kc_watch_attrs(const struct kc_resource *r, const json_t *obj)
{
    static const char *const meta[] = {"metadata.name", "metadata.namespace", "metadata.labels",
                                       NULL};
    json_t *a = json_object();
    for (const char *const *f = meta; *f; f++)
        copy_path(a, obj, *f);
    for (const char *const *f = r->strategy ? r->strategy->field_labels : NULL; f && *f; f++)
        copy_path(a, obj, *f);
    return a;
}

struct initial_ctx {
    struct kc_watch_stream *ws;
    size_t cap;
};

static int collect_initial(void *arg, const char *key, const char *json, size_t len, uint64_t rev)
{
    struct initial_ctx *c = arg;
    struct kc_watch_stream *ws = c->ws;
    if (ws->label || ws->field) {
        json_t *o = kc_json_loadb(json, len);
        bool m = obj_matches(ws, o);
        json_decref(o);
        if (!m)
            return 0;
    }
    if (ws->ninitial == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        ws->initial = realloc(ws->initial, c->cap * sizeof *ws->initial);
        if (!ws->initial)
            abort();
    }
    ws->initial[ws->ninitial].s = strndup(json, len);
    ws->initial[ws->ninitial].n = len;
    ws->ninitial++;
    return 0;
}

int kc_watch_open(struct kc_server *srv, struct kc_watch_params *p, struct kc_watch_stream **out,
                  struct kc_status *st)
{
    struct kc_watch_stream *ws = calloc(1, sizeof *ws);
    if (!ws)
        abort();
    ws->srv = srv;
    ws->r = p->r;
    ws->label = p->label;
    ws->field = p->field;
    p->label = p->field = NULL;
    ws->bookmarks = p->bookmarks;
    ws->table = p->table;
    snprintf(ws->table_version, sizeof ws->table_version, "%s",
             p->table_version ? p->table_version : "v1");
    ws->include = p->include;
    kc_registry_prefix(p->r, p->ns, ws->prefix, sizeof ws->prefix);
    ws->prefix_len = strlen(ws->prefix);

    long timeout = p->timeout_seconds;
    if (timeout <= 0) {
        /* as upstream: a random time in [min-request-timeout, 2x) spreads reconnects */
        unsigned int rnd = 0;
        if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
            rnd = (unsigned int)time(NULL);
        long base = srv->opt.min_request_timeout > 0 ? srv->opt.min_request_timeout : 1800;
        timeout = base + (long)(rnd % (unsigned long)base);
    }
    ws->deadline = time(NULL) + timeout;
    ws->last_bookmark = time(NULL);

    bool has_rv = p->rv && *p->rv && strcmp(p->rv, "0") != 0;
    bool initial = p->send_initial == 1 || (!has_rv && p->send_initial != 0);
    if (has_rv) {
        char *end = NULL;
        unsigned long long v = strtoull(p->rv, &end, 10);
        if (!end || *end) {
            kc_status_bad_request(st, "invalid resource version: %s", p->rv);
            goto fail;
        }
        uint64_t oldest = kc_hub_oldest(srv->hub);
        if (v < oldest) {
            kc_status_set(st, 410, "Expired", "too old resource version: %llu (%llu)", v,
                          (unsigned long long)oldest + 1);
            goto fail;
        }
        ws->after = v;
    }
    if (initial) {
        struct initial_ctx c = {ws, 0};
        uint64_t snap = 0;
        if (kc_storage_list(srv->storage, ws->prefix, NULL, 0, collect_initial, &c, &snap)) {
            kc_status_internal(st, "cannot list for the watch");
            goto fail;
        }
        ws->after = snap;
        ws->initial_end_bookmark = p->send_initial == 1 && p->bookmarks;
    }
    *out = ws;
    return 0;
fail:
    kc_watch_stream_free(ws);
    return -1;
}

void kc_watch_stream_set_alive_check(struct kc_watch_stream *ws, bool (*alive)(void *), void *arg)
{
    ws->alive = alive;
    ws->alive_arg = arg;
}

static bool refill_events(struct kc_watch_stream *ws, bool blocking);

/* Produces more framed bytes into ws->out. Blocking (once) waits up to a second at a time
 * until there is something; non-blocking returns after one look. Returns false at the end
 * of the stream. The CPU it takes (waiting costs none) is counted for /metrics. */
static bool refill(struct kc_watch_stream *ws, bool blocking)
{
    uint64_t cpu0 = kc_thread_cpu_ns(), sent0 = ws->sent;
    bool more = refill_events(ws, blocking);
    kc_metrics_watch(ws->r, kc_thread_cpu_ns() - cpu0, ws->sent - sent0);
    return more;
}

static bool refill_events(struct kc_watch_stream *ws, bool blocking)
{
    if (ws->initial_pos < ws->ninitial) {
        /* a batch of initial ADDED events */
        for (int k = 0; k < 64 && ws->initial_pos < ws->ninitial; k++) {
            struct text *t = &ws->initial[ws->initial_pos++];
            emit(ws, "ADDED", NULL, t->s, t->n);
            free(t->s);
            t->s = NULL;
        }
        if (ws->initial_pos == ws->ninitial && ws->initial_end_bookmark)
            emit_bookmark(ws, true);
        return true;
    }
    if (ws->initial_end_bookmark && ws->ninitial == 0) {
        ws->initial_end_bookmark = false;
        emit_bookmark(ws, true);
        return true;
    }
    ws->initial_end_bookmark = false;
    struct kc_event *ev[BATCH];
    for (;;) {
        time_t now = time(NULL);
        if (ws->srv->stopping || now >= ws->deadline)
            return false;
        long left = (long)(ws->deadline - now);
        int wait_ms = !blocking ? 0 : left > 1 ? 1000 : (int)left * 1000;
        /* only events under our prefix come back (and wake us); ws->after moves past the
         * others too */
        uint64_t after = ws->after;
        int n = kc_hub_wait(ws->srv->hub, &after, ws->prefix, ev, BATCH, wait_ms);
        if (n == KC_HUB_CLOSED)
            return false;
        if (n == KC_HUB_EXPIRED) {
            emit_expired(ws);
            ws->done = true;
            return true;
        }
        for (int i = 0; i < n; i++) {
            handle_event(ws, ev[i]);
            kc_event_unref(ev[i]);
        }
        ws->after = after;
        if (ws->out_len > ws->out_off)
            return true;
        if (ws->bookmarks && time(NULL) - ws->last_bookmark >= BOOKMARK_EVERY) {
            emit_bookmark(ws, false);
            return true;
        }
        if (n == 0 && ws->alive && !ws->alive(ws->alive_arg))
            return false;
        if (!blocking)
            return true;
    }
}

/* Hands out up to max framed bytes already produced. */
static ssize_t copy_out(struct kc_watch_stream *ws, char *buf, size_t max)
{
    size_t n = ws->out_len - ws->out_off;
    if (n > max)
        n = max;
    memcpy(buf, ws->out + ws->out_off, n);
    ws->out_off += n;
    return (ssize_t)n;
}

struct kc_watch_stream *kc_watch_stream_from_source(struct kc_server *srv,
                                                    const struct kc_stream_source_ops *ops,
                                                    void *src)
{
    struct kc_watch_stream *ws = calloc(1, sizeof *ws);
    if (!ws)
        abort();
    ws->srv = srv;
    ws->src_ops = ops;
    ws->src = src;
    return ws;
}

/* Reads a source stream: blocking reads wait a second at a time, then look at the client
 * and the server. >0 bytes, 0 nothing yet (non-blocking only), -1 at the end. */
static ssize_t source_read(struct kc_watch_stream *ws, char *buf, size_t max, bool blocking)
{
    for (;;) {
        if (ws->srv->stopping)
            return -1;
        ssize_t n = ws->src_ops->read(ws->src, buf, max, blocking ? 1000 : 0);
        if (n != 0)
            return n;
        if (ws->alive && !ws->alive(ws->alive_arg))
            return -1;
        if (!blocking)
            return 0;
    }
}

ssize_t kc_watch_stream_read(struct kc_watch_stream *ws, char *buf, size_t max)
{
    if (ws->src_ops) {
        ssize_t n = source_read(ws, buf, max, true);
        return n < 0 ? 0 : n;
    }
    while (ws->out_off == ws->out_len) {
        if (ws->done)
            return 0;
        if (!refill(ws, true))
            return 0;
    }
    return copy_out(ws, buf, max);
}

ssize_t kc_watch_stream_read_nb(struct kc_watch_stream *ws, char *buf, size_t max)
{
    if (ws->src_ops)
        return source_read(ws, buf, max, false);
    if (ws->out_off == ws->out_len) {
        if (ws->done)
            return -1;
        if (!refill(ws, false))
            return -1;
        if (ws->out_off == ws->out_len)
            return 0;
    }
    return copy_out(ws, buf, max);
}

void kc_watch_stream_free(struct kc_watch_stream *ws)
{
    if (!ws)
        return;
    if (ws->src_ops)
        ws->src_ops->free(ws->src);
    for (size_t i = ws->initial_pos; i < ws->ninitial; i++)
        free(ws->initial[i].s);
    free(ws->initial);
    kc_selector_free(ws->label);
    kc_selector_free(ws->field);
    free(ws->out);
    free(ws);
}
