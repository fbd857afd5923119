/* /openapi/v2 and /openapi/v3, built once from the schema tables (openapi/schema.h) and
 * the resource table, then served from memory with ETags.
 *
 * v3: the root lists one document per group-version; each names its types under
 * components.schemas (with x-kubernetes-group-version-kind on the kinds) and declares, per
 * kind, a PATCH operation with the fieldValidation, dryRun and fieldManager parameters: that
 * is how kubectl learns that this server validates fields itself.
 * v2: JSON with every definition; protobuf requests (kubectl <= 1.28 asks only for that)
 * get the smallest valid gnostic document, which lets apply and edit proceed with
 * server-side validation. */
#include "openapi/openapi.h"

#include "apiserver/resources.h"
#include "openapi/openapi_pb.h"
#include "openapi/schema.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GIT_VERSION "v1.33.1"

struct doc {
    char path[96]; /* "api/v1", "apis/apps/v1" */
    char *text;
    size_t len;
    char hash[17];
};

static struct {
    pthread_once_t once;
    struct doc v3[16];
    size_t nv3;
    char *v3_root;
    char *v2;
    size_t v2_len;
    char v2_hash[17];
    unsigned char *v2_pb;
    size_t v2_pb_len;
} docs = {PTHREAD_ONCE_INIT, {{{0}, NULL, 0, {0}}}, 0, NULL, NULL, 0, {0}, NULL, 0};

static void fnv_hex(const char *s, size_t n, char out[17])
{
    unsigned long long h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    snprintf(out, 17, "%016llX", h);
}

static const char *kind_type(int k)
{
    switch (k) {
    case KC_SK_STRING:
        return "string";
    case KC_SK_INTEGER:
        return "integer";
    case KC_SK_BOOLEAN:
        return "boolean";
    case KC_SK_NUMBER:
        return "number";
    default:
        return "object";
    }
}

static json_t *csv_array(const char *csv)
{
    json_t *a = json_array();
    const char *p = csv;
    while (p && *p) {
        size_t n = strcspn(p, ",");
        json_array_append_new(a, json_stringn(p, n));
        p += n;
        if (*p == ',')
            p++;
    }
    return a;
}

/* A reference to a named schema: v3 wraps it in allOf so siblings (description) stay. */
static json_t *ref_schema(const char *name, bool v3)
{
    char ref[256];
    snprintf(ref, sizeof ref, v3 ? "#/components/schemas/%s" : "#/definitions/%s", name);
    if (!v3)
        return json_pack("{s:s}", "$ref", ref);
    return json_pack("{s:[{s:s}]}", "allOf", "$ref", ref);
}

static json_t *item_schema(const struct kc_schema_field *f, bool v3)
{
    switch (f->kind) {
    case KC_SK_REF:
        return ref_schema(kc_schema_ref(f)->name, v3);
    case KC_SK_INT_OR_STRING:
        return ref_schema("io.k8s.apimachinery.pkg.util.intstr.IntOrString", v3);
    case KC_SK_QUANTITY:
        return ref_schema("io.k8s.apimachinery.pkg.api.resource.Quantity", v3);
    default: {
        json_t *s = json_pack("{s:s}", "type", kind_type(f->kind));
        if (f->format)
            json_object_set_new(s, "format", json_string(f->format));
        if (f->enum_values)
            json_object_set_new(s, "enum", csv_array(f->enum_values));
        return s;
    }
    }
}

static json_t *field_schema(const struct kc_schema_field *f, bool v3)
{
    json_t *s;
    if (f->container == KC_SC_LIST) {
        s = json_pack("{s:s, s:o}", "type", "array", "items", item_schema(f, v3));
        if (f->list_type)
            json_object_set_new(s, "x-kubernetes-list-type", json_string(f->list_type));
        if (f->list_map_keys)
            json_object_set_new(s, "x-kubernetes-list-map-keys", csv_array(f->list_map_keys));
    } else if (f->container == KC_SC_MAP) {
        s = json_pack("{s:s, s:o}", "type", "object", "additionalProperties", item_schema(f, v3));
    } else {
        s = item_schema(f, v3);
    }
    if (f->merge_key)
        json_object_set_new(s, "x-kubernetes-patch-merge-key", json_string(f->merge_key));
    if (f->patch_strategy)
        json_object_set_new(s, "x-kubernetes-patch-strategy", json_string(f->patch_strategy));
    if (f->map_type)
        json_object_set_new(s, "x-kubernetes-map-type", json_string(f->map_type));
    if (f->description)
        json_object_set_new(s, "description", json_string(f->description));
    return s;
}

