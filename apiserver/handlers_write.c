/* POST, PUT, PATCH and DELETE, plus the scale and binding subresources. */
#include "apiserver/api_internal.h"
#include "apiserver/managedfields.h"
#include "apiserver/registry.h"
#include "apiserver/registry_pods.h"
#include "apiserver/server.h"
#include "apiserver/storage/storage.h"
#include "lib/jsonx.h"
#include "lib/patch.h"
#include "lib/selector.h"
#include "lib/yaml.h"
#include "openapi/fieldcheck.h"
#include "openapi/smp_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Objects come back from the registry in the storage version, shared with watchers: an
 * older API version gets a converted copy. Takes over obj's reference. */
static json_t *external(const struct kc_resource *r, json_t *obj)
{
    if (!obj || !r->convert_out || json_is_null(obj) ||
        strcmp(json_string_value(json_object_get(obj, "kind"))
                   ? json_string_value(json_object_get(obj, "kind"))
                   : "",
               r->kind) != 0)
        return obj;
    json_t *c = json_deep_copy(obj);
    json_decref(obj);
    kc_resource_to_external(r, c);
    return c;
}

static void respond_result(struct kc_response *resp, int code, json_t *obj, struct kc_status *st,
                           int rc)
{
    if (rc == 0)
        kc_respond_json(resp, code, obj);
    else
        kc_respond_status(resp, st);
    json_decref(obj);
    kc_status_release(st);
}

/* respond_result for a write whose stored text the registry handed back (text, taken;
 * may be NULL): the answer is those bytes, not the object serialized a second time, when
 * the client's version is the storage version. */
static void respond_written(struct kc_response *resp, int code, const struct kc_resource *r,
                            json_t *obj, char *text, struct kc_status *st, int rc)
{
    if (rc == 0 && text && !r->convert_out) {
        kc_response_set(resp, code, "application/json", text, strlen(text));
        json_decref(obj);
        kc_status_release(st);
        return;
    }
    free(text);
    respond_result(resp, code, obj, st, rc);
}

static int check_field_validation(const struct kc_request *req, struct kc_status *st)
{
    const char *fv = kc_req_query(req, "fieldValidation");
    if (!fv || !*fv || !strcmp(fv, "Strict") || !strcmp(fv, "Warn") || !strcmp(fv, "Ignore"))
        return 0;
    return kc_status_bad_request(st,
                                 "fieldValidation: Unsupported value: \"%s\": supported values: "
                                 "\"Ignore\", \"Strict\", \"Warn\"",
                                 fv);
}

/* fieldValidation: unknown fields fail the request (Strict), become Warning headers (Warn,
 * the default) or pass (Ignore); values of the wrong type are always 422 Invalid. */
/* check_fields on *objp; when shared, *objp may share members with read-only objects and
 * is replaced by a deep copy before unknown fields are pruned from it. */
static int check_fields_ex(const struct kc_request *req, const char *group, const char *version,
                           const char *kind, json_t **objp, bool shared, const char *dups,
                           struct kc_response *resp, struct kc_status *st)
{
    json_t *obj = *objp;
    const struct kc_schema_type *t = kc_schema_for_kind(group, version, kind);
    const char *fv = kc_req_query(req, "fieldValidation");
    bool strict = fv && strcmp(fv, "Strict") == 0;
    struct kc_fieldcheck fc = {0};
    int ret = 0;
    if (!dups)
        dups = "";
    if (t)
        kc_fieldcheck_run(t, obj, &fc);
    if (t && kc_errlist_len(fc.types)) {
        const char *name =
            json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
        kc_status_invalid(st, group, kind, name, fc.types);
        ret = -1;
    } else if ((fc.nunknown || *dups) && strict) {
        /* upstream's strict decoding error: the unknown fields, then the duplicates */
        char list[2048];
        size_t off = 0;
        list[0] = 0;
        for (size_t i = 0; i < fc.nunknown && off < sizeof list - 1; i++) {
            int n = snprintf(list + off, sizeof list - off, "%sunknown field \"%s\"", i ? ", " : "",
                             fc.unknown[i]);
            if (n < 0)
                break;
            off += (size_t)n;
        }
        for (const char *p = dups, *nl; (nl = strchr(p, '\n')) && off < sizeof list - 1;
             p = nl + 1) {
            int n = snprintf(list + off, sizeof list - off, "%sduplicate field \"%.*s\"",
                             off ? ", " : "", (int)(nl - p), p);
            if (n < 0)
                break;
            off += (size_t)n;
        }
        kc_status_bad_request(st,
                              "%s in version \"%s\" cannot be handled as a %s: strict decoding "
                              "error: %s",
                              kind, version, kind, list);
        ret = -1;
    } else if (!(fv && strcmp(fv, "Ignore") == 0)) {
        for (size_t i = 0; i < fc.nunknown; i++) {
            char w[1200];
            snprintf(w, sizeof w, "unknown field \\\"%s\\\"", fc.unknown[i]);
            kc_response_warn(resp, w);
        }
        for (const char *p = dups, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
            char w[1200];
            snprintf(w, sizeof w, "duplicate field \\\"%.*s\\\"", (int)(nl - p), p);
            kc_response_warn(resp, w);
        }
    }
    if (ret == 0 && fc.nunknown) {
        if (shared) {
            *objp = json_deep_copy(obj);
            json_decref(obj);
            obj = *objp;
        }
        kc_schema_prune(t, obj);
    }
    if (t)
        kc_fieldcheck_release(&fc);
    return ret;
}

