/* Request routing: non-resource endpoints (version, health, discovery, OpenAPI, metrics),
 * then resource URLs parsed into a kc_reqinfo and dispatched by verb. */
#include "apiserver/api_internal.h"

#include "apiserver/auth/authz.h"
#include "apiserver/auth/satoken.h"
#include "apiserver/discovery.h"
#include "apiserver/http/tunnel.h"
#include "apiserver/metrics.h"
#include "apiserver/protobuf/protobuf.h"
#include "apiserver/registry.h"
#include "apiserver/server.h"
#include "apiserver/storage/storage.h"
#include "apiserver/watch/watch_hub.h"
#include "apiserver/watch/watch_stream.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"
#include "openapi/openapi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KUBEC_GIT_VERSION "v1.33.1"

const char *kc_req_query(const struct kc_request *r, const char *key)
{
    return r->query ? r->query(r->transport, key) : NULL;
}

const char *kc_req_header(const struct kc_request *r, const char *name)
{
    return r->header ? r->header(r->transport, name) : NULL;
}

void kc_req_query_each(const struct kc_request *r, const char *key,
                       void (*fn)(void *arg, const char *v), void *arg)
{
    const char *v;
    if (r->query_each)
        r->query_each(r->transport, key, fn, arg);
    else if ((v = kc_req_query(r, key)) != NULL)
        fn(arg, v);
}

void kc_response_release(struct kc_response *resp)
{
    free(resp->body);
    resp->body = NULL;
    for (int i = 0; i < resp->nwarnings; i++)
        free(resp->warnings[i]);
    resp->nwarnings = 0;
    if (resp->stream)
        kc_watch_stream_free(resp->stream);
    resp->stream = NULL;
    kc_tunnel_free(resp->tunnel);
    resp->tunnel = NULL;
}

void kc_response_set(struct kc_response *resp, int code, const char *ctype, char *body, size_t len)
{
    free(resp->body);
    resp->code = code;
    snprintf(resp->content_type, sizeof resp->content_type, "%s", ctype);
    resp->body = body;
    resp->body_len = len;
}

void kc_response_warn(struct kc_response *resp, const char *text)
{
    if (resp->nwarnings >= KC_MAX_WARNINGS)
        return;
    char *w = NULL;
    if (asprintf(&w, "299 - \"%s\"", text) < 0)
        return;
    resp->warnings[resp->nwarnings++] = w;
}

void kc_respond_json(struct kc_response *resp, int code, const json_t *json)
{
    size_t n = 0;
    char *s = kc_json_dumps(json, &n);
    if (!s) {
        s = strdup("{}");
        n = 2;
    }
    kc_response_set(resp, code, "application/json", s, n);
}

void kc_respond_status(struct kc_response *resp, const struct kc_status *st)
{
    json_t *j = kc_status_to_json(st);
    kc_respond_json(resp, st->code ? st->code : 500, j);
    json_decref(j);
}

void kc_respond_text(struct kc_response *resp, int code, const char *ctype, const char *text)
{
    char *s = strdup(text);
    kc_response_set(resp, code, ctype, s, strlen(s));
}

static void respond_not_found(struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    kc_status_set(&st, 404, "NotFound", "the server could not find the requested resource");
    st.details = json_object();
    kc_respond_status(resp, &st);
    kc_status_release(&st);
}

static void respond_method_not_allowed(struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    kc_status_set(&st, 405, "MethodNotAllowed",
                  "the server does not allow this method on the requested resource");
    st.details = json_object();
    kc_respond_status(resp, &st);
    kc_status_release(&st);
}

/* Finds `name=value` among the parameters of one media range. */
static bool media_param(const char *range, size_t len, const char *name, const char *value)
{
    char pat[64];
    snprintf(pat, sizeof pat, "%s=%s", name, value);
    size_t pl = strlen(pat);
    for (size_t i = 0; i + pl <= len; i++) {
        if (strncasecmp(range + i, pat, pl) == 0 &&
            (i + pl == len || range[i + pl] == ';' || range[i + pl] == ' ') &&
            (i == 0 || range[i - 1] == ';' || range[i - 1] == ' '))
            return true;
    }
    return false;
}

