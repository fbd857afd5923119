/* `kubec controllers`: kube-controller-manager's role. Parses flags, connects, campaigns
 * for the kube-system/kube-controller-manager Lease, and once leader starts the selected
 * controllers over shared informers. Serves /metrics and /healthz on loopback. */
#include "controllers/controller.h"

#include "client/component.h"
#include "client/leader.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUES 32

struct controller_def {
    const char *name;
    int (*start)(struct kc_ctl_ctx *ctx);
};

static const struct controller_def controller_defs[] = {
    {"replicaset", kc_ctl_replicaset_start},
    {"deployment", kc_ctl_deployment_start},
    {"garbagecollector", kc_ctl_gc_start},
    {"namespace", kc_ctl_namespace_start},
    {"endpoint", kc_ctl_endpoints_start},
    {"endpointslice", kc_ctl_endpointslice_start},
    {"nodelifecycle", kc_ctl_nodelifecycle_start},
    {"nodeipam", kc_ctl_nodeipam_start},
    {"endpointslicemirroring", kc_ctl_endpointslicemirroring_start},
};
#define N_CONTROLLERS (sizeof controller_defs / sizeof *controller_defs)

/* The manager's state: one per process, so a static. */
static struct manager {
    struct kc_ctl_ctx ctx;
    const char *controllers; /* the --controllers list */
    pthread_mutex_t mu;
    struct kc_workqueue *queues[MAX_QUEUES];
    int nqueues;
    int leading;
    int started;
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- helpers the controllers share ---- */

bool kc_ctl_wait_synced(struct kc_ctl_ctx *ctx)
{
    struct kc_informer *all[] = {ctx->pods,       ctx->replicasets, ctx->deployments,
                                 ctx->services,   ctx->endpoints,   ctx->endpointslices,
                                 ctx->namespaces, ctx->nodes,       ctx->leases};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        while (!kc_informer_wait_synced(all[i], 1000))
            if (ctx->stopping || kc_client_is_shutdown(ctx->client))
                return false;
    }
    return true;
}

void kc_ctl_register_queue(struct kc_ctl_ctx *ctx, struct kc_workqueue *q)
{
    (void)ctx;
    pthread_mutex_lock(&M.mu);
    if (M.nqueues < MAX_QUEUES)
        M.queues[M.nqueues++] = q;
    pthread_mutex_unlock(&M.mu);
}

/* Workers are counted so that shutdown can wait for them to leave. */
struct worker_start {
    void *(*fn)(void *);
    void *arg;
};

static int live_workers;

static void *worker_trampoline(void *p)
{
    struct worker_start ws = *(struct worker_start *)p;
    free(p);
    ws.fn(ws.arg);
    __atomic_sub_fetch(&live_workers, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

int kc_ctl_spawn_workers(int n, void *(*fn)(void *), void *arg)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        struct worker_start *ws = malloc(sizeof *ws);
        if (!ws)
            return -1;
        ws->fn = fn;
        ws->arg = arg;
        __atomic_add_fetch(&live_workers, 1, __ATOMIC_SEQ_CST);
        if (pthread_create(&t, NULL, worker_trampoline, ws) != 0) {
            __atomic_sub_fetch(&live_workers, 1, __ATOMIC_SEQ_CST);
            free(ws);
            return -1;
        }
        pthread_detach(t);
    }
    return 0;
}

void kc_ctl_enqueue_obj(struct kc_workqueue *q, const json_t *obj)
{
    char key[512];
    kc_wq_add(q, kc_object_key(key, sizeof key, obj));
}

const json_t *kc_ctl_controller_ref(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach (json_object_get(json_object_get(obj, "metadata"), "ownerReferences"), i,
                        ref) {
        if (json_is_true(json_object_get(ref, "controller")))
            return ref;
    }
    return NULL;
}

/* These run for every pod on every sync: direct lookups, no path parsing. */
bool kc_pod_is_active(const json_t *pod)
{
    const char *phase = json_string_value(json_object_get(json_object_get(pod, "status"), "phase"));
    if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
        return false;
    return json_object_get(json_object_get(pod, "metadata"), "deletionTimestamp") == NULL;
}

static const json_t *pod_ready_condition(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(json_object_get(pod, "status"), "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, "Ready") == 0)
            return c;
    }
    return NULL;
}

