/* See proxy.h. */
#include "nodeagent/proxy.h"

#include "client/informer.h"
#include "lib/jsonx.h"
#include "nodeagent/cmd.h"
#include "nodeagent/proxy_nft.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PREREQ_EVERY_MS 10000
#define RETRY_MS 1000

struct kc_proxy {
    struct kc_netnode *net; /* borrowed */
    char *table, *service_cidr, *cluster_cidr;
    int debounce_ms;
    struct kc_informer *svcs, *eps;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool dirty, stop; /* guarded by mu */
    /* thread only: what is in the kernel now, as the full text and as its model */
    char *loaded;
    struct kc_nft_model *loaded_model;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void mark_dirty(struct kc_proxy *p)
{
    pthread_mutex_lock(&p->mu);
    p->dirty = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
}

static void on_add(void *ctx, const json_t *obj)
{
    (void)obj;
    mark_dirty(ctx);
}

static void on_update(void *ctx, const json_t *old_obj, const json_t *new_obj)
{
    (void)old_obj;
    (void)new_obj;
    mark_dirty(ctx);
}

/* The model of what the informers hold now (caller frees), or NULL. */
static struct kc_nft_model *build(struct kc_proxy *p)
{
    struct kc_nft_model *m = kc_nft_model_new(p->table, p->cluster_cidr);
    json_t *svcs = kc_informer_list(p->svcs, NULL); /* new reference */
    size_t i;
    json_t *svc;
    if (!m)
        goto out;
    json_array_foreach (svcs, i, svc) {
        const char *ns = kc_json_str(svc, "metadata.namespace");
        const char *name = kc_json_str(svc, "metadata.name");
        if (!ns || !name)
            continue;
        json_t *eps = kc_informer_get_ns(p->eps, ns, name); /* new reference or NULL */
        kc_nft_model_add_service(m, svc, eps);
        json_decref(eps);
    }
out:
    json_decref(svcs);
    return m;
}

static int nft_load(struct kc_proxy *p, const char *text, const char *what)
{
    char out[1024];
    char *argv[] = {"nft", "-f", "-", NULL};
    int rc = kc_netnode_run(p->net, argv, text, out, sizeof out, 20000);
    if (rc != 0)
        fprintf(stderr, "nodeagent: services: nft refused the %s (%d): %.600s\n", what, rc, out);
    return rc;
}

/* Loads the rules if they changed. 0 done (or nothing to do), -1 retry later. */
static int sync_rules(struct kc_proxy *p)
{
    long t0 = now_ms();
    struct kc_nft_model *m = build(p);
    if (!m)
        return -1;
    char *full = kc_nft_model_render(m), *update = NULL;
    if (p->loaded && strcmp(p->loaded, full) == 0) {
        kc_nft_model_free(m);
        free(full);
        return 0;
    }
    /* an update in place keeps the clients recorded for session affinity; a full
     * replace (first load, or the update refused) starts them afresh */
    update = kc_nft_model_render_update(m, p->loaded_model);
    long t1 = now_ms();
    int rc = nft_load(p, update, p->loaded_model ? "update, replacing the table" : "table");
    if (rc != 0 && p->loaded_model)
        rc = nft_load(p, full, "table");
    if (rc != 0) {
        kc_nft_model_free(m);
        free(full);
        free(update);
        return -1;
    }
    fprintf(stderr,
            "nodeagent: services: %zu service ports, %zu endpoints: table %s %s (%zu bytes, "
            "render %ld ms, nft %ld ms)\n",
            kc_nft_model_ports(m), kc_nft_model_endpoints(m), p->table,
            p->loaded_model ? "updated" : "loaded", strlen(update), t1 - t0, now_ms() - t1);
    free(update);
    free(p->loaded);
    p->loaded = full;
    kc_nft_model_free(p->loaded_model);
    p->loaded_model = m;
    return 0;
}

static void *proxy_main(void *arg)
{
    struct kc_proxy *p = arg;
    long next_prereq = 0, retry_at = 0;
    bool prereq_done = false;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        long now = now_ms();
        long wake = next_prereq;
        if (retry_at && retry_at < wake)
            wake = retry_at;
        if (!p->dirty && wake > now) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            long wait = wake - now;
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            pthread_cond_timedwait(&p->cond, &p->mu, &ts);
            continue;
        }
        bool work = p->dirty || (retry_at && retry_at <= now);
        pthread_mutex_unlock(&p->mu);