static int check_fields(const struct kc_request *req, const char *group, const char *version,
                        const char *kind, json_t *obj, struct kc_response *resp,
                        struct kc_status *st)
{
    return check_fields_ex(req, group, version, kind, &obj, false, NULL, resp, st);
}

/* The field manager of a write: the fieldManager parameter, else the first token of the
 * User-Agent (as upstream does); buffers hold the strings wo points to. */
static void set_manager(const struct kc_request *req, const struct kc_reqinfo *ri,
                        struct kc_write_opts *wo, char *mgr, size_t n, char *av, size_t avn)
{
    const char *fm = kc_req_query(req, "fieldManager");
    if (fm && *fm) {
        snprintf(mgr, n, "%s", fm);
    } else {
        const char *ua = kc_req_header(req, "User-Agent");
        snprintf(mgr, n, "%.*s", ua ? (int)strcspn(ua, "/ ") : 0, ua ? ua : "");
        if (!*mgr)
            snprintf(mgr, n, "unknown");
    }
    kc_resource_api_version(ri->r, av, avn);
    wo->manager = mgr;
    wo->manager_api_version = av;
}

void kc_handle_create(struct kc_server *srv, const struct kc_request *req,
                      const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    json_t *obj = NULL, *out = NULL;
    char *text = NULL;
    struct kc_write_opts wo = {.text_out = &text};
    int rc = -1;
    char mgr[160], av[128];
    if (kc_parse_dry_run(req, &wo.dry_run, &st) || check_field_validation(req, &st))
        goto done;
    set_manager(req, ri, &wo, mgr, sizeof mgr, av, sizeof av);
    char dup[1024];
    if (kc_decode_body_dup(req, ri->r, &obj, dup, sizeof dup, &st) ||
        check_fields_ex(req, ri->r->group, ri->r->version, ri->r->kind, &obj, false, dup, resp,
                        &st))
        goto done;
    const char *kind = kc_json_str(obj, "kind");
    if (kind && *kind && strcmp(kind, ri->r->kind) != 0) {
        kc_status_bad_request(&st,
                              "the kind in the data (%s) does not match the expected kind "
                              "(%s)",
                              kind, ri->r->kind);
        goto done;
    }
    const char *name = kc_json_str(obj, "metadata.name");
    const char *gen = kc_json_str(obj, "metadata.generateName");
    if ((!name || !*name) && (!gen || !*gen)) {
        struct kc_errlist *l = kc_errlist_new();
        kc_err_required(l, "metadata.name", "name or generateName is required");
        kc_status_invalid(&st, ri->r->group, ri->r->kind, "", l);
        kc_errlist_free(l);
        goto done;
    }
    kc_resource_to_storage(ri->r, obj);
    rc = kc_registry_create(srv, kc_resource_storage(ri->r), ri->ns, obj, &wo, &out, &st);
    out = external(ri->r, out);
done:
    json_decref(obj);
    respond_written(resp, 201, ri->r, out, text, &st, rc);
}

/* ---- scale ---- */

