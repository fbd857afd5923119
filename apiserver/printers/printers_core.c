/* core/v1 printers: pods, nodes, namespaces, services, endpoints, configmaps, secrets,
 * events and serviceaccounts, ported from upstream's printers.go rule by rule. Objects are
 * borrowed; every cell appended is a new reference owned by the cells array. */
#include "apiserver/printers/printers_internal.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <stdlib.h>
#include <string.h>

static bool str_eq(const char *a, const char *b)
{
    return a && b && !strcmp(a, b);
}

/* ---- pods ---- */

static const struct kc_pr_column pod_columns[] = {
    KC_PR_COL_NAME,
    {"Ready", "string", "", 0, "Ready containers out of all containers."},
    {"Status", "string", "", 0, "Summary of the pod's phase and container states."},
    {"Restarts", "string", "", 0, "Container restarts, and how long ago the last one was."},
    KC_PR_COL_AGE,
    {"IP", "string", "", 1, "The pod's first IP address."},
    {"Node", "string", "", 1, "The node the pod is bound to."},
    {"Nominated Node", "string", "", 1, "The node the scheduler nominated for preemption."},
    {"Readiness Gates", "string", "", 1, "Readiness gates that are met, out of all gates."},
    KC_PR_COL_END,
};

/* True when the pod has a condition of this type with status True. */
static bool pod_condition_true(const json_t *pod, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_pr_get(pod, "status.conditions"), i, c) {
        if (str_eq(kc_json_str(c, "type"), type) && str_eq(kc_json_str(c, "status"), "True"))
            return true;
    }
    return false;
}

/* podutil.IsRestartableInitContainer, looked up by name as upstream does. */
static bool restartable_init(const json_t *pod, const char *name)
{
    size_t i;
    json_t *c;
    bool found = false;
    json_array_foreach (kc_pr_get(pod, "spec.initContainers"), i, c) {
        if (str_eq(kc_json_str(c, "name"), name)) /* the last one wins, like a Go map */
            found = str_eq(kc_json_str(c, "restartPolicy"), "Always");
    }
    return found;
}

/* The latest lastState.terminated.finishedAt seen so far. */
struct restart_time {
    bool set;
    time_t t;
};

static void note_restart(struct restart_time *acc, const json_t *status)
{
    time_t t;
    if (!kc_pr_time(kc_json_str(status, "lastState.terminated.finishedAt"), &t))
        return;
    if (!acc->set || t > acc->t) {
        acc->set = true;
        acc->t = t;
    }
}

/* Sets reason to "<prefix>Signal:N" or "<prefix>ExitCode:N" for a terminated state without
 * a reason. */
static void terminated_code(struct kc_sb *reason, const char *prefix, const json_t *term)
{
    long long sig = kc_json_int(term, "signal", 0);
    kc_sb_set(reason, prefix);
    if (sig != 0)
        kc_sb_addf(reason, "Signal:%lld", sig);
    else
        kc_sb_addf(reason, "ExitCode:%lld", kc_json_int(term, "exitCode", 0));
}

