/* Validation of apps/v1 Deployments and ReplicaSets and networking.k8s.io/v1 Ingresses. */
#include "apiserver/strategy/strategy.h"

#include "lib/jsonx.h"
#include "lib/selector.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kc_validate_pod_template_spec(const json_t *spec, const char *base, struct kc_errlist *l,
                                   bool only_always);

static void non_negative(struct kc_errlist *l, const char *field, const json_t *v)
{
    if (json_is_integer(v) && json_integer_value(v) < 0)
        kc_err_invalid(l, field, v, "must be greater than or equal to 0");
    else if (v && !json_is_integer(v) && !json_is_null(v))
        kc_err_invalid(l, field, v, "must be an integer");
}

/* Go's rendering of a string map: map[string]string{"app":"d"} */
static void map_text(char *buf, size_t n, const json_t *m)
{
    size_t off = (size_t)snprintf(buf, n, "map[string]string{");
    const char *k;
    json_t *v;
    bool first = true;
    json_object_foreach ((json_t *)m, k, v) {
        if (off >= n)
            break;
        off += (size_t)snprintf(buf + off, n - off, "%s\"%s\":\"%s\"", first ? "" : ", ", k,
                                json_string_value(v) ? json_string_value(v) : "");
        first = false;
    }
    if (off < n)
        snprintf(buf + off, n - off, "}");
}

/* selector present, non-empty, valid and matching the template labels */
static void check_selector_template(struct kc_errlist *l, const json_t *spec, const char *kind)
{
    json_t *sel = json_object_get(spec, "selector");
    json_t *labels = kc_json_path(spec, "template.metadata.labels");
    char err[256];
    if (!json_is_object(sel)) {
        kc_err_required(l, "spec.selector", "");
        return;
    }
    if (json_object_size(json_object_get(sel, "matchLabels")) == 0 &&
        json_array_size(json_object_get(sel, "matchExpressions")) == 0) {
        char d[128];
        snprintf(d, sizeof d, "empty selector is invalid for %s", kind);
        kc_errlist_add(l, "FieldValueInvalid", "spec.selector",
                       "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
                       "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: %s",
                       d);
        return;
    }
    struct kc_selector *s = NULL;
    if (kc_label_selector_from_json(sel, &s, err, sizeof err) != 0) {
        kc_err_invalid(l, "spec.selector", sel, err);
        return;
    }
    if (!kc_label_selector_matches(s, labels)) {
        char m[1024];
        map_text(m, sizeof m, labels);
        kc_errlist_add(l, "FieldValueInvalid", "spec.template.metadata.labels",
                       "Invalid value: %s: `selector` does not match template `labels`", m);
    }
    kc_selector_free(s);
}

static bool is_zero_intstr(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) == 0;
    const char *s = json_string_value(v);
    return s && (!strcmp(s, "0") || !strcmp(s, "0%"));
}

static void check_intstr_percent(struct kc_errlist *l, const char *field, const json_t *v)
{
    if (!v || json_is_null(v))
        return;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0)
            kc_err_invalid(l, field, v, "must be greater than or equal to 0");
        return;
    }
    const char *s = json_string_value(v);
    if (!s) {
        kc_err_invalid(l, field, v, "must be an integer or percentage (e.g '5%')");
        return;
    }
    char *end;
    long pct = strtol(s, &end, 10);
    if (end == s || strcmp(end, "%") != 0)
        kc_err_invalid(l, field, v,
                       "a valid percent string must be a numeric string followed by an ending '%' "
                       "(e.g. '1%',  or '93%', regex used for validation is '[0-9]+%')");
    else if (pct > 100 && strstr(field, "maxUnavailable"))
        kc_err_invalid(l, field, v, "must not be greater than 100%");
}

