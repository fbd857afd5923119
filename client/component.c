/* Shared plumbing of the API-client components; see component.h. */
#include "client/component.h"

#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void kc_component_flags_init(struct kc_component_flags *f, const char *lease_name)
{
    memset(f, 0, sizeof *f);
    f->leader_elect = true;
    f->lease_ms = 15000;
    f->renew_ms = 10000;
    f->retry_ms = 2000;
    f->lease_name = lease_name;
    f->lease_ns = "kube-system";
}

void kc_component_usage(FILE *out, const char *lease_name)
{
    fprintf(out,
            "  --kubeconfig FILE                   kubeconfig to reach the apiserver\n"
            "  --master URL                        apiserver URL (overrides the kubeconfig's)\n"
            "  --leader-elect BOOL                 campaign for the Lease before acting (true)\n"
            "  --leader-elect-lease-duration D     (15s)\n"
            "  --leader-elect-renew-deadline D     (10s)\n"
            "  --leader-elect-retry-period D       (2s)\n"
            "  --leader-elect-resource-name NAME   (%s)\n"
            "  --leader-elect-resource-namespace NS (kube-system)\n"
            "  --metrics-port N                    /metrics and /healthz on 127.0.0.1:N (0 = off,\n"
            "                                      the default)\n"
            "  --help                              this text\n"
            "Durations: 500ms, 40s, 1m30s.\n",
            lease_name);
}

int kc_flag_next(const char *prog, int argc, char **argv, int *i, char *name, size_t namelen,
                 const char **val)
{
    const char *a = argv[*i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
        return 1;
    if (strncmp(a, "--", 2) != 0) {
        fprintf(stderr, "%s: unexpected argument %s\n", prog, a);
        return -1;
    }
    const char *eq = strchr(a, '=');
    if (eq) {
        snprintf(name, namelen, "%.*s", (int)(eq - a - 2), a + 2);
        *val = eq + 1;
        return 0;
    }
    snprintf(name, namelen, "%s", a + 2);
    /* a lone boolean flag, as Go's flag package allows */
    if (strcmp(name, "leader-elect") == 0 &&
        (*i + 1 >= argc || (strcmp(argv[*i + 1], "true") && strcmp(argv[*i + 1], "false")))) {
        *val = "true";
        return 0;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "%s: flag --%s needs a value\n", prog, name);
        return -1;
    }
    *val = argv[++*i];
    return 0;
}

long kc_flag_duration(const char *prog, const char *name, const char *val)
{
    long d = kc_duration_parse_ms(val);
    if (d < 0)
        fprintf(stderr, "%s: invalid duration %s for --%s\n", prog, val, name);
    return d;
}

int kc_component_flag(const char *prog, struct kc_component_flags *f, const char *name,
                      const char *val)
{
    long *dur = NULL;
    if (strcmp(name, "kubeconfig") == 0)
        f->kubeconfig = val;
    else if (strcmp(name, "master") == 0)
        f->master = val;
    else if (strcmp(name, "leader-elect") == 0)
        f->leader_elect = strcmp(val, "false") != 0;
    else if (strcmp(name, "leader-elect-lease-duration") == 0)
        dur = &f->lease_ms;
    else if (strcmp(name, "leader-elect-renew-deadline") == 0)
        dur = &f->renew_ms;
    else if (strcmp(name, "leader-elect-retry-period") == 0)
        dur = &f->retry_ms;
    else if (strcmp(name, "leader-elect-resource-name") == 0)
        f->lease_name = val;
    else if (strcmp(name, "leader-elect-resource-namespace") == 0)
        f->lease_ns = val;
    else if (strcmp(name, "metrics-port") == 0)
        f->metrics_port = atoi(val);
    else
        return 0;
    if (dur && (*dur = kc_flag_duration(prog, name, val)) < 0)
        return -1;
    return 1;
}

int kc_component_connect(const char *prog, const struct kc_component_flags *f,
                         const char *user_agent, struct kc_client **out)
{
    char err[512];
    if (!f->kubeconfig && !f->master) {
        fprintf(stderr, "%s: --kubeconfig or --master is required\n", prog);
        return -1;
    }
    /* --master alone is a plain-HTTP loopback server without credentials */
    int rc = f->master ? kc_client_new_url(f->master, out, err, sizeof err)
                       : kc_client_from_kubeconfig(f->kubeconfig, out, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    kc_client_set_user_agent(*out, user_agent);
    return 0;
}

struct kc_metrics_server {
    struct MHD_Daemon *d;
    void (*write_metrics)(FILE *f, void *ctx);
    void *ctx;
};

static enum MHD_Result on_http(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)version, (void)upload, (void)upload_size, (void)con_cls, (void)method;
    struct kc_metrics_server *m = cls;
    struct MHD_Response *resp;
    int code = 200;
    if (strcmp(url, "/metrics") == 0) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (f) {
            m->write_metrics(f, m->ctx);
            fclose(f);
        }
        resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", "text/plain; version=0.0.4");
    } else if (strcmp(url, "/healthz") == 0) {
        resp = MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
    } else {
        code = 404;
        resp = MHD_create_response_from_buffer(9, (void *)"not found", MHD_RESPMEM_PERSISTENT);
    }
    enum MHD_Result r = MHD_queue_response(conn, (unsigned)code, resp);
    MHD_destroy_response(resp);
    return r;
}

struct kc_metrics_server *kc_metrics_serve(const char *prog, int port,
                                           void (*write_metrics)(FILE *f, void *ctx), void *ctx)
{
    if (port <= 0)
        return NULL;
    struct kc_metrics_server *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->write_metrics = write_metrics;
    m->ctx = ctx;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, (uint16_t)port,
                            NULL, NULL, on_http, m, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
    if (!m->d) {
        fprintf(stderr, "%s: cannot serve metrics on 127.0.0.1:%d\n", prog, port);
        free(m);
        return NULL;
    }
    return m;
}

void kc_metrics_stop(struct kc_metrics_server *m)
{
    if (!m)
        return;
    MHD_stop_daemon(m->d);
    free(m);
}

struct kc_leader *kc_component_campaign(const char *prog, struct kc_client *c,
                                        const struct kc_component_flags *f, void (*started)(void *),
                                        void (*stopped)(void *), void *ctx)
{
    if (!f->leader_elect)
        return NULL;
    char host[128] = "host", identity[256];
    gethostname(host, sizeof host - 1);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* the pid and a nonce keep two processes on one host apart */
    snprintf(identity, sizeof identity, "%s_%d_%lx", host, (int)getpid(),
             (unsigned long)ts.tv_nsec);
    struct kc_leader_config lc = {.ns = f->lease_ns,
                                  .name = f->lease_name,
                                  .identity = identity,
                                  .lease_duration_ms = (int)f->lease_ms,
                                  .renew_deadline_ms = (int)f->renew_ms,
                                  .retry_period_ms = (int)f->retry_ms,
                                  .on_started_leading = started,
                                  .on_stopped_leading = stopped,
                                  .ctx = ctx};
    fprintf(stderr, "%s: campaigning for lease %s/%s as %s\n", prog, f->lease_ns, f->lease_name,
            identity);
    return kc_leader_start(c, &lc);
}

static sigset_t component_signals;

void kc_component_block_signals(void)
{
    sigemptyset(&component_signals);
    sigaddset(&component_signals, SIGINT);
    sigaddset(&component_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &component_signals, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int kc_component_wait_signal(void)
{
    int sig = 0;
    sigwait(&component_signals, &sig);
    return sig;
}