static json_t *scale_of(const json_t *obj)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *m = json_object();
    static const char *const keep[] = {
        "name", "namespace", "uid", "resourceVersion", "creationTimestamp", NULL};
    for (int i = 0; keep[i]; i++) {
        json_t *v = json_object_get(meta, keep[i]);
        if (v)
            json_object_set_new(m, keep[i], json_deep_copy(v));
    }
    char *sel = kc_label_selector_json_to_string(kc_json_path(obj, "spec.selector"));
    json_t *s =
        json_pack("{s:s, s:s, s:o, s:{s:I}, s:{s:I, s:s}}", "kind", "Scale", "apiVersion",
                  "autoscaling/v1", "metadata", m, "spec", "replicas",
                  (json_int_t)kc_json_int(obj, "spec.replicas", 1), "status", "replicas",
                  (json_int_t)kc_json_int(obj, "status.replicas", 0), "selector", sel ? sel : "");
    free(sel);
    return s;
}

void kc_handle_scale_get(struct kc_server *srv, const struct kc_reqinfo *ri,
                         struct kc_response *resp);
void kc_handle_scale_get(struct kc_server *srv, const struct kc_reqinfo *ri,
                         struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    json_t *obj = NULL, *out = NULL;
    int rc = kc_registry_get(srv, ri->r, ri->ns, ri->name, &obj, NULL, &st);
    if (rc == 0)
        out = scale_of(obj);
    json_decref(obj);
    respond_result(resp, 200, out, &st, rc);
}

/* Applies a new Scale (PUT body or patched Scale) to the owning object. */
static int apply_scale(struct kc_server *srv, const struct kc_reqinfo *ri, const json_t *scale,
                       const struct kc_write_opts *wo, json_t **out, struct kc_status *st)
{
    json_t *rep = kc_json_path(scale, "spec.replicas");
    if (rep && !json_is_integer(rep))
        return kc_status_bad_request(st,
                                     "Scale.autoscaling \"%s\" is invalid: spec.replicas "
                                     "must be an integer",
                                     ri->name);
    long long replicas = rep ? json_integer_value(rep) : 0;
    if (replicas < 0) {
        struct kc_errlist *l = kc_errlist_new();
        kc_err_invalid(l, "spec.replicas", rep, "must be greater than or equal to 0");
        kc_status_invalid(st, "autoscaling", "Scale", ri->name, l);
        kc_errlist_free(l);
        return -1;
    }
    const char *want_rv = kc_json_str(scale, "metadata.resourceVersion");
    for (int attempt = 0; attempt < KC_WRITE_RETRIES; attempt++) {
        json_t *cur = NULL, *res = NULL;
        uint64_t rev;
        if (kc_registry_get(srv, ri->r, ri->ns, ri->name, &cur, &rev, st))
            return -1;
        json_t *obj = json_deep_copy(cur);
        json_decref(cur);
        json_object_set_new(kc_json_ensure_obj(obj, "spec"), "replicas", json_integer(replicas));
        char rv[24];
        snprintf(rv, sizeof rv, "%llu", (unsigned long long)rev);
        json_object_set_new(kc_json_ensure_obj(obj, "metadata"), "resourceVersion",
                            json_string(want_rv && *want_rv ? want_rv : rv));
        int rc =
            kc_registry_update(srv, ri->r, ri->ns, ri->name, obj, KC_UPDATE_MAIN, wo, &res, st);
        json_decref(obj);
        if (rc == 0) {
            *out = scale_of(res);
            json_decref(res);
            return 0;
        }
        if (st->code != 409 || (want_rv && *want_rv))
            return -1;
        kc_status_release(st);
    }
    return -1;
}