void kc_validate_deployment(const json_t *d, struct kc_errlist *l)
{
    static const char *const types[] = {"Recreate", "RollingUpdate", NULL};
    json_t *spec = json_object_get(d, "spec");
    if (!json_is_object(spec)) {
        kc_err_required(l, "spec.selector", "");
        return;
    }
    non_negative(l, "spec.replicas", json_object_get(spec, "replicas"));
    check_selector_template(l, spec, "deployment");
    kc_validate_pod_template_spec(kc_json_path(spec, "template.spec"), "spec.template.spec", l,
                                  true);
    json_t *strategy = json_object_get(spec, "strategy");
    json_t *type = json_object_get(strategy, "type");
    const char *t = json_string_value(type);
    if (type && !(t && (!strcmp(t, "Recreate") || !strcmp(t, "RollingUpdate"))))
        kc_err_not_supported(l, "spec.strategy.type", type, types);
    json_t *ru = json_object_get(strategy, "rollingUpdate");
    if (t && !strcmp(t, "Recreate") && ru)
        kc_err_forbidden(l, "spec.strategy.rollingUpdate",
                         "may not be specified when strategy `type` is 'Recreate'");
    if (t && !strcmp(t, "RollingUpdate") && json_is_object(ru)) {
        json_t *mu = json_object_get(ru, "maxUnavailable"), *ms = json_object_get(ru, "maxSurge");
        check_intstr_percent(l, "spec.strategy.rollingUpdate.maxUnavailable", mu);
        check_intstr_percent(l, "spec.strategy.rollingUpdate.maxSurge", ms);
        if (is_zero_intstr(mu) && is_zero_intstr(ms))
            kc_err_invalid(l, "spec.strategy.rollingUpdate.maxUnavailable", mu,
                           "may not be 0 when `maxSurge` is 0");
    }
    non_negative(l, "spec.revisionHistoryLimit", json_object_get(spec, "revisionHistoryLimit"));
    non_negative(l, "spec.minReadySeconds", json_object_get(spec, "minReadySeconds"));
    json_t *pds = json_object_get(spec, "progressDeadlineSeconds");
    if (json_is_integer(pds)) {
        non_negative(l, "spec.progressDeadlineSeconds", pds);
        if (json_integer_value(pds) <= kc_json_int(spec, "minReadySeconds", 0))
            kc_err_invalid(l, "spec.progressDeadlineSeconds", pds,
                           "must be greater than minReadySeconds");
    }
}

static void selector_immutable(const json_t *n, const json_t *o, struct kc_errlist *l)
{
    json_t *a = kc_json_path(n, "spec.selector"), *b = kc_json_path(o, "spec.selector");
    if (!kc_json_equal(a, b)) {
        char m[1024];
        map_text(m, sizeof m, json_object_get(a, "matchLabels"));
        kc_errlist_add(l, "FieldValueInvalid", "spec.selector",
                       "Invalid value: v1.LabelSelector{MatchLabels:%s, "
                       "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
                       m);
    }
}

void kc_validate_deployment_update(const json_t *n, const json_t *o, struct kc_errlist *l)
{
    selector_immutable(n, o, l);
}

void kc_validate_replicaset(const json_t *rs, struct kc_errlist *l)
{
    json_t *spec = json_object_get(rs, "spec");
    if (!json_is_object(spec)) {
        kc_err_required(l, "spec.selector", "");
        return;
    }
    non_negative(l, "spec.replicas", json_object_get(spec, "replicas"));
    non_negative(l, "spec.minReadySeconds", json_object_get(spec, "minReadySeconds"));
    check_selector_template(l, spec, "replicaset");
    kc_validate_pod_template_spec(kc_json_path(spec, "template.spec"), "spec.template.spec", l,
                                  true);
}

void kc_validate_replicaset_update(const json_t *n, const json_t *o, struct kc_errlist *l)
{
    selector_immutable(n, o, l);
}