        if (now_ms() >= next_prereq) {
            /* until cni0 exists, then now and then (the node holding the host's route
             * may have gone) */
            char err[512];
            int r = kc_netnode_service_prereq(p->net, p->service_cidr, err, sizeof err);
            if (r < 0)
                fprintf(stderr, "nodeagent: services: %s\n", err);
            if (r == 0 && !prereq_done) {
                prereq_done = true;
                work = true; /* node-originated traffic works from now on */
            }
            next_prereq = now_ms() + (r == 0 ? PREREQ_EVERY_MS : RETRY_MS);
        }
        if (work) {
            /* coalesce a burst of events (an Endpoints update per pod of a rollout) */
            struct timespec d = {0, (long)p->debounce_ms * 1000000L};
            nanosleep(&d, NULL);
            pthread_mutex_lock(&p->mu);
            p->dirty = false;
            pthread_mutex_unlock(&p->mu);
            retry_at = 0;
            if (!kc_informer_synced(p->svcs) || !kc_informer_synced(p->eps))
                retry_at = now_ms() + 100; /* an empty table would reject everything */
            else if (sync_rules(p) != 0)
                retry_at = now_ms() + RETRY_MS;
        }
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct kc_proxy *kc_proxy_start(struct kc_client *c, struct kc_netnode *net,
                                const struct kc_proxy_options *o)
{
    struct kc_nft_model *probe = kc_nft_model_new(o->table, o->cluster_cidr);
    if (!probe) {
        fprintf(stderr, "nodeagent: services: bad table name %s or cluster CIDR %s\n", o->table,
                o->cluster_cidr);
        return NULL;
    }
    kc_nft_model_free(probe);
    char *ver[] = {"nft", "--version", NULL};
    if (kc_cmd_run(ver, NULL, NULL, 0, 5000) != 0) {
        fprintf(stderr, "nodeagent: services: cannot run nft (the nftables package)\n");
        return NULL;
    }
    struct kc_proxy *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->net = net;
    p->table = strdup(o->table);
    p->service_cidr = strdup(o->service_cidr);
    p->cluster_cidr = strdup(o->cluster_cidr);
    p->debounce_ms = o->debounce_ms > 0 ? o->debounce_ms : 50;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cond, NULL);
    p->svcs = kc_informer_new(c, &KC_GVR_SERVICES, NULL, NULL, NULL);
    p->eps = kc_informer_new(c, &KC_GVR_ENDPOINTS, NULL, NULL, NULL);
    struct kc_informer_handlers h = {on_add, on_update, on_add, p};
    kc_informer_add_handlers(p->svcs, &h);
    kc_informer_add_handlers(p->eps, &h);
    if (kc_informer_start(p->svcs) != 0 || kc_informer_start(p->eps) != 0 ||
        pthread_create(&p->thread, NULL, proxy_main, p) != 0) {
        fprintf(stderr, "nodeagent: services: cannot start: %s\n", strerror(errno));
        return NULL; /* p stays allocated: its informers may be running */
    }
    return p;
}

int kc_proxy_delete_table(struct kc_netnode *net, const char *table)
{
    char *text = kc_nft_render_delete(table);
    if (!text)
        return -1;
    char *argv[] = {"nft", "-f", "-", NULL};
    int rc = kc_netnode_run(net, argv, text, NULL, 0, 10000);
    free(text);
    return rc == 0 ? 0 : -1;
}

void kc_proxy_stop(struct kc_proxy *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    /* their handlers use p: they go first (the client's shutdown ended their watches) */
    kc_informer_free(p->svcs);
    kc_informer_free(p->eps);
    kc_proxy_delete_table(p->net, p->table);
    kc_netnode_service_route_down(p->net, p->service_cidr);
    free(p->loaded);
    kc_nft_model_free(p->loaded_model);
    free(p->table);
    free(p->service_cidr);
    free(p->cluster_cidr);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cond);
    free(p);
}
