/* gnostic openapi_v2 protobuf encoding; field numbers are those of the public
 * OpenAPIv2.proto (Document, Schema, Paths, Operation, ...). Only what kubectl reads is
 * written: definitions with their schemas and vendor extensions, and PATCH operations with
 * their query parameters and group-version-kind. */
#include "openapi/openapi_pb.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct pb {
    unsigned char *p;
    size_t len, cap;
};

static void reserve(struct pb *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    b->p = realloc(b->p, cap);
    if (!b->p)
        abort();
    b->cap = cap;
}

static void put_varint(struct pb *b, uint64_t v)
{
    reserve(b, 10);
    do {
        unsigned char c = v & 0x7f;
        v >>= 7;
        b->p[b->len++] = c | (v ? 0x80 : 0);
    } while (v);
}

static void put_bytes(struct pb *b, unsigned field, const void *data, size_t n)
{
    put_varint(b, (uint64_t)field << 3 | 2);
    put_varint(b, n);
    reserve(b, n);
    if (n)
        memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put_string(struct pb *b, unsigned field, const char *s)
{
    if (s)
        put_bytes(b, field, s, strlen(s));
}

static void put_msg(struct pb *b, unsigned field, struct pb *sub)
{
    put_bytes(b, field, sub->p, sub->len);
    free(sub->p);
    memset(sub, 0, sizeof *sub);
}

/* NamedAny{name, Any{yaml: <JSON text>}} (JSON is YAML) */
static void put_named_any(struct pb *b, unsigned field, const char *name, const json_t *v)
{
    struct pb any = {0}, named = {0};
    char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    put_string(&any, 2, text ? text : "null");
    free(text);
    put_string(&named, 1, name);
    put_msg(&named, 2, &any);
    put_msg(b, field, &named);
}

static void schema(struct pb *out, const json_t *s);

static void named_schemas(struct pb *out, unsigned field, const json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)obj, k, v) {
        struct pb named = {0}, sch = {0};
        put_string(&named, 1, k);
        schema(&sch, v);
        put_msg(&named, 2, &sch);
        put_msg(out, field, &named);
    }
}

static void schema(struct pb *out, const json_t *s)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)s, k, v) {
        if (!strcmp(k, "$ref")) {
            put_string(out, 1, json_string_value(v));
        } else if (!strcmp(k, "format")) {
            put_string(out, 2, json_string_value(v));
        } else if (!strcmp(k, "description")) {
            put_string(out, 4, json_string_value(v));
        } else if (!strcmp(k, "required")) {
            size_t i;
            json_t *e;
            json_array_foreach (v, i, e)
                put_string(out, 19, json_string_value(e));
        } else if (!strcmp(k, "enum")) {
            size_t i;
            json_t *e;
            json_array_foreach (v, i, e) {
                struct pb any = {0};
                char *text = json_dumps(e, JSON_ENCODE_ANY);
                put_string(&any, 2, text);
                free(text);
                put_msg(out, 20, &any);
            }
        } else if (!strcmp(k, "additionalProperties") && json_is_object(v)) {
            struct pb item = {0}, sch = {0};
            schema(&sch, v);
            put_msg(&item, 1, &sch);
            put_msg(out, 21, &item);
        } else if (!strcmp(k, "type")) {
            struct pb t = {0};
            put_string(&t, 1, json_string_value(v));
            put_msg(out, 22, &t);
        } else if (!strcmp(k, "items")) {
            struct pb item = {0}, sch = {0};
            schema(&sch, v);
            put_msg(&item, 1, &sch);
            put_msg(out, 23, &item);
        } else if (!strcmp(k, "allOf")) {
            size_t i;
            json_t *e;
            json_array_foreach (v, i, e) {
                struct pb sch = {0};
                schema(&sch, e);
                put_msg(out, 24, &sch);
            }
        } else if (!strcmp(k, "properties")) {
            struct pb props = {0};
            named_schemas(&props, 1, v);
            put_msg(out, 25, &props);
        } else if (!strncmp(k, "x-", 2)) {
            put_named_any(out, 31, k, v);
        }
    }
}

/* Operation{operation_id 5, parameters 8, responses 9, vendor_extension 13} */
static void operation(struct pb *out, const json_t *op)
{
    const char *k;
    json_t *v;
    put_string(out, 5, json_string_value(json_object_get(op, "operationId")));
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(op, "parameters"), i, p) {
        struct pb q = {0}, nb = {0}, param = {0}, item = {0};
        put_string(&q, 2, json_string_value(json_object_get(p, "in")));
        put_string(&q, 4, json_string_value(json_object_get(p, "name")));
        put_string(&q, 6, json_string_value(json_object_get(p, "type")));
        put_msg(&nb, 3, &q);     /* NonBodyParameter.query_parameter_sub_schema */
        put_msg(&param, 2, &nb); /* Parameter.non_body_parameter */
        put_msg(&item, 1, &param);
        put_msg(out, 8, &item);
    }
    struct pb resp = {0}, rv = {0}, named = {0}, responses = {0};
    put_string(&resp, 1, "OK");
    put_msg(&rv, 1, &resp);
    put_string(&named, 1, "200");
    put_msg(&named, 2, &rv);
    put_msg(&responses, 1, &named);
    put_msg(out, 9, &responses);
    json_object_foreach ((json_t *)op, k, v)
        if (!strncmp(k, "x-", 2))
            put_named_any(out, 13, k, v);
}

unsigned char *kc_openapi_v2_protobuf(const json_t *doc, size_t *len)
{
    struct pb out = {0}, info = {0}, paths = {0}, defs = {0};
    put_string(&out, 1, json_string_value(json_object_get(doc, "swagger")));
    put_string(&info, 1, json_string_value(json_object_get(json_object_get(doc, "info"), "title")));
    put_string(&info, 2,
               json_string_value(json_object_get(json_object_get(doc, "info"), "version")));
    put_msg(&out, 2, &info);
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(doc, "paths"), k, v) {
        struct pb named = {0}, item = {0};
        json_t *patch = json_object_get(v, "patch");
        if (patch) {
            struct pb op = {0};
            operation(&op, patch);
            put_msg(&item, 8, &op);
        }
        put_string(&named, 1, k);
        put_msg(&named, 2, &item);
        put_msg(&paths, 2, &named);
    }
    put_msg(&out, 8, &paths);
    named_schemas(&defs, 1, json_object_get(doc, "definitions"));
    put_msg(&out, 9, &defs);
    *len = out.len;
    return out.p;
}
