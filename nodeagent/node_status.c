/* Node registration and heartbeats, as the kubelet does them: the Node is created (or
 * its status refreshed when it exists), its Lease in kube-node-lease is renewed every
 * lease_renew_ms, and the Ready heartbeat in node status at least every
 * status_report_ms. Renewals of many simulated nodes are spread over the interval. */
#include "nodeagent/agent.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

struct kc_agent_node *kc_agent_node_find(struct kc_agent *a, const char *name)
{
    json_t *i = name ? json_object_get(a->node_index, name) : NULL;
    return i ? &a->nodes[json_integer_value(i)] : NULL;
}

void kc_agent_node_set_cidr(struct kc_agent_node *n, const char *cidr)
{
    char buf[64];
    if (!cidr)
        return;
    snprintf(buf, sizeof buf, "%s", cidr);
    char *slash = strchr(buf, '/');
    if (!slash)
        return;
    *slash = 0;
    int len = atoi(slash + 1);
    struct in_addr in;
    if (inet_pton(AF_INET, buf, &in) != 1 || len < 16 || len > 30)
        return; /* larger ranges than a /16 per node are not worth a bitmap */
    pthread_mutex_lock(&n->mu);
    if (n->mask == 0) {
        n->mask = len ? ~0u << (32 - len) : 0;
        n->net = ntohl(in.s_addr) & n->mask;
        n->nbits = 1u << (32 - len);
        n->used = calloc(n->nbits / 8 + 1, 1);
        /* network, the gateway (.1, the node's bridge) and broadcast are never handed out */
        n->used[0] |= 3;
        n->used[(n->nbits - 1) / 8] |= (uint8_t)(1u << ((n->nbits - 1) % 8));
    }
    pthread_mutex_unlock(&n->mu);
}

static void stamp(char *buf, size_t len)
{
    kc_time_rfc3339(time(NULL), buf, len);
}

static json_t *conditions(const char *now)
{
    return json_pack(
        "[{s:s,s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,s:s,s:s},{s:s,s:s,s:s,s:s,s:s,s:s},"
        "{s:s,s:s,s:s,s:s,s:s,s:s}]",
        "type", "MemoryPressure", "status", "False", "reason", "KubeletHasSufficientMemory",
        "message", "kubelet has sufficient memory available", "lastHeartbeatTime", now,
        "lastTransitionTime", now, "type", "DiskPressure", "status", "False", "reason",
        "KubeletHasNoDiskPressure", "message", "kubelet has no disk pressure", "lastHeartbeatTime",
        now, "lastTransitionTime", now, "type", "PIDPressure", "status", "False", "reason",
        "KubeletHasSufficientPID", "message", "kubelet has sufficient PID available",
        "lastHeartbeatTime", now, "lastTransitionTime", now, "type", "Ready", "status", "True",
        "reason", "KubeletReady", "message", "kubelet is posting ready status", "lastHeartbeatTime",
        now, "lastTransitionTime", now);
}

/* The status this agent reports for node n. New reference. */
static json_t *node_status(struct kc_agent *a, struct kc_agent_node *n)
{
    char now[40];
    stamp(now, sizeof now);
    struct utsname u;
    uname(&u);
    json_t *res = json_pack("{s:s,s:s,s:s,s:s}", "cpu", a->opt.cpu, "memory", a->opt.memory, "pods",
                            a->opt.pods, "ephemeral-storage", a->opt.ephemeral_storage);
    const char *runtime_version = a->runtime_version;
    /* the machine's PRETTY_NAME, as the kubelet reports it */
    static char os_image[128];
    if (!os_image[0]) {
        FILE *f = fopen("/etc/os-release", "r");
        char line[256];
        snprintf(os_image, sizeof os_image, "Linux");
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "PRETTY_NAME=\"%127[^\"]\"", os_image) == 1)
                break;
        if (f)
            fclose(f);
    }
    return json_pack(
        "{s:O,s:o,s:o,s:[{s:s,s:s},{s:s,s:s}],s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
        "s:s,s:s,s:s},s:{s:{s:i}}}",
        "capacity", res, "allocatable", res, "conditions", conditions(now), "addresses", "type",
        "InternalIP", "address", n->internal_ip, "type", "Hostname", "address", n->name, "nodeInfo",
        "machineID", n->name, "systemUUID", n->name, "bootID", "kubec", "kernelVersion", u.release,
        "osImage", os_image, "containerRuntimeVersion", runtime_version, "kubeletVersion",
        "v1.33.0-kubec", "kubeProxyVersion", "v1.33.0-kubec", "operatingSystem", "linux",
        "architecture", "amd64", "daemonEndpoints", "kubeletEndpoint", "Port", a->opt.kubelet_port);
}

static int register_node(struct kc_agent *a, struct kc_agent_node *n)
{
    json_t *out = NULL, *node = NULL;
    int ret = -1;
    json_t *status = node_status(a, n);
    node = json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s}},s:{},s:O}", "apiVersion", "v1", "kind",
                     "Node", "metadata", "name", n->name, "labels", "kubernetes.io/hostname",
                     n->name, "kubernetes.io/os", "linux", "kubernetes.io/arch", "amd64", "spec",
                     "status", status);
    int rc = kc_create(a->client, &KC_GVR_NODES, NULL, node, &out);
    if (rc == 409) {
        /* Registered before (an agent restart): refresh its status, keep its spec. */
        json_decref(out);
        out = NULL;
        json_t *patch = json_pack("{s:O}", "status", status);
        rc = kc_patch(a->client, &KC_GVR_NODES, NULL, n->name, "status",
                      "application/merge-patch+json", patch, &out);
        json_decref(patch);
    }
    if (rc == 200 || rc == 201) {
        kc_agent_node_set_cidr(n, kc_json_str(out, "spec.podCIDR"));
        ret = 0;
    } else {
        fprintf(stderr, "nodeagent: registering node %s: %d %s\n", n->name, rc,
                kc_json_str(out, "message") ?: "");
    }
    json_decref(out);
    json_decref(node);
    json_decref(status);
    return ret;
}