static json_t *type_schema(const struct kc_schema_type *t, bool v3)
{
    json_t *props = json_object(), *req = json_array();
    json_t *s = json_pack("{s:s}", "type", "object");
    if (t->description)
        json_object_set_new(s, "description", json_string(t->description));
    if (t->kind) {
        json_object_set_new(props, "apiVersion",
                            json_pack("{s:s, s:s}", "type", "string", "description",
                                      "The versioned schema of this object."));
        json_object_set_new(
            props, "kind",
            json_pack("{s:s, s:s}", "type", "string", "description", "The type of this object."));
        json_object_set_new(s, "x-kubernetes-group-version-kind",
                            json_pack("[{s:s, s:s, s:s}]", "group", t->group, "kind", t->kind,
                                      "version", t->version));
    }
    for (const struct kc_schema_field *f = t->fields; f->name; f++) {
        json_object_set_new(props, f->name, field_schema(f, v3));
        if (f->required)
            json_array_append_new(req, json_string(f->name));
    }
    json_object_set_new(s, "properties", props);
    if (json_array_size(req))
        json_object_set_new(s, "required", req);
    else
        json_decref(req);
    return s;
}

/* Adds t and every type it references to schemas. */
static void add_closure(json_t *schemas, const struct kc_schema_type *t, bool v3)
{
    if (json_object_get(schemas, t->name))
        return;
    json_object_set_new(schemas, t->name, type_schema(t, v3));
    for (const struct kc_schema_field *f = t->fields; f->name; f++) {
        const struct kc_schema_type *r = kc_schema_ref(f);
        if (r)
            add_closure(schemas, r, v3);
    }
}

static void add_scalars(json_t *schemas)
{
    json_object_set_new(schemas, "io.k8s.apimachinery.pkg.util.intstr.IntOrString",
                        json_pack("{s:s, s:s, s:s}", "type", "string", "format", "int-or-string",
                                  "description", "An integer or a string."));
    json_object_set_new(schemas, "io.k8s.apimachinery.pkg.api.resource.Quantity",
                        json_pack("{s:s, s:s}", "type", "string", "description",
                                  "A fixed-point number with an optional suffix: 100m, 1Gi, 2."));
    json_object_set_new(schemas, "io.k8s.apimachinery.pkg.apis.meta.v1.Patch",
                        json_pack("{s:s, s:s}", "type", "object", "description",
                                  "A patch in one of the patch media types."));
}

static json_t *patch_operation(const struct kc_resource *r, bool v3)
{
    /* v2 leaves fieldValidation out: kubectl reads it there as a reason to look for CRDs,
     * and validates against the v3 documents anyway */
    static const char *const v3params[] = {"dryRun", "fieldManager", "fieldValidation", "force",
                                           NULL};
    static const char *const v2params[] = {"dryRun", "fieldManager", "force", NULL};
    const char *const *params = v3 ? v3params : v2params;
    json_t *ps = json_array();
    for (int i = 0; params[i]; i++) {
        json_t *p = json_pack("{s:s, s:s}", "name", params[i], "in", "query");
        if (v3)
            json_object_set_new(
                p, "schema",
                json_pack("{s:s}", "type", strcmp(params[i], "force") ? "string" : "boolean"));
        else
            json_object_set_new(p, "type",
                                json_string(strcmp(params[i], "force") ? "string" : "boolean"));
        json_array_append_new(ps, p);
    }
    json_t *op =
        json_pack("{s:{s:s, s:s, s:s}, s:s, s:o, s:{s:{s:s}}}", "x-kubernetes-group-version-kind",
                  "group", r->group, "kind", r->kind, "version", r->version, "x-kubernetes-action",
                  "patch", "parameters", ps, "responses", "200", "description", "OK");
    json_object_set_new(op, "operationId", json_string("patch"));
    return op;
}

static void add_paths(json_t *paths, const struct kc_resource *r, bool v3)
{
    char path[512], gvprefix[160];
    if (*r->group)
        snprintf(gvprefix, sizeof gvprefix, "/apis/%s/%s", r->group, r->version);
    else
        snprintf(gvprefix, sizeof gvprefix, "/api/%s", r->version);
    if (r->namespaced)
        snprintf(path, sizeof path, "%s/namespaces/{namespace}/%s/{name}", gvprefix, r->resource);
    else
        snprintf(path, sizeof path, "%s/%s/{name}", gvprefix, r->resource);
    json_object_set_new(paths, path, json_pack("{s:o}", "patch", patch_operation(r, v3)));
}

static char *dump(json_t *j, size_t *len)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    *len = s ? strlen(s) : 0;
    return s;
}

