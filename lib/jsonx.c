#include "lib/jsonx.h"

#include <string.h>

json_t *kc_json_path(const json_t *o, const char *path)
{
    const char *p = path;
    json_t *cur = (json_t *)o;
    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        char key[128];
        if (!json_is_object(cur) || n >= sizeof key)
            return NULL;
        memcpy(key, p, n);
        key[n] = 0;
        cur = json_object_get(cur, key);
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

const char *kc_json_str(const json_t *o, const char *path)
{
    return json_string_value(kc_json_path(o, path));
}

long long kc_json_int(const json_t *o, const char *path, long long def)
{
    json_t *v = kc_json_path(o, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

bool kc_json_bool(const json_t *o, const char *path, bool def)
{
    json_t *v = kc_json_path(o, path);
    return json_is_boolean(v) ? json_is_true(v) : def;
}

json_t *kc_json_ensure_obj(json_t *o, const char *key)
{
    json_t *c = json_object_get(o, key);
    if (!json_is_object(c)) {
        c = json_object();
        json_object_set_new(o, key, c);
    }
    return c;
}

void kc_json_default_str(json_t *o, const char *key, const char *value)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        json_object_set_new(o, key, json_string(value));
}

void kc_json_default_int(json_t *o, const char *key, long long value)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        json_object_set_new(o, key, json_integer(value));
}

bool kc_json_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    return json_equal((json_t *)a, (json_t *)b);
}

/* A shallow copy of obj without status and the per-write metadata. New reference. */
static json_t *without_status(const json_t *obj)
{
    json_t *c = json_copy((json_t *)obj);
    json_t *meta = json_copy(json_object_get(c, "metadata"));
    json_object_del(c, "status");
    if (meta) {
        json_object_del(meta, "resourceVersion");
        json_object_del(meta, "managedFields");
        json_object_set_new(c, "metadata", meta);
    }
    return c;
}

bool kc_json_only_status_changed(const json_t *old_obj, const json_t *new_obj)
{
    json_t *a = without_status(old_obj), *b = without_status(new_obj);
    bool same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    return same;
}
