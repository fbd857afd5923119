/* Validation of core/v1 objects (pkg/apis/core/validation), with upstream's messages. */
#include "apiserver/strategy/strategy.h"

#include "lib/base64.h"
#include "lib/jsonx.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_PORT "must be between 1 and 65535, inclusive"

/* "<container>.ports[<i>]<tail>" */
static void fieldf(char *buf, size_t n, const char *base, size_t i, const char *tail)
{
    snprintf(buf, n, "%s.ports[%zu]%s", base, i, tail);
}

static void check_enum(struct kc_errlist *l, const char *field, const json_t *v,
                       const char *const *allowed)
{
    const char *s = json_string_value(v);
    if (!v || json_is_null(v))
        return;
    for (int i = 0; s && allowed[i]; i++)
        if (!strcmp(s, allowed[i]))
            return;
    kc_err_not_supported(l, field, v, allowed);
}

static void check_port(struct kc_errlist *l, const char *field, const json_t *v, bool required)
{
    if (!v || json_is_null(v) || (json_is_integer(v) && json_integer_value(v) == 0)) {
        if (required)
            kc_err_required(l, field, "");
        return;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > 65535)
        kc_err_invalid(l, field, v, MSG_PORT);
}

/* IANA_SVC_NAME: at most 15 lower-case alphanumerics and '-', with a letter, no "--". */
static bool valid_port_name(const char *s)
{
    size_t n = strlen(s);
    bool letter = false;
    if (n == 0 || n > 15 || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (islower((unsigned char)s[i]))
            letter = true;
        else if (!isdigit((unsigned char)s[i]) && s[i] != '-')
            return false;
    }
    return letter;
}

/* resource.Quantity syntax: number with optional suffix (Ki..Ei, n u m k M G T P E, e/E exp). */
static bool valid_quantity(const char *s)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    bool digits = false;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits = true;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits = true;
        }
    }
    if (!digits)
        return false;
    static const char *const suffixes[] = {"",  "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u",
                                           "m", "k",  "M",  "G",  "T",  "P",  "E",  NULL};
    for (int i = 0; suffixes[i]; i++)
        if (!strcmp(p, suffixes[i]))
            return true;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
        return *p == 0;
    }
    return false;
}