bool kc_wants_table(const struct kc_request *req, const char **version)
{
    const char *accept = kc_req_header(req, "Accept");
    if (!accept)
        return false;
    /* Walk the ranges in order; the first we can serve wins. */
    const char *p = accept;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (media_param(p, len, "as", "Table") && media_param(p, len, "g", "meta.k8s.io")) {
            if (media_param(p, len, "v", "v1")) {
                *version = "v1";
                return true;
            }
            if (media_param(p, len, "v", "v1beta1")) {
                *version = "v1beta1";
                return true;
            }
        }
        while (len && p[0] == ' ')
            p++, len--;
        if ((len >= 16 && strncasecmp(p, "application/json", 16) == 0 &&
             !media_param(p, len, "as", "Table")) ||
            (len >= 3 && strncmp(p, "*/*", 3) == 0))
            return false;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

/* 406 unless some range of Accept is one we produce. Resources without a Table form
 * (reviews, whose storage has no table convertor upstream) produce no transformed media type
 * ("as=Table", "as=PartialObjectMetadata"): a range asking for one does not count. */
static bool acceptable(const struct kc_request *req, bool transforms)
{
    const char *accept = kc_req_header(req, "Accept");
    if (!accept || !*accept)
        return true;
    if (transforms)
        return strstr(accept, "application/json") || strstr(accept, "*/*") ||
               strstr(accept, "application/*") || strstr(accept, "as=Table");
    for (const char *p = accept; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        while (len && *p == ' ')
            p++, len--;
        bool plain = !memmem(p, len, "as=", 3);
        if (plain && ((len >= 16 && !strncasecmp(p, "application/json", 16)) ||
                      (len >= 3 && !strncmp(p, "*/*", 3)) ||
                      (len >= 13 && !strncasecmp(p, "application/*", 13))))
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

int kc_parse_dry_run(const struct kc_request *req, bool *dry, struct kc_status *st)
{
    const char *d = kc_req_query(req, "dryRun");
    *dry = false;
    if (!d || !*d)
        return 0;
    if (strcmp(d, "All") != 0)
        return kc_status_bad_request(st, "Invalid dryRun value: %s; supported values: \"All\"", d);
    *dry = true;
    return 0;
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    default:
        return "null";
    }
}

/* The ObjectMeta fields every object shares must have their Go types; anything else is a
 * decoding error (400), worded as encoding/json words it. */
static int check_meta_types(const json_t *obj, struct kc_status *st)
{
    static const char *const strings[] = {"name", "namespace",       "generateName",
                                          "uid",  "resourceVersion", NULL};
    static const char *const maps[] = {"labels", "annotations", NULL};
    json_t *meta = json_object_get(obj, "metadata");
    if (!meta || json_is_null(meta))
        return 0;
    if (!json_is_object(meta))
        return kc_status_bad_request(st,
                                     "json: cannot unmarshal %s into Go struct field "
                                     "Object.metadata of type v1.ObjectMeta",
                                     json_type_name(meta));
    for (int i = 0; strings[i]; i++) {
        json_t *v = json_object_get(meta, strings[i]);
        if (v && !json_is_string(v) && !json_is_null(v))
            return kc_status_bad_request(st,
                                         "json: cannot unmarshal %s into Go struct field "
                                         "ObjectMeta.metadata.%s of type string",
                                         json_type_name(v), strings[i]);
    }
    for (int i = 0; maps[i]; i++) {
        json_t *v = json_object_get(meta, maps[i]), *e;
        const char *k;
        if (!v || json_is_null(v))
            continue;
        if (!json_is_object(v))
            return kc_status_bad_request(st,
                                         "json: cannot unmarshal %s into Go struct field "
                                         "ObjectMeta.metadata.%s of type map[string]string",
                                         json_type_name(v), maps[i]);
        json_object_foreach (v, k, e)
            if (!json_is_string(e))
                return kc_status_bad_request(
                    st,
                    "json: cannot unmarshal %s into Go struct field ObjectMeta.metadata.%s of type "
                    "string",
                    json_type_name(e), maps[i]);
    }
    json_t *f = json_object_get(meta, "finalizers");
    if (f && !json_is_null(f) && !json_is_array(f))
        return kc_status_bad_request(st,
                                     "json: cannot unmarshal %s into Go struct field "
                                     "ObjectMeta.metadata.finalizers of type []string",
                                     json_type_name(f));
    return 0;
}

void kc_req_media_type(const struct kc_request *req, char *buf, size_t cap)
{
    const char *ct = kc_req_header(req, "Content-Type");
    size_t n = ct ? strcspn(ct, ";") : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(buf, ct, n);
    buf[n] = 0;
    while (n && buf[n - 1] == ' ')
        buf[--n] = 0;
}

static int too_large(struct kc_status *st)
{
    return kc_status_set(st, 413, "RequestEntityTooLarge",
                         "Request entity too large: limit is 3145728");
}

int kc_decode_json_object(const struct kc_request *req, json_t **out, struct kc_status *st)
{
    json_error_t e;
    if (req->body_too_large)
        return too_large(st);
    *out = json_loadb(req->body, req->body_len, 0, &e);
    if (json_is_object(*out))
        return 0;
    json_decref(*out);
    *out = NULL;
    return kc_status_bad_request(st, "couldn't get version/kind; json parse error: %s", e.text);
}

int kc_decode_body(const struct kc_request *req, const struct kc_resource *r, json_t **out,
                   struct kc_status *st)
{
    return kc_decode_body_dup(req, r, out, NULL, 0, st);
}

int kc_decode_body_dup(const struct kc_request *req, const struct kc_resource *r, json_t **out,
                       char *dup, size_t dupn, struct kc_status *st)
{
    if (dup && dupn)
        dup[0] = 0;
    char ctype[128];
    json_t *obj = NULL;
    if (req->body_too_large)
        return too_large(st);
    kc_req_media_type(req, ctype, sizeof ctype);
    if (strcasecmp(ctype, "application/vnd.kubernetes.protobuf") == 0) {
        char err[256];
        if (kc_pb_decode_object((const unsigned char *)req->body, req->body_len, &obj, err,
                                sizeof err) != 0)
            return kc_status_bad_request(st, "%s", err);
    } else if (!*ctype || strcasecmp(ctype, "application/json") == 0 ||
               strcasecmp(ctype, "*/*") == 0) {
        json_error_t e;
        if (req->body_len == 0)
            return kc_status_bad_request(st, "the body of the request is empty");
        /* the fast parser for well-formed bodies; jansson for the error text and
         * duplicate fields */
        obj = kc_json_loadb_nodup(req->body, req->body_len);
        if (!obj)
            obj = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &e);
        if (!obj && strstr(e.text, "duplicate")) {
            /* the last of duplicates wins; Strict refuses them (by the caller when it takes
             * dup, with the unknown fields), Warn reports them */
            const char *fv = kc_req_query(req, "fieldValidation");
            bool strict = fv && strcmp(fv, "Strict") == 0;
            char paths[1024];
            kc_json_duplicate_paths(req->body, req->body_len, paths, sizeof paths);
            if (strict && !dup) {
                char list[1200] = "";
                size_t off = 0;
                for (char *p = paths, *nl; (nl = strchr(p, '\n')) && off < sizeof list;
                     p = nl + 1) {
                    int k = snprintf(list + off, sizeof list - off, "%sduplicate field \"%.*s\"",
                                     off ? ", " : "", (int)(nl - p), p);
                    if (k < 0)
                        break;
                    off += (size_t)k;
                }
                return kc_status_bad_request(st,
                                             "%s in version \"%s\" cannot be handled as a %s: "
                                             "strict decoding error: %s",
                                             r->kind, r->version, r->kind, list);
            }
            if (dup && !(fv && strcmp(fv, "Ignore") == 0))
                snprintf(dup, dupn, "%s", paths);
            obj = json_loadb(req->body, req->body_len, 0, &e);
        }
        if (!obj) {
            return kc_status_bad_request(
                st, "couldn't get version/kind; json parse error: %s (line %d, column %d)", e.text,
                e.line, e.column);
        }
    } else {
        kc_status_set(st, 415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json, application/vnd.kubernetes.protobuf");
        return -1;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        return kc_status_bad_request(st, "couldn't get version/kind; json parse error: json: "
                                         "cannot unmarshal into Go value of type struct");
    }
    if (check_meta_types(obj, st)) {
        json_decref(obj);
        return -1;
    }
    const char *av = kc_json_str(obj, "apiVersion");
    const char *kind = kc_json_str(obj, "kind");
    char want[128];
    kc_resource_api_version(r, want, sizeof want);
    if (json_object_get(obj, "apiVersion") && !av) {
        json_decref(obj);
        return kc_status_bad_request(st, "apiVersion must be a string");
    }
    if (json_object_get(obj, "kind") && !kind) {
        json_decref(obj);
        return kc_status_bad_request(st, "kind must be a string");
    }
    if (av && *av && strcmp(av, want) != 0) {
        kc_status_bad_request(st,
                              "the API version in the data (%s) does not match the expected "
                              "API version (%s)",
                              av, want);
        json_decref(obj);
        return -1;
    }
    *out = obj;
    return 0;
}

static bool valid_segment(const char *s, size_t n, size_t max)
{
    return n > 0 && n < max;
}

/* Copies a path segment into a fixed field; false when it does not fit. */
static bool copy_seg(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        return false;
    memcpy(dst, src, n + 1);
    return true;
}

/* Parses /api/v1/... and /apis/G/V/... resource paths. Returns false when the path is not
 * a resource path this server could serve. */
static bool parse_resource_path(const char *path, struct kc_reqinfo *ri)
{
    char seg[8][256];
    int n = 0;
    const char *p = path;
    memset(ri, 0, sizeof *ri);
    while (*p == '/')
        p++;
    while (*p && n < 8) {
        size_t len = strcspn(p, "/");
        if (!valid_segment(p, len, sizeof seg[0]))
            return false;
        memcpy(seg[n], p, len);
        seg[n][len] = 0;
        n++;
        p += len;
        while (*p == '/')
            p++;
    }
    if (*p)
        return false;
    int i = 0;
    if (n >= 2 && strcmp(seg[0], "api") == 0) {
        if (!copy_seg(ri->version, sizeof ri->version, seg[1]))
            return false;
        i = 2;
    } else if (n >= 3 && strcmp(seg[0], "apis") == 0) {
        if (!copy_seg(ri->group, sizeof ri->group, seg[1]) ||
            !copy_seg(ri->version, sizeof ri->version, seg[2]))
            return false;
        i = 3;
    } else {
        return false;
    }
    if (i < n && strcmp(seg[i], "watch") == 0) {
        ri->watch_prefix = true;
        i++;
    }
    if (i >= n)
        return false;
    if (strcmp(seg[i], "namespaces") == 0 && i + 1 < n) {
        /* /namespaces/NS/RES/... unless the next part is a namespace subresource */
        if (i + 2 < n && strcmp(seg[i + 2], "status") != 0 && strcmp(seg[i + 2], "finalize") != 0) {
            ri->has_ns = true;
            if (!copy_seg(ri->ns, sizeof ri->ns, seg[i + 1]))
                return false;
            i += 2;
        }
    }
    if (!copy_seg(ri->resource, sizeof ri->resource, seg[i]))
        return false;
    i++;
    if (i < n) {
        if (!copy_seg(ri->name, sizeof ri->name, seg[i]))
            return false;
        i++;
    }
    if (i < n) {
        if (!copy_seg(ri->sub, sizeof ri->sub, seg[i]))
            return false;
        i++;
    }
    return i == n;
}

static void serve_version(struct kc_response *resp)
{
    json_t *v = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major", "1", "minor",
                          "33", "gitVersion", KUBEC_GIT_VERSION, "gitCommit", "kubec",
                          "gitTreeState", "clean", "buildDate", "2026-11-24T00:00:00Z", "goVersion",
                          "kubec (C11)", "compiler", "gcc", "platform", "linux/amd64");
    kc_respond_json(resp, 200, v);
    json_decref(v);
}

static bool prefix_path(const char *path, const char *p)
{
    size_t n = strlen(p);
    return strncmp(path, p, n) == 0 && (path[n] == 0 || path[n] == '/');
}

/* Aggregated discovery when the client asks for it, legacy JSON otherwise. */
static void serve_discovery_root(const struct kc_request *req, bool core, struct kc_response *resp)
{
    const char *accept = kc_req_header(req, "Accept");
    const char *const versions[] = {"v2", "v2beta1"};
    const char *p = accept;
    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (media_param(p, len, "g", "apidiscovery.k8s.io") &&
            media_param(p, len, "as", "APIGroupDiscoveryList")) {
            for (int i = 0; i < 2; i++) {
                if (!media_param(p, len, "v", versions[i]))
                    continue;
                json_t *d = kc_discovery_aggregated(core, versions[i]);
                char ct[128];
                snprintf(ct, sizeof ct,
                         "application/json;g=apidiscovery.k8s.io;v=%s;as=APIGroupDiscoveryList",
                         versions[i]);
                char *s = json_dumps(d, JSON_COMPACT);
                json_decref(d);
                kc_response_set(resp, 200, ct, s, strlen(s));
                return;
            }
        }
        if (!end)
            break;
        p = end + 1;
    }
    json_t *d = core ? kc_discovery_api_versions() : kc_discovery_group_list();
    kc_respond_json(resp, 200, d);
    json_decref(d);
}

