/* `kubec scheduler`: kube-scheduler's role. Flags, leader election on the
 * kube-system/kube-scheduler Lease, /metrics and /healthz on loopback. */
#include "client/component.h"
#include "client/leader.h"
#include "scheduler/scheduler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct kc_scheduler *the_scheduler;
static volatile int leading;

static void usage(FILE *f)
{
    fprintf(f, "usage: kubec scheduler [flags]\n\n"
               "Assigns pending pods to nodes (filters, scores, pods/binding), as an API "
               "client.\n\n"
               "flags:\n"
               "  --scheduler-name NAME               pods with this spec.schedulerName are "
               "ours\n"
               "                                      (default-scheduler)\n"
               "  --binders N                         concurrent binding calls (16)\n");
    kc_component_usage(f, "kube-scheduler");
}

static void write_metrics(FILE *f, void *unused)
{
    (void)unused;
    fprintf(f,
            "# HELP kubec_leader_election_master_status 1 when this process leads.\n"
            "# TYPE kubec_leader_election_master_status gauge\n"
            "kubec_leader_election_master_status{name=\"kube-scheduler\"} %d\n",
            leading);
    if (leading && the_scheduler)
        kc_scheduler_write_metrics(the_scheduler, f);
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
    struct kc_component_flags cf;
    kc_component_flags_init(&cf, "kube-scheduler");
    struct kc_scheduler_options so = {.scheduler_name = "default-scheduler", .binders = 16};

    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *val;
        int r = kc_flag_next("scheduler", argc, argv, &i, name, sizeof name, &val);
        if (r == 1) {
            usage(stdout);
            return 0;
        }
        if (r < 0)
            return 2;
        r = kc_component_flag("scheduler", &cf, name, val);
        if (r < 0)
            return 2;
        if (r == 1)
            continue;
        if (strcmp(name, "scheduler-name") == 0) {
            so.scheduler_name = val;
        } else if (strcmp(name, "binders") == 0) {
            so.binders = atoi(val);
        } else {
            fprintf(stderr, "scheduler: unknown flag --%s (see --help)\n", name);
            return 2;
        }
    }
    struct kc_client *c = NULL;
    if (kc_component_connect("scheduler", &cf, "kubec-scheduler/0.1", &c) != 0)
        return 1;
    kc_component_block_signals();

    the_scheduler = kc_scheduler_new(c, &so);
    struct kc_metrics_server *metrics =
        kc_metrics_serve("scheduler", cf.metrics_port, write_metrics, NULL);
    struct kc_leader *leader =
        kc_component_campaign("scheduler", c, &cf, start_leading, stop_leading, the_scheduler);
    if (cf.leader_elect && !leader) {
        fprintf(stderr, "scheduler: cannot campaign for the lease\n");
        return 1;
    }
    if (!cf.leader_elect)
        start_leading(the_scheduler);

    int sig = kc_component_wait_signal();
    fprintf(stderr, "scheduler: signal %d, shutting down\n", sig);
    if (leader)
        kc_leader_free(leader);
    kc_client_shutdown(c);
    kc_metrics_stop(metrics);
    kc_scheduler_stop(the_scheduler);
    fprintf(stderr, "scheduler: stopped\n");
    exit(0);
}