static void check_resources(struct kc_errlist *l, const char *base, const json_t *res)
{
    static const char *const kinds[] = {"limits", "requests"};
    for (int k = 0; k < 2; k++) {
        const char *name;
        json_t *v;
        json_object_foreach (json_object_get(res, kinds[k]), name, v) {
            char f[512];
            snprintf(f, sizeof f, "%s.resources.%s[%s]", base, kinds[k], name);
            const char *q = json_string_value(v);
            char num[64];
            if (json_is_integer(v)) {
                snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
                q = num;
            }
            if (!q || !valid_quantity(q))
                kc_err_invalid(l, f, v,
                               "quantities must match the regular expression "
                               "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
            else if (q[0] == '-')
                kc_err_invalid(l, f, v, "must be greater than or equal to 0");
        }
    }
}

static void check_containers(struct kc_errlist *l, const char *base, const json_t *list,
                             bool required, const json_t *others)
{
    static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
    static const char *const pull[] = {"Always", "IfNotPresent", "Never", NULL};
    static const char *const term[] = {"FallbackToLogsOnError", "File", NULL};
    char f[512], cb[300];
    size_t i, j;
    json_t *c, *p;
    if (required && json_array_size(list) == 0) {
        kc_err_required(l, base, "");
        return;
    }
    json_array_foreach (list, i, c) {
        snprintf(cb, sizeof cb, "%s[%zu]", base, i);
        const char *name = kc_json_str(c, "name");
        snprintf(f, sizeof f, "%s.name", cb);
        if (!name || !*name) {
            kc_err_required(l, f, "");
        } else if (!kc_is_dns1123_label(name)) {
            json_t *v = json_string(name);
            kc_err_invalid(l, f, v,
                           "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                           "characters or '-', and must start and end with an alphanumeric "
                           "character (e.g. 'my-name',  or '123-abc', regex used for validation "
                           "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
            json_decref(v);
        } else {
            /* unique across containers and init containers */
            for (size_t k = 0; k < i; k++)
                if (!strcmp(kc_json_str(json_array_get(list, k), "name")
                                ? kc_json_str(json_array_get(list, k), "name")
                                : "",
                            name)) {
                    kc_err_duplicate(l, f, json_object_get(c, "name"));
                    break;
                }
            json_t *o;
            json_array_foreach (others, j, o)
                if (kc_json_str(o, "name") && !strcmp(kc_json_str(o, "name"), name)) {
                    kc_err_duplicate(l, f, json_object_get(c, "name"));
                    break;
                }
        }
        const char *image = kc_json_str(c, "image");
        snprintf(f, sizeof f, "%s.image", cb);
        if (!image || !*image)
            kc_err_required(l, f, "");
        else if (image[0] == ' ' || image[strlen(image) - 1] == ' ')
            kc_err_invalid(l, f, json_object_get(c, "image"),
                           "must not have leading or trailing whitespace");
        json_array_foreach (json_object_get(c, "ports"), j, p) {
            fieldf(f, sizeof f, cb, j, ".containerPort");
            check_port(l, f, json_object_get(p, "containerPort"), true);
            fieldf(f, sizeof f, cb, j, ".hostPort");
            check_port(l, f, json_object_get(p, "hostPort"), false);
            fieldf(f, sizeof f, cb, j, ".protocol");
            check_enum(l, f, json_object_get(p, "protocol"), protocols);
            const char *pn = kc_json_str(p, "name");
            if (pn && *pn && !valid_port_name(pn)) {
                fieldf(f, sizeof f, cb, j, ".name");
                kc_err_invalid(l, f, json_object_get(p, "name"),
                               "must contain only alpha-numeric characters (a-z, 0-9), and "
                               "hyphens (-)");
            }
        }
        snprintf(f, sizeof f, "%s.imagePullPolicy", cb);
        check_enum(l, f, json_object_get(c, "imagePullPolicy"), pull);
        snprintf(f, sizeof f, "%s.terminationMessagePolicy", cb);
        check_enum(l, f, json_object_get(c, "terminationMessagePolicy"), term);
        json_array_foreach (json_object_get(c, "env"), j, p) {
            const char *en = kc_json_str(p, "name");
            if (!en || !*en) {
                snprintf(f, sizeof f, "%s.env[%zu].name", cb, j);
                kc_err_required(l, f, "");
            }
        }
        check_resources(l, cb, json_object_get(c, "resources"));
    }
}

/* One segment of a sysctl name: [a-z0-9]([-_a-z0-9]*[a-z0-9])? (upstream's
 * SysctlSegmentFmt), of n characters. */
static bool sysctl_segment(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
        if (!alnum && ((s[i] != '-' && s[i] != '_') || i == 0 || i == n - 1))
            return false;
    }
    return true;
}

/* Upstream's IsValidSysctlName: at most 253 characters, segments joined by '.' or '/'. */
static bool valid_sysctl_name(const char *name)
{
    size_t len = strlen(name);
    if (len > 253)
        return false;
    const char *seg = name;
    for (const char *p = name;; p++) {
        if (*p == '.' || *p == '/' || !*p) {
            if (!sysctl_segment(seg, (size_t)(p - seg)))
                return false;
            if (!*p)
                return true;
            seg = p + 1;
        }
    }
}

/* spec.securityContext.sysctls: valid names, each once (upstream's validateSysctls). */
static void check_sysctls(struct kc_errlist *l, const char *base, const json_t *list)
{
    size_t i, j;
    json_t *s, *prev;
    char f[512];
    json_array_foreach (list, i, s) {
        json_t *name = json_object_get(s, "name");
        const char *n = json_string_value(name);
        snprintf(f, sizeof f, "%s.securityContext.sysctls[%zu].name", base, i);
        if (!n || !*n) {
            kc_err_required(l, f, "");
            continue;
        }
        if (!valid_sysctl_name(n)) {
            kc_err_invalid(
                l, f, name,
                "must have at most 253 characters and match regex "
                "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$");
            continue;
        }
        json_array_foreach (list, j, prev) {
            if (j >= i)
                break;
            if (json_equal(json_object_get(prev, "name"), name)) {
                kc_err_duplicate(l, f, name);
                break;
            }
        }
    }
}

static void validate_pod_spec(const json_t *spec, const char *base, struct kc_errlist *l,
                              bool template_only_always)
{
    static const char *const restart[] = {"Always", "OnFailure", "Never", NULL};
    static const char *const always[] = {"Always", NULL};
    static const char *const dns[] = {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None",
                                      NULL};
    char f[512];
    snprintf(f, sizeof f, "%s.containers", base);
    check_containers(l, f, json_object_get(spec, "containers"), true,
                     json_object_get(spec, "initContainers"));
    snprintf(f, sizeof f, "%s.initContainers", base);
    check_containers(l, f, json_object_get(spec, "initContainers"), false, NULL);
    check_sysctls(l, base, kc_json_path(spec, "securityContext.sysctls"));
    snprintf(f, sizeof f, "%s.restartPolicy", base);
    check_enum(l, f, json_object_get(spec, "restartPolicy"),
               template_only_always ? always : restart);
    snprintf(f, sizeof f, "%s.dnsPolicy", base);
    check_enum(l, f, json_object_get(spec, "dnsPolicy"), dns);
    json_t *tgps = json_object_get(spec, "terminationGracePeriodSeconds");
    if (json_is_integer(tgps) && json_integer_value(tgps) < 0) {
        snprintf(f, sizeof f, "%s.terminationGracePeriodSeconds", base);
        kc_err_invalid(l, f, tgps, "must be greater than or equal to 0");
    }
    json_t *ads = json_object_get(spec, "activeDeadlineSeconds");
    if (json_is_integer(ads) && json_integer_value(ads) <= 0) {
        snprintf(f, sizeof f, "%s.activeDeadlineSeconds", base);
        kc_err_invalid(l, f, ads, "must be between 1 and 2147483647, inclusive");
    }
    const char *node = kc_json_str(spec, "nodeName");
    if (node && *node && !kc_is_dns1123_subdomain(node)) {
        snprintf(f, sizeof f, "%s.nodeName", base);
        kc_err_invalid(l, f, json_object_get(spec, "nodeName"),
                       "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                       "characters, '-' or '.', and must start and end with an alphanumeric "
                       "character (e.g. 'example.com', regex used for validation is "
                       "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    }
}

/* Exported for the apps validators. */
void kc_validate_pod_template_spec(const json_t *spec, const char *base, struct kc_errlist *l,
                                   bool only_always);
void kc_validate_pod_template_spec(const json_t *spec, const char *base, struct kc_errlist *l,
                                   bool only_always)
{
    validate_pod_spec(spec, base, l, only_always);
}

void kc_validate_pod(const json_t *pod, struct kc_errlist *l)
{
    json_t *spec = json_object_get(pod, "spec");
    if (!json_is_object(spec)) {
        kc_err_required(l, "spec.containers", "");
        return;
    }
    validate_pod_spec(spec, "spec", l, false);
}

/* Pods may change only a few spec fields after creation. */
void kc_validate_pod_update(const json_t *n, const json_t *o, struct kc_errlist *l)
{
    /* the common case (status writes, bindings share or keep the spec): nothing to strip */
    if (json_equal(json_object_get(n, "spec"), json_object_get(o, "spec")))
        return;
    json_t *a = json_deep_copy(json_object_get(n, "spec"));
    json_t *b = json_deep_copy(json_object_get(o, "spec"));
    static const char *const lists[] = {"containers", "initContainers"};
    if (!json_is_object(a) || !json_is_object(b)) {
        json_decref(a);
        json_decref(b);
        return;
    }
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *c;
        json_array_foreach (json_object_get(a, lists[k]), i, c)
            json_object_del(c, "image");
        json_array_foreach (json_object_get(b, lists[k]), i, c)
            json_object_del(c, "image");
    }
    static const char *const mutable_fields[] = {"activeDeadlineSeconds", "tolerations",
                                                 "terminationGracePeriodSeconds", NULL};
    for (int k = 0; mutable_fields[k]; k++) {
        json_object_del(a, mutable_fields[k]);
        json_object_del(b, mutable_fields[k]);
    }
    if (!json_equal(a, b))
        kc_err_forbidden(l, "spec",
                         "pod updates may not change fields other than "
                         "`spec.containers[*].image`,`spec.initContainers[*].image`,"
                         "`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to "
                         "existing tolerations),`spec.terminationGracePeriodSeconds` (allow it "
                         "to be set to 1 if it was previously negative)");
    json_decref(a);
    json_decref(b);
}

void kc_validate_service(const json_t *svc, struct kc_errlist *l)
{
    static const char *const types[] = {"ClusterIP", "ExternalName", "LoadBalancer", "NodePort",
                                        NULL};
    static const char *const protocols[] = {"SCTP", "TCP", "UDP", NULL};
    static const char *const affinity[] = {"ClientIP", "None", NULL};
    json_t *spec = json_object_get(svc, "spec");
    const char *type = kc_json_str(spec, "type");
    const char *cip = kc_json_str(spec, "clusterIP");
    json_t *ports = json_object_get(spec, "ports");
    char f[256];
    check_enum(l, "spec.type", json_object_get(spec, "type"), types);
    check_enum(l, "spec.sessionAffinity", json_object_get(spec, "sessionAffinity"), affinity);
    bool external_name = type && !strcmp(type, "ExternalName");
    bool headless = cip && !strcmp(cip, "None");
    if (external_name) {
        const char *en = kc_json_str(spec, "externalName");
        if (!en || !*en)
            kc_err_required(l, "spec.externalName", "");
    } else if (!headless && json_array_size(ports) == 0) {
        kc_err_required(l, "spec.ports", "");
    }
    size_t i, j;
    json_t *p;
    bool many = json_array_size(ports) > 1;
    json_array_foreach (ports, i, p) {
        const char *name = kc_json_str(p, "name");
        snprintf(f, sizeof f, "spec.ports[%zu].name", i);
        if (many && (!name || !*name))
            kc_err_required(l, f, "");
        else if (name && *name && !kc_is_dns1123_label(name))
            kc_err_invalid(l, f, json_object_get(p, "name"),
                           "a lowercase RFC 1123 label must consist of lower case alphanumeric "
                           "characters or '-', and must start and end with an alphanumeric "
                           "character (e.g. 'my-name',  or '123-abc', regex used for validation "
                           "is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
        for (j = 0; name && *name && j < i; j++) {
            const char *other = kc_json_str(json_array_get(ports, j), "name");
            if (other && !strcmp(other, name)) {
                kc_err_duplicate(l, f, json_object_get(p, "name"));
                break;
            }
        }
        snprintf(f, sizeof f, "spec.ports[%zu].port", i);
        check_port(l, f, json_object_get(p, "port"), true);
        snprintf(f, sizeof f, "spec.ports[%zu].protocol", i);
        check_enum(l, f, json_object_get(p, "protocol"), protocols);
        json_t *tp = json_object_get(p, "targetPort");
        snprintf(f, sizeof f, "spec.ports[%zu].targetPort", i);
        if (json_is_integer(tp))
            check_port(l, f, tp, false);
        else if (json_is_string(tp) && !valid_port_name(json_string_value(tp)))
            kc_err_invalid(l, f, tp,
                           "must contain only alpha-numeric characters (a-z, 0-9), and hyphens "
                           "(-)");
        json_t *np = json_object_get(p, "nodePort");
        if (json_is_integer(np) && json_integer_value(np) != 0 &&
            (!type || !strcmp(type, "ClusterIP"))) {
            snprintf(f, sizeof f, "spec.ports[%zu].nodePort", i);
            kc_err_forbidden(l, f, "may not be used when `type` is 'ClusterIP'");
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(spec, "selector"), k, v)
        if (!json_is_string(v))
            kc_err_invalid(l, "spec.selector", v, "must be a string");
}

void kc_validate_service_update(const json_t *n, const json_t *o, struct kc_errlist *l)
{
    const char *a = kc_json_str(n, "spec.clusterIP"), *b = kc_json_str(o, "spec.clusterIP");
    const char *ot = kc_json_str(o, "spec.type"), *nt = kc_json_str(n, "spec.type");
    bool was_external = ot && !strcmp(ot, "ExternalName");
    bool is_external = nt && !strcmp(nt, "ExternalName");
    if (!was_external && !is_external && b && *b && a && *a && strcmp(a, b) != 0)
        kc_err_invalid(l, "spec.clusterIPs[0]", kc_json_path(n, "spec.clusterIP"),
                       "may not change once set");
}

static bool valid_config_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 253 || !strcmp(k, ".") || !strcmp(k, ".."))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)k[i]) && k[i] != '-' && k[i] != '_' && k[i] != '.')
            return false;
    return true;
}