static void serve_metrics(struct kc_server *srv, struct kc_response *resp)
{
    struct kc_storage_stats s;
    char *text = NULL;
    size_t len = 0;
    kc_storage_stats(srv->storage, &s);
    FILE *f = open_memstream(&text, &len);
    if (!f)
        abort();
    fprintf(f,
            "# HELP kubec_storage_commits_total Group commits (one sync each).\n"
            "# TYPE kubec_storage_commits_total counter\n"
            "kubec_storage_commits_total %llu\n"
            "# HELP kubec_storage_writes_total Writes committed.\n"
            "# TYPE kubec_storage_writes_total counter\n"
            "kubec_storage_writes_total %llu\n"
            "# HELP kubec_storage_commit_seconds_total Time the committer spent applying and "
            "committing groups.\n"
            "# TYPE kubec_storage_commit_seconds_total counter\n"
            "kubec_storage_commit_seconds_total %.6f\n"
            "# HELP kubec_storage_sync_seconds_total Of which in the LMDB commit (page writes "
            "and sync).\n"
            "# TYPE kubec_storage_sync_seconds_total counter\n"
            "kubec_storage_sync_seconds_total %.6f\n"
            "# HELP kubec_storage_revision Current resourceVersion.\n"
            "# TYPE kubec_storage_revision gauge\n"
            "kubec_storage_revision %llu\n"
            "# HELP kubec_watchers Watch streams waiting for events.\n"
            "# TYPE kubec_watchers gauge\n"
            "kubec_watchers %zu\n",
            (unsigned long long)s.commits, (unsigned long long)s.writes, (double)s.commit_ns / 1e9,
            (double)s.sync_ns / 1e9, (unsigned long long)kc_storage_revision(srv->storage),
            kc_hub_waiters(srv->hub));
    kc_metrics_write(f);
    fclose(f);
    kc_response_set(resp, 200, "text/plain; version=0.0.4", text, len);
}