static void pod_cells(json_t *cells, const json_t *pod, time_t now)
{
    struct kc_sb reason = {0};
    long long restarts = 0, sidecar_restarts = 0;
    long long total = (long long)json_array_size(kc_pr_get(pod, "spec.containers")), ready = 0;
    struct restart_time last = {0}, sidecar_last = {0};
    const char *phase = kc_pr_str(pod, "status.phase");
    json_t *init_specs = kc_pr_get(pod, "spec.initContainers");
    size_t i;
    json_t *c;

    kc_sb_set(&reason, kc_pr_or(kc_json_str(pod, "status.reason"), phase));
    json_array_foreach (kc_pr_get(pod, "status.conditions"), i, c) {
        if (str_eq(kc_json_str(c, "type"), "PodScheduled") &&
            str_eq(kc_json_str(c, "reason"), "SchedulingGated"))
            kc_sb_set(&reason, "SchedulingGated");
    }
    /* restartable init containers (sidecars) count towards the total */
    json_array_foreach (init_specs, i, c) {
        if (str_eq(kc_json_str(c, "restartPolicy"), "Always"))
            total++;
    }

    bool initializing = false;
    json_array_foreach (kc_pr_get(pod, "status.initContainerStatuses"), i, c) {
        long long rc = kc_json_int(c, "restartCount", 0);
        bool sidecar = restartable_init(pod, kc_json_str(c, "name"));
        json_t *term = kc_pr_get(c, "state.terminated");
        const char *wait_reason = kc_json_str(c, "state.waiting.reason");
        restarts += rc;
        note_restart(&last, c);
        if (sidecar) {
            sidecar_restarts += rc;
            note_restart(&sidecar_last, c);
        }
        if (term && kc_json_int(term, "exitCode", 0) == 0)
            continue;
        if (sidecar && kc_json_bool(c, "started", false)) {
            if (kc_json_bool(c, "ready", false))
                ready++;
            continue;
        }
        if (term) {
            const char *tr = kc_json_str(term, "reason");
            if (tr && *tr) {
                kc_sb_set(&reason, "Init:");
                kc_sb_add(&reason, tr);
            } else {
                terminated_code(&reason, "Init:", term);
            }
        } else if (kc_pr_get(c, "state.waiting") && wait_reason && *wait_reason &&
                   strcmp(wait_reason, "PodInitializing") != 0) {
            kc_sb_set(&reason, "Init:");
            kc_sb_add(&reason, wait_reason);
        } else {
            kc_sb_set(&reason, "");
            kc_sb_addf(&reason, "Init:%zu/%zu", i, json_array_size(init_specs));
        }
        initializing = true;
        break;
    }

    if (!initializing || pod_condition_true(pod, "Initialized")) {
        json_t *statuses = kc_pr_get(pod, "status.containerStatuses");
        bool has_running = false;
        restarts = sidecar_restarts;
        last = sidecar_last;
        /* walked backwards so the first container's state has the last word */
        for (i = json_array_size(statuses); i-- > 0;) {
            c = json_array_get(statuses, i);
            json_t *term = kc_pr_get(c, "state.terminated");
            const char *wr = kc_json_str(c, "state.waiting.reason");
            const char *tr = kc_json_str(term, "reason");
            restarts += kc_json_int(c, "restartCount", 0);
            note_restart(&last, c);
            if (kc_pr_get(c, "state.waiting") && wr && *wr)
                kc_sb_set(&reason, wr);
            else if (term && tr && *tr)
                kc_sb_set(&reason, tr);
            else if (term)
                terminated_code(&reason, "", term);
            else if (kc_json_bool(c, "ready", false) && kc_pr_get(c, "state.running")) {
                has_running = true;
                ready++;
            }
        }
        /* a pod whose containers partly completed but still has one running is running */
        if (!strcmp(kc_sb_str(&reason), "Completed") && has_running)
            kc_sb_set(&reason, pod_condition_true(pod, "Ready") ? "Running" : "NotReady");
    }

    if (kc_pr_get(pod, "metadata.deletionTimestamp")) {
        bool terminal = !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
        if (str_eq(kc_json_str(pod, "status.reason"), "NodeLost"))
            kc_sb_set(&reason, "Unknown");
        else if (!terminal)
            kc_sb_set(&reason, "Terminating");
    }

    kc_pr_add_str(cells, kc_json_str(pod, "metadata.name"));
    kc_pr_add_fmt(cells, "%lld/%lld", ready, total);
    kc_pr_add_str(cells, kc_sb_str(&reason));
    if (restarts != 0 && last.set) {
        char ago[32];
        kc_human_duration((long long)(now - last.t), ago, sizeof ago);
        kc_pr_add_fmt(cells, "%lld (%s ago)", restarts, ago);
    } else {
        kc_pr_add_fmt(cells, "%lld", restarts);
    }
    kc_pr_add_age(cells, pod, now);

    /* the v1 -> internal conversion fills podIPs from podIP when only the latter is set */
    json_t *ips = kc_pr_get(pod, "status.podIPs");
    const char *ip = json_array_size(ips) ? kc_json_str(json_array_get(ips, 0), "ip")
                                          : kc_json_str(pod, "status.podIP");
    kc_pr_add_str(cells, kc_pr_or(ip, "<none>"));
    kc_pr_add_str(cells, kc_pr_or(kc_json_str(pod, "spec.nodeName"), "<none>"));
    kc_pr_add_str(cells, kc_pr_or(kc_json_str(pod, "status.nominatedNodeName"), "<none>"));
    json_t *gates = kc_pr_get(pod, "spec.readinessGates");
    if (json_array_size(gates) > 0) {
        size_t met = 0, j;
        json_t *g, *cond;
        json_array_foreach (gates, i, g) {
            const char *type = kc_json_str(g, "conditionType");
            json_array_foreach (kc_pr_get(pod, "status.conditions"), j, cond) {
                if (str_eq(kc_json_str(cond, "type"), type)) {
                    if (str_eq(kc_json_str(cond, "status"), "True"))
                        met++;
                    break;
                }
            }
        }
        kc_pr_add_fmt(cells, "%zu/%zu", met, json_array_size(gates));
    } else {
        kc_pr_add_str(cells, "<none>");
    }
    kc_sb_free(&reason);
}

