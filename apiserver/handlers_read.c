/* GET, LIST and WATCH. */
#include "apiserver/api_internal.h"
#include "apiserver/registry.h"
#include "apiserver/server.h"
#include "apiserver/storage/storage.h"
#include "apiserver/table.h"
#include "apiserver/watch/watch_hub.h"
#include "apiserver/watch/watch_stream.h"
#include "lib/base64.h"
#include "lib/jsonx.h"
#include "lib/selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool field_supported(const struct kc_resource *r, const char *key)
{
    if (strcmp(key, "metadata.name") == 0)
        return true;
    if (strcmp(key, "metadata.namespace") == 0)
        return r->namespaced;
    const char *const *f = r->strategy ? r->strategy->field_labels : NULL;
    for (; f && *f; f++)
        if (strcmp(*f, key) == 0)
            return true;
    return false;
}

int kc_parse_selectors(const struct kc_request *req, const struct kc_resource *r,
                       struct kc_list_opts *o, struct kc_status *st)
{
    char err[512];
    const char *ls = kc_req_query(req, "labelSelector");
    const char *fs = kc_req_query(req, "fieldSelector");
    memset(o, 0, sizeof *o);
    if (ls && *ls && kc_label_selector_parse(ls, &o->label, err, sizeof err) != 0) {
        kc_status_bad_request(st, "unable to parse requirement: %s", err);
        goto fail;
    }
    if (fs && *fs) {
        if (kc_field_selector_parse(fs, &o->field, err, sizeof err) != 0) {
            kc_status_bad_request(st, "%s", err);
            goto fail;
        }
        for (size_t i = 0; i < kc_selector_len(o->field); i++) {
            const char *k = kc_selector_key(o->field, i);
            if (!field_supported(r, k)) {
                kc_status_bad_request(st, "field label not supported: %s", k);
                goto fail;
            }
        }
    }
    return 0;
fail:
    kc_list_opts_release(o);
    return -1;
}

void kc_list_opts_release(struct kc_list_opts *o)
{
    kc_selector_free(o->label);
    kc_selector_free(o->field);
    o->label = o->field = NULL;
}

bool kc_list_opts_match(const struct kc_list_opts *o, const json_t *obj)
{
    if (o->label && !kc_label_selector_matches(o->label, kc_json_path(obj, "metadata.labels")))
        return false;
    if (o->field && !kc_field_selector_matches(o->field, obj, kc_field_get_path, NULL))
        return false;
    return true;
}

void kc_handle_get(struct kc_server *srv, const struct kc_request *req, const struct kc_reqinfo *ri,
                   struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    const char *tv = NULL;
    char key[1024];
    char *text = NULL;
    size_t len = 0;
    bool table = kc_wants_table(req, &tv);

    if (strcmp(ri->sub, "scale") == 0) {
        extern void kc_handle_scale_get(struct kc_server *, const struct kc_reqinfo *,
                                        struct kc_response *);
        kc_handle_scale_get(srv, ri, resp);
        return;
    }
    kc_registry_key(ri->r, ri->ns, ri->name, key, sizeof key);
    int rc = kc_storage_get_raw(srv->storage, key, &text, &len, NULL);
    if (rc == KC_STORAGE_NOT_FOUND) {
        kc_status_not_found(&st, ri->r->group, ri->r->resource, ri->name);
        goto fail;
    }
    if (rc) {
        kc_status_internal(&st, "storage error");
        goto fail;
    }
    if (!table && !ri->r->convert_out) {
        /* the stored bytes are the response */
        kc_response_set(resp, 200, "application/json", text, len);
        return;
    }
    json_t *obj = kc_json_loadb(text, len);
    free(text);
    if (!obj) {
        kc_status_internal(&st, "stored object is not valid JSON");
        goto fail;
    }
    kc_resource_to_external(ri->r, obj);
    if (!table) {
        kc_respond_json(resp, 200, obj);
        json_decref(obj);
        return;
    }
    json_t *t = kc_table_new(ri->r, true);
    if (strcmp(tv, "v1beta1") == 0)
        json_object_set_new(t, "apiVersion", json_string("meta.k8s.io/v1beta1"));
    const char *rv = kc_json_str(obj, "metadata.resourceVersion");
    json_object_set_new(json_object_get(t, "metadata"), "resourceVersion",
                        json_string(rv ? rv : ""));
    kc_table_add_row(t, ri->r, obj, kc_include_object_parse(kc_req_query(req, "includeObject")),
                     time(NULL));
    kc_respond_json(resp, 200, t);
    char ct[96];
    snprintf(ct, sizeof ct, "application/json;as=Table;v=%s;g=meta.k8s.io", tv);
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ct);
    json_decref(t);
    json_decref(obj);
    return;
