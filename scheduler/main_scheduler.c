/* `kubec scheduler`: kube-scheduler's role. Flags, leader election on the
 * kube-system/kube-scheduler Lease, /metrics and /healthz on loopback. */
#include "client/leader.h"
#include "scheduler/scheduler.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static struct kc_scheduler *the_scheduler;
static volatile int leading;

static void usage(FILE *f)
{
    fprintf(f, "usage: kubec scheduler [flags]\n\n"
               "Assigns pending pods to nodes (filters, scores, pods/binding), as an API "
               "client.\n\n"
               "flags:\n"
               "  --kubeconfig FILE                   kubeconfig to reach the apiserver\n"
               "  --master URL                        apiserver URL (overrides the "
               "kubeconfig's)\n"
               "  --scheduler-name NAME               pods with this spec.schedulerName are "
               "ours\n"
               "                                      (default-scheduler)\n"
               "  --binders N                         concurrent binding calls (16)\n"
               "  --leader-elect BOOL                 campaign for the Lease before acting "
               "(true)\n"
               "  --leader-elect-lease-duration D     (15s)\n"
               "  --leader-elect-renew-deadline D     (10s)\n"
               "  --leader-elect-retry-period D       (2s)\n"
               "  --leader-elect-resource-name NAME   (kube-scheduler)\n"
               "  --leader-elect-resource-namespace NS (kube-system)\n"
               "  --metrics-port N                    /metrics and /healthz on 127.0.0.1:N (0 = "
               "off,\n"
               "                                      the default)\n"
               "  --help                              this text\n"
               "Durations: 500ms, 15s, 1m.\n");
}

static long parse_duration_ms(const char *s)
{
    long total = 0;
    const char *p = s;
    if (!*p)
        return -1;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p)
            return -1;
        p = end;
        double mul = 1000;
        if (strncmp(p, "ms", 2) == 0) {
            mul = 1;
            p += 2;
        } else if (*p == 's') {
            p++;
        } else if (*p == 'm') {
            mul = 60000;
            p++;
        } else if (*p == 'h') {
            mul = 3600000;
            p++;
        } else if (*p) {
            return -1;
        }
        total += (long)(v * mul);
    }
    return total;
}