bool kc_pod_is_ready(const json_t *pod)
{
    const json_t *c = pod_ready_condition(pod);
    const char *st = c ? json_string_value(json_object_get(c, "status")) : NULL;
    return st && strcmp(st, "True") == 0;
}

bool kc_pod_is_available(const json_t *pod, int min_ready_seconds, double now)
{
    if (!kc_pod_is_ready(pod))
        return false;
    if (min_ready_seconds <= 0)
        return true;
    const char *lt = kc_json_str(pod_ready_condition(pod), "lastTransitionTime");
    time_t t;
    if (!lt || kc_time_parse(lt, &t) != 0)
        return false;
    return (double)t + min_ready_seconds <= now;
}

/* ---- flags ---- */

static void usage(FILE *f)
{
    fprintf(f, "usage: kubec controllers [flags]\n\n"
               "The controller manager: Deployment, ReplicaSet, garbage collector, Namespace,\n"
               "Endpoints, EndpointSlice, EndpointSlice mirroring and node lifecycle\n"
               "controllers, as API clients.\n\n"
               "flags:\n"
               "  --controllers LIST                  '*' (default) or a comma list; '-name' "
               "disables one\n"
               "                                      (replicaset, deployment, garbagecollector,\n"
               "                                      namespace, endpoint, endpointslice, "
               "nodelifecycle,\n"
               "                                      nodeipam, endpointslicemirroring)\n"
               "  --concurrent-syncs N                workers per controller (default 5)\n"
               "  --node-monitor-period D             how often node health is checked (5s)\n"
               "  --node-monitor-grace-period D       silence before a node is Unknown (40s)\n"
               "  --node-startup-grace-period D       grace for nodes that never reported (1m)\n"
               "  --default-toleration-seconds D      eviction delay for pods without a "
               "toleration\n"
               "                                      of the unreachable/not-ready taints "
               "(300s)\n"
               "  --gc-sync-period D                  garbage collector full rescan period "
               "(30s)\n"
               "  --allocate-node-cidrs BOOL          give every Node a spec.podCIDR from the\n"
               "                                      cluster CIDR (true)\n"
               "  --cluster-cidr CIDR                 the pods' IPv4 range (10.244.0.0/16)\n"
               "  --node-cidr-mask-size N             prefix length of each node's pod CIDR "
               "(24)\n");
    kc_component_usage(f, "kube-controller-manager");
}

