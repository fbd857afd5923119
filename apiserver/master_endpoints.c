/* See master_endpoints.h. */
#include "apiserver/master_endpoints.h"

#include "apiserver/registry.h"
#include "apiserver/resources.h"
#include "apiserver/server.h"
#include "lib/jsonx.h"
#include "lib/status.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PERIOD_MS 10000 /* upstream's --endpoint-reconciler lease period */

struct kc_master_endpoints {
    struct kc_server *srv;
    pthread_t thread;
    volatile int stop;
};

/* The fields the reconciler owns, as upstream writes them: the Endpoints carry
 * skip-mirror so that the mirroring controller leaves them to the EndpointSlice below. */
static json_t *want_endpoints(const char *ip, int port)
{
    return json_pack("{s:{s:s,s:s,s:{s:s}},s:[{s:[{s:s}],s:[{s:s,s:i,s:s}]}]}", "metadata", "name",
                     "kubernetes", "namespace", "default", "labels",
                     "endpointslice.kubernetes.io/skip-mirror", "true", "subsets", "addresses",
                     "ip", ip, "ports", "name", "https", "port", port, "protocol", "TCP");
}

static json_t *want_slice(const char *ip, int port)
{
    return json_pack("{s:s,s:s,s:{s:s,s:s,s:{s:s}},s:s,s:[{s:[s],s:{s:b}}],s:[{s:s,s:i,s:s}]}",
                     "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata",
                     "name", "kubernetes", "namespace", "default", "labels",
                     "kubernetes.io/service-name", "kubernetes", "addressType", "IPv4", "endpoints",
                     "addresses", ip, "conditions", "ready", 1, "ports", "name", "https", "port",
                     port, "protocol", "TCP");
}

/* Makes the stored object named by want carry want's labels and its fields other than
 * metadata (fields: NULL terminated). 0 when it does (already or after the write). */
static int ensure(struct kc_server *srv, const struct kc_resource *r, json_t *want,
                  const char *const *fields)
{
    json_t *cur = NULL, *out = NULL; /* owned */
    struct kc_status st = KC_STATUS_INIT;
    struct kc_write_opts wo = {0};
    int ret = -1;
    if (!r || !want)
        goto out;
    if (kc_registry_get(srv, r, "default", "kubernetes", &cur, NULL, &st) != 0) {
        if (st.code != 404)
            goto out;
        kc_status_release(&st);
        ret = kc_registry_create(srv, r, "default", want, &wo, &out, &st) == 0 || st.code == 409
                  ? 0
                  : -1;
        goto out;
    }
    bool same = true;
    for (size_t i = 0; fields[i]; i++)
        if (!json_equal(json_object_get(cur, fields[i]), json_object_get(want, fields[i]))) {
            json_object_set(cur, fields[i], json_object_get(want, fields[i]));
            same = false;
        }
    json_t *labels = kc_json_ensure_obj(kc_json_ensure_obj(cur, "metadata"), "labels");
    const char *k;
    json_t *v;
    json_object_foreach (kc_json_path(want, "metadata.labels"), k, v)
        if (!json_equal(json_object_get(labels, k), v)) {
            json_object_set(labels, k, v);
            same = false;
        }
    if (same) {
        ret = 0;
        goto out;
    }
    /* cur carries its resourceVersion: a concurrent change wins, the next round retries */
    ret = kc_registry_update(srv, r, "default", "kubernetes", cur, KC_UPDATE_MAIN, &wo, &out, &st);
out:
    if (ret != 0 && st.message)
        fprintf(stderr, "kubec apiserver: master endpoints: %s: %s\n", r ? r->resource : "?",
                st.message);
    kc_status_release(&st);
    json_decref(cur);
    json_decref(out);
    return ret;
}

int kc_master_endpoints_reconcile(struct kc_server *srv)
{
    const char *ip = srv->opt.advertise_address;
    /* the secure port, as upstream; a server with plain HTTP only names that */
    int port = srv->opt.secure_port ? srv->opt.secure_port : srv->opt.port;
    static const char *const ep_fields[] = {"subsets", NULL};
    static const char *const es_fields[] = {"addressType", "endpoints", "ports", NULL};
    json_t *ep = want_endpoints(ip, port), *es = want_slice(ip, port); /* owned */
    int ret = ensure(srv, kc_resource_find("", "v1", "endpoints"), ep, ep_fields);
    ret |= ensure(srv, kc_resource_find("discovery.k8s.io", "v1", "endpointslices"), es, es_fields);
    json_decref(ep);
    json_decref(es);
    return ret;
}

static void *run(void *arg)
{
    struct kc_master_endpoints *m = arg;
    while (!m->stop && !m->srv->stopping) {
        kc_master_endpoints_reconcile(m->srv);
        for (int i = 0; i < PERIOD_MS / 100 && !m->stop && !m->srv->stopping; i++)
            usleep(100 * 1000);
    }
    return NULL;
}

struct kc_master_endpoints *kc_master_endpoints_start(struct kc_server *srv)
{
    if (!srv->opt.advertise_address)
        return NULL;
    struct kc_master_endpoints *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->srv = srv;
    if (pthread_create(&m->thread, NULL, run, m) != 0) {
        free(m);
        return NULL;
    }
    return m;
}

void kc_master_endpoints_stop(struct kc_master_endpoints *m)
{
    if (!m)
        return;
    m->stop = 1;
    pthread_join(m->thread, NULL);
    free(m);
}