int kc_agent_register_nodes(struct kc_agent *a)
{
    for (int i = 0; i < a->nnodes; i++)
        while (register_node(a, &a->nodes[i]) != 0) {
            if (a->stop || kc_client_is_shutdown(a->client))
                return -1;
            sleep(1);
        }
    return 0;
}

/* Renews (or creates) the node's Lease. */
static void renew_lease(struct kc_agent *a, struct kc_agent_node *n)
{
    char now[48];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    kc_time_rfc3339_micro(&ts, now, sizeof now);
    json_t *out = NULL;
    json_t *lease =
        json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:i,s:s}}", "apiVersion", "coordination.k8s.io/v1",
                  "kind", "Lease", "metadata", "name", n->name, "namespace", "kube-node-lease",
                  "spec", "holderIdentity", n->name, "leaseDurationSeconds",
                  a->opt.lease_duration_s, "renewTime", now);
    int rc;
    if (n->lease_rv) {
        json_object_set_new(json_object_get(lease, "metadata"), "resourceVersion",
                            json_string(n->lease_rv));
        rc = kc_update(a->client, &KC_GVR_LEASES, "kube-node-lease", lease, NULL, &out);
    } else {
        rc = kc_create(a->client, &KC_GVR_LEASES, "kube-node-lease", lease, &out);
    }
    if (rc == 409 || rc == 404) {
        /* someone else wrote it (or it is gone): read it back and try next round */
        json_decref(out);
        out = NULL;
        free(n->lease_rv);
        n->lease_rv = NULL;
        if (kc_get(a->client, &KC_GVR_LEASES, "kube-node-lease", n->name, &out) == 200)
            n->lease_rv = strdup(kc_json_str(out, "metadata.resourceVersion") ?: "");
        json_decref(out);
        out = NULL;
        if (n->lease_rv) {
            json_object_set_new(json_object_get(lease, "metadata"), "resourceVersion",
                                json_string(n->lease_rv));
            rc = kc_update(a->client, &KC_GVR_LEASES, "kube-node-lease", lease, NULL, &out);
        }
    }
    if (rc == 200 || rc == 201) {
        free(n->lease_rv);
        n->lease_rv = strdup(kc_json_str(out, "metadata.resourceVersion") ?: "");
    }
    json_decref(out);
    json_decref(lease);
}

/* The Ready heartbeat in node status (conditions only). */
static void report_status(struct kc_agent *a, struct kc_agent_node *n)
{
    char now[40];
    stamp(now, sizeof now);
    json_t *cur = kc_informer_get(a->node_inf, n->name);
    json_t *conds = conditions(now);
    /* keep transition times of conditions that did not change */
    size_t i, j;
    json_t *c, *old;
    json_array_foreach (conds, i, c) {
        json_array_foreach (kc_json_path(cur, "status.conditions"), j, old) {
            if (kc_json_equal(json_object_get(c, "type"), json_object_get(old, "type")) &&
                kc_json_equal(json_object_get(c, "status"), json_object_get(old, "status")) &&
                json_object_get(old, "lastTransitionTime"))
                json_object_set(c, "lastTransitionTime",
                                json_object_get(old, "lastTransitionTime"));
        }
    }
    json_t *patch = json_pack("{s:{s:o}}", "status", "conditions", conds);
    json_t *out = NULL;
    kc_patch(a->client, &KC_GVR_NODES, NULL, n->name, "status",
             "application/strategic-merge-patch+json", patch, &out);
    json_decref(patch);
    json_decref(out);
    json_decref(cur);
}

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *heartbeat_main(void *arg)
{
    struct kc_agent *a = arg;
    double *next_lease = calloc((size_t)a->nnodes, sizeof *next_lease);
    double *next_status = calloc((size_t)a->nnodes, sizeof *next_status);
    double start = mono();
    /* spread the nodes' renewals over one interval */
    for (int i = 0; i < a->nnodes; i++) {
        next_lease[i] = start + (double)a->opt.lease_renew_ms / 1000.0 * i / a->nnodes;
        next_status[i] = start + (double)a->opt.status_report_ms / 1000.0;
    }
    while (!a->stop && !kc_client_is_shutdown(a->client)) {
        double now = mono(), soonest = now + 1.0;
        for (int i = 0; i < a->nnodes && !a->stop; i++) {
            if (next_lease[i] <= now) {
                renew_lease(a, &a->nodes[i]);
                next_lease[i] = now + a->opt.lease_renew_ms / 1000.0;
            }
            if (next_status[i] <= now) {
                report_status(a, &a->nodes[i]);
                next_status[i] = now + a->opt.status_report_ms / 1000.0;
            }
            if (next_lease[i] < soonest)
                soonest = next_lease[i];
        }
        double wait = soonest - mono();
        if (wait > 0) {
            struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
        }
    }
    free(next_lease);
    free(next_status);
    return NULL;
}

int kc_agent_start_heartbeat(struct kc_agent *a)
{
    pthread_t t;
    if (pthread_create(&t, NULL, heartbeat_main, a) != 0)
        return -1;
    pthread_detach(t);
    return 0;
}