/* Non-resource endpoints. Returns true when the path was one of them. */
static bool serve_non_resource(struct kc_server *srv, const struct kc_request *req,
                               struct kc_response *resp)
{
    const char *path = req->path;
    if (strcmp(path, "/version") == 0 || strcmp(path, "/version/") == 0) {
        serve_version(resp);
        return true;
    }
    if (prefix_path(path, "/healthz") || prefix_path(path, "/livez") ||
        prefix_path(path, "/readyz")) {
        if (kc_req_query(req, "verbose"))
            kc_respond_text(resp, 200, "text/plain; charset=utf-8",
                            "[+]ping ok\n[+]log ok\n[+]etcd ok\nhealthz check passed\n");
        else
            kc_respond_text(resp, 200, "text/plain; charset=utf-8", "ok");
        return true;
    }
    if (strcmp(path, "/metrics") == 0) {
        serve_metrics(srv, resp);
        return true;
    }
    if (strcmp(path, "/api") == 0 || strcmp(path, "/api/") == 0) {
        serve_discovery_root(req, true, resp);
        return true;
    }
    if (strcmp(path, "/apis") == 0 || strcmp(path, "/apis/") == 0) {
        serve_discovery_root(req, false, resp);
        return true;
    }
    if (prefix_path(path, "/openapi")) {
        kc_openapi_serve(req, resp);
        return true;
    }
    if (strcmp(path, "/api/v1") == 0 || strcmp(path, "/api/v1/") == 0) {
        json_t *d = kc_discovery_resource_list("", "v1");
        kc_respond_json(resp, 200, d);
        json_decref(d);
        return true;
    }
    if (strncmp(path, "/apis/", 6) == 0) {
        char g[128] = "", v[64] = "";
        const char *p = path + 6;
        size_t gl = strcspn(p, "/");
        if (gl == 0 || gl >= sizeof g)
            return false;
        memcpy(g, p, gl);
        p += gl;
        if (*p == '/')
            p++;
        size_t vl = strcspn(p, "/");
        if (vl >= sizeof v)
            return false;
        memcpy(v, p, vl);
        p += vl;
        if (*p == '/')
            p++;
        if (*p)
            return false; /* deeper: a resource path */
        json_t *d = vl ? kc_discovery_resource_list(g, v) : kc_discovery_group(g);
        if (!d)
            respond_not_found(resp);
        else
            kc_respond_json(resp, 200, d);
        json_decref(d);
        return true;
    }
    return false;
}