/* ---- nodes ---- */

static const struct kc_pr_column node_columns[] = {
    KC_PR_COL_NAME,
    {"Status", "string", "", 0, "Readiness of the node, and whether it is cordoned."},
    {"Roles", "string", "", 0, "Roles taken from the node-role labels."},
    KC_PR_COL_AGE,
    {"Version", "string", "", 0, "Kubelet version."},
    {"Internal-IP", "string", "", 1, "First internal address."},
    {"External-IP", "string", "", 1, "First external address."},
    {"OS-Image", "string", "", 1, "Operating system image."},
    {"Kernel-Version", "string", "", 1, "Kernel version."},
    {"Container-Runtime", "string", "", 1, "Container runtime and its version."},
    KC_PR_COL_END,
};

static const char *node_address(const json_t *node, const char *type)
{
    size_t i;
    json_t *a;
    json_array_foreach (kc_pr_get(node, "status.addresses"), i, a) {
        if (str_eq(kc_json_str(a, "type"), type))
            return kc_pr_str(a, "address");
    }
    return "<none>";
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* findNodeRoles: a sorted set of node-role.kubernetes.io/<role> and kubernetes.io/role. */
static void node_roles(struct kc_sb *b, const json_t *node)
{
    static const char prefix[] = "node-role.kubernetes.io/";
    json_t *labels = kc_pr_get(node, "metadata.labels");
    size_t n = 0, i;
    const char **roles = calloc(json_object_size(labels) + 1, sizeof *roles);
    const char *k;
    json_t *v;
    if (!roles)
        goto out;
    json_object_foreach (labels, k, v) {
        if (!strncmp(k, prefix, sizeof prefix - 1) && k[sizeof prefix - 1])
            roles[n++] = k + sizeof prefix - 1;
        else if (!strcmp(k, "kubernetes.io/role") && json_string_value(v) && *json_string_value(v))
            roles[n++] = json_string_value(v);
    }
    qsort(roles, n, sizeof *roles, cmp_cstr);
    for (i = 0; i < n; i++)
        if (i == 0 || strcmp(roles[i], roles[i - 1]) != 0)
            kc_sb_add_sep(b, ",", roles[i]);
out:
    free(roles);
}

static void node_cells(json_t *cells, const json_t *node, time_t now)
{
    struct kc_sb status = {0}, roles = {0};
    const char *ready = NULL;
    size_t i;
    json_t *c;
    /* upstream keys conditions by type, so the last Ready condition wins */
    json_array_foreach (kc_pr_get(node, "status.conditions"), i, c) {
        if (str_eq(kc_json_str(c, "type"), "Ready"))
            ready = kc_pr_str(c, "status");
    }
    kc_sb_add(&status, !ready ? "Unknown" : !strcmp(ready, "True") ? "Ready" : "NotReady");
    if (kc_json_bool(node, "spec.unschedulable", false))
        kc_sb_add(&status, ",SchedulingDisabled");
    node_roles(&roles, node);

    kc_pr_add_str(cells, kc_json_str(node, "metadata.name"));
    kc_pr_add_str(cells, kc_sb_str(&status));
    kc_pr_add_str(cells, kc_pr_or(kc_sb_str(&roles), "<none>"));
    kc_pr_add_age(cells, node, now);
    kc_pr_add_str(cells, kc_json_str(node, "status.nodeInfo.kubeletVersion"));
    kc_pr_add_str(cells, node_address(node, "InternalIP"));
    kc_pr_add_str(cells, node_address(node, "ExternalIP"));
    kc_pr_add_str(cells, kc_pr_or(kc_json_str(node, "status.nodeInfo.osImage"), "<unknown>"));
    kc_pr_add_str(cells, kc_pr_or(kc_json_str(node, "status.nodeInfo.kernelVersion"), "<unknown>"));
    kc_pr_add_str(
        cells, kc_pr_or(kc_json_str(node, "status.nodeInfo.containerRuntimeVersion"), "<unknown>"));
    kc_sb_free(&status);
    kc_sb_free(&roles);
}

/* ---- namespaces ---- */

static const struct kc_pr_column namespace_columns[] = {
    KC_PR_COL_NAME,
    {"Status", "string", "", 0, "Phase of the namespace (Active or Terminating)."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

static void namespace_cells(json_t *cells, const json_t *ns, time_t now)
{
    kc_pr_add_str(cells, kc_json_str(ns, "metadata.name"));
    kc_pr_add_str(cells, kc_json_str(ns, "status.phase"));
    kc_pr_add_age(cells, ns, now);
}

/* ---- services ---- */

static const struct kc_pr_column service_columns[] = {
    KC_PR_COL_NAME,
    {"Type", "string", "", 0, "How the service is exposed."},
    {"Cluster-IP", "string", "", 0, "The service's cluster IP."},
    {"External-IP", "string", "", 0, "External addresses of the service."},
    {"Port(s)", "string", "", 0, "Service ports, with node ports, and protocols."},
    KC_PR_COL_AGE,
    {"Selector", "string", "", 1, "Labels of the pods the service routes to."},
    KC_PR_COL_END,
};

static void join_strings(struct kc_sb *b, const json_t *arr)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (i)
            kc_sb_add(b, ",");
        kc_sb_add(b, json_string_value(v));
    }
}

static void service_external_ip(struct kc_sb *b, const json_t *svc, const char *type)
{
    json_t *ext = kc_pr_get(svc, "spec.externalIPs");
    if (!strcmp(type, "ClusterIP") || !strcmp(type, "NodePort")) {
        if (json_array_size(ext))
            join_strings(b, ext);
        else
            kc_sb_add(b, "<none>");
    } else if (!strcmp(type, "LoadBalancer")) {
        kc_pr_lb_status(b, kc_pr_get(svc, "status.loadBalancer.ingress"));
        if (json_array_size(ext)) {
            if (b->len)
                kc_sb_add(b, ",");
            join_strings(b, ext);
        } else if (!b->len) {
            kc_sb_add(b, "<pending>");
        }
    } else if (!strcmp(type, "ExternalName")) {
        kc_sb_add(b, kc_json_str(svc, "spec.externalName"));
    } else {
        kc_sb_add(b, "<unknown>");
    }
}

static void service_cells(json_t *cells, const json_t *svc, time_t now)
{
    struct kc_sb ext = {0}, ports = {0}, sel = {0};
    /* spec.type and ports[].protocol are defaulted on write; default here the same way */
    const char *type = kc_pr_or(kc_json_str(svc, "spec.type"), "ClusterIP");
    json_t *ips = kc_pr_get(svc, "spec.clusterIPs");
    const char *cluster_ip = json_array_size(ips) ? json_string_value(json_array_get(ips, 0))
                                                  : kc_json_str(svc, "spec.clusterIP");
    size_t i;
    json_t *p;

    service_external_ip(&ext, svc, type);
    json_array_foreach (kc_pr_get(svc, "spec.ports"), i, p) {
        long long port = kc_json_int(p, "port", 0), node_port = kc_json_int(p, "nodePort", 0);
        const char *proto = kc_pr_or(kc_json_str(p, "protocol"), "TCP");
        if (i)
            kc_sb_add(&ports, ",");
        if (node_port > 0)
            kc_sb_addf(&ports, "%lld:%lld/%s", port, node_port, proto);
        else
            kc_sb_addf(&ports, "%lld/%s", port, proto);
    }
    kc_pr_format_labels(&sel, kc_pr_get(svc, "spec.selector"));

    kc_pr_add_str(cells, kc_json_str(svc, "metadata.name"));
    kc_pr_add_str(cells, type);
    kc_pr_add_str(cells, kc_pr_or(cluster_ip, "<none>"));
    kc_pr_add_str(cells, kc_sb_str(&ext));
    kc_pr_add_str(cells, kc_pr_or(kc_sb_str(&ports), "<none>"));
    kc_pr_add_age(cells, svc, now);
    kc_pr_add_str(cells, kc_sb_str(&sel));
    kc_sb_free(&ext);
    kc_sb_free(&ports);
    kc_sb_free(&sel);
}

/* ---- endpoints ---- */

static const struct kc_pr_column endpoints_columns[] = {
    KC_PR_COL_NAME,
    {"Endpoints", "string", "", 0, "Endpoint addresses with their ports."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

/* net.JoinHostPort: IPv6 addresses get brackets. */
static void add_host_port(struct kc_sb *b, const char *ip, long long port)
{
    if (strchr(ip, ':'))
        kc_sb_addf(b, "[%s]:%lld", ip, port);
    else
        kc_sb_addf(b, "%s:%lld", ip, port);
}

/* formatEndpoints: up to three addresses (ip:port per port), then " + N more...";
 * "<none>" without subsets. */
static void format_endpoints(struct kc_sb *b, const json_t *ep)
{
    json_t *subsets = kc_pr_get(ep, "subsets");
    const size_t max = 3;
    size_t listed = 0, count = 0, i, j, k;
    bool more = false;
    json_t *ss, *port, *addr;
    if (json_array_size(subsets) == 0) {
        kc_sb_add(b, "<none>");
        return;
    }
    json_array_foreach (subsets, i, ss) {
        json_t *addrs = kc_pr_get(ss, "addresses"), *ports = kc_pr_get(ss, "ports");
        if (json_array_size(ports) == 0) {
            /* headless services may have no ports */
            count += json_array_size(addrs);
            json_array_foreach (addrs, j, addr) {
                if (listed == max) {
                    more = true;
                    break;
                }
                if (listed)
                    kc_sb_add(b, ",");
                kc_sb_add(b, kc_pr_str(addr, "ip"));
                listed++;
            }
            continue;
        }
        json_array_foreach (ports, k, port) {
            count += json_array_size(addrs);
            json_array_foreach (addrs, j, addr) {
                if (listed == max) {
                    more = true;
                    break;
                }
                if (listed)
                    kc_sb_add(b, ",");
                add_host_port(b, kc_pr_str(addr, "ip"), kc_json_int(port, "port", 0));
                listed++;
            }
        }
    }
    if (more)
        kc_sb_addf(b, " + %zu more...", count - max);
}

static void endpoints_cells(json_t *cells, const json_t *ep, time_t now)
{
    struct kc_sb b = {0};
    format_endpoints(&b, ep);
    kc_pr_add_str(cells, kc_json_str(ep, "metadata.name"));
    kc_pr_add_str(cells, kc_sb_str(&b));
    kc_pr_add_age(cells, ep, now);
    kc_sb_free(&b);
}

/* ---- configmaps, secrets, serviceaccounts ---- */

static const struct kc_pr_column configmap_columns[] = {
    KC_PR_COL_NAME,
    {"Data", "string", "", 0, "Number of data and binaryData entries."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

static void configmap_cells(json_t *cells, const json_t *cm, time_t now)
{
    kc_pr_add_str(cells, kc_json_str(cm, "metadata.name"));
    kc_pr_add_int(cells, (long long)(json_object_size(kc_pr_get(cm, "data")) +
                                     json_object_size(kc_pr_get(cm, "binaryData"))));
    kc_pr_add_age(cells, cm, now);
}

static const struct kc_pr_column secret_columns[] = {
    KC_PR_COL_NAME,
    {"Type", "string", "", 0, "The secret's type."},
    {"Data", "string", "", 0, "Number of data entries."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

static void secret_cells(json_t *cells, const json_t *s, time_t now)
{
    /* the internal type holds stringData merged into data; count their union */
    json_t *data = kc_pr_get(s, "data"), *sd = kc_pr_get(s, "stringData");
    long long n = (long long)json_object_size(data);
    const char *k;
    json_t *v;
    json_object_foreach (sd, k, v) {
        if (!json_object_get(data, k))
            n++;
    }
    kc_pr_add_str(cells, kc_json_str(s, "metadata.name"));
    kc_pr_add_str(cells, kc_json_str(s, "type"));
    kc_pr_add_int(cells, n);
    kc_pr_add_age(cells, s, now);
}

static const struct kc_pr_column serviceaccount_columns[] = {
    KC_PR_COL_NAME,
    {"Secrets", "string", "", 0, "Number of secrets listed on the service account."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

static void serviceaccount_cells(json_t *cells, const json_t *sa, time_t now)
{
    kc_pr_add_str(cells, kc_json_str(sa, "metadata.name"));
    kc_pr_add_int(cells, (long long)json_array_size(kc_pr_get(sa, "secrets")));
    kc_pr_add_age(cells, sa, now);
}

/* ---- events ---- */

static const struct kc_pr_column event_columns[] = {
    {"Last Seen", "string", "", 0, "Time since the event was last seen."},
    {"Type", "string", "", 0, "Normal or Warning."},
    {"Reason", "string", "", 0, "Short machine-readable cause."},
    {"Object", "string", "", 0, "The object the event is about (kind/name)."},
    {"Subobject", "string", "", 1, "Field path inside the object, if any."},
    {"Source", "string", "", 1, "Component (and host) that reported the event."},
    {"Message", "string", "", 0, "Human-readable description."},
    {"First Seen", "string", "", 1, "Time since the event was first seen."},
    {"Count", "string", "", 1, "How many times the event occurred."},
    {"Name", "string", "name", 1, "Name of the event object."},
    KC_PR_COL_END,
};

static void event_cells(json_t *cells, const json_t *ev, time_t now)
{
    char first[32], last[32];
    struct kc_sb target = {0}, source = {0}, message = {0};
    time_t t;

    if (kc_pr_time(kc_json_str(ev, "firstTimestamp"), &t))
        kc_pr_since(first, sizeof first, kc_json_str(ev, "firstTimestamp"), now);
    else
        kc_pr_since(first, sizeof first, kc_json_str(ev, "eventTime"), now);
    if (kc_pr_time(kc_json_str(ev, "lastTimestamp"), &t))
        kc_pr_since(last, sizeof last, kc_json_str(ev, "lastTimestamp"), now);
    else
        memcpy(last, first, sizeof last);
    long long count = kc_json_int(ev, "count", 0);
    if (kc_pr_get(ev, "series")) {
        kc_pr_since(last, sizeof last, kc_json_str(ev, "series.lastObservedTime"), now);
        count = kc_json_int(ev, "series.count", 0);
    } else if (count == 0) {
        count = 1; /* singleton events of the new API carry no count */
    }

    kc_pr_add_lower(&target, kc_json_str(ev, "involvedObject.kind"));
    if (*kc_pr_str(ev, "involvedObject.name")) {
        kc_sb_add(&target, "/");
        kc_sb_add(&target, kc_json_str(ev, "involvedObject.name"));
    }
    /* formatEventSource: component or reportingComponent, then ", host" or instance */
    kc_sb_add(&source,
              kc_pr_or(kc_json_str(ev, "source.component"), kc_pr_str(ev, "reportingComponent")));
    const char *host = kc_pr_or(kc_json_str(ev, "source.host"), kc_pr_str(ev, "reportingInstance"));
    if (*host) {
        kc_sb_add(&source, ", ");
        kc_sb_add(&source, host);
    }
    kc_pr_add_trimmed(&message, kc_json_str(ev, "message"));

    kc_pr_add_str(cells, last);
    kc_pr_add_str(cells, kc_json_str(ev, "type"));
    kc_pr_add_str(cells, kc_json_str(ev, "reason"));
    kc_pr_add_str(cells, kc_sb_str(&target));
    kc_pr_add_str(cells, kc_json_str(ev, "involvedObject.fieldPath"));
    kc_pr_add_str(cells, kc_sb_str(&source));
    kc_pr_add_str(cells, kc_sb_str(&message));
    kc_pr_add_str(cells, first);
    kc_pr_add_int(cells, count);
    kc_pr_add_str(cells, kc_json_str(ev, "metadata.name"));
    kc_sb_free(&target);
    kc_sb_free(&source);
    kc_sb_free(&message);
}

static const struct kc_printer core_printers[] = {
    {"pods", pod_columns, pod_cells},
    {"nodes", node_columns, node_cells},
    {"namespaces", namespace_columns, namespace_cells},
    {"services", service_columns, service_cells},
    {"endpoints", endpoints_columns, endpoints_cells},
    {"configmaps", configmap_columns, configmap_cells},
    {"secrets", secret_columns, secret_cells},
    {"serviceaccounts", serviceaccount_columns, serviceaccount_cells},
    {"events", event_columns, event_cells},
};

const struct kc_printer_group kc_printers_core = {"", core_printers,
                                                  sizeof core_printers / sizeof *core_printers};
