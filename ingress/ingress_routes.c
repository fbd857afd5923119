/* The routing table; see ingress_routes.h. A flat array scanned per request: clusters here
 * have tens of rules, and a scan of a few cache lines is cheaper than keeping an index
 * right through every change. */
#include "ingress/ingress_routes.h"

#include "lib/jsonx.h"

#include <stdlib.h>
#include <string.h>

enum host_kind { HOST_EXACT = 0, HOST_WILDCARD = 1, HOST_ANY = 2 };

struct route {
    char *host; /* lowercase; "" for any */
    enum host_kind hk;
    char *path; /* normalized: no trailing '/' except "/" itself */
    int exact;
    size_t backend; /* index into backends */
};

struct ing_routes {
    struct route *routes;
    size_t n, cap;
    struct ing_backend_ref **backends;
    size_t nb, capb;
    struct ing_backend_ref *default_backend; /* one of backends, or NULL */
};

struct ing_routes *ing_routes_new(void)
{
    return calloc(1, sizeof(struct ing_routes));
}

static void backend_free(struct ing_backend_ref *b)
{
    if (!b)
        return;
    free(b->ns);
    free(b->service);
    free(b->port_name);
    free(b);
}

void ing_routes_free(struct ing_routes *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->routes[i].host);
        free(r->routes[i].path);
    }
    for (size_t i = 0; i < r->nb; i++)
        backend_free(r->backends[i]);
    free(r->routes);
    free(r->backends);
    free(r);
}

size_t ing_routes_len(const struct ing_routes *r)
{
    return r->n;
}

/* A new backend reference from a v1 IngressBackend, appended to r->backends; NULL for a
 * resource backend or a malformed one. */
static struct ing_backend_ref *add_backend(struct ing_routes *r, const char *ns, const json_t *b)
{
    const char *svc = json_string_value(kc_json_path(b, "service.name"));
    json_t *num = kc_json_path(b, "service.port.number");
    const char *pname = json_string_value(kc_json_path(b, "service.port.name"));
    if (!svc || (!json_is_integer(num) && !pname))
        return NULL;
    if (r->nb == r->capb) {
        size_t cap = r->capb ? r->capb * 2 : 8;
        void *p = realloc(r->backends, cap * sizeof *r->backends);
        if (!p)
            return NULL;
        r->backends = p;
        r->capb = cap;
    }
    struct ing_backend_ref *ref = calloc(1, sizeof *ref);
    if (!ref)
        return NULL;
    ref->ns = strdup(ns);
    ref->service = strdup(svc);
    if (json_is_integer(num))
        ref->port_number = (int)json_integer_value(num);
    else
        ref->port_name = strdup(pname);
    if (!ref->ns || !ref->service || (!ref->port_number && !ref->port_name)) {
        backend_free(ref);
        return NULL;
    }
    r->backends[r->nb++] = ref;
    return ref;
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return d;
}

static char *norm_path(const char *p)
{
    if (!p || !*p)
        p = "/";
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        n--;
    return strndup(p, n);
}

static int add_route(struct ing_routes *r, const char *host, const json_t *path, size_t backend)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        void *p = realloc(r->routes, cap * sizeof *r->routes);
        if (!p)
            return -1;
        r->routes = p;
        r->cap = cap;
    }
    const char *type = json_string_value(json_object_get(path, "pathType"));
    struct route *rt = &r->routes[r->n];
    rt->host = lower_dup(host ? host : "");
    rt->path = norm_path(json_string_value(json_object_get(path, "path")));
    if (!rt->host || !rt->path) {
        free(rt->host);
        free(rt->path);
        return -1;
    }
    rt->hk = !*rt->host ? HOST_ANY : rt->host[0] == '*' ? HOST_WILDCARD : HOST_EXACT;
    rt->exact = type && strcmp(type, "Exact") == 0;
    rt->backend = backend;
    r->n++;
    return 0;
}

