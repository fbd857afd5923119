/* Names, labels, annotations and object metadata (apimachinery pkg/util/validation and
 * pkg/api/validation), with upstream's messages. */
#include "apiserver/strategy/strategy.h"

#include "lib/jsonx.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define MSG_SUBDOMAIN                                                                              \
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "      \
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "          \
    "regex used for validation is "                                                                \
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define MSG_LABEL                                                                                  \
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "       \
    "and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', "       \
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
#define MSG_DNS1035                                                                                \
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "      \
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "        \
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
#define MSG_QNAME                                                                                  \
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and "      \
    "end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex "      \
    "used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define MSG_LABEL_VALUE                                                                            \
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "       \
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "          \
    "'my_value',  or '12345', regex used for validation is "                                       \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static bool lower_alnum(char c)
{
    return islower((unsigned char)c) || isdigit((unsigned char)c);
}

static bool label_chars(const char *s, size_t n)
{
    if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!lower_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

bool kc_is_dns1123_label(const char *s)
{
    return s && strlen(s) <= 63 && label_chars(s, strlen(s));
}

bool kc_is_dns1123_subdomain(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 253)
        return false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (!label_chars(s + start, i - start))
                return false;
            start = i + 1;
        }
    }
    return true;
}

static bool is_dns1035_label(const char *s)
{
    return kc_is_dns1123_label(s) && islower((unsigned char)s[0]);
}

static bool qualified_part(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !isalnum((unsigned char)s[0]) || !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

/* Appends the upstream messages for a bad qualified name (label/annotation keys). */
static bool check_qualified_name(struct kc_errlist *l, const char *field, const char *key)
{
    const char *slash = strchr(key, '/');
    json_t *v = json_string(key);
    bool ok = true;
    if (slash) {
        char prefix[300];
        size_t pl = (size_t)(slash - key);
        snprintf(prefix, sizeof prefix, "%.*s", (int)(pl < 299 ? pl : 299), key);
        if (!kc_is_dns1123_subdomain(prefix)) {
            kc_err_invalid(l, field, v, "prefix part " MSG_SUBDOMAIN);
            ok = false;
        }
        key = slash + 1;
    }
    size_t n = strlen(key);
    if (ok && n == 0) {
        kc_err_invalid(l, field, v, "name part must be non-empty");
        ok = false;
    } else if (ok && n > 63) {
        kc_err_invalid(l, field, v, "name part must be no more than 63 characters");
        ok = false;
    } else if (ok && !qualified_part(key, n)) {
        kc_err_invalid(l, field, v, MSG_QNAME);
        ok = false;
    }
    json_decref(v);
    return ok;
}

static void check_name(struct kc_errlist *l, const char *field, const char *name,
                       enum kc_name_rule rule, bool prefix)
{
    json_t *v = json_string(name);
    size_t n = strlen(name);
    char buf[256];
    /* a generateName prefix may end in '-', checked as if a character followed */
    if (prefix && n && name[n - 1] == '-') {
        snprintf(buf, sizeof buf, "%.*sa", (int)(n < 250 ? n - 1 : 249), name);
        name = buf;
    }
    switch (rule) {
    case KC_NAME_DNS1123_LABEL:
        if (strlen(name) > 63)
            kc_err_invalid(l, field, v, "must be no more than 63 characters");
        else if (!kc_is_dns1123_label(name))
            kc_err_invalid(l, field, v, MSG_LABEL);
        break;
    case KC_NAME_DNS1035_LABEL:
        if (strlen(name) > 63)
            kc_err_invalid(l, field, v, "must be no more than 63 characters");
        else if (!is_dns1035_label(name))
            kc_err_invalid(l, field, v, MSG_DNS1035);
        break;
    case KC_NAME_PATH_SEGMENT:
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            kc_err_invalid(l, field, v, "may not be '.' or '..'");
        else if (strchr(name, '/') || strchr(name, '%'))
            kc_err_invalid(l, field, v, "may not contain '/' or '%'");
        break;
    default:
        if (strlen(name) > 253)
            kc_err_invalid(l, field, v, "must be no more than 253 characters");
        else if (!kc_is_dns1123_subdomain(name))
            kc_err_invalid(l, field, v, MSG_SUBDOMAIN);
        break;
    }
    json_decref(v);
}

static void check_labels(struct kc_errlist *l, const char *field, const json_t *labels)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)labels, k, v) {
        check_qualified_name(l, field, k);
        const char *s = json_string_value(v);
        if (!s)
            continue;
        size_t n = strlen(s);
        if (n > 63)
            kc_err_invalid(l, field, v, "must be no more than 63 characters");
        else if (n && !qualified_part(s, n))
            kc_err_invalid(l, field, v, MSG_LABEL_VALUE);
    }
}

