/* Status objects and field error lists; see status.h. */
#include "lib/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kc_errentry {
    char *reason;
    char *field;
    char *message;
};

struct kc_errlist {
    struct kc_errentry *v;
    size_t len, cap;
};

static char *vfmt(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));
static char *vfmt(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    return s;
}

int kc_status_set(struct kc_status *st, int code, const char *reason, const char *fmt, ...)
{
    va_list ap;
    free(st->message);
    json_decref(st->details);
    st->details = NULL;
    st->code = code;
    snprintf(st->reason, sizeof st->reason, "%s", reason ? reason : "");
    va_start(ap, fmt);
    st->message = vfmt(fmt, ap);
    va_end(ap);
    return -1;
}

void kc_status_set_details(struct kc_status *st, const char *name, const char *group,
                           const char *kind)
{
    if (!st->details)
        st->details = json_object();
    if (name)
        json_object_set_new(st->details, "name", json_string(name));
    json_object_set_new(st->details, "group", json_string(group ? group : ""));
    if (kind)
        json_object_set_new(st->details, "kind", json_string(kind));
}

void kc_status_release(struct kc_status *st)
{
    free(st->message);
    json_decref(st->details);
    memset(st, 0, sizeof *st);
}

json_t *kc_status_to_json(const struct kc_status *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("Status"));
    json_object_set_new(o, "apiVersion", json_string("v1"));
    json_object_set_new(o, "metadata", json_object());
    json_object_set_new(o, "status", json_string("Failure"));
    json_object_set_new(o, "message", json_string(st->message ? st->message : ""));
    json_object_set_new(o, "reason", json_string(st->reason));
    if (st->details)
        json_object_set(o, "details", st->details);
    json_object_set_new(o, "code", json_integer(st->code ? st->code : 500));
    return o;
}

json_t *kc_status_success_json(const char *name, const char *group, const char *kind,
                               const char *uid)
{
    json_t *o = json_object();
    json_t *d = json_object();
    json_object_set_new(o, "kind", json_string("Status"));
    json_object_set_new(o, "apiVersion", json_string("v1"));
    json_object_set_new(o, "metadata", json_object());
    json_object_set_new(o, "status", json_string("Success"));
    if (name)
        json_object_set_new(d, "name", json_string(name));
    json_object_set_new(d, "group", json_string(group ? group : ""));
    if (kind)
        json_object_set_new(d, "kind", json_string(kind));
    if (uid)
        json_object_set_new(d, "uid", json_string(uid));
    json_object_set_new(o, "details", d);
    return o;
}

/* "pods" or "deployments.apps" */
static void qualified(char *buf, size_t n, const char *group, const char *resource)
{
    if (group && *group)
        snprintf(buf, n, "%s.%s", resource, group);
    else
        snprintf(buf, n, "%s", resource);
}

int kc_status_not_found(struct kc_status *st, const char *group, const char *resource,
                        const char *name)
{
    char q[256];
    qualified(q, sizeof q, group, resource);
    kc_status_set(st, 404, "NotFound", "%s \"%s\" not found", q, name);
    kc_status_set_details(st, name, group, resource);
    return -1;
}

int kc_status_already_exists(struct kc_status *st, const char *group, const char *resource,
                             const char *name)
{
    char q[256];
    qualified(q, sizeof q, group, resource);
    kc_status_set(st, 409, "AlreadyExists", "%s \"%s\" already exists", q, name);
    kc_status_set_details(st, name, group, resource);
    return -1;
}

int kc_status_conflict(struct kc_status *st, const char *group, const char *resource,
                       const char *name, const char *why)
{
    char q[256];
    qualified(q, sizeof q, group, resource);
    kc_status_set(st, 409, "Conflict", "Operation cannot be fulfilled on %s \"%s\": %s", q, name,
                  why);
    kc_status_set_details(st, name, group, resource);
    return -1;
}

int kc_status_bad_request(struct kc_status *st, const char *fmt, ...)
{
    va_list ap;
    char *m;
    va_start(ap, fmt);
    m = vfmt(fmt, ap);
    va_end(ap);
    kc_status_set(st, 400, "BadRequest", "%s", m);
    free(m);
    return -1;
}

int kc_status_internal(struct kc_status *st, const char *fmt, ...)
{
    va_list ap;
    char *m;
    va_start(ap, fmt);
    m = vfmt(fmt, ap);
    va_end(ap);
    kc_status_set(st, 500, "InternalError", "Internal error occurred: %s", m);
    free(m);
    return -1;
}

struct kc_errlist *kc_errlist_new(void)
{
    struct kc_errlist *l = calloc(1, sizeof *l);
    if (!l)
        abort();
    return l;
}

void kc_errlist_free(struct kc_errlist *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++) {
        free(l->v[i].reason);
        free(l->v[i].field);
        free(l->v[i].message);
    }
    free(l->v);
    free(l);
}

