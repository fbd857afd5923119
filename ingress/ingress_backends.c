/* The routing table from the informers: served Ingresses (oldest first, so the older one
 * wins a tie), and each backend reference resolved through its Service port to the ready
 * endpoints of the Service's EndpointSlices. Runs on the proxy loop's thread whenever an
 * informer reported a change. */
#include "ingress/ingress.h"
#include "ingress/proxy.h"
#include "lib/jsonx.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLICE_LABEL "kubernetes.io/service-name"

void ing_index_slice_service(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx)
{
    const char *ns = json_string_value(kc_json_path(obj, "metadata.namespace"));
    const char *svc =
        json_string_value(json_object_get(kc_json_path(obj, "metadata.labels"), SLICE_LABEL));
    if (!ns || !svc)
        return;
    char key[512];
    snprintf(key, sizeof key, "%s/%s", ns, svc);
    emit(emit_ctx, key);
}

static int by_age(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *tx = json_string_value(kc_json_path(x, "metadata.creationTimestamp"));
    const char *ty = json_string_value(kc_json_path(y, "metadata.creationTimestamp"));
    int c = strcmp(tx ? tx : "", ty ? ty : ""); /* RFC 3339 in UTC sorts as text */
    if (c)
        return c;
    char kx[512], ky[512];
    return strcmp(kc_object_key(kx, sizeof kx, x), kc_object_key(ky, sizeof ky, y));
}

json_t *ing_served(struct ing_ctx *ctx)
{
    json_t *all = kc_informer_list(ctx->ingresses, NULL);   /* new */
    json_t *classes = kc_informer_list(ctx->classes, NULL); /* new */
    json_t *out = json_array();                             /* new, returned */
    size_t n = json_array_size(all), k = 0;
    json_t **v = calloc(n ? n : 1, sizeof *v);
    if (!all || !classes || !out || !v) {
        json_decref(out);
        out = NULL;
        goto out;
    }
    size_t i;
    json_t *ing;
    json_array_foreach (all, i, ing)
        if (ing_class_serves(ing, classes, &ctx->copts))
            v[k++] = ing; /* borrowed from `all` */
    qsort(v, k, sizeof *v, by_age);
    for (i = 0; i < k; i++)
        json_array_append(out, v[i]);
out:
    free(v);
    json_decref(all);
    json_decref(classes);
    return out;
}

/* Appends the ready addresses of one slice port to *t (realloc'd). */
static void add_slice(struct px_target **t, size_t *cap, const json_t *slice, int port,
                      const char *type)
{
    size_t i, j;
    json_t *ep, *addr;
    json_array_foreach (json_object_get(slice, "endpoints"), i, ep) {
        /* ready unset means ready (the API's rule for consumers) */
        if (json_is_false(kc_json_path(ep, "conditions.ready")))
            continue;
        json_array_foreach (json_object_get(ep, "addresses"), j, addr) {
            const char *ip = json_string_value(addr);
            if (!ip)
                continue;
            if ((*t)->n == *cap) {
                size_t nc = *cap ? *cap * 2 : 4;
                struct px_target *nt = realloc(*t, sizeof **t + nc * sizeof(struct px_endpoint));
                if (!nt)
                    return;
                *t = nt;
                *cap = nc;
            }
            struct px_endpoint *e = &(*t)->eps[(*t)->n];
            memset(e, 0, sizeof *e);
            if (strcmp(type, "IPv6") == 0) {
                struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&e->sa;
                s6->sin6_family = AF_INET6;
                s6->sin6_port = htons((uint16_t)port);
                if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
                    continue;
                e->salen = sizeof *s6;
                snprintf(e->key, sizeof e->key, "[%s]:%d", ip, port);
            } else {
                struct sockaddr_in *s4 = (struct sockaddr_in *)&e->sa;
                s4->sin_family = AF_INET;
                s4->sin_port = htons((uint16_t)port);
                if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
                    continue;
                e->salen = sizeof *s4;
                snprintf(e->key, sizeof e->key, "%s:%d", ip, port);
            }
            (*t)->n++;
        }
    }
}

/* The ready endpoints of a backend reference: NULL when the Service or its port is
 * missing (503 as for no endpoints). New, freed by the loop. */
static struct px_target *resolve(struct ing_ctx *ctx, const struct ing_backend_ref *b)
{
    struct px_target *t = NULL;
    json_t *svc = kc_informer_get_ns(ctx->services, b->ns, b->service); /* new */
    json_t *slices = NULL;
    if (!svc)
        goto out;
    /* the Service port: by number (spec.ports[].port) or by name */
    const char *port_name = NULL;
    bool found = false;
    size_t i;
    json_t *p;
    json_array_foreach (kc_json_path(svc, "spec.ports"), i, p) {
        const char *nm = json_string_value(json_object_get(p, "name"));
        if ((b->port_number && json_integer_value(json_object_get(p, "port")) == b->port_number) ||
            (b->port_name && nm && strcmp(nm, b->port_name) == 0)) {
            port_name = nm ? nm : "";
            found = true;
            break;
        }
    }
    if (!found)
        goto out;
    char key[512];
    snprintf(key, sizeof key, "%s/%s", b->ns, b->service);
    slices = kc_informer_by_index(ctx->slices, "svc", key); /* new */
    size_t cap = 0;
    t = calloc(1, sizeof *t);
    if (!t)
        goto out;
    snprintf(t->key, sizeof t->key, "%s/%s:%d%s", b->ns, b->service, b->port_number,
             b->port_name ? b->port_name : "");
    json_t *sl;
    json_array_foreach (slices, i, sl) {
        const char *type = json_string_value(json_object_get(sl, "addressType"));
        if (!type || (strcmp(type, "IPv4") && strcmp(type, "IPv6")))
            continue; /* FQDN endpoints: not supported */
        size_t j;
        json_t *sp;
        json_array_foreach (json_object_get(sl, "ports"), j, sp) {
            const char *nm = json_string_value(json_object_get(sp, "name"));
            json_t *num = json_object_get(sp, "port");
            if (strcmp(nm ? nm : "", port_name) == 0 && json_is_integer(num)) {
                add_slice(&t, &cap, sl, (int)json_integer_value(num), type);
                break;
            }
        }
    }
out:
    json_decref(slices);
    json_decref(svc);
    return t;
}

static void resolve_one(void *vctx, struct ing_backend_ref *b)
{
    b->resolved = resolve(vctx, b);
}

struct ing_routes *ing_build_routes(void *vctx)
{
    struct ing_ctx *ctx = vctx;
    json_t *served = ing_served(ctx); /* new */
    struct ing_routes *r = served ? ing_routes_new() : NULL;
    if (!r)
        goto out;
    size_t i;
    json_t *ing;
    json_array_foreach (served, i, ing) {
        if (ing_routes_add_ingress(r, ing) != 0) {
            ing_routes_free(r);
            r = NULL;
            goto out;
        }
    }
    ing_routes_foreach_backend(r, resolve_one, ctx);
out:
    json_decref(served);
    return r;
}
