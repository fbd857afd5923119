/* `kubec ingress`: the Ingress controller. Informers on Ingresses, IngressClasses,
 * Services and EndpointSlices feed a routing table that each proxy loop (one thread and
 * one epoll each; --workers of them share the listen sockets through SO_REUSEPORT) swaps
 * in on every change; another thread writes the publish address into the status of
 * served Ingresses. See ingress/README.md. */
#include "client/component.h"
#include "ingress/ingress.h"
#include "ingress/proxy.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_LISTEN 8
#define MAX_WORKERS 16

int kc_ingress_main(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(f, "usage: kubec ingress (--kubeconfig FILE | --master URL) [flags]\n\n"
               "An HTTP/1.1 and HTTP/2 (cleartext, prior knowledge) reverse proxy for the\n"
               "Ingresses of class --ingress-class (controller " KC_INGRESS_CONTROLLER ").\n\n"
               "  --listen ADDR:PORT              listen address, repeatable (default\n"
               "                                  0.0.0.0:80 as root, else 0.0.0.0:8080)\n"
               "  --publish-address IP            written to status.loadBalancer (default:\n"
               "                                  the first listen address, 127.0.0.1 if any)\n"
               "  --ingress-class NAME            our IngressClass name (default kubec)\n"
               "  --client-idle-timeout DUR       keep-alive idle and request head (60s)\n"
               "  --backend-connect-timeout DUR   (5s)\n"
               "  --backend-read-timeout DUR      backend silence before 504 (60s)\n"
               "  --pool-idle-timeout DUR         idle backend connection kept (30s)\n"
               "  --pool-max-idle N               idle connections per endpoint (128)\n"
               "  --max-header-size BYTES         request head limit, 431 beyond (32768)\n"
               "  --workers N                     proxy loops (threads) sharing the listen\n"
               "                                  addresses with SO_REUSEPORT (1)\n"
               "\nEvery replica serves traffic. Leader election is off by default here:\n"
               "with --leader-elect only the holder of the Lease writes status.\n\n");
    kc_component_usage(f, "kubec-ingress");
}

struct loop_arg {
    struct px_loop *loop;
    int rc;
};

static void *loop_main(void *a)
{
    struct loop_arg *la = a;
    la->rc = px_loop_run(la->loop);
    return NULL;
}

/* Informer handlers: any change may change routes or status. */
struct wake_ctx {
    struct px_loop **loops;
    int n;
    struct ing_ctx *ing;
};

static void wake(struct wake_ctx *w)
{
    for (int i = 0; i < w->n; i++)
        px_loop_wake(w->loops[i]);
    ing_status_wake(w->ing);
}

static void on_add(void *c, const json_t *o)
{
    (void)o;
    wake(c);
}

static void on_update(void *c, const json_t *a, const json_t *b)
{
    (void)a, (void)b;
    wake(c);
}

/* With --leader-elect only the leader writes status; every replica serves traffic. */
static void lead_start(void *ctx)
{
    if (ing_status_start(ctx) != 0)
        fprintf(stderr, "ingress: cannot start the status writer\n");
}

static void lead_stop(void *ctx)
{
    ing_status_stop(ctx);
}

static void write_metrics(FILE *f, void *ctx)
{
    (void)ctx;
    fprintf(f, "# TYPE kubec_ingress_backend_connects_total counter\n");
    fprintf(f, "kubec_ingress_backend_connects_total %lu\n",
            __atomic_load_n(&px_stat_backend_connects, __ATOMIC_RELAXED));
    fprintf(f, "# TYPE kubec_ingress_backend_reuses_total counter\n");
    fprintf(f, "kubec_ingress_backend_reuses_total %lu\n",
            __atomic_load_n(&px_stat_backend_reuses, __ATOMIC_RELAXED));
}