void kc_handle_update(struct kc_server *srv, const struct kc_request *req,
                      const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    json_t *obj = NULL, *out = NULL;
    char *text = NULL;
    struct kc_write_opts wo = {0};
    int rc = -1;
    char mgr[160], av[128];
    if (kc_parse_dry_run(req, &wo.dry_run, &st) || check_field_validation(req, &st))
        goto done;
    set_manager(req, ri, &wo, mgr, sizeof mgr, av, sizeof av);
    if (strcmp(ri->sub, "scale") == 0) {
        if (kc_decode_json_object(req, &obj, &st) ||
            check_fields(req, "autoscaling", "v1", "Scale", obj, resp, &st))
            goto done;
        rc = apply_scale(srv, ri, obj, &wo, &out, &st);
        goto done;
    }
    char dup[1024];
    if (kc_decode_body_dup(req, ri->r, &obj, dup, sizeof dup, &st) ||
        check_fields_ex(req, ri->r->group, ri->r->version, ri->r->kind, &obj, false, dup, resp,
                        &st))
        goto done;
    const char *name = kc_json_str(obj, "metadata.name");
    if (!name || strcmp(name, ri->name) != 0) {
        kc_status_bad_request(&st,
                              "the name of the object (%s) does not match the name on the "
                              "URL (%s)",
                              name ? name : "", ri->name);
        goto done;
    }
    const char *ns = kc_json_str(obj, "metadata.namespace");
    if (ri->r->namespaced && ns && *ns && strcmp(ns, ri->ns) != 0) {
        kc_status_bad_request(&st, "the namespace of the provided object does not match the "
                                   "namespace sent on the request");
        goto done;
    }
    kc_resource_to_storage(ri->r, obj);
    wo.text_out = &text;
    rc = kc_registry_update(srv, kc_resource_storage(ri->r), ri->ns, ri->name, obj,
                            strcmp(ri->sub, "status") == 0     ? KC_UPDATE_STATUS
                            : strcmp(ri->sub, "finalize") == 0 ? KC_UPDATE_FINALIZE
                                                               : KC_UPDATE_MAIN,
                            &wo, &out, &st);
    out = external(ri->r, out);
done:
    json_decref(obj);
    respond_written(resp, 200, ri->r, out, text, &st, rc);
}

enum patch_type { PATCH_MERGE, PATCH_JSON, PATCH_STRATEGIC };

/* Duplicate keys of an apply configuration (dups: a line each): Strict refuses them, Warn
 * (the default) warns of each, as upstream's strict YAML decoding of the patch. -1 when
 * refused. */
static int check_apply_dups(const struct kc_request *req, const char *dups,
                            struct kc_response *resp, struct kc_status *st)
{
    const char *fv = kc_req_query(req, "fieldValidation");
    if (fv && !strcmp(fv, "Ignore"))
        return 0;
    if (fv && !strcmp(fv, "Strict")) {
        /* go-yaml's list: each line indented by two, the last without its newline */
        char list[1400];
        size_t off = 0;
        for (const char *p = dups, *nl; (nl = strchr(p, '\n')) && off < sizeof list; p = nl + 1) {
            int n = snprintf(list + off, sizeof list - off, "\n  %.*s", (int)(nl - p), p);
            if (n < 0)
                break;
            off += (size_t)n;
        }
        return kc_status_bad_request(st,
                                     "error strict decoding YAML: error converting YAML to JSON: "
                                     "yaml: unmarshal errors:%s",
                                     list);
    }
    for (const char *p = dups, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
        char w[600];
        /* the warning is a quoted header value: its quotes are escaped */
        size_t o = 0;
        for (const char *q = p; q < nl && o + 3 < sizeof w; q++) {
            if (*q == '"' || *q == '\\')
                w[o++] = '\\';
            w[o++] = *q;
        }
        w[o] = 0;
        kc_response_warn(resp, w);
    }
    return 0;
}

/* Server-side apply (PATCH with application/apply-patch+yaml): creates the object when it
 * does not exist (201), else merges the configuration with field ownership (200). */