/* SelfSubjectAccessReview (auth can-i) and SelfSubjectReview (auth whoami): answered from
 * the requester's identity, never stored. */
static void serve_review(struct kc_server *srv, const struct kc_request *req,
                         const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    json_t *obj = NULL;
    if (kc_decode_body(req, ri->r, &obj, &st)) {
        kc_respond_status(resp, &st);
        kc_status_release(&st);
        return;
    }
    char av[128];
    kc_resource_api_version(ri->r, av, sizeof av);
    json_object_set_new(obj, "apiVersion", json_string(av));
    json_object_set_new(obj, "kind", json_string(ri->r->kind));
    json_object_set_new(kc_json_ensure_obj(obj, "metadata"), "creationTimestamp", json_null());
    if (strcmp(ri->r->resource, "selfsubjectreviews") == 0) {
        json_t *groups = json_array();
        for (int i = 0; i < req->ngroups; i++)
            json_array_append_new(groups, json_string(req->groups[i]));
        json_object_set_new(obj, "status",
                            json_pack("{s:{s:s, s:o}}", "userInfo", "username",
                                      req->user ? req->user : "system:anonymous", "groups",
                                      groups));
    } else {
        json_t *ra = kc_json_path(obj, "spec.resourceAttributes");
        bool allowed;
        if (ra) {
            struct kc_attrs a = {.user = req->user ? req->user : "system:anonymous",
                                 .groups = req->groups,
                                 .ngroups = req->ngroups,
                                 .verb = kc_json_str(ra, "verb") ? kc_json_str(ra, "verb") : "",
                                 .group = kc_json_str(ra, "group") ? kc_json_str(ra, "group") : "",
                                 .resource =
                                     kc_json_str(ra, "resource") ? kc_json_str(ra, "resource") : "",
                                 .subresource = kc_json_str(ra, "subresource"),
                                 .ns = kc_json_str(ra, "namespace"),
                                 .name = kc_json_str(ra, "name")};
            allowed = kc_authorize(srv, &a);
        } else {
            /* non-resource URLs (discovery, health) are open to every authenticated user */
            allowed = req->authenticated;
        }
        json_t *status = json_object();
        json_object_set_new(status, "allowed", json_boolean(allowed));
        json_object_set_new(obj, "status", status);
    }
    kc_respond_json(resp, 201, obj);
    json_decref(obj);
}