static void check_keys(struct kc_errlist *l, const char *field, const json_t *m, size_t *total)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)m, k, v) {
        char f[512];
        snprintf(f, sizeof f, "%s[%s]", field, k);
        if (!valid_config_key(k)) {
            json_t *kv = json_string(k);
            kc_err_invalid(l, f, kv,
                           "a valid config key must consist of alphanumeric characters, '-', "
                           "'_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex "
                           "used for validation is '[-._a-zA-Z0-9]+')");
            json_decref(kv);
        }
        if (!json_is_string(v))
            kc_err_invalid(l, f, v, "must be a string");
        else
            *total += json_string_length(v);
    }
}

void kc_validate_configmap(const json_t *cm, struct kc_errlist *l)
{
    size_t total = 0;
    check_keys(l, "data", json_object_get(cm, "data"), &total);
    check_keys(l, "binaryData", json_object_get(cm, "binaryData"), &total);
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(cm, "binaryData"), k, v)
        if (json_object_get(json_object_get(cm, "data"), k)) {
            char f[512];
            snprintf(f, sizeof f, "data[%s]", k);
            json_t *kv = json_string(k);
            kc_err_invalid(l, f, kv, "duplicate of key present in binaryData");
            json_decref(kv);
        }
    if (total > 1024 * 1024)
        kc_errlist_add(l, "FieldValueTooLong", "", "Too long: must have at most 1048576 bytes");
}