void kc_validate_object_meta(const json_t *obj, bool namespaced, enum kc_name_rule rule,
                             struct kc_errlist *l)
{
    json_t *meta = json_object_get(obj, "metadata");
    const char *name = kc_json_str(meta, "name");
    const char *gen = kc_json_str(meta, "generateName");
    if (!name || !*name) {
        if (!gen || !*gen)
            kc_err_required(l, "metadata.name", "name or generateName is required");
        else
            check_name(l, "metadata.generateName", gen, rule, true);
    } else {
        check_name(l, "metadata.name", name, rule, false);
    }
    const char *ns = kc_json_str(meta, "namespace");
    if (namespaced) {
        if (!ns || !*ns)
            kc_err_required(l, "metadata.namespace", "");
        else if (!kc_is_dns1123_label(ns)) {
            json_t *v = json_string(ns);
            kc_err_invalid(l, "metadata.namespace", v, MSG_LABEL);
            json_decref(v);
        }
    } else if (ns && *ns) {
        kc_err_forbidden(l, "metadata.namespace", "not allowed on this type");
    }
    check_labels(l, "metadata.labels", json_object_get(meta, "labels"));
    const char *k;
    json_t *v;
    size_t total = 0;
    json_object_foreach (json_object_get(meta, "annotations"), k, v) {
        check_qualified_name(l, "metadata.annotations", k);
        total += strlen(k) + json_string_length(v);
    }
    if (total > 256 * 1024)
        kc_errlist_add(l, "FieldValueTooLong", "metadata.annotations",
                       "Too long: may not be more than 262144 bytes");
    size_t i;
    json_array_foreach (json_object_get(meta, "ownerReferences"), i, v) {
        static const char *const req[] = {"apiVersion", "kind", "name", "uid"};
        for (int r = 0; r < 4; r++) {
            const char *s = kc_json_str(v, req[r]);
            if (!s || !*s) {
                char f[128];
                snprintf(f, sizeof f, "metadata.ownerReferences[%zu].%s", i, req[r]);
                kc_err_required(l, f, "");
            }
        }
    }
    json_array_foreach (json_object_get(meta, "finalizers"), i, v) {
        char f[64];
        snprintf(f, sizeof f, "metadata.finalizers[%zu]", i);
        if (!json_is_string(v))
            kc_err_invalid(l, f, v, "must be a string");
        else
            check_qualified_name(l, f, json_string_value(v));
    }
}

static void immutable(struct kc_errlist *l, const char *field, const json_t *n, const json_t *o)
{
    if (!kc_json_equal(n, o))
        kc_err_invalid(l, field, n, "field is immutable");
}

void kc_validate_object_meta_update(const json_t *n, const json_t *o, struct kc_errlist *l)
{
    immutable(l, "metadata.name", kc_json_path(n, "metadata.name"),
              kc_json_path(o, "metadata.name"));
    immutable(l, "metadata.namespace", kc_json_path(n, "metadata.namespace"),
              kc_json_path(o, "metadata.namespace"));
    immutable(l, "metadata.uid", kc_json_path(n, "metadata.uid"), kc_json_path(o, "metadata.uid"));
    immutable(l, "metadata.creationTimestamp", kc_json_path(n, "metadata.creationTimestamp"),
              kc_json_path(o, "metadata.creationTimestamp"));
}