/* TokenRequest (serviceaccounts/NAME/token): a signed token for an existing account. */
static void serve_token_request(struct kc_server *srv, const struct kc_request *req,
                                const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    json_t *sa = NULL, *tr = NULL;
    char err[256];
    if (req->body_len >= 4 && kc_pb_is_k8s((const unsigned char *)req->body, req->body_len)) {
        if (kc_pb_decode_object((const unsigned char *)req->body, req->body_len, &tr, err,
                                sizeof err) != 0) {
            kc_status_bad_request(&st, "%s", err);
            goto done;
        }
    } else if (kc_decode_json_object(req, &tr, &st)) {
        goto done;
    }
    if (kc_registry_get(srv, ri->r, ri->ns, ri->name, &sa, NULL, &st))
        goto done;
    long long secs = kc_json_int(tr, "spec.expirationSeconds", 3600);
    if (secs < 600)
        secs = 600; /* upstream's minimum */
    long exp = 0;
    char *token =
        kc_satoken_issue(ri->ns, ri->name, kc_json_str(sa, "metadata.uid"), (long)secs, &exp);
    if (!token) {
        kc_status_internal(&st, "cannot sign the token");
        goto done;
    }
    char ts[40], ets[40];
    kc_time_rfc3339(time(NULL), ts, sizeof ts);
    kc_time_rfc3339((time_t)exp, ets, sizeof ets);
    json_t *auds = json_object_get(json_object_get(tr, "spec"), "audiences");
    json_t *out = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:s}, s:{s:o, s:I}, s:{s:s, s:s}}", "kind", "TokenRequest",
        "apiVersion", "authentication.k8s.io/v1", "metadata", "name", ri->name, "namespace", ri->ns,
        "creationTimestamp", ts, "spec", "audiences",
        auds ? json_incref(auds) : json_pack("[s]", "https://kubernetes.default.svc.cluster.local"),
        "expirationSeconds", (json_int_t)secs, "status", "token", token, "expirationTimestamp",
        ets);
    free(token);
    kc_respond_json(resp, 201, out);
    json_decref(out);