static void handle_apply(struct kc_server *srv, const struct kc_request *req,
                         const struct kc_reqinfo *ri, struct kc_write_opts *wo,
                         struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    json_t *config = NULL, *out = NULL;
    int rc = -1;
    char err[256];
    const char *fm = kc_req_query(req, "fieldManager");
    const char *force = kc_req_query(req, "force");
    const struct kc_resource *sr = kc_resource_storage(ri->r);
    const struct kc_schema_type *t = kc_schema_for_kind(sr->group, sr->version, sr->kind);
    bool created = false;

    if (!fm || !*fm) {
        kc_status_set(&st, 422, "Invalid",
                      "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is "
                      "required for apply patch");
        goto done;
    }
    if (req->body_too_large) {
        kc_status_set(&st, 413, "RequestEntityTooLarge",
                      "Request entity too large: limit is 3145728");
        goto done;
    }
    char dups[1024];
    config = kc_yaml_parse_dups(req->body, req->body_len, err, sizeof err, dups, sizeof dups);
    if (!json_is_object(config)) {
        kc_status_bad_request(&st, "error decoding YAML: %s", json_is_object(config) ? "" : err);
        goto done;
    }
    char want[128];
    kc_resource_api_version(ri->r, want, sizeof want);
    const char *cav = kc_json_str(config, "apiVersion"), *ckind = kc_json_str(config, "kind");
    if (!cav || !ckind || strcmp(cav, want) != 0 || strcmp(ckind, ri->r->kind) != 0) {
        kc_status_bad_request(&st, "the apply configuration must have apiVersion %s and kind %s",
                              want, ri->r->kind);
        goto done;
    }
    json_t *meta = kc_json_ensure_obj(config, "metadata");
    const char *name = kc_json_str(meta, "name");
    if (name && strcmp(name, ri->name) != 0) {
        kc_status_bad_request(&st,
                              "the name of the object (%s) does not match the name on the "
                              "URL (%s)",
                              name, ri->name);
        goto done;
    }
    json_object_set_new(meta, "name", json_string(ri->name));
    if (ri->r->namespaced)
        json_object_set_new(meta, "namespace", json_string(ri->ns));
    json_object_del(meta, "managedFields");
    if (check_fields(req, ri->r->group, ri->r->version, ri->r->kind, config, resp, &st))
        goto done;
    if (*dups && check_apply_dups(req, dups, resp, &st))
        goto done;
    kc_resource_to_storage(ri->r, config);
    wo->applied = true;
    for (int attempt = 0; attempt < KC_WRITE_RETRIES; attempt++) {
        json_t *cur = NULL, *result = NULL;
        uint64_t rev = 0;
        kc_status_release(&st);
        if (kc_registry_get(srv, sr, ri->ns, ri->name, &cur, &rev, &st) != 0) {
            if (st.code != 404)
                goto done;
            kc_status_release(&st);
        }
        bool forced = force && !strcmp(force, "true");
        rc =
            kc_server_side_apply(t, cur, config, fm, forced, wo->manager_api_version, &result, &st);
        if (rc && st.code == 409 && cur && !strcmp(fm, "kubectl")) {
            /* Upgrade from client-side apply, as upstream does for kubectl: the fields of
             * the last-applied configuration pass to "kubectl" first, then the apply is
             * tried again. */
            json_t *anns = kc_json_path(cur, "metadata.annotations");
            const char *la = json_string_value(
                json_object_get(anns, "kubectl.kubernetes.io/last-applied-configuration"));
            json_t *last = la ? json_loads(la, 0, NULL) : NULL;
            if (json_is_object(last)) {
                kc_resource_to_storage(ri->r, last);
                json_t *forgive = kc_fieldset_of(t, last);
                kc_status_release(&st);
                rc = kc_server_side_apply_forgiving(t, cur, config, fm, forced, forgive,
                                                    wo->manager_api_version, &result, &st);
                json_decref(forgive);
            }
            json_decref(last);
        }
        if (rc) {
            json_decref(cur);
            goto done;
        }
        if (!cur) {
            rc = kc_registry_create(srv, sr, ri->ns, result, wo, &out, &st);
            created = rc == 0;
        } else {
            char rv[24];
            snprintf(rv, sizeof rv, "%llu", (unsigned long long)rev);
            json_object_set_new(kc_json_ensure_obj(result, "metadata"), "resourceVersion",
                                json_string(rv));
            rc = kc_registry_update(srv, sr, ri->ns, ri->name, result, KC_UPDATE_MAIN, wo, &out,
                                    &st);
        }
        json_decref(cur);
        json_decref(result);
        if (rc == 0 || st.code != 409 || !strcmp(st.reason, "Invalid"))
            break;
    }
done:
    json_decref(config);
    out = external(ri->r, out);
    respond_result(resp, created ? 201 : 200, out, &st, rc);
}

static int apply_patch(enum patch_type t, const struct kc_schema_type *schema, const json_t *cur,
                       const json_t *patch, json_t **out, struct kc_status *st)
{
    char err[512] = "";
    bool test_failed = false;
    switch (t) {
    case PATCH_MERGE:
        /* the result shares what the patch leaves alone with cur: see kc_handle_patch */
        *out = kc_merge_patch_shared(cur, patch);
        return *out ? 0 : kc_status_bad_request(st, "invalid merge patch");
    case PATCH_JSON:
        if (kc_json_patch(cur, patch, out, &test_failed, err, sizeof err) != 0) {
            kc_status_set(st, 422, "Invalid", "%s", err);
            st->details = json_pack("{s:[{s:s}]}", "causes", "message", err);
            return -1;
        }
        return 0;
    case PATCH_STRATEGIC:
        *out = schema ? kc_schema_strategic_merge_patch(schema, cur, patch, err, sizeof err)
                      : kc_strategic_merge_patch(cur, patch, err, sizeof err);
        return *out ? 0 : kc_status_bad_request(st, "%s", err);
    }
    return -1;
}