int ing_routes_add_ingress(struct ing_routes *r, const json_t *ing)
{
    const char *ns = json_string_value(kc_json_path(ing, "metadata.namespace"));
    if (!ns)
        ns = "default";
    json_t *def = kc_json_path(ing, "spec.defaultBackend");
    if (json_is_object(def)) {
        struct ing_backend_ref *b = add_backend(r, ns, def);
        if (b && !r->default_backend)
            r->default_backend = b;
    }
    size_t i, j;
    json_t *rule, *path;
    json_array_foreach (kc_json_path(ing, "spec.rules"), i, rule) {
        const char *host = json_string_value(json_object_get(rule, "host"));
        json_array_foreach (kc_json_path(rule, "http.paths"), j, path) {
            if (!add_backend(r, ns, json_object_get(path, "backend")))
                continue;
            if (add_route(r, host, path, r->nb - 1) != 0)
                return -1;
        }
    }
    return 0;
}

int ing_host_matches(const char *rule_host, const char *host)
{
    if (!*rule_host)
        return 1;
    if (rule_host[0] == '*' && rule_host[1] == '.') {
        /* exactly one label before the suffix: "a.foo.com" but not "foo.com", "a.b.foo.com" */
        const char *dot = strchr(host, '.');
        return dot && dot != host && strcmp(dot, rule_host + 1) == 0;
    }
    return strcmp(rule_host, host) == 0;
}

int ing_path_matches(const char *rule_path, int exact, const char *path)
{
    size_t n = strlen(rule_path);
    if (exact)
        return strcmp(rule_path, path) == 0 ? (int)n : -1;
    if (n == 1 && rule_path[0] == '/')
        return path[0] == '/' ? 1 : -1;
    if (strncmp(rule_path, path, n) != 0)
        return -1;
    /* element-wise: /foo matches /foo, /foo/ and /foo/bar, not /foobar */
    return path[n] == '\0' || path[n] == '/' ? (int)n : -1;
}

struct ing_backend_ref *ing_routes_match(const struct ing_routes *r, const char *host,
                                         const char *path)
{
    for (int hk = HOST_EXACT; hk <= HOST_ANY; hk++) {
        const struct route *best = NULL;
        int best_len = -1;
        for (size_t i = 0; i < r->n; i++) {
            const struct route *rt = &r->routes[i];
            if ((int)rt->hk != hk || !ing_host_matches(rt->host, host))
                continue;
            int len = ing_path_matches(rt->path, rt->exact, path);
            if (len < 0)
                continue;
            /* strictly better only: at a tie the earlier (older) Ingress stays */
            if (len > best_len || (len == best_len && rt->exact && !best->exact)) {
                best = rt;
                best_len = len;
            }
        }
        if (best)
            return r->backends[best->backend];
    }
    return r->default_backend;
}

void ing_routes_foreach_backend(struct ing_routes *r,
                                void (*fn)(void *ctx, struct ing_backend_ref *b), void *ctx)
{
    for (size_t i = 0; i < r->nb; i++)
        fn(ctx, r->backends[i]);
}

/* ---- class selection ---- */
#define ANN_CLASS "kubernetes.io/ingress.class"
#define ANN_DEFAULT "ingressclass.kubernetes.io/is-default-class"

int ing_class_serves(const json_t *ing, const json_t *classes, const struct ing_class_opts *o)
{
    const char *cls = json_string_value(kc_json_path(ing, "spec.ingressClassName"));
    size_t i;
    json_t *c;
    if (cls) {
        json_array_foreach (classes, i, c) {
            const char *name = json_string_value(kc_json_path(c, "metadata.name"));
            if (name && strcmp(name, cls) == 0) {
                const char *ctl = json_string_value(kc_json_path(c, "spec.controller"));
                return ctl && strcmp(ctl, o->controller) == 0;
            }
        }
        return strcmp(cls, o->class_name) == 0;
    }
    json_t *ann = kc_json_path(ing, "metadata.annotations");
    const char *legacy = json_string_value(json_object_get(ann, ANN_CLASS));
    if (legacy)
        return strcmp(legacy, o->class_name) == 0;
    if (json_array_size(classes) == 0)
        return 1;
    json_array_foreach (classes, i, c) {
        const char *ctl = json_string_value(kc_json_path(c, "spec.controller"));
        const char *def = json_string_value(
            json_object_get(kc_json_path(c, "metadata.annotations"), ANN_DEFAULT));
        if (ctl && strcmp(ctl, o->controller) == 0 && def && strcmp(def, "true") == 0)
            return 1;
    }
    return 0;
}