done:
    if (st.code)
        kc_respond_status(resp, &st);
    kc_status_release(&st);
    json_decref(sa);
    json_decref(tr);
}

static void api_serve(struct kc_server *srv, const struct kc_request *req, struct kc_response *resp)
{
    struct kc_reqinfo ri;
    const char *m = req->method;

    if (!req->authenticated && !srv->opt.anonymous_auth) {
        struct kc_status st = KC_STATUS_INIT;
        kc_status_set(&st, 401, "Unauthorized", "Unauthorized");
        kc_respond_status(resp, &st);
        kc_status_release(&st);
        return;
    }
    if (serve_non_resource(srv, req, resp))
        return;
    if (!parse_resource_path(req->path, &ri)) {
        respond_not_found(resp);
        return;
    }
    ri.r = kc_resource_find(ri.group, ri.version, ri.resource);
    if (!ri.r || (ri.has_ns && !ri.r->namespaced)) {
        respond_not_found(resp);
        return;
    }
    if (ri.sub[0]) {
        bool ok = (strcmp(ri.sub, "status") == 0 && (ri.r->subresources & KC_SUB_STATUS)) ||
                  (strcmp(ri.sub, "scale") == 0 && (ri.r->subresources & KC_SUB_SCALE)) ||
                  (strcmp(ri.sub, "binding") == 0 && (ri.r->subresources & KC_SUB_BINDING)) ||
                  (strcmp(ri.sub, "log") == 0 && (ri.r->subresources & KC_SUB_LOG)) ||
                  ((strcmp(ri.sub, "exec") == 0 || strcmp(ri.sub, "attach") == 0) &&
                   (ri.r->subresources & KC_SUB_EXEC)) ||
                  (strcmp(ri.sub, "token") == 0 && (ri.r->subresources & KC_SUB_TOKEN) &&
                   strcmp(m, "POST") == 0) ||
                  (strcmp(ri.sub, "finalize") == 0 && (ri.r->subresources & KC_SUB_FINALIZE) &&
                   strcmp(m, "PUT") == 0);
        if (!ok) {
            respond_not_found(resp);
            return;
        }
    }
    if (!acceptable(req, !ri.r->create_only)) {
        struct kc_status st = KC_STATUS_INIT;
        kc_status_set(&st, 406, "NotAcceptable", "only the following media types are accepted: %s",
                      ri.r->create_only ? "application/json"
                                        : "application/json, "
                                          "application/json;as=Table;v=v1;g=meta.k8s.io");
        kc_respond_status(resp, &st);
        kc_status_release(&st);
        return;
    }
    /* A namespaced object always lives in a namespace: writes and single-object reads
     * need one in the URL. */
    bool need_ns = ri.r->namespaced && (ri.name[0] || strcmp(m, "POST") == 0);
    if (need_ns && !ri.has_ns) {
        respond_not_found(resp);
        return;
    }
    const char *w = kc_req_query(req, "watch");
    bool watch = ri.watch_prefix || (w && (strcmp(w, "true") == 0 || strcmp(w, "1") == 0));
    bool is_log = strcmp(ri.sub, "log") == 0; /* get pods/log, which follows rather than watches */
    if (is_log)
        watch = false;

    if (ri.r->create_only) {
        if (strcmp(m, "POST") == 0 && !ri.name[0])
            serve_review(srv, req, &ri, resp);
        else
            respond_method_not_allowed(resp);
        return;
    }
    /* RBAC */
    const char *verb = strcmp(m, "GET") == 0      ? (watch        ? "watch"
                                                     : ri.name[0] ? "get"
                                                                  : "list")
                       : strcmp(m, "POST") == 0   ? "create"
                       : strcmp(m, "PUT") == 0    ? "update"
                       : strcmp(m, "PATCH") == 0  ? "patch"
                       : strcmp(m, "DELETE") == 0 ? (ri.name[0] ? "delete" : "deletecollection")
                                                  : "unknown";
    struct kc_attrs attrs = {.user = req->user ? req->user : "system:anonymous",
                             .groups = req->groups,
                             .ngroups = req->ngroups,
                             .verb = verb,
                             .group = ri.r->group,
                             .resource = ri.r->resource,
                             .subresource = ri.sub,
                             .ns = ri.has_ns ? ri.ns : "",
                             .name = ri.name};
    if (!kc_authorize(srv, &attrs)) {
        struct kc_status st = KC_STATUS_INIT;
        char msg[1024];
        kc_forbidden_message(&attrs, msg, sizeof msg);
        kc_status_set(&st, 403, "Forbidden", "%s", msg);
        kc_status_set_details(&st, ri.name[0] ? ri.name : NULL, ri.r->group, ri.r->resource);
        kc_respond_status(resp, &st);
        kc_status_release(&st);
        return;
    }

    int mverb = kc_metric_verb(verb);
    uint64_t cpu0 = kc_thread_cpu_ns(), wall0 = kc_mono_ns();
    if (is_log) {
        if (strcmp(m, "GET") == 0)
            kc_handle_pod_log(srv, req, &ri, resp);
        else
            respond_method_not_allowed(resp);
    } else if (strcmp(ri.sub, "exec") == 0 || strcmp(ri.sub, "attach") == 0) {
        if (strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0)
            kc_handle_pod_exec(srv, req, &ri, resp);
        else
            respond_method_not_allowed(resp);
    } else if (strcmp(m, "GET") == 0) {
        if (watch)
            kc_handle_watch(srv, req, &ri, resp);
        else if (ri.name[0])
            kc_handle_get(srv, req, &ri, resp);
        else
            kc_handle_list(srv, req, &ri, resp);
    } else if (ri.watch_prefix) {
        respond_method_not_allowed(resp);
    } else if (strcmp(m, "POST") == 0) {
        if (!ri.name[0])
            kc_handle_create(srv, req, &ri, resp);
        else if (strcmp(ri.sub, "binding") == 0)
            kc_handle_binding(srv, req, &ri, resp);
        else if (strcmp(ri.sub, "token") == 0)
            serve_token_request(srv, req, &ri, resp);
        else
            respond_method_not_allowed(resp);
    } else if (strcmp(m, "PUT") == 0) {
        if (ri.name[0] && strcmp(ri.sub, "binding") != 0)
            kc_handle_update(srv, req, &ri, resp);
        else
            respond_method_not_allowed(resp);
    } else if (strcmp(m, "PATCH") == 0) {
        if (ri.name[0] && strcmp(ri.sub, "binding") != 0)
            kc_handle_patch(srv, req, &ri, resp);
        else
            respond_method_not_allowed(resp);
    } else if (strcmp(m, "DELETE") == 0) {
        if (ri.sub[0])
            respond_method_not_allowed(resp);
        else if (ri.name[0])
            kc_handle_delete(srv, req, &ri, resp);
        else
            kc_handle_deletecollection(srv, req, &ri, resp);
    } else {
        respond_method_not_allowed(resp);
    }
    kc_metrics_request(ri.r, mverb, ri.sub, kc_thread_cpu_ns() - cpu0, kc_mono_ns() - wall0);
}

