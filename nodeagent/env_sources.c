/* Environment values from the API: service links, envFrom, configMapKeyRef, secretKeyRef,
 * resourceFieldRef. See env_sources.h. */
#include "nodeagent/env_sources.h"

#include "lib/base64.h"
#include "lib/jsonx.h"
#include "lib/quantity.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* `$` doubled: the value is taken as written by the $(VAR) expansion. New string. */
static char *escaped(const char *s, size_t n)
{
    char *out = malloc(n * 2 + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '$')
            *o++ = '$';
        *o++ = s[i];
    }
    *o = 0;
    return out;
}

/* Appends {name, value} to env (value as written, see escaped). */
static void put(json_t *env, const char *name, const char *value, size_t n)
{
    char *v = escaped(value, n);
    json_array_append_new(env, json_pack("{s:s,s:s}", "name", name, "value", v));
    free(v);
}

/* validation.IsEnvVarName: [-._a-zA-Z][-._a-zA-Z0-9]* */
static bool env_var_name(const char *s)
{
    if (!*s || isdigit((unsigned char)*s))
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
            return false;
    return true;
}

/* makeEnvVariableName: upper case, '-' to '_'. */
static void env_name(char *out, size_t len, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        out[i] = s[i] == '-' ? '_' : (char)toupper((unsigned char)s[i]);
    out[i] = 0;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* The variables of one Service (envvars.go FromServices). */
static void service_vars(json_t *env, const json_t *svc)
{
    const char *ip = kc_json_str(svc, "spec.clusterIP");
    const json_t *ports = kc_json_path(svc, "spec.ports");
    if (!ip || !*ip || !strcmp(ip, "None") || !json_array_size(ports))
        return;
    char prefix[256], name[512], val[128];
    env_name(prefix, sizeof prefix, kc_json_str(svc, "metadata.name") ?: "");
    /* an IPv6 address is bracketed in host:port */
    const char *lb = strchr(ip, ':') ? "[" : "", *rb = strchr(ip, ':') ? "]" : "";
    snprintf(name, sizeof name, "%s_SERVICE_HOST", prefix);
    put(env, name, ip, strlen(ip));
    snprintf(name, sizeof name, "%s_SERVICE_PORT", prefix);
    snprintf(val, sizeof val, "%lld", kc_json_int(json_array_get(ports, 0), "port", 0));
    put(env, name, val, strlen(val));
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        const char *pname = kc_json_str(p, "name");
        if (pname && *pname) {
            char pn[256];
            env_name(pn, sizeof pn, pname);
            snprintf(name, sizeof name, "%s_SERVICE_PORT_%s", prefix, pn);
            snprintf(val, sizeof val, "%lld", kc_json_int(p, "port", 0));
            put(env, name, val, strlen(val));
        }
    }
    /* Docker's link variables; the first port also as <SVC>_PORT */
    json_array_foreach (ports, i, p) {
        char proto[16], lproto[16], url[256], pp[512];
        long long port = kc_json_int(p, "port", 0);
        snprintf(proto, sizeof proto, "%s", kc_json_str(p, "protocol") ?: "TCP");
        snprintf(lproto, sizeof lproto, "%s", proto);
        lower(lproto);
        for (char *c = proto; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        snprintf(url, sizeof url, "%s://%s%s%s:%lld", lproto, lb, ip, rb, port);
        if (i == 0) {
            snprintf(name, sizeof name, "%s_PORT", prefix);
            put(env, name, url, strlen(url));
        }
        snprintf(pp, sizeof pp, "%s_PORT_%lld_%s", prefix, port, proto);
        put(env, pp, url, strlen(url));
        snprintf(name, sizeof name, "%s_PROTO", pp);
        put(env, name, lproto, strlen(lproto));
        snprintf(name, sizeof name, "%s_PORT", pp);
        snprintf(val, sizeof val, "%lld", port);
        put(env, name, val, strlen(val));
        snprintf(name, sizeof name, "%s_ADDR", pp);
        put(env, name, ip, strlen(ip));
    }
}

/* getServiceEnvVarMap: default/kubernetes always, the namespace's Services when the pod
 * enables service links (a Service of the namespace wins over the master one of the same
 * name). */
static int service_links(const struct kc_env_lookup *l, const json_t *pod, json_t *env, char *msg,
                         size_t msglen)
{
    const char *ns = kc_json_str(pod, "metadata.namespace") ?: "default";
    const json_t *links = kc_json_path(pod, "spec.enableServiceLinks");
    bool enabled = !json_is_false(links);
    json_t *mine = NULL, *master = NULL; /* owned */
    bool not_found = false;
    int rc = -1;
    if (enabled) {
        mine = l->services(l->ctx, ns);
        if (!mine) {
            snprintf(msg, msglen, "cannot list the services of namespace %s", ns);
            goto out;
        }
    }
    bool shadowed = false;
    size_t i;
    json_t *s;
    json_array_foreach (mine, i, s)
        if (!strcmp(kc_json_str(s, "metadata.name") ?: "", "kubernetes"))
            shadowed = true;
    if (!shadowed) {
        master = l->get(l->ctx, &KC_GVR_SERVICES, "default", "kubernetes", &not_found, msg, msglen);
        if (!master && !not_found)
            goto out;
        if (master)
            service_vars(env, master);
    }
    json_array_foreach (mine, i, s)
        service_vars(env, s);
    rc = 0;
out:
    json_decref(mine);
    json_decref(master);
    return rc;
}

/* A ConfigMap's or Secret's data value of key (Secret values decoded): a new string, NULL
 * when the key is absent. *n gets its length. */
static char *data_value(const json_t *obj, bool secret, const char *key, size_t *n)
{
    const char *v = json_string_value(json_object_get(json_object_get(obj, "data"), key));
    if (!v)
        return NULL;
    if (!secret) {
        *n = strlen(v);
        return strdup(v);
    }
    size_t cap = strlen(v) + 1;
    char *out = malloc(cap);
    if (kc_base64_decode(v, out, cap, n) != 0) {
        free(out);
        return NULL;
    }
    out[*n] = 0;
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The InvalidEnvironmentVariableNames event for the keys (strings) of source ns/name that
 * were skipped, sorted as upstream lists them. */
static void warn_invalid(const struct kc_env_lookup *l, const json_t *pod, json_t *keys,
                         bool secret, const char *ns, const char *name)
{
    size_t n = json_array_size(keys);
    if (!n || !l->warn)
        return;
    const char **v = calloc(n, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_string_value(json_array_get(keys, i));
    qsort(v, n, sizeof *v, cmp_str);
    char list[1024] = "", msg[1400];
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", v[i]);
    free(v);
    snprintf(msg, sizeof msg,
             "Keys [%s] from the EnvFrom %s %s/%s were skipped since they are considered invalid "
             "environment variable names.",
             list, secret ? "secret" : "configMap", ns, name);
    l->warn(l->ctx, pod, "InvalidEnvironmentVariableNames", msg);
}

/* envFrom: the keys of each source in turn, a later source winning. */
static int env_from(const struct kc_env_lookup *l, const json_t *pod, const char *ns,
                    const json_t *ctr, json_t *env, char *msg, size_t msglen)
{
    size_t i;
    json_t *src;
    json_array_foreach (json_object_get(ctr, "envFrom"), i, src) {
        const json_t *ref = json_object_get(src, "configMapRef");
        bool secret = !ref;
        if (secret)
            ref = json_object_get(src, "secretRef");
        const char *name = kc_json_str(ref, "name");
        if (!name)
            continue;
        bool not_found = false;
        json_t *obj = l->get(l->ctx, secret ? &KC_GVR_SECRETS : &KC_GVR_CONFIGMAPS, ns, name,
                             &not_found, msg, msglen); /* owned */
        if (!obj) {
            if (not_found && json_is_true(json_object_get(ref, "optional")))
                continue;
            if (not_found)
                snprintf(msg, msglen, "%s \"%s\" not found", secret ? "secret" : "configmap", name);
            return -1;
        }
        const char *prefix = kc_json_str(src, "prefix") ?: "";
        const char *key;
        json_t *v, *invalid = json_array(); /* owned */
        json_object_foreach (json_object_get(obj, "data"), key, v) {
            char full[512];
            snprintf(full, sizeof full, "%s%s", prefix, key);
            if (!env_var_name(full)) {
                json_array_append_new(invalid, json_string(full));
                continue;
            }
            size_t n = 0;
            char *val = data_value(obj, secret, key, &n);
            if (val)
                put(env, full, val, n);
            free(val);
        }
        warn_invalid(l, pod, invalid, secret, ns, name);
        json_decref(invalid);
        json_decref(obj);
    }
    return 0;
}

/* The container named name among the pod's containers and init containers. */
static const json_t *find_container(const json_t *pod, const char *name)
{
    const char *lists[] = {"containers", "initContainers"};
    for (int k = 0; k < 2; k++) {
        size_t i;
        json_t *c;
        json_array_foreach (json_object_get(json_object_get(pod, "spec"), lists[k]), i, c)
            if (!strcmp(kc_json_str(c, "name") ?: "", name))
                return c;
    }
    return NULL;
}

/* resourceFieldRef (resource.ExtractContainerResourceValue): the quantity over the
 * divisor (default 1), rounded up; cpu in millis, the rest in units. A limit the container
 * does not set is the node's allocatable (defaultPodLimitsForDownwardAPI). */
static int resource_field(const struct kc_env_lookup *l, const json_t *pod, const json_t *ctr,
                          const json_t *ref, char *out, size_t outlen, char *msg, size_t msglen)
{
    const char *res = kc_json_str(ref, "resource") ?: "";
    const char *cname = kc_json_str(ref, "containerName");
    if (cname && *cname) {
        ctr = find_container(pod, cname);
        if (!ctr) {
            snprintf(msg, msglen, "container %s not found", cname);
            return -1;
        }
    }
    const char *dot = strchr(res, '.');
    if (!dot || (strncmp(res, "limits.", 7) && strncmp(res, "requests.", 9))) {
        snprintf(msg, msglen, "unsupported container resource : %s", res);
        return -1;
    }
    const char *kind = dot + 1;
    bool cpu = !strcmp(kind, "cpu");
    if (!cpu && strcmp(kind, "memory") && strcmp(kind, "ephemeral-storage") &&
        strncmp(kind, "hugepages-", 10)) {
        snprintf(msg, msglen, "unsupported container resource : %s", res);
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "%.*s", (int)(dot - res), res);
    const json_t *q =
        json_object_get(json_object_get(json_object_get(ctr, "resources"), path), kind);
    json_t *alloc = NULL; /* owned */
    if (!q && !strcmp(path, "limits") && strncmp(kind, "hugepages-", 10)) {
        alloc = l->allocatable(l->ctx);
        q = json_object_get(alloc, kind);
    }
    int64_t v = 0, d = 0;
    if (q && (cpu ? kc_quantity_json_milli(q, &v) : kc_quantity_json_value(q, &v)) != 0)
        v = 0;
    const json_t *div = json_object_get(ref, "divisor");
    if (!div || (cpu ? kc_quantity_json_milli(div, &d) : kc_quantity_json_value(div, &d)) != 0 ||
        d <= 0)
        d = cpu ? 1000 : 1;
    json_decref(alloc);
    snprintf(out, outlen, "%lld", (long long)(v > 0 ? (v + d - 1) / d : v / d));
    return 0;
}

/* A key of a ConfigMap or Secret (configMapKeyRef, secretKeyRef): 1 with the value in
 * *val (new), 0 when an optional source or key is missing (the variable is left out), -1
 * on error. */
static int key_ref(const struct kc_env_lookup *l, const char *ns, const json_t *ref, bool secret,
                   char **val, size_t *n, char *msg, size_t msglen)
{
    const char *name = kc_json_str(ref, "name") ?: "";
    const char *key = kc_json_str(ref, "key") ?: "";
    bool optional = json_is_true(json_object_get(ref, "optional"));
    bool not_found = false;
    json_t *obj = l->get(l->ctx, secret ? &KC_GVR_SECRETS : &KC_GVR_CONFIGMAPS, ns, name,
                         &not_found, msg, msglen); /* owned */
    if (!obj) {
        if (not_found && optional)
            return 0;
        if (not_found)
            snprintf(msg, msglen, "%s \"%s\" not found", secret ? "secret" : "configmap", name);
        return -1;
    }
    *val = data_value(obj, secret, key, n);
    json_decref(obj);
    if (*val)
        return 1;
    if (optional)
        return 0;
    snprintf(msg, msglen, "couldn't find key %s in %s %s/%s", key, secret ? "Secret" : "ConfigMap",
             ns, name);
    return -1;
}

int kc_env_sources_apply(const struct kc_env_lookup *l, const json_t *pod, const json_t *ctr,
                         json_t **out, char *msg, size_t msglen)
{
    const char *ns = kc_json_str(pod, "metadata.namespace") ?: "default";
    json_t *env = json_array(); /* owned until given to copy */
    json_t *copy = NULL;
    if (service_links(l, pod, env, msg, msglen) != 0 ||
        env_from(l, pod, ns, ctr, env, msg, msglen) != 0)
        goto fail;
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(ctr, "env"), i, e) {
        const char *name = kc_json_str(e, "name");
        const json_t *from = json_object_get(e, "valueFrom");
        const json_t *cm = json_object_get(from, "configMapKeyRef");
        const json_t *sec = json_object_get(from, "secretKeyRef");
        const json_t *rf = json_object_get(from, "resourceFieldRef");
        if (!name)
            continue;
        /* a value wins over valueFrom, as upstream reads them */
        const char *value = kc_json_str(e, "value");
        if ((value && *value) || (!cm && !sec && !rf)) {
            json_array_append(env, e); /* value or fieldRef: kc_container_process's */
            continue;
        }
        if (rf) {
            char v[64];
            if (resource_field(l, pod, ctr, rf, v, sizeof v, msg, msglen) != 0)
                goto fail;
            put(env, name, v, strlen(v));
            continue;
        }
        char *v = NULL;
        size_t n = 0;
        int rc = key_ref(l, ns, cm ? cm : sec, !cm, &v, &n, msg, msglen);
        if (rc < 0)
            goto fail;
        if (rc > 0)
            put(env, name, v, n);
        free(v);
    }
    copy = json_deep_copy(ctr);
    json_object_del(copy, "envFrom");
    json_object_set_new(copy, "env", env);
    *out = copy;
    return 0;
fail:
    json_decref(env);
    return -1;
}

/* ---- the API ---- */

static json_t *api_get(void *ctx, const struct kc_gvr *r, const char *ns, const char *name,
                       bool *not_found, char *msg, size_t msglen)
{
    struct kc_env_api *e = ctx;
    json_t *obj = NULL;
    int code = kc_get(e->c, r, ns, name, &obj);
    if (code == 200)
        return obj;
    *not_found = code == 404;
    snprintf(msg, msglen, "cannot get %s %s/%s: %s", r->resource, ns, name,
             kc_json_str(obj, "message") ?: "the API answered no object");
    json_decref(obj);
    return NULL;
}

static json_t *api_services(void *ctx, const char *ns)
{
    struct kc_env_api *e = ctx;
    json_t *list = NULL, *items = NULL;
    if (kc_list(e->c, &KC_GVR_SERVICES, ns, NULL, &list) == 200)
        items = json_incref(json_object_get(list, "items"));
    json_decref(list);
    return items;
}

static json_t *api_allocatable(void *ctx)
{
    struct kc_env_api *e = ctx;
    json_t *node = NULL, *alloc = NULL;
    if (kc_get(e->c, &KC_GVR_NODES, NULL, e->node, &node) == 200)
        alloc = json_incref(kc_json_path(node, "status.allocatable"));
    json_decref(node);
    return alloc;
}

static void api_warn(void *ctx, const json_t *pod, const char *reason, const char *msg)
{
    struct kc_env_api *e = ctx;
    if (e->rec)
        kc_event(e->rec, pod, "Warning", reason, "%s", msg);
}

void kc_env_api_init(struct kc_env_api *e, struct kc_client *c, struct kc_recorder *rec,
                     const char *node)
{
    e->lookup.get = api_get;
    e->lookup.services = api_services;
    e->lookup.allocatable = api_allocatable;
    e->lookup.warn = api_warn;
    e->lookup.ctx = e;
    e->c = c;
    e->rec = rec;
    snprintf(e->node, sizeof e->node, "%s", node ? node : "");
}