static void build(void)
{
    json_t *root_paths = json_object();
    for (const struct kc_group_version *gv = kc_group_versions; gv->version; gv++) {
        json_t *schemas = json_object(), *paths = json_object();
        add_scalars(schemas);
        for (const struct kc_resource *r = kc_resources; r->resource; r++) {
            if (strcmp(r->group, gv->group) || strcmp(r->version, gv->version))
                continue;
            const struct kc_schema_type *t = kc_schema_for_kind(r->group, r->version, r->kind);
            if (t)
                add_closure(schemas, t, true);
            add_paths(paths, r, true);
        }
        const struct kc_schema_type *scale = kc_schema_for_kind("autoscaling", "v1", "Scale");
        if (!strcmp(gv->group, "apps") && scale)
            add_closure(schemas, scale, true);
        json_t *doc = json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.0", "info",
                                "title", "Kubernetes", "version", GIT_VERSION, "paths", paths,
                                "components", "schemas", schemas);
        struct doc *d = &docs.v3[docs.nv3++];
        if (*gv->group)
            snprintf(d->path, sizeof d->path, "apis/%s/%s", gv->group, gv->version);
        else
            snprintf(d->path, sizeof d->path, "api/%s", gv->version);
        d->text = dump(doc, &d->len);
        fnv_hex(d->text, d->len, d->hash);
        char url[256];
        snprintf(url, sizeof url, "/openapi/v3/%s?hash=%s", d->path, d->hash);
        json_object_set_new(root_paths, d->path, json_pack("{s:s}", "serverRelativeURL", url));
    }
    size_t n;
    docs.v3_root = dump(json_pack("{s:o}", "paths", root_paths), &n);

    json_t *defs = json_object(), *paths = json_object();
    add_scalars(defs);
    for (size_t i = 0; i < kc_schema_ntypes; i++)
        add_closure(defs, &kc_schema_types[i], false);
    for (const struct kc_resource *r = kc_resources; r->resource; r++)
        if (!r->storage_version && kc_schema_for_kind(r->group, r->version, r->kind))
            add_paths(paths, r, false);
    json_t *v2 =
        json_pack("{s:s, s:{s:s, s:s}, s:o, s:o}", "swagger", "2.0", "info", "title", "Kubernetes",
                  "version", GIT_VERSION, "paths", paths, "definitions", defs);
    docs.v2_pb = kc_openapi_v2_protobuf(v2, &docs.v2_pb_len);
    docs.v2 = dump(v2, &docs.v2_len);
    fnv_hex(docs.v2, docs.v2_len, docs.v2_hash);
}

static void respond_copy(struct kc_response *resp, const char *ctype, const char *text, size_t n)
{
    char *b = malloc(n + 1);
    if (!b)
        abort();
    memcpy(b, text, n);
    b[n] = 0;
    kc_response_set(resp, 200, ctype, b, n);
}

static void not_found(struct kc_response *resp)
{
    const char *j = "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":"
                    "\"Failure\",\"message\":\"the server could not find the requested "
                    "resource\",\"reason\":\"NotFound\",\"details\":{},\"code\":404}";
    respond_copy(resp, "application/json", j, strlen(j));
    resp->code = 404;
}

void kc_openapi_serve(const struct kc_request *req, struct kc_response *resp)
{
    const char *accept = kc_req_header(req, "Accept");
    pthread_once(&docs.once, build);
    if (strcmp(req->path, "/openapi/v2") == 0) {
        if (accept && strstr(accept, "protobuf") && !strstr(accept, "application/json")) {
            /* the dotted form: Go's MIME parser rejects the '@' one */
            respond_copy(resp, "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
                         (const char *)docs.v2_pb, docs.v2_pb_len);
            return;
        }
        respond_copy(resp, "application/json", docs.v2, docs.v2_len);
        snprintf(resp->etag, sizeof resp->etag, "\"%s\"", docs.v2_hash);
        return;
    }
    if (strcmp(req->path, "/openapi/v3") == 0 || strcmp(req->path, "/openapi/v3/") == 0) {
        respond_copy(resp, "application/json", docs.v3_root, strlen(docs.v3_root));
        return;
    }
    if (strncmp(req->path, "/openapi/v3/", 12) == 0) {
        const char *p = req->path + 12;
        for (size_t i = 0; i < docs.nv3; i++) {
            if (strcmp(p, docs.v3[i].path) != 0)
                continue;
            respond_copy(resp, "application/json", docs.v3[i].text, docs.v3[i].len);
            snprintf(resp->etag, sizeof resp->etag, "\"%s\"", docs.v3[i].hash);
            const char *h = kc_req_query(req, "hash");
            /* a request for this exact version may be cached for good */
            resp->cache_immutable = h && strcmp(h, docs.v3[i].hash) == 0;
            return;
        }
    }
    not_found(resp);
}