/* The host part of "addr:port" when specific (not 0.0.0.0, ::, or empty). */
static void publish_default(const char *listen, char *buf, size_t len)
{
    const char *colon = strrchr(listen, ':');
    size_t n = colon ? (size_t)(colon - listen) : 0;
    const char *h = listen;
    if (n >= 2 && h[0] == '[') {
        h++;
        n -= 2;
    }
    if (n == 0 || n >= len || (n == 7 && !memcmp(h, "0.0.0.0", 7)) ||
        (n == 2 && !memcmp(h, "::", 2))) {
        snprintf(buf, len, "127.0.0.1");
        return;
    }
    memcpy(buf, h, n);
    buf[n] = 0;
}

int kc_ingress_main(int argc, char **argv)
{
    struct kc_component_flags cf;
    kc_component_flags_init(&cf, "kubec-ingress");
    cf.leader_elect = false; /* every replica serves; --leader-elect elects the status writer */
    struct px_settings s = {
        .max_header = 32768,
        .client_idle_ms = 60000,
        .connect_ms = 5000,
        .read_ms = 60000,
        .pool_idle_ms = 30000,
        .pool_max_idle = 128,
    };
    char *listen[MAX_LISTEN];
    int nlisten = 0;
    const char *publish = NULL, *cls = "kubec";
    int rc = 1, workers = 1;

    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *val;
        int r = kc_flag_next("ingress", argc, argv, &i, name, sizeof name, &val);
        if (r == 1) {
            usage(stdout);
            return 0;
        }
        if (r < 0)
            return 2;
        r = kc_component_flag("ingress", &cf, name, val);
        if (r < 0)
            return 2;
        if (r == 1)
            continue;
        int *dur = NULL;
        if (strcmp(name, "listen") == 0) {
            if (nlisten == MAX_LISTEN) {
                fprintf(stderr, "ingress: at most %d --listen\n", MAX_LISTEN);
                return 2;
            }
            listen[nlisten++] = (char *)val;
        } else if (strcmp(name, "publish-address") == 0) {
            publish = val;
        } else if (strcmp(name, "ingress-class") == 0) {
            cls = val;
        } else if (strcmp(name, "client-idle-timeout") == 0) {
            dur = &s.client_idle_ms;
        } else if (strcmp(name, "backend-connect-timeout") == 0) {
            dur = &s.connect_ms;
        } else if (strcmp(name, "backend-read-timeout") == 0) {
            dur = &s.read_ms;
        } else if (strcmp(name, "pool-idle-timeout") == 0) {
            dur = &s.pool_idle_ms;
        } else if (strcmp(name, "pool-max-idle") == 0) {
            s.pool_max_idle = atoi(val);
        } else if (strcmp(name, "workers") == 0) {
            workers = atoi(val);
            if (workers < 1 || workers > MAX_WORKERS) {
                fprintf(stderr, "ingress: --workers between 1 and %d\n", MAX_WORKERS);
                return 2;
            }
        } else if (strcmp(name, "max-header-size") == 0) {
            long n = atol(val);
            if (n < 1024 || n > 1 << 24) {
                fprintf(stderr, "ingress: --max-header-size out of range\n");
                return 2;
            }
            s.max_header = (size_t)n;
        } else {
            fprintf(stderr, "ingress: unknown flag --%s (see --help)\n", name);
            return 2;
        }
        if (dur && (*dur = (int)kc_flag_duration("ingress", name, val)) < 0)
            return 2;
    }
    if (nlisten == 0)
        listen[nlisten++] = geteuid() == 0 ? "0.0.0.0:80" : "0.0.0.0:8080";
    char pub[64];
    if (publish)
        snprintf(pub, sizeof pub, "%s", publish);
    else
        publish_default(listen[0], pub, sizeof pub);
    const char *colon = strrchr(listen[0], ':');
    s.listen_port = colon ? atoi(colon + 1) : 80;

    struct ing_ctx ctx = {
        .copts = {.class_name = cls, .controller = KC_INGRESS_CONTROLLER},
        .publish_ip = pub,
        .publish_port = s.listen_port,
    };
    pthread_mutex_init(&ctx.mu, NULL);
    pthread_cond_init(&ctx.cv, NULL);
    struct kc_metrics_server *metrics = NULL;
    struct px_loop *loops[MAX_WORKERS] = {0};
    pthread_t threads[MAX_WORKERS];
    struct loop_arg la[MAX_WORKERS] = {{0}};
    int started = 0;
    struct kc_leader *leader = NULL;
    s.reuseport = workers > 1;

    if (kc_component_connect("ingress", &cf, "kubec-ingress/0.1", &ctx.client) != 0)
        goto out;
    kc_component_block_signals();
    char err[256];
    for (int i = 0; i < workers; i++) {
        loops[i] = px_loop_new(&s, listen, nlisten, ing_build_routes, &ctx, err, sizeof err);
        if (!loops[i]) {
            fprintf(stderr, "ingress: %s\n", err);
            goto out;
        }
    }
    ctx.ingresses = kc_informer_new(ctx.client, &KC_GVR_INGRESSES, NULL, NULL, NULL);
    ctx.classes = kc_informer_new(ctx.client, &KC_GVR_INGRESSCLASSES, NULL, NULL, NULL);
    ctx.services = kc_informer_new(ctx.client, &KC_GVR_SERVICES, NULL, NULL, NULL);
    ctx.slices = kc_informer_new(ctx.client, &KC_GVR_ENDPOINTSLICES, NULL, NULL, NULL);
    kc_informer_add_index(ctx.slices, "svc", ing_index_slice_service);
    struct wake_ctx w = {loops, workers, &ctx};
    struct kc_informer_handlers h = {on_add, on_update, on_add, &w};
    struct kc_informer *infs[] = {ctx.ingresses, ctx.classes, ctx.services, ctx.slices};
    for (int i = 0; i < 4; i++) {
        kc_informer_add_handlers(infs[i], &h);
        if (kc_informer_start(infs[i]) != 0) {
            fprintf(stderr, "ingress: cannot start the informers\n");
            goto out;
        }
    }
    for (int i = 0; i < 4; i++)
        kc_informer_wait_synced(infs[i], 10000);
    for (int i = 0; i < workers; i++) {
        la[i].loop = loops[i];
        if (pthread_create(&threads[i], NULL, loop_main, &la[i]) != 0)
            goto out;
        started++;
        px_loop_wake(loops[i]);
    }
    if (cf.leader_elect) {
        leader = kc_component_campaign("ingress", ctx.client, &cf, lead_start, lead_stop, &ctx);
        if (!leader) {
            fprintf(stderr, "ingress: cannot campaign for the lease\n");
            goto out;
        }
    } else if (ing_status_start(&ctx) != 0) {
        goto out;
    }
    metrics = kc_metrics_serve("ingress", cf.metrics_port, write_metrics, NULL);
    fprintf(stderr, "ingress: serving class %s on %s (publishing %s)\n", cls, listen[0], pub);

    int sig = kc_component_wait_signal();
    fprintf(stderr, "ingress: signal %d, shutting down\n", sig);
    rc = 0;
out:
    for (int i = 0; i < started; i++) {
        px_loop_stop(loops[i]);
        pthread_join(threads[i], NULL);
    }
    if (leader) /* releases the Lease so a standby writes status at once */
        kc_leader_free(leader);
    if (ctx.client)
        kc_client_shutdown(ctx.client);
    ing_status_stop(&ctx);
    kc_metrics_stop(metrics);
    struct kc_informer *all[] = {ctx.ingresses, ctx.classes, ctx.services, ctx.slices};
    for (int i = 0; i < 4; i++) {
        if (all[i]) {
            kc_informer_stop(all[i]);
            kc_informer_free(all[i]);
        }
    }
    for (int i = 0; i < workers; i++)
        px_loop_free(loops[i]);
    kc_client_free(ctx.client);
    pthread_mutex_destroy(&ctx.mu);
    pthread_cond_destroy(&ctx.cv);
    return rc;
}