static void check_backend(struct kc_errlist *l, const char *base, const json_t *b)
{
    char f[512];
    json_t *svc = json_object_get(b, "service"), *res = json_object_get(b, "resource");
    if (svc && res) {
        snprintf(f, sizeof f, "%s", base);
        kc_err_invalid(l, f, NULL, "cannot set both resource and service backends");
        return;
    }
    if (!svc && !res) {
        snprintf(f, sizeof f, "%s", base);
        kc_errlist_add(l, "FieldValueInvalid", f,
                       "Invalid value: \"\": one backend (service or resource) must be specified");
        return;
    }
    if (svc) {
        const char *name = kc_json_str(svc, "name");
        snprintf(f, sizeof f, "%s.service.name", base);
        if (!name || !*name)
            kc_err_required(l, f, "");
        json_t *port = json_object_get(svc, "port");
        json_t *num = json_object_get(port, "number"), *pname = json_object_get(port, "name");
        snprintf(f, sizeof f, "%s.service.port", base);
        if (num && pname)
            kc_err_invalid(l, f, NULL, "cannot set both port name & port number");
        else if (!num && !pname)
            kc_err_invalid(l, f, NULL, "port name or number is required");
        else if (num && (!json_is_integer(num) || json_integer_value(num) < 1 ||
                         json_integer_value(num) > 65535)) {
            snprintf(f, sizeof f, "%s.service.port.number", base);
            kc_err_invalid(l, f, num, "must be between 1 and 65535, inclusive");
        }
    }
}

void kc_validate_ingress(const json_t *ing, struct kc_errlist *l)
{
    static const char *const path_types[] = {"Exact", "ImplementationSpecific", "Prefix", NULL};
    json_t *spec = json_object_get(ing, "spec");
    json_t *rules = json_object_get(spec, "rules");
    json_t *def = json_object_get(spec, "defaultBackend");
    char f[512];
    size_t i, j;
    json_t *r, *p;
    if (json_array_size(rules) == 0 && !def)
        kc_err_invalid(l, "spec", NULL, "either `defaultBackend` or `rules` must be specified");
    if (def)
        check_backend(l, "spec.defaultBackend", def);
    json_array_foreach (rules, i, r) {
        const char *host = kc_json_str(r, "host");
        if (host && *host) {
            const char *h = strncmp(host, "*.", 2) == 0 ? host + 2 : host;
            snprintf(f, sizeof f, "spec.rules[%zu].host", i);
            if (!kc_is_dns1123_subdomain(h))
                kc_err_invalid(
                    l, f, json_object_get(r, "host"),
                    "a lowercase RFC 1123 subdomain must consist of lower case "
                    "alphanumeric characters, '-' or '.', and must start and end "
                    "with an alphanumeric character (e.g. 'example.com', regex used "
                    "for validation is "
                    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
        }
        json_t *http = json_object_get(r, "http");
        if (!http)
            continue;
        json_t *paths = json_object_get(http, "paths");
        if (json_array_size(paths) == 0) {
            snprintf(f, sizeof f, "spec.rules[%zu].http.paths", i);
            kc_err_required(l, f, "");
        }
        json_array_foreach (paths, j, p) {
            json_t *pt = json_object_get(p, "pathType");
            snprintf(f, sizeof f, "spec.rules[%zu].http.paths[%zu].pathType", i, j);
            if (!pt)
                kc_err_required(l, f, "pathType must be specified");
            else if (!json_is_string(pt) ||
                     (strcmp(json_string_value(pt), "Exact") &&
                      strcmp(json_string_value(pt), "Prefix") &&
                      strcmp(json_string_value(pt), "ImplementationSpecific")))
                kc_err_not_supported(l, f, pt, path_types);
            const char *path = kc_json_str(p, "path");
            snprintf(f, sizeof f, "spec.rules[%zu].http.paths[%zu].path", i, j);
            if (pt && json_is_string(pt) &&
                strcmp(json_string_value(pt), "ImplementationSpecific") &&
                (!path || path[0] != '/'))
                kc_err_invalid(l, f, json_object_get(p, "path"), "must be an absolute path");
            snprintf(f, sizeof f, "spec.rules[%zu].http.paths[%zu].backend", i, j);
            check_backend(l, f, json_object_get(p, "backend"));
        }
    }
}