static enum MHD_Result on_http(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    (void)cls, (void)version, (void)upload, (void)upload_size, (void)con_cls, (void)method;
    struct MHD_Response *resp;
    int code = 200;
    if (strcmp(url, "/metrics") == 0) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        fprintf(f,
                "# HELP kubec_leader_election_master_status 1 when this process leads.\n"
                "# TYPE kubec_leader_election_master_status gauge\n"
                "kubec_leader_election_master_status{name=\"kube-scheduler\"} %d\n",
                leading);
        if (leading && the_scheduler)
            kc_scheduler_write_metrics(the_scheduler, f);
        fclose(f);
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

static void start_leading(void *ctx)
{
    struct kc_scheduler *s = ctx;
    if (kc_scheduler_start(s) != 0) {
        fprintf(stderr, "scheduler: could not start\n");
        _exit(1);
    }
    leading = 1;
    fprintf(stderr, "scheduler: started\n");
}

static void stop_leading(void *ctx)
{
    (void)ctx;
    /* A former leader's assumed pods may disagree with the new leader's: stop at once. */
    fprintf(stderr, "scheduler: leaderelection lost\n");
    _exit(1);
}

int kc_scheduler_main(int argc, char **argv)
{
    const char *kubeconfig = NULL, *master = NULL;
    const char *lease_name = "kube-scheduler", *lease_ns = "kube-system";
    bool leader_elect = true;
    long lease_ms = 15000, renew_ms = 10000, retry_ms = 2000;
    int metrics_port = 0;
    struct kc_scheduler_options so = {.scheduler_name = "default-scheduler", .binders = 16};

    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "scheduler: unexpected argument %s\n", a);
            return 2;
        }
        char name[64];
        const char *val;
        char *eq = strchr(a, '=');
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a - 2), a + 2);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a + 2);
            if (strcmp(name, "leader-elect") == 0 &&
                (i + 1 >= argc || (strcmp(argv[i + 1], "true") && strcmp(argv[i + 1], "false"))))
                val = "true";
            else if (i + 1 < argc)
                val = argv[++i];
            else {
                fprintf(stderr, "scheduler: flag --%s needs a value\n", name);
                return 2;
            }
        }
        long d = -1;
        if ((strstr(name, "duration") || strstr(name, "deadline") || strstr(name, "period")) &&
            (d = parse_duration_ms(val)) < 0) {
            fprintf(stderr, "scheduler: invalid duration %s for --%s\n", val, name);
            return 2;
        }
        if (strcmp(name, "kubeconfig") == 0)
            kubeconfig = val;
        else if (strcmp(name, "master") == 0)
            master = val;
        else if (strcmp(name, "scheduler-name") == 0)
            so.scheduler_name = val;
        else if (strcmp(name, "binders") == 0)
            so.binders = atoi(val);
        else if (strcmp(name, "leader-elect") == 0)
            leader_elect = strcmp(val, "false") != 0;
        else if (strcmp(name, "leader-elect-lease-duration") == 0)
            lease_ms = d;
        else if (strcmp(name, "leader-elect-renew-deadline") == 0)
            renew_ms = d;
        else if (strcmp(name, "leader-elect-retry-period") == 0)
            retry_ms = d;
        else if (strcmp(name, "leader-elect-resource-name") == 0)
            lease_name = val;
        else if (strcmp(name, "leader-elect-resource-namespace") == 0)
            lease_ns = val;
        else if (strcmp(name, "metrics-port") == 0)
            metrics_port = atoi(val);
        else {
            fprintf(stderr, "scheduler: unknown flag --%s (see --help)\n", name);
            return 2;
        }
    }
    if (!kubeconfig && !master) {
        fprintf(stderr, "scheduler: --kubeconfig or --master is required\n");
        return 2;
    }
    char err[512];
    struct kc_client *c = NULL;
    if ((master ? kc_client_new_url(master, &c, err, sizeof err)
                : kc_client_from_kubeconfig(kubeconfig, &c, err, sizeof err)) != 0) {
        fprintf(stderr, "scheduler: %s\n", err);
        return 1;
    }
    kc_client_set_user_agent(c, "kubec-scheduler/0.1");

    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    the_scheduler = kc_scheduler_new(c, &so);
    struct MHD_Daemon *httpd = NULL;
    if (metrics_port > 0) {
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)metrics_port)};
        sa.sin_addr.s_addr = htonl(0x7f000001);
        httpd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                                 (uint16_t)metrics_port, NULL, NULL, on_http, NULL,
                                 MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
        if (!httpd)
            fprintf(stderr, "scheduler: cannot serve metrics on 127.0.0.1:%d\n", metrics_port);
    }
    struct kc_leader *leader = NULL;
    if (leader_elect) {
        char host[128] = "host", identity[256];
        gethostname(host, sizeof host - 1);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(identity, sizeof identity, "%s_%d_%lx", host, (int)getpid(),
                 (unsigned long)ts.tv_nsec);
        struct kc_leader_config lc = {.ns = lease_ns,
                                      .name = lease_name,
                                      .identity = identity,
                                      .lease_duration_ms = (int)lease_ms,
                                      .renew_deadline_ms = (int)renew_ms,
                                      .retry_period_ms = (int)retry_ms,
                                      .on_started_leading = start_leading,
                                      .on_stopped_leading = stop_leading,
                                      .ctx = the_scheduler};
        fprintf(stderr, "scheduler: campaigning for lease %s/%s as %s\n", lease_ns, lease_name,
                identity);
        leader = kc_leader_start(c, &lc);
    } else {
        start_leading(the_scheduler);
    }

    int sig = 0;
    sigwait(&sigs, &sig);
    fprintf(stderr, "scheduler: signal %d, shutting down\n", sig);
    if (leader)
        kc_leader_free(leader);
    kc_client_shutdown(c);
    if (httpd)
        MHD_stop_daemon(httpd);
    kc_scheduler_stop(the_scheduler);
    fprintf(stderr, "scheduler: stopped\n");
    exit(0);
}