fail:
    kc_respond_status(resp, &st);
    kc_status_release(&st);
}

/* ---- LIST ---- */

struct buf {
    char *s;
    size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->s = realloc(b->s, cap);
        if (!b->s)
            abort();
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

struct list_ctx {
    const struct kc_list_opts *opts;
    long long limit;
    long long count;
    bool more;
    long long remaining; /* items after the page, counted when the list has no selector */
    char last_key[1024];
    struct buf items; /* JSON output: comma-separated item texts */
    json_t *table;    /* Table output */
    const struct kc_resource *r;
    enum kc_include_object include;
    time_t now;
};

static int list_item(void *arg, const char *key, const char *json, size_t len, uint64_t rev)
{
    struct list_ctx *c = arg;
    json_t *obj = NULL;
    char *converted = NULL;
    if (c->more) { /* past the page: only counted (no selector, see below) */
        c->remaining++;
        return 0;
    }
    if (c->opts->label || c->opts->field || c->table || c->r->convert_out) {
        obj = kc_json_loadb(json, len);
        if (!obj)
            return 0;
        if (!kc_list_opts_match(c->opts, obj)) {
            json_decref(obj);
            return 0;
        }
        if (c->r->convert_out) {
            kc_resource_to_external(c->r, obj);
            converted = json_dumps(obj, JSON_COMPACT);
            if (converted) {
                json = converted;
                len = strlen(converted);
            }
        }
    }
    if (c->limit > 0 && c->count >= c->limit) {
        c->more = true;
        json_decref(obj);
        free(converted);
        /* metadata.remainingItemCount, as upstream, only when no selector filters the list:
         * the rest of the range is then counted without being read */
        if (c->opts->label || c->opts->field)
            return 1;
        c->remaining = 1;
        return 0;
    }
    if (c->table) {
        kc_table_add_row(c->table, c->r, obj, c->include, c->now);
    } else {
        if (c->count)
            buf_add(&c->items, ",", 1);
        buf_add(&c->items, json, len);
    }
    c->count++;
    snprintf(c->last_key, sizeof c->last_key, "%s", key);
    json_decref(obj);
    free(converted);
    return 0;
}

/* The continue token: base64 of {"v":"meta.k8s.io/v1","rv":N,"start":"<key after prefix>"},
 * N the revision of the list (-1: the latest, for an inconsistent continuation, as
 * upstream), start the key after which the next page starts. */
static char *make_continue(json_int_t rev, const char *rel_key)
{
    json_t *j = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv", rev, "start", rel_key);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    char *t = kc_base64_encode(s, strlen(s));
    free(s);
    return t;
}

static int parse_continue(const char *tok, uint64_t *rev, char *start, size_t cap,
                          struct kc_status *st)
{
    char raw[2048];
    size_t n;
    if (kc_base64_decode(tok, raw, sizeof raw, &n) != 0)
        return kc_status_bad_request(st, "continue key is not valid: illegal base64 data");
    json_t *j = json_loadb(raw, n, 0, NULL);
    const char *v = kc_json_str(j, "v");
    const char *s = kc_json_str(j, "start");
    json_t *r = json_object_get(j, "rv");
    if (!j || !v || strcmp(v, "meta.k8s.io/v1") != 0 || !s || !json_is_integer(r) ||
        json_integer_value(r) == 0 || json_integer_value(r) < -1 || strstr(s, "..") ||
        s[0] == '/') {
        json_decref(j);
        return kc_status_bad_request(st, "continue key is not valid: incorrect encoded start "
                                         "resourceVersion (version meta.k8s.io/v1)");
    }
    /* -1: continue at the latest revision (0 lists the latest) */
    *rev = json_integer_value(r) > 0 ? (uint64_t)json_integer_value(r) : 0;
    snprintf(start, cap, "%s", s);
    json_decref(j);
    return 0;
}

/* Waits (briefly) for the store to reach rev, as upstream does before answering "too
 * large resource version". */
static bool wait_for_revision(struct kc_server *srv, uint64_t rev)
{
    for (int i = 0; i < 30; i++) {
        if (kc_storage_revision(srv->storage) >= rev)
            return true;
        usleep(100 * 1000);
    }
    return kc_storage_revision(srv->storage) >= rev;
}

static int parse_rv(const char *s, uint64_t *out, struct kc_status *st)
{
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (!*s || !end || *end || s[0] == '-')
        return kc_status_bad_request(st, "invalid resource version: %s", s);
    *out = v;
    return 0;
}

void kc_handle_list(struct kc_server *srv, const struct kc_request *req,
                    const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    struct kc_list_opts opts = {0};
    struct list_ctx c;
    const char *tv = NULL;
    char prefix[600], start[1024], startkey[1700];
    uint64_t at_rev = 0, snap = 0;
    char *cont = NULL, *expired_next = NULL; /* owned */

    memset(&c, 0, sizeof c);
    if (kc_parse_selectors(req, ri->r, &opts, &st))
        goto fail;
    c.opts = &opts;
    c.r = ri->r;
    c.now = time(NULL);
    const char *lim = kc_req_query(req, "limit");
    if (lim && *lim) {
        char *end;
        c.limit = strtoll(lim, &end, 10);
        if (*end || c.limit < 0) {
            kc_status_bad_request(&st, "invalid limit: %s", lim);
            goto fail;
        }
    }
    const char *rv = kc_req_query(req, "resourceVersion");
    const char *match = kc_req_query(req, "resourceVersionMatch");
    const char *ctok = kc_req_query(req, "continue");
    kc_registry_prefix(ri->r, ri->has_ns ? ri->ns : NULL, prefix, sizeof prefix);
    const char *start_after = NULL;

    if (match && *match && (!rv || !*rv)) {
        kc_status_bad_request(&st, "resourceVersionMatch is forbidden unless resourceVersion "
                                   "is provided");
        goto fail;
    }
    if (match && *match && strcmp(match, "Exact") != 0 && strcmp(match, "NotOlderThan") != 0) {
        kc_status_bad_request(&st,
                              "resourceVersionMatch: Unsupported value: \"%s\": supported "
                              "values: \"Exact\", \"NotOlderThan\"",
                              match);
        goto fail;
    }
    if (ctok && *ctok) {
        if (rv && *rv && strcmp(rv, "0") != 0) {
            kc_status_bad_request(&st, "specifying resource version is not allowed when using "
                                       "continue");
            goto fail;
        }
        if (parse_continue(ctok, &at_rev, start, sizeof start, &st))
            goto fail;
        /* the token's start is relative to the resource's (all-namespaces) prefix */
        char base[600];
        kc_registry_prefix(ri->r, NULL, base, sizeof base);
        snprintf(startkey, sizeof startkey, "%s%s", base, start);
        start_after = startkey;
    } else if (rv && *rv && strcmp(rv, "0") != 0) {
        uint64_t want = 0;
        if (parse_rv(rv, &want, &st))
            goto fail;
        if (match && strcmp(match, "Exact") == 0) {
            at_rev = want;
        } else if (!wait_for_revision(srv, want)) {
            kc_status_set(&st, 504, "Timeout", "Too large resource version: %llu, current: %llu",
                          (unsigned long long)want,
                          (unsigned long long)kc_storage_revision(srv->storage));
            st.details =
                json_pack("{s:[{s:s, s:s}], s:i}", "causes", "reason", "ResourceVersionTooLarge",
                          "message", "Too large resource version", "retryAfterSeconds", 1);
            goto fail;
        }
        if (at_rev && at_rev > kc_storage_revision(srv->storage) &&
            !wait_for_revision(srv, at_rev)) {
            kc_status_set(&st, 504, "Timeout", "Too large resource version: %llu, current: %llu",
                          (unsigned long long)at_rev,
                          (unsigned long long)kc_storage_revision(srv->storage));
            goto fail;
        }
    }
    if (kc_wants_table(req, &tv)) {
        c.table = kc_table_new(ri->r, true);
        c.include = kc_include_object_parse(kc_req_query(req, "includeObject"));
    }
    int rc = kc_storage_list(srv->storage, prefix, start_after, at_rev, list_item, &c, &snap);
    if (rc == KC_STORAGE_EXPIRED) {
        if (ctok && *ctok) {
            /* the Status carries a token continuing from the same key at the latest
             * revision, as upstream's: the client may go on with an inconsistent list */
            expired_next = make_continue(-1, start);
            kc_status_set(&st, 410, "Expired",
                          "The provided continue parameter is too old to display a consistent "
                          "list result. You can start a new list without the continue "
                          "parameter, or use the continue token in this response to retrieve "
                          "the remainder of the results. Continuing with the provided token "
                          "results in an inconsistent list - objects that were created, "
                          "modified, or deleted between the time the first chunk was returned "
                          "and now may show up in the list.");
        } else {
            kc_status_set(&st, 410, "Expired", "too old resource version: %llu (%llu)",
                          (unsigned long long)at_rev,
                          (unsigned long long)kc_storage_oldest(srv->storage) + 1);
        }
        goto fail;
    }
    if (rc) {
        kc_status_internal(&st, "storage error");
        goto fail;
    }
    if (c.more) {
        char base[600];
        kc_registry_prefix(ri->r, NULL, base, sizeof base);
        cont = make_continue(snap, c.last_key + strlen(base));
    }
    char rvbuf[32];
    snprintf(rvbuf, sizeof rvbuf, "%llu", (unsigned long long)snap);
    if (c.table) {
        json_t *meta = json_object_get(c.table, "metadata");
        json_object_set_new(meta, "resourceVersion", json_string(rvbuf));
        if (cont)
            json_object_set_new(meta, "continue", json_string(cont));
        if (cont && c.remaining > 0)
            json_object_set_new(meta, "remainingItemCount", json_integer(c.remaining));
        if (strcmp(tv, "v1beta1") == 0)
            json_object_set_new(c.table, "apiVersion", json_string("meta.k8s.io/v1beta1"));
        kc_respond_json(resp, 200, c.table);
        snprintf(resp->content_type, sizeof resp->content_type,
                 "application/json;as=Table;v=%s;g=meta.k8s.io", tv);
    } else {
        struct buf out = {0};
        char av[128], head[1024], remaining[64] = "";
        kc_resource_api_version(ri->r, av, sizeof av);
        if (cont && c.remaining > 0)
            snprintf(remaining, sizeof remaining, ",\"remainingItemCount\":%lld", c.remaining);
        int n = snprintf(head, sizeof head,
                         "{\"kind\":\"%s\",\"apiVersion\":\"%s\",\"metadata\":{"
                         "\"resourceVersion\":\"%s\"%s%s%s%s},\"items\":[",
                         ri->r->list_kind, av, rvbuf, cont ? ",\"continue\":\"" : "",
                         cont ? cont : "", cont ? "\"" : "", remaining);
        if (n < 0 || (size_t)n >= sizeof head)
            n = 0;
        buf_add(&out, head, (size_t)n);
        if (c.items.len)
            buf_add(&out, c.items.s, c.items.len);
        buf_add(&out, "]}", 2);
        kc_response_set(resp, 200, "application/json", out.s, out.len);
    }
    free(cont);
    free(c.items.s);
    json_decref(c.table);
    kc_list_opts_release(&opts);
    return;
fail:
    free(cont);
    free(c.items.s);
    json_decref(c.table);
    kc_list_opts_release(&opts);
    if (expired_next) {
        json_t *j = kc_status_to_json(&st); /* owned */
        json_object_set_new(json_object_get(j, "metadata"), "continue", json_string(expired_next));
        kc_respond_json(resp, st.code, j);
        json_decref(j);
        free(expired_next);
    } else {
        kc_respond_status(resp, &st);
    }
    kc_status_release(&st);
}

void kc_handle_watch(struct kc_server *srv, const struct kc_request *req,
                     const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    struct kc_list_opts opts = {0};
    struct kc_watch_params p;
    struct kc_watch_stream *ws = NULL;
    const char *tv = NULL;

    memset(&p, 0, sizeof p);
    if (kc_parse_selectors(req, ri->r, &opts, &st))
        goto fail;
    if (ri->name[0]) {
        /* /watch/namespaces/ns/pods/name: a watch on one object */
        char fs[300];
        struct kc_selector *nsel = NULL;
        char err[256];
        snprintf(fs, sizeof fs, "metadata.name=%s", ri->name);
        if (opts.field || kc_field_selector_parse(fs, &nsel, err, sizeof err) != 0) {
            kc_status_bad_request(&st, "a single-object watch takes no field selector");
            goto fail;
        }
        opts.field = nsel;
    }
    p.r = ri->r;
    p.ns = ri->has_ns ? ri->ns : NULL;
    p.label = opts.label;
    p.field = opts.field;
    opts.label = opts.field = NULL;
    p.rv = kc_req_query(req, "resourceVersion");
    const char *b = kc_req_query(req, "allowWatchBookmarks");
    p.bookmarks = b && strcmp(b, "true") == 0;
    const char *si = kc_req_query(req, "sendInitialEvents");
    p.send_initial = !si ? -1 : strcmp(si, "true") == 0 ? 1 : 0;
    const char *to = kc_req_query(req, "timeoutSeconds");
    if (to && *to) {
        char *end;
        p.timeout_seconds = strtol(to, &end, 10);
        if (*end || p.timeout_seconds < 0) {
            kc_status_bad_request(&st, "invalid timeoutSeconds: %s", to);
            kc_selector_free(p.label);
            kc_selector_free(p.field);
            goto fail;
        }
        if (p.timeout_seconds == 0)
            p.timeout_seconds = 0;
    }
    if (p.send_initial == 1) {
        const char *match = kc_req_query(req, "resourceVersionMatch");
        if (!match || strcmp(match, "NotOlderThan") != 0 || !p.bookmarks) {
            kc_status_set(&st, 422, "Invalid",
                          "ListOptions.meta.k8s.io \"\" is invalid: sendInitialEvents: "
                          "Forbidden: sendInitialEvents is forbidden for watch unless the "
                          "WatchList feature gate is enabled and resourceVersionMatch is set "
                          "to NotOlderThan and allowWatchBookmarks is true");
            kc_selector_free(p.label);
            kc_selector_free(p.field);
            goto fail;
        }
    }
    p.table = kc_wants_table(req, &tv);
    p.table_version = tv;
    p.include = kc_include_object_parse(kc_req_query(req, "includeObject"));
    if (kc_watch_open(srv, &p, &ws, &st))
        goto fail;
    resp->code = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "application/json");
    resp->stream = ws;
    return;
fail:
    kc_list_opts_release(&opts);
    kc_respond_status(resp, &st);
    kc_status_release(&st);
}
