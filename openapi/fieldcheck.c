/* Schema walk for unknown fields and type errors; see fieldcheck.h. */
#include "openapi/fieldcheck.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

/* Where the walk is: a chain of member names and list indexes up to the root, rendered
 * ("spec.containers[0].name") only for what is reported: formatting every visited path
 * cost more than the checks themselves. */
struct where {
    const struct where *up;
    const char *key; /* NULL: an index of a list */
    size_t index;
};

static void render(const struct where *w, char *buf, size_t n)
{
    const struct where *chain[MAX_DEPTH * 3 + 8];
    size_t k = 0, off = 0;
    for (; w && k < sizeof chain / sizeof *chain; w = w->up)
        chain[k++] = w;
    buf[0] = 0;
    while (k-- > 0 && off < n) {
        int m = chain[k]->key ? snprintf(buf + off, n - off, "%s%s", off ? "." : "", chain[k]->key)
                              : snprintf(buf + off, n - off, "[%zu]", chain[k]->index);
        if (m < 0)
            break;
        off += (size_t)m;
    }
}

static void add_unknown(struct kc_fieldcheck *fc, const struct where *w)
{
    if (fc->nunknown >= 100)
        return; /* enough to report */
    char path[1024];
    render(w, path, sizeof path);
    fc->unknown = realloc(fc->unknown, (fc->nunknown + 1) * sizeof *fc->unknown);
    if (!fc->unknown)
        abort();
    fc->unknown[fc->nunknown++] = strdup(path);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    default:
        return "null";
    }
}

static void type_error(struct kc_fieldcheck *fc, const struct where *w, const json_t *v,
                       const char *want)
{
    char path[1024];
    render(w, path, sizeof path);
    char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    kc_errlist_add(fc->types, "FieldValueTypeInvalid", path,
                   "Invalid value: %s: %s in body must be of type %s: \"%s\"", text ? text : "null",
                   path, want, json_kind(v));
    free(text);
}

static void walk(const struct kc_schema_type *t, const json_t *obj, const struct where *at,
                 int depth, struct kc_fieldcheck *fc);

static void check_item(const struct kc_schema_field *f, const json_t *v, const struct where *at,
                       int depth, struct kc_fieldcheck *fc)
{
    if (json_is_null(v))
        return;
    switch (f->kind) {
    case KC_SK_REF:
        if (!json_is_object(v))
            type_error(fc, at, v, "object");
        else
            walk(kc_schema_ref(f), v, at, depth + 1, fc);
        break;
    case KC_SK_STRING:
        if (!json_is_string(v))
            type_error(fc, at, v, "string");
        break;
    case KC_SK_INTEGER:
        if (!json_is_integer(v) &&
            !(json_is_real(v) && json_real_value(v) == (double)(long long)json_real_value(v)))
            type_error(fc, at, v, "integer");
        break;
    case KC_SK_NUMBER:
        if (!json_is_number(v))
            type_error(fc, at, v, "number");
        break;
    case KC_SK_BOOLEAN:
        if (!json_is_boolean(v))
            type_error(fc, at, v, "boolean");
        break;
    case KC_SK_INT_OR_STRING:
        if (!json_is_integer(v) && !json_is_string(v))
            type_error(fc, at, v, "integer or string");
        break;
    case KC_SK_QUANTITY:
        if (!json_is_string(v) && !json_is_number(v))
            type_error(fc, at, v, "string");
        break;
    default:
        break; /* free-form object */
    }
}

static void walk(const struct kc_schema_type *t, const json_t *obj, const struct where *at,
                 int depth, struct kc_fieldcheck *fc)
{
    const char *key;
    json_t *v;
    if (!t || depth > MAX_DEPTH)
        return;
    json_object_foreach ((json_t *)obj, key, v) {
        struct where sub = {at, key, 0};
        const struct kc_schema_field *f = kc_schema_field(t, key);
        if (!f) {
            if (depth == 0 && (!strcmp(key, "apiVersion") || !strcmp(key, "kind")))
                continue;
            add_unknown(fc, &sub);
            continue;
        }
        if (json_is_null(v))
            continue;
        if (f->container == KC_SC_LIST) {
            if (!json_is_array(v)) {
                type_error(fc, &sub, v, "array");
                continue;
            }
            size_t i;
            json_t *e;
            json_array_foreach (v, i, e) {
                struct where item = {&sub, NULL, i};
                check_item(f, e, &item, depth, fc);
            }
        } else if (f->container == KC_SC_MAP) {
            if (!json_is_object(v)) {
                type_error(fc, &sub, v, "object");
                continue;
            }
            const char *mk;
            json_t *mv;
            json_object_foreach (v, mk, mv) {
                struct where item = {&sub, mk, 0};
                check_item(f, mv, &item, depth, fc);
            }
        } else {
            check_item(f, v, &sub, depth, fc);
        }
    }
}

void kc_fieldcheck_run(const struct kc_schema_type *t, const json_t *obj, struct kc_fieldcheck *out)
{
    memset(out, 0, sizeof *out);
    out->types = kc_errlist_new();
    if (json_is_object(obj))
        walk(t, obj, NULL, 0, out);
}

void kc_fieldcheck_release(struct kc_fieldcheck *fc)
{
    for (size_t i = 0; i < fc->nunknown; i++)
        free(fc->unknown[i]);
    free(fc->unknown);
    kc_errlist_free(fc->types);
    memset(fc, 0, sizeof *fc);
}

static void prune(const struct kc_schema_type *t, json_t *obj, int depth)
{
    const char *key;
    json_t *v, *tmp;
    if (!t || depth > MAX_DEPTH || !json_is_object(obj))
        return;
    json_object_foreach_safe (obj, tmp, key, v) {
        const struct kc_schema_field *f = kc_schema_field(t, key);
        if (!f) {
            if (!(depth == 0 && (!strcmp(key, "apiVersion") || !strcmp(key, "kind"))))
                json_object_del(obj, key);
            continue;
        }
        const struct kc_schema_type *r = kc_schema_ref(f);
        if (!r)
            continue;
        if (f->container == KC_SC_LIST) {
            size_t i;
            json_t *e;
            json_array_foreach (v, i, e)
                prune(r, e, depth + 1);
        } else if (f->container == KC_SC_MAP) {
            const char *mk;
            json_t *mv;
            json_object_foreach (v, mk, mv)
                prune(r, mv, depth + 1);
        } else {
            prune(r, v, depth + 1);
        }
    }
}

void kc_schema_prune(const struct kc_schema_type *t, json_t *obj)
{
    prune(t, obj, 0);
}