/* A boolean flag value as Go's strconv.ParseBool takes it. 0, or -1. */
static int parse_bool(const char *v, bool *out)
{
    const char *t[] = {"1", "t", "T", "TRUE", "true", "True"};
    const char *f[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        if (strcmp(v, t[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(v, f[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

static bool kc_ctl_enabled(const char *name)
{
    const char *list = M.controllers ? M.controllers : "*";
    bool star = false, on = false;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "*") == 0)
            star = true;
        else if (t[0] == '-' && strcmp(t + 1, name) == 0)
            return false;
        else if (strcmp(t, name) == 0)
            on = true;
    }
    return on || star;
}

/* ---- metrics ---- */

static void write_metrics(FILE *f, void *unused)
{
    (void)unused;
    fprintf(f,
            "# HELP kubec_leader_election_master_status 1 when this process leads.\n"
            "# TYPE kubec_leader_election_master_status gauge\n"
            "kubec_leader_election_master_status{name=\"kube-controller-manager\"} %d\n",
            M.leading);
    struct {
        const char *name;
        struct kc_informer *inf;
    } infs[] = {{"pods", M.ctx.pods},
                {"replicasets", M.ctx.replicasets},
                {"deployments", M.ctx.deployments},
                {"services", M.ctx.services},
                {"endpoints", M.ctx.endpoints},
                {"endpointslices", M.ctx.endpointslices},
                {"namespaces", M.ctx.namespaces},
                {"nodes", M.ctx.nodes},
                {"leases", M.ctx.leases}};
    fprintf(f, "# HELP kubec_informer_objects Objects in each shared informer's cache.\n"
               "# TYPE kubec_informer_objects gauge\n");
    for (size_t i = 0; i < sizeof infs / sizeof *infs; i++)
        if (infs[i].inf)
            fprintf(f, "kubec_informer_objects{resource=\"%s\"} %zu\n", infs[i].name,
                    kc_informer_len(infs[i].inf));
    fprintf(f, "# HELP kubec_informer_relists_total Relists after the first list.\n"
               "# TYPE kubec_informer_relists_total counter\n");
    for (size_t i = 0; i < sizeof infs / sizeof *infs; i++)
        if (infs[i].inf)
            fprintf(f, "kubec_informer_relists_total{resource=\"%s\"} %lu\n", infs[i].name,
                    kc_informer_relists(infs[i].inf));
    fprintf(f, "# HELP workqueue_depth Keys waiting in each controller's queue.\n"
               "# TYPE workqueue_depth gauge\n"
               "# HELP workqueue_work_duration_seconds Time a worker spent on one key.\n"
               "# TYPE workqueue_work_duration_seconds histogram\n");
    pthread_mutex_lock(&M.mu);
    for (int i = 0; i < M.nqueues; i++)
        kc_wq_write_metrics(M.queues[i], f);
    pthread_mutex_unlock(&M.mu);
}

/* ---- starting ---- */

static void start_controllers(void *unused)
{
    (void)unused;
    struct kc_ctl_ctx *ctx = &M.ctx;
    M.leading = 1;
    if (M.started)
        return;
    M.started = 1;
    for (size_t i = 0; i < N_CONTROLLERS; i++) {
        if (!kc_ctl_enabled(controller_defs[i].name))
            continue;
        if (controller_defs[i].start(ctx) != 0) {
            fprintf(stderr, "controllers: %s failed to start\n", controller_defs[i].name);
            _exit(1);
        }
        fprintf(stderr, "controllers: started %s\n", controller_defs[i].name);
    }
    struct kc_informer *all[] = {ctx->pods,       ctx->replicasets, ctx->deployments,
                                 ctx->services,   ctx->endpoints,   ctx->endpointslices,
                                 ctx->namespaces, ctx->nodes,       ctx->leases};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        kc_informer_start(all[i]);
}

static void lost_leadership(void *unused)
{
    (void)unused;
    /* As kube-controller-manager: a former leader's caches and queues cannot be trusted
     * to agree with the new leader's, so stop at once and let a supervisor restart us. */
    fprintf(stderr, "controllers: leaderelection lost\n");
    _exit(1);
}

static struct kc_informer *shared_informer(const struct kc_gvr *r)
{
    struct kc_informer *inf = kc_informer_new(M.ctx.client, r, NULL, NULL, NULL);
    kc_informer_add_index(inf, "namespace", kc_index_by_namespace);
    return inf;
}

int kc_controllers_main(int argc, char **argv)
{
    struct kc_component_flags cf;
    kc_component_flags_init(&cf, "kube-controller-manager");
    struct kc_ctl_options *o = &M.ctx.opt;
    o->concurrent_syncs = 5;
    o->node_monitor_period_ms = 5000;
    o->node_monitor_grace_ms = 40000;
    o->node_startup_grace_ms = 60000;
    o->pod_eviction_timeout_ms = 300000;
    o->gc_sync_period_ms = 30000;
    o->allocate_node_cidrs = true;
    o->cluster_cidr = "10.244.0.0/16";
    o->node_cidr_mask_size = 24;

    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *val;
        /* a lone boolean flag means true, as for --leader-elect */
        if (strcmp(argv[i], "--allocate-node-cidrs") == 0 &&
            (i + 1 >= argc || (strcmp(argv[i + 1], "true") && strcmp(argv[i + 1], "false")))) {
            o->allocate_node_cidrs = true;
            continue;
        }
        int r = kc_flag_next("controllers", argc, argv, &i, name, sizeof name, &val);
        if (r == 1) {
            usage(stdout);
            return 0;
        }
        if (r < 0)
            return 2;
        r = kc_component_flag("controllers", &cf, name, val);
        if (r < 0)
            return 2;
        if (r == 1)
            continue;
        int *dur = NULL;
        if (strcmp(name, "controllers") == 0)
            M.controllers = val;
        else if (strcmp(name, "concurrent-syncs") == 0)
            o->concurrent_syncs = atoi(val) > 0 ? atoi(val) : 1;
        else if (strcmp(name, "node-monitor-period") == 0)
            dur = &o->node_monitor_period_ms;
        else if (strcmp(name, "node-monitor-grace-period") == 0)
            dur = &o->node_monitor_grace_ms;
        else if (strcmp(name, "node-startup-grace-period") == 0)
            dur = &o->node_startup_grace_ms;
        else if (strcmp(name, "default-toleration-seconds") == 0)
            dur = &o->pod_eviction_timeout_ms;
        else if (strcmp(name, "gc-sync-period") == 0)
            dur = &o->gc_sync_period_ms;
        else if (strcmp(name, "allocate-node-cidrs") == 0) {
            if (parse_bool(val, &o->allocate_node_cidrs) != 0) {
                fprintf(stderr, "controllers: invalid value %s for --%s\n", val, name);
                return 2;
            }
        } else if (strcmp(name, "cluster-cidr") == 0)
            o->cluster_cidr = val;
        else if (strcmp(name, "node-cidr-mask-size") == 0) {
            char *end;
            long n = strtol(val, &end, 10);
            if (!*val || *end || n < 0 || n > 32) {
                fprintf(stderr, "controllers: invalid value %s for --%s\n", val, name);
                return 2;
            }
            o->node_cidr_mask_size = (int)n;
        } else {
            fprintf(stderr, "controllers: unknown flag --%s (see --help)\n", name);
            return 2;
        }
        if (dur && (*dur = (int)kc_flag_duration("controllers", name, val)) < 0)
            return 2;
    }
    struct kc_client *c = NULL;
    if (kc_component_connect("controllers", &cf, "kubec-controller-manager/0.1", &c) != 0)
        return 1;
    M.ctx.client = c;
    /* Signals are taken by the main thread below; threads inherit the mask. */
    kc_component_block_signals();

    M.ctx.pods = shared_informer(&KC_GVR_PODS);
    kc_informer_add_index(M.ctx.pods, "owner", kc_index_by_owner_uid);
    kc_informer_add_index(M.ctx.pods, "node", kc_index_by_node_name);
    M.ctx.replicasets = shared_informer(&KC_GVR_REPLICASETS);
    kc_informer_add_index(M.ctx.replicasets, "owner", kc_index_by_owner_uid);
    M.ctx.deployments = shared_informer(&KC_GVR_DEPLOYMENTS);
    M.ctx.services = shared_informer(&KC_GVR_SERVICES);
    M.ctx.endpoints = shared_informer(&KC_GVR_ENDPOINTS);
    M.ctx.endpointslices = shared_informer(&KC_GVR_ENDPOINTSLICES);
    M.ctx.namespaces = shared_informer(&KC_GVR_NAMESPACES);
    M.ctx.nodes = shared_informer(&KC_GVR_NODES);
    M.ctx.leases = shared_informer(&KC_GVR_LEASES);

    struct kc_metrics_server *metrics =
        kc_metrics_serve("controllers", cf.metrics_port, write_metrics, NULL);
    struct kc_leader *leader =
        kc_component_campaign("controllers", c, &cf, start_controllers, lost_leadership, NULL);
    if (cf.leader_elect && !leader) {
        fprintf(stderr, "controllers: cannot campaign for the lease\n");
        return 1;
    }
    if (!cf.leader_elect)
        start_controllers(NULL);

    int sig = kc_component_wait_signal();
    fprintf(stderr, "controllers: signal %d, shutting down\n", sig);
    M.ctx.stopping = 1;
    /* Release the Lease first so a standby takes over without waiting out the lease. */
    if (leader)
        kc_leader_free(leader);
    pthread_mutex_lock(&M.mu);
    for (int i = 0; i < M.nqueues; i++)
        kc_wq_shutdown(M.queues[i]);
    pthread_mutex_unlock(&M.mu);
    kc_client_shutdown(c);
    kc_metrics_stop(metrics);
    /* Calls in flight fail fast once the client is shut down; give workers a moment to
     * leave their loops so the process exits quiet (and leak checkers see a clean end). */
    for (int i = 0; i < 300 && __atomic_load_n(&live_workers, __ATOMIC_SEQ_CST) > 0; i++)
        usleep(10000);
    struct kc_informer *all[] = {M.ctx.pods,       M.ctx.replicasets, M.ctx.deployments,
                                 M.ctx.services,   M.ctx.endpoints,   M.ctx.endpointslices,
                                 M.ctx.namespaces, M.ctx.nodes,       M.ctx.leases};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        kc_informer_stop(all[i]);
    if (__atomic_load_n(&live_workers, __ATOMIC_SEQ_CST) > 0) {
        fprintf(stderr, "controllers: %d workers still busy at exit\n", live_workers);
        _exit(0);
    }
    fprintf(stderr, "controllers: stopped\n");
    /* Controllers keep their state for the life of the process (it is reachable from
     * their statics), so nothing is freed here. */
    exit(0);
}