void kc_validate_secret(const json_t *s, struct kc_errlist *l)
{
    size_t total = 0;
    check_keys(l, "data", json_object_get(s, "data"), &total);
    const char *k;
    json_t *v;
    json_object_foreach (json_object_get(s, "data"), k, v) {
        if (json_is_string(v) && !kc_base64_valid(json_string_value(v))) {
            char f[512];
            snprintf(f, sizeof f, "data[%s]", k);
            kc_err_invalid(l, f, v, "illegal base64 data");
        }
    }
    if (total > 1024 * 1024 * 4 / 3 + 4)
        kc_errlist_add(l, "FieldValueTooLong", "data", "Too long: must have at most 1048576 bytes");
}

/* Upstream's rule for ConfigMaps and Secrets marked immutable: neither the mark nor the
 * data (fields, NULL terminated) may change any more. */
static void check_immutable(const json_t *n, const json_t *o, const char *const *fields,
                            struct kc_errlist *l)
{
    if (!json_is_true(json_object_get(o, "immutable")))
        return;
    if (!json_is_true(json_object_get(n, "immutable")))
        kc_err_forbidden(l, "immutable", "field is immutable when `immutable` is set");
    for (size_t i = 0; fields[i]; i++) {
        json_t *a = json_object_get(n, fields[i]), *b = json_object_get(o, fields[i]);
        /* an empty map and none are the same (Go's nil map decodes either way) */
        if (json_object_size(a) == 0 && json_object_size(b) == 0)
            continue;
        if (!a || !b || !json_equal(a, b))
            kc_err_forbidden(l, fields[i], "field is immutable when `immutable` is set");
    }
}

void kc_validate_configmap_update(const json_t *n, const json_t *o, struct kc_errlist *l)
{
    static const char *const fields[] = {"data", "binaryData", NULL};
    check_immutable(n, o, fields, l);
}

void kc_validate_secret_update(const json_t *n, const json_t *o, struct kc_errlist *l)
{
    static const char *const fields[] = {"data", NULL};
    check_immutable(n, o, fields, l);
}

void kc_validate_namespace(const json_t *ns, struct kc_errlist *l)
{
    size_t i;
    json_t *f;
    json_array_foreach (kc_json_path(ns, "spec.finalizers"), i, f)
        if (!json_is_string(f))
            kc_err_invalid(l, "spec.finalizers", f, "must be a string");
}

void kc_validate_node(const json_t *n, struct kc_errlist *l)
{
    const char *cidr = kc_json_str(n, "spec.podCIDR");
    if (cidr && *cidr && !strchr(cidr, '/'))
        kc_err_invalid(l, "spec.podCIDR", kc_json_path(n, "spec.podCIDR"), "must be a valid CIDR");
}