void kc_handle_patch(struct kc_server *srv, const struct kc_request *req,
                     const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    json_t *patch = NULL, *out = NULL;
    char *text = NULL;
    struct kc_write_opts wo = {0};
    enum patch_type pt;
    int rc = -1;
    char ctype[128];

    if (kc_parse_dry_run(req, &wo.dry_run, &st) || check_field_validation(req, &st))
        goto done;
    char mgr[160], av[128];
    set_manager(req, ri, &wo, mgr, sizeof mgr, av, sizeof av);
    kc_req_media_type(req, ctype, sizeof ctype);
    if (strcasecmp(ctype, "application/merge-patch+json") == 0)
        pt = PATCH_MERGE;
    else if (strcasecmp(ctype, "application/json-patch+json") == 0)
        pt = PATCH_JSON;
    else if (strcasecmp(ctype, "application/strategic-merge-patch+json") == 0)
        pt = PATCH_STRATEGIC;
    else if (strcasecmp(ctype, "application/apply-patch+yaml") == 0) {
        handle_apply(srv, req, ri, &wo, resp);
        return;
    } else {
        kc_status_set(&st, 415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json-patch+json, application/merge-patch+json, "
                      "application/strategic-merge-patch+json");
        goto done;
    }
    if (req->body_too_large) {
        kc_status_set(&st, 413, "RequestEntityTooLarge",
                      "Request entity too large: limit is 3145728");
        goto done;
    }
    json_error_t e;
    patch = kc_json_loadb(req->body, req->body_len); /* jansson for the error text */
    if (!patch)
        patch = json_loadb(req->body, req->body_len, 0, &e);
    if (!patch) {
        kc_status_bad_request(&st, "error decoding patch: %s", e.text);
        goto done;
    }
    if ((pt == PATCH_JSON && !json_is_array(patch)) ||
        (pt != PATCH_JSON && !json_is_object(patch))) {
        kc_status_bad_request(&st, pt == PATCH_JSON
                                       ? "json: cannot unmarshal object into Go value of type "
                                         "jsonpatch.Patch"
                                       : "error decoding patch: the patch must be a JSON object");
        goto done;
    }
    bool is_scale = strcmp(ri->sub, "scale") == 0;
    bool is_status = strcmp(ri->sub, "status") == 0;
    for (int attempt = 0; attempt < KC_WRITE_RETRIES; attempt++) {
        json_t *cur = NULL, *next = NULL, *view = NULL;
        uint64_t rev;
        kc_status_release(&st);
        /* read-only: the patch functions copy what they change */
        if (kc_registry_get_shared(srv, kc_resource_storage(ri->r), ri->ns, ri->name, &cur, &rev,
                                   &st))
            goto done;
        view = is_scale ? scale_of(cur) : external(ri->r, json_incref(cur));
        rc = apply_patch(is_scale ? (pt == PATCH_JSON ? PATCH_JSON : PATCH_MERGE) : pt,
                         kc_schema_for_kind(ri->r->group, ri->r->version, ri->r->kind), view, patch,
                         &next, &st);
        json_decref(view);
        if (rc) {
            json_decref(cur);
            goto done;
        }
        if (!json_is_object(next)) {
            json_decref(next);
            json_decref(cur);
            rc = kc_status_bad_request(&st, "the patched document is not an object");
            goto done;
        }
        /* A merge patch's result shares the members it leaves alone with cur, which is
         * read-only (it may be the object of a watch event): what is changed below in
         * place is copied first (metadata here, the whole object to prune or convert). */
        bool shared = pt == PATCH_MERGE && !is_scale;
        if (attempt == 0 &&
            check_fields_ex(req, is_scale ? "autoscaling" : ri->r->group,
                            is_scale ? "v1" : ri->r->version, is_scale ? "Scale" : ri->r->kind,
                            &next, shared, NULL, resp, &st)) {
            json_decref(next);
            json_decref(cur);
            rc = -1;
            goto done;
        }
        if (shared && ri->r->convert_in) {
            json_t *c = json_deep_copy(next);
            json_decref(next);
            next = c;
        }
        /* A resourceVersion in the patch is a precondition; otherwise pin the revision we
         * patched so a concurrent write makes us retry rather than lose it. */
        const char *prv = kc_json_str(patch, "metadata.resourceVersion");
        if (!prv || !*prv) {
            char rv[24];
            snprintf(rv, sizeof rv, "%llu", (unsigned long long)rev);
            json_t *meta = json_object_get(next, "metadata");
            json_object_set_new(next, "metadata",
                                json_is_object(meta) ? json_copy(meta) : json_object());
            json_object_set_new(json_object_get(next, "metadata"), "resourceVersion",
                                json_string(rv));
        }
        if (is_scale) {
            rc = apply_scale(srv, ri, next, &wo, &out, &st);
        } else {
            kc_resource_to_storage(ri->r, next);
            /* the object we just read and patched: no second read; a write in between
             * makes it a conflict, and the loop patches the newer state */
            struct kc_write_opts pwo = wo;
            pwo.current = cur;
            pwo.current_rev = rev;
            pwo.text_out = &text;
            rc = kc_registry_update(srv, kc_resource_storage(ri->r), ri->ns, ri->name, next,
                                    is_status ? KC_UPDATE_STATUS : KC_UPDATE_MAIN, &pwo, &out, &st);
        }
        json_decref(next);
        json_decref(cur);
        if (rc == 0 || st.code != 409 || (prv && *prv) || strcmp(st.reason, "Conflict") != 0)
            goto done;
    }
done:
    json_decref(patch);
    out = external(ri->r, out);
    respond_written(resp, 200, ri->r, out, text, &st, rc);
}