/* Max-in-flight limits, as upstream's: reads and writes each have a budget; watches and
 * logs are long-running and do not count. Over budget: 429 with Retry-After. */
void kc_api_serve(struct kc_server *srv, const struct kc_request *req, struct kc_response *resp)
{
    const char *w = kc_req_query(req, "watch");
    size_t pl = strlen(req->path);
    bool watch = (w && (!strcmp(w, "true") || !strcmp(w, "1"))) || strstr(req->path, "/watch/") ||
                 (pl > 4 && !strcmp(req->path + pl - 4, "/log")) ||
                 (pl > 5 && !strcmp(req->path + pl - 5, "/exec"));
    bool mutating = strcmp(req->method, "GET") && strcmp(req->method, "HEAD");
    int *counter = mutating ? &srv->mutating_inflight : &srv->inflight;
    int limit = mutating ? srv->opt.max_mutating_inflight : srv->opt.max_inflight;
    if (watch || limit <= 0) {
        api_serve(srv, req, resp);
        return;
    }
    if (__atomic_add_fetch(counter, 1, __ATOMIC_ACQ_REL) > limit) {
        __atomic_sub_fetch(counter, 1, __ATOMIC_ACQ_REL);
        struct kc_status st = KC_STATUS_INIT;
        kc_status_set(&st, 429, "TooManyRequests", "Too many requests, please try again later.");
        st.details = json_pack("{s:i}", "retryAfterSeconds", 1);
        kc_respond_status(resp, &st);
        kc_status_release(&st);
        resp->retry_after = 1;
        return;
    }
    api_serve(srv, req, resp);
    __atomic_sub_fetch(counter, 1, __ATOMIC_ACQ_REL);
}