size_t kc_errlist_len(const struct kc_errlist *l)
{
    return l ? l->len : 0;
}
const char *kc_errlist_reason(const struct kc_errlist *l, size_t i)
{
    return l->v[i].reason;
}
const char *kc_errlist_field(const struct kc_errlist *l, size_t i)
{
    return l->v[i].field;
}
const char *kc_errlist_message(const struct kc_errlist *l, size_t i)
{
    return l->v[i].message;
}

void kc_errlist_add(struct kc_errlist *l, const char *reason, const char *field, const char *fmt,
                    ...)
{
    va_list ap;
    if (l->len == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 8;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    struct kc_errentry *e = &l->v[l->len++];
    e->reason = strdup(reason);
    e->field = strdup(field ? field : "");
    va_start(ap, fmt);
    e->message = vfmt(fmt, ap);
    va_end(ap);
}

/* Go's %#v-like rendering used in field errors. Returns malloc'd text. */
static char *value_text(const json_t *v)
{
    if (!v || json_is_null(v))
        return strdup("null");
    if (json_is_string(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        return s ? s : strdup("\"\"");
    }
    if (json_is_integer(v) || json_is_real(v) || json_is_boolean(v)) {
        char *s = json_dumps(v, JSON_ENCODE_ANY);
        return s ? s : strdup("");
    }
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return s ? s : strdup("");
}

void kc_err_invalid(struct kc_errlist *l, const char *field, const json_t *value,
                    const char *detail)
{
    char *v = value_text(value);
    if (detail && *detail)
        kc_errlist_add(l, "FieldValueInvalid", field, "Invalid value: %s: %s", v, detail);
    else
        kc_errlist_add(l, "FieldValueInvalid", field, "Invalid value: %s", v);
    free(v);
}

void kc_err_required(struct kc_errlist *l, const char *field, const char *detail)
{
    if (detail && *detail)
        kc_errlist_add(l, "FieldValueRequired", field, "Required value: %s", detail);
    else
        kc_errlist_add(l, "FieldValueRequired", field, "Required value");
}

void kc_err_forbidden(struct kc_errlist *l, const char *field, const char *detail)
{
    kc_errlist_add(l, "FieldValueForbidden", field, "Forbidden: %s", detail);
}

void kc_err_duplicate(struct kc_errlist *l, const char *field, const json_t *value)
{
    char *v = value_text(value);
    kc_errlist_add(l, "FieldValueDuplicate", field, "Duplicate value: %s", v);
    free(v);
}

void kc_err_not_supported(struct kc_errlist *l, const char *field, const json_t *value,
                          const char *const *supported)
{
    char *v = value_text(value);
    char buf[1024];
    size_t off = 0;
    buf[0] = 0;
    for (size_t i = 0; supported && supported[i]; i++) {
        int n = snprintf(buf + off, sizeof buf - off, "%s\"%s\"", i ? ", " : "", supported[i]);
        if (n < 0 || (size_t)n >= sizeof buf - off)
            break;
        off += (size_t)n;
    }
    kc_errlist_add(l, "FieldValueNotSupported", field,
                   "Unsupported value: %s: supported values: %s", v, buf);
    free(v);
}

void kc_err_too_long(struct kc_errlist *l, const char *field, size_t max)
{
    kc_errlist_add(l, "FieldValueTooLong", field, "Too long: may not be more than %zu bytes", max);
}

int kc_status_invalid(struct kc_status *st, const char *group, const char *kind, const char *name,
                      const struct kc_errlist *l)
{
    char q[256];
    size_t n = kc_errlist_len(l);
    if (group && *group)
        snprintf(q, sizeof q, "%s.%s", kind, group);
    else
        snprintf(q, sizeof q, "%s", kind);

    /* The joined error text: "f: msg" or "[f1: m1, f2: m2]". */
    size_t cap = 256, len = 0;
    char *joined = malloc(cap);
    if (!joined)
        abort();
    joined[0] = 0;
    for (size_t i = 0; i < n; i++) {
        const char *f = l->v[i].field, *m = l->v[i].message;
        size_t need = strlen(f) + strlen(m) + 8;
        if (len + need >= cap) {
            cap = (len + need) * 2;
            joined = realloc(joined, cap);
            if (!joined)
                abort();
        }
        len += (size_t)snprintf(joined + len, cap - len, "%s%s%s%s", i ? ", " : "", f,
                                *f ? ": " : "", m);
    }
    if (n > 1)
        kc_status_set(st, 422, "Invalid", "%s \"%s\" is invalid: [%s]", q, name ? name : "",
                      joined);
    else
        kc_status_set(st, 422, "Invalid", "%s \"%s\" is invalid: %s", q, name ? name : "", joined);
    free(joined);
    kc_status_set_details(st, name, group, kind);
    json_t *causes = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *c = json_object();
        json_object_set_new(c, "reason", json_string(l->v[i].reason));
        json_object_set_new(c, "message", json_string(l->v[i].message));
        json_object_set_new(c, "field", json_string(l->v[i].field));
        json_array_append_new(causes, c);
    }
    json_object_set_new(st->details, "causes", causes);
    return -1;
}