/* DeleteOptions from the body and the query. */
static int parse_delete_opts(const struct kc_request *req, json_t **body, struct kc_delete_opts *o,
                             struct kc_status *st)
{
    memset(o, 0, sizeof *o);
    o->grace_seconds = -1;
    *body = NULL;
    if (req->body_len > 0) {
        json_error_t e;
        *body = json_loadb(req->body, req->body_len, 0, &e);
        if (!json_is_object(*body)) {
            json_decref(*body);
            *body = NULL;
            return kc_status_bad_request(st, "couldn't decode DeleteOptions: %s", e.text);
        }
        json_t *g = json_object_get(*body, "gracePeriodSeconds");
        if (json_is_integer(g))
            o->grace_seconds = json_integer_value(g);
        o->propagation = kc_json_str(*body, "propagationPolicy");
        o->precondition_uid = kc_json_str(*body, "preconditions.uid");
        o->precondition_rv = kc_json_str(*body, "preconditions.resourceVersion");
        json_t *orphan = json_object_get(*body, "orphanDependents");
        if (json_is_true(orphan) && !o->propagation)
            o->propagation = "Orphan";
        json_t *dry = json_object_get(*body, "dryRun");
        if (json_is_array(dry) && json_array_size(dry) > 0)
            o->dry_run = true;
    }
    const char *g = kc_req_query(req, "gracePeriodSeconds");
    if (g && *g) {
        char *end;
        o->grace_seconds = strtoll(g, &end, 10);
        if (*end)
            return kc_status_bad_request(st, "invalid gracePeriodSeconds: %s", g);
    }
    const char *p = kc_req_query(req, "propagationPolicy");
    if (p && *p)
        o->propagation = p;
    if (o->propagation && strcmp(o->propagation, "Orphan") != 0 &&
        strcmp(o->propagation, "Background") != 0 && strcmp(o->propagation, "Foreground") != 0) {
        kc_status_set(st, 422, "Invalid",
                      "DeleteOptions.meta.k8s.io \"\" is invalid: propagationPolicy: Unsupported "
                      "value: \"%s\": supported values: \"Foreground\", \"Background\", "
                      "\"Orphan\", \"nil\"",
                      o->propagation);
        return -1;
    }
    bool dry = false;
    if (kc_parse_dry_run(req, &dry, st))
        return -1;
    if (dry)
        o->dry_run = true;
    if (o->grace_seconds < -1)
        o->grace_seconds = 0;
    return 0;
}

void kc_handle_delete(struct kc_server *srv, const struct kc_request *req,
                      const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    struct kc_delete_opts o;
    json_t *body = NULL, *out = NULL;
    bool gone = false;
    if (parse_delete_opts(req, &body, &o, &st)) {
        json_decref(body);
        respond_result(resp, 200, NULL, &st, -1);
        return;
    }
    int rc =
        kc_registry_delete(srv, kc_resource_storage(ri->r), ri->ns, ri->name, &o, &out, &gone, &st);
    out = external(ri->r, out);
    json_decref(body);
    if (rc == 0 && gone && strcmp(ri->r->resource, "pods") != 0 &&
        strcmp(ri->r->resource, "namespaces") != 0) {
        json_t *s = kc_status_success_json(ri->name, ri->r->group, ri->r->resource,
                                           kc_json_str(out, "metadata.uid"));
        json_decref(out);
        out = s;
    }
    respond_result(resp, 200, out, &st, rc);
}

struct names {
    char **v;
    size_t n, cap;
    const struct kc_list_opts *opts;
};

static int collect_names(void *arg, const char *key, const char *json, size_t len, uint64_t rev)
{
    struct names *c = arg;
    json_t *obj = json_loadb(json, len, 0, NULL);
    if (obj && kc_list_opts_match(c->opts, obj)) {
        if (c->n == c->cap) {
            c->cap = c->cap ? c->cap * 2 : 32;
            c->v = realloc(c->v, c->cap * sizeof *c->v);
            if (!c->v)
                abort();
        }
        c->v[c->n++] =
            strdup(kc_json_str(obj, "metadata.name") ? kc_json_str(obj, "metadata.name") : "");
    }
    json_decref(obj);
    return 0;
}

void kc_handle_deletecollection(struct kc_server *srv, const struct kc_request *req,
                                const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    struct kc_list_opts lo = {0};
    struct kc_delete_opts o;
    struct names c = {0};
    json_t *body = NULL, *items = json_array();
    char prefix[600], av[128];
    uint64_t snap;
    int rc = -1;

    if (ri->r->namespaced && !ri->has_ns) {
        kc_status_set(&st, 405, "MethodNotAllowed",
                      "the server does not allow this method on the requested resource");
        goto done;
    }
    if (parse_delete_opts(req, &body, &o, &st) || kc_parse_selectors(req, ri->r, &lo, &st))
        goto done;
    c.opts = &lo;
    kc_registry_prefix(ri->r, ri->has_ns ? ri->ns : NULL, prefix, sizeof prefix);
    if (kc_storage_list(srv->storage, prefix, NULL, 0, collect_names, &c, &snap)) {
        kc_status_internal(&st, "storage error");
        goto done;
    }
    for (size_t i = 0; i < c.n; i++) {
        json_t *out = NULL;
        bool gone;
        struct kc_status one = KC_STATUS_INIT;
        if (kc_registry_delete(srv, kc_resource_storage(ri->r), ri->ns, c.v[i], &o, &out, &gone,
                               &one) == 0)
            json_array_append_new(items, external(ri->r, out));
        kc_status_release(&one);
    }
    rc = 0;
done:
    for (size_t i = 0; i < c.n; i++)
        free(c.v[i]);
    free(c.v);
    json_decref(body);
    kc_list_opts_release(&lo);
    if (rc == 0) {
        kc_resource_api_version(ri->r, av, sizeof av);
        json_t *list = json_pack("{s:s, s:s, s:{}, s:O}", "kind", ri->r->list_kind, "apiVersion",
                                 av, "metadata", "items", items);
        respond_result(resp, 200, list, &st, 0);
    } else {
        respond_result(resp, 200, NULL, &st, -1);
    }
    json_decref(items);
}

void kc_handle_binding(struct kc_server *srv, const struct kc_request *req,
                       const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    json_t *b = NULL;
    int rc = -1;
    if (kc_decode_json_object(req, &b, &st))
        goto done;
    rc = kc_pod_bind(srv, ri->ns, ri->name, b, &st);
done:
    json_decref(b);
    if (rc == 0) {
        json_t *s = json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status", "apiVersion", "v1",
                              "metadata", "status", "Success", "code", 201);
        respond_result(resp, 201, s, &st, 0);
    } else {
        respond_result(resp, 200, NULL, &st, -1);
    }
}
