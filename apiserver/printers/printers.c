/* Table columns and cells, resource by resource, following the real apiserver's printers
 * (pkg/printers/internalversion). Cells are strings or integers exactly where upstream
 * yields those types. */
#include "apiserver/printers/printers.h"

#include "lib/jsonx.h"
#include "lib/selector.h"
#include "lib/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct column {
    const char *name;
    const char *type;
    const char *format;
    int priority;
    const char *description;
};

typedef void (*cells_fn)(json_t *cells, const json_t *obj, time_t now);

struct printer {
    const char *group;
    const char *resource;
    const struct column *columns;
    cells_fn cells;
};

/* ---- helpers ---- */

static void add_str(json_t *cells, const char *s)
{
    json_array_append_new(cells, json_string(s ? s : ""));
}
static void add_int(json_t *cells, long long v)
{
    json_array_append_new(cells, json_integer(v));
}

static void add_fmt(json_t *cells, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_fmt(json_t *cells, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    add_str(cells, buf);
}

static const char *or_none(const char *s)
{
    return s && *s ? s : "<none>";
}

/* translateTimestampSince: "<unknown>" for a missing stamp. */
static void since(char *buf, size_t n, const char *stamp, time_t now)
{
    time_t t;
    if (!stamp || !*stamp || kc_time_parse(stamp, &t) != 0) {
        snprintf(buf, n, "<unknown>");
        return;
    }
    kc_human_duration((long long)(now - t), buf, n);
}

static void add_age(json_t *cells, const json_t *obj, time_t now)
{
    char buf[32];
    since(buf, sizeof buf, kc_json_str(obj, "metadata.creationTimestamp"), now);
    add_str(cells, buf);
}

/* growable text */
struct text {
    char s[4096];
    size_t n;
};

static void text_add(struct text *t, const char *sep, const char *s)
{
    int w = snprintf(t->s + t->n, sizeof t->s - t->n, "%s%s", t->n ? sep : "", s);
    if (w > 0 && (size_t)w < sizeof t->s - t->n)
        t->n += (size_t)w;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "k=v,k2=v2" from a string map, sorted by key; "<none>" when empty. */
static void map_selector(struct text *t, const json_t *m)
{
    size_t n = json_object_size(m), i = 0;
    const char **keys = calloc(n + 1, sizeof *keys);
    const char *k;
    json_t *v;
    if (!keys)
        abort();
    json_object_foreach ((json_t *)m, k, v)
        keys[i++] = k;
    qsort(keys, n, sizeof *keys, cmp_str);
    for (i = 0; i < n; i++) {
        char kv[600];
        snprintf(kv, sizeof kv, "%s=%s", keys[i], json_string_value(json_object_get(m, keys[i])));
        text_add(t, ",", kv);
    }
    free(keys);
}

static void add_label_selector(json_t *cells, const json_t *sel)
{
    char *s = kc_label_selector_json_to_string(sel);
    add_str(cells, s && *s ? s : "<none>");
    free(s);
}

/* Containers and images columns of a pod template. */
static void add_containers_images(json_t *cells, const json_t *podspec)
{
    struct text names = {{0}, 0}, images = {{0}, 0};
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(podspec, "containers"), i, c) {
        text_add(&names, ",", kc_json_str(c, "name") ? kc_json_str(c, "name") : "");
        text_add(&images, ",", kc_json_str(c, "image") ? kc_json_str(c, "image") : "");
    }
    add_str(cells, names.s);
    add_str(cells, images.s);
}

/* ---- pods ---- */

static const struct column pod_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Ready", "string", "", 0, "The aggregate readiness state of this pod for accepting traffic."},
    {"Status", "string", "", 0, "The aggregate status of the containers in this pod."},
    {"Restarts", "string", "", 0,
     "The number of times the containers in this pod have been restarted and when the last "
     "container in this pod has restarted."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"IP", "string", "", 1, "IP address allocated to the pod."},
    {"Node", "string", "", 1, "Name of the node the pod is assigned to."},
    {"Nominated Node", "string", "", 1, "Name of the node the pod is nominated to run on, if any."},
    {"Readiness Gates", "string", "", 1, "Readiness gates of the pod and how many are met."},
    {NULL, NULL, NULL, 0, NULL},
};

static bool condition_true(const json_t *obj, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(obj, "status.conditions"), i, c) {
        const char *t = kc_json_str(c, "type"), *s = kc_json_str(c, "status");
        if (t && s && !strcmp(t, type) && !strcmp(s, "True"))
            return true;
    }
    return false;
}

static void latest(time_t *acc, const json_t *status)
{
    time_t t;
    const char *f = kc_json_str(status, "lastState.terminated.finishedAt");
    if (f && kc_time_parse(f, &t) == 0 && t > *acc)
        *acc = t;
}

static void pod_cells(json_t *cells, const json_t *pod, time_t now)
{
    char reason[256];
    long long restarts = 0, sidecar_restarts = 0;
    int total = (int)json_array_size(kc_json_path(pod, "spec.containers")), ready = 0;
    time_t last_restart = 0, sidecar_last = 0;
    const char *phase = kc_json_str(pod, "status.phase");
    const char *preason = kc_json_str(pod, "status.reason");
    snprintf(reason, sizeof reason, "%s", preason && *preason ? preason : phase ? phase : "");

    json_t *init_specs = kc_json_path(pod, "spec.initContainers");
    json_t *init_statuses = kc_json_path(pod, "status.initContainerStatuses");
    size_t i;
    json_t *cs;
    /* restartable init containers (sidecars) count as regular containers */
    json_array_foreach (init_specs, i, cs) {
        const char *rp = kc_json_str(cs, "restartPolicy");
        if (rp && !strcmp(rp, "Always"))
            total++;
    }
    bool initializing = false;
    json_array_foreach (init_statuses, i, cs) {
        long long rc = kc_json_int(cs, "restartCount", 0);
        restarts += rc;
        latest(&last_restart, cs);
        bool sidecar = false;
        json_t *spec = json_array_get(init_specs, i);
        const char *rp = kc_json_str(spec, "restartPolicy");
        if (rp && !strcmp(rp, "Always")) {
            sidecar = true;
            sidecar_restarts += rc;
            latest(&sidecar_last, cs);
        }
        json_t *term = kc_json_path(cs, "state.terminated");
        json_t *wait = kc_json_path(cs, "state.waiting");
        if (term && kc_json_int(term, "exitCode", 0) == 0)
            continue;
        if (sidecar && kc_json_bool(cs, "started", false)) {
            if (kc_json_bool(cs, "ready", false))
                ready++;
            continue;
        }
        const char *tr = kc_json_str(term, "reason"), *wr = kc_json_str(wait, "reason");
        if (term) {
            if (!tr || !*tr) {
                if (kc_json_int(term, "signal", 0) != 0)
                    snprintf(reason, sizeof reason, "Init:Signal:%lld",
                             kc_json_int(term, "signal", 0));
                else
                    snprintf(reason, sizeof reason, "Init:ExitCode:%lld",
                             kc_json_int(term, "exitCode", 0));
            } else {
                snprintf(reason, sizeof reason, "Init:%s", tr);
            }
        } else if (wait && wr && *wr && strcmp(wr, "PodInitializing") != 0) {
            snprintf(reason, sizeof reason, "Init:%s", wr);
        } else {
            snprintf(reason, sizeof reason, "Init:%zu/%zu", i, json_array_size(init_specs));
        }
        initializing = true;
        break;
    }
    if (!initializing || condition_true(pod, "Initialized")) {
        restarts = sidecar_restarts;
        last_restart = sidecar_last;
        bool has_running = false;
        json_t *statuses = kc_json_path(pod, "status.containerStatuses");
        for (size_t k = json_array_size(statuses); k-- > 0;) {
            cs = json_array_get(statuses, k);
            restarts += kc_json_int(cs, "restartCount", 0);
            latest(&last_restart, cs);
            json_t *term = kc_json_path(cs, "state.terminated");
            const char *wr = kc_json_str(cs, "state.waiting.reason");
            const char *tr = kc_json_str(term, "reason");
            if (wr && *wr)
                snprintf(reason, sizeof reason, "%s", wr);
            else if (tr && *tr)
                snprintf(reason, sizeof reason, "%s", tr);
            else if (term) {
                if (kc_json_int(term, "signal", 0) != 0)
                    snprintf(reason, sizeof reason, "Signal:%lld", kc_json_int(term, "signal", 0));
                else
                    snprintf(reason, sizeof reason, "ExitCode:%lld",
                             kc_json_int(term, "exitCode", 0));
            } else if (kc_json_bool(cs, "ready", false) && kc_json_path(cs, "state.running")) {
                has_running = true;
                ready++;
            }
        }
        if (!strcmp(reason, "Completed") && has_running)
            snprintf(reason, sizeof reason, "%s",
                     condition_true(pod, "Ready") ? "Running" : "NotReady");
    }
    bool terminal = phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
    if (kc_json_path(pod, "metadata.deletionTimestamp")) {
        if (preason && !strcmp(preason, "NodeLost"))
            snprintf(reason, sizeof reason, "Unknown");
        else if (!terminal)
            snprintf(reason, sizeof reason, "Terminating");
    }
    add_str(cells, kc_json_str(pod, "metadata.name"));
    add_fmt(cells, "%d/%d", ready, total);
    add_str(cells, reason);
    if (last_restart) {
        char ago[32];
        kc_human_duration((long long)(now - last_restart), ago, sizeof ago);
        add_fmt(cells, "%lld (%s ago)", restarts, ago);
    } else {
        add_fmt(cells, "%lld", restarts);
    }
    add_age(cells, pod, now);
    const char *ip = kc_json_str(json_array_get(kc_json_path(pod, "status.podIPs"), 0), "ip");
    if (!ip)
        ip = kc_json_str(pod, "status.podIP");
    add_str(cells, or_none(ip));
    add_str(cells, or_none(kc_json_str(pod, "spec.nodeName")));
    add_str(cells, or_none(kc_json_str(pod, "status.nominatedNodeName")));
    json_t *gates = kc_json_path(pod, "spec.readinessGates");
    if (json_array_size(gates)) {
        int met = 0;
        json_t *g;
        json_array_foreach (gates, i, g) {
            if (condition_true(
                    pod, kc_json_str(g, "conditionType") ? kc_json_str(g, "conditionType") : ""))
                met++;
        }
        add_fmt(cells, "%d/%zu", met, json_array_size(gates));
    } else {
        add_str(cells, "<none>");
    }
}

/* ---- nodes ---- */

static const struct column node_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Status", "string", "", 0, "The status of the node."},
    {"Roles", "string", "", 0, "The roles of the node."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"Version", "string", "", 0, "Kubelet version reported by the node."},
    {"Internal-IP", "string", "", 1, "First internal IP of the node."},
    {"External-IP", "string", "", 1, "First external IP of the node."},
    {"OS-Image", "string", "", 1, "OS image reported by the node."},
    {"Kernel-Version", "string", "", 1, "Kernel version reported by the node."},
    {"Container-Runtime", "string", "", 1, "Container runtime and version reported by the node."},
    {NULL, NULL, NULL, 0, NULL},
};

static const char *node_address(const json_t *node, const char *type)
{
    size_t i;
    json_t *a;
    json_array_foreach (kc_json_path(node, "status.addresses"), i, a) {
        const char *t = kc_json_str(a, "type");
        if (t && !strcmp(t, type))
            return kc_json_str(a, "address");
    }
    return NULL;
}

static const char *or_unknown(const char *s)
{
    return s && *s ? s : "<unknown>";
}

static void node_cells(json_t *cells, const json_t *node, time_t now)
{
    struct text status = {{0}, 0}, roles = {{0}, 0};
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(node, "status.conditions"), i, c) {
        const char *t = kc_json_str(c, "type"), *s = kc_json_str(c, "status");
        if (t && !strcmp(t, "Ready"))
            text_add(&status, ",", s && !strcmp(s, "True") ? "Ready" : "NotReady");
    }
    if (!status.n)
        text_add(&status, ",", "Unknown");
    if (kc_json_bool(node, "spec.unschedulable", false))
        text_add(&status, ",", "SchedulingDisabled");

    const char *role_list[64];
    size_t nroles = 0;
    const char *k;
    json_t *v;
    json_object_foreach (kc_json_path(node, "metadata.labels"), k, v) {
        if (nroles >= 64)
            break;
        if (!strncmp(k, "node-role.kubernetes.io/", 24) && k[24])
            role_list[nroles++] = k + 24;
        else if (!strcmp(k, "kubernetes.io/role") && json_string_value(v) && *json_string_value(v))
            role_list[nroles++] = json_string_value(v);
    }
    qsort(role_list, nroles, sizeof *role_list, cmp_str);
    for (i = 0; i < nroles; i++)
        if (i == 0 || strcmp(role_list[i], role_list[i - 1]))
            text_add(&roles, ",", role_list[i]);

    add_str(cells, kc_json_str(node, "metadata.name"));
    add_str(cells, status.s);
    add_str(cells, roles.n ? roles.s : "<none>");
    add_age(cells, node, now);
    add_str(cells, kc_json_str(node, "status.nodeInfo.kubeletVersion"));
    add_str(cells, or_none(node_address(node, "InternalIP")));
    add_str(cells, or_none(node_address(node, "ExternalIP")));
    add_str(cells, or_unknown(kc_json_str(node, "status.nodeInfo.osImage")));
    add_str(cells, or_unknown(kc_json_str(node, "status.nodeInfo.kernelVersion")));
    add_str(cells, or_unknown(kc_json_str(node, "status.nodeInfo.containerRuntimeVersion")));
}

/* ---- namespaces, configmaps, secrets, serviceaccounts, leases ---- */

static const struct column namespace_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Status", "string", "", 0, "The status of the namespace."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void namespace_cells(json_t *cells, const json_t *ns, time_t now)
{
    add_str(cells, kc_json_str(ns, "metadata.name"));
    add_str(cells, kc_json_str(ns, "status.phase"));
    add_age(cells, ns, now);
}

static const struct column configmap_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Data", "string", "", 0, "Number of data entries."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void configmap_cells(json_t *cells, const json_t *cm, time_t now)
{
    add_str(cells, kc_json_str(cm, "metadata.name"));
    add_int(cells, (long long)(json_object_size(json_object_get(cm, "data")) +
                               json_object_size(json_object_get(cm, "binaryData"))));
    add_age(cells, cm, now);
}

static const struct column secret_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Type", "string", "", 0, "The type of the secret."},
    {"Data", "string", "", 0, "Number of data entries."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void secret_cells(json_t *cells, const json_t *s, time_t now)
{
    add_str(cells, kc_json_str(s, "metadata.name"));
    add_str(cells, kc_json_str(s, "type"));
    add_int(cells, (long long)json_object_size(json_object_get(s, "data")));
    add_age(cells, s, now);
}

static const struct column serviceaccount_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Secrets", "string", "", 0, "Number of secrets of the service account."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void serviceaccount_cells(json_t *cells, const json_t *sa, time_t now)
{
    add_str(cells, kc_json_str(sa, "metadata.name"));
    add_int(cells, (long long)json_array_size(json_object_get(sa, "secrets")));
    add_age(cells, sa, now);
}

static const struct column lease_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Holder", "string", "", 0, "The current holder of the lease."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void lease_cells(json_t *cells, const json_t *l, time_t now)
{
    add_str(cells, kc_json_str(l, "metadata.name"));
    add_str(cells, kc_json_str(l, "spec.holderIdentity"));
    add_age(cells, l, now);
}

/* ---- services and endpoints ---- */

static const struct column service_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Type", "string", "", 0, "How the service is exposed."},
    {"Cluster-IP", "string", "", 0, "The cluster IP of the service."},
    {"External-IP", "string", "", 0, "External addresses of the service."},
    {"Port(s)", "string", "", 0, "Ports of the service, with node ports."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"Selector", "string", "", 1, "Pods this service routes to."},
    {NULL, NULL, NULL, 0, NULL},
};

static void service_cells(json_t *cells, const json_t *svc, time_t now)
{
    const char *type = kc_json_str(svc, "spec.type");
    struct text ext = {{0}, 0}, ports = {{0}, 0}, sel = {{0}, 0};
    size_t i;
    json_t *v;
    type = type && *type ? type : "ClusterIP";
    json_array_foreach (kc_json_path(svc, "spec.externalIPs"), i, v)
        text_add(&ext, ",", json_string_value(v) ? json_string_value(v) : "");
    if (!strcmp(type, "LoadBalancer")) {
        struct text lb = {{0}, 0};
        json_array_foreach (kc_json_path(svc, "status.loadBalancer.ingress"), i, v) {
            const char *a = kc_json_str(v, "ip");
            if (!a || !*a)
                a = kc_json_str(v, "hostname");
            if (a && *a)
                text_add(&lb, ",", a);
        }
        if (ext.n)
            text_add(&lb, ",", ext.s);
        ext = lb;
        if (!ext.n)
            text_add(&ext, ",", "<pending>");
    } else if (!strcmp(type, "ExternalName")) {
        ext.n = 0;
        ext.s[0] = 0;
        text_add(&ext, ",",
                 kc_json_str(svc, "spec.externalName") ? kc_json_str(svc, "spec.externalName")
                                                       : "");
    }
    json_array_foreach (kc_json_path(svc, "spec.ports"), i, v) {
        char p[128];
        const char *proto = kc_json_str(v, "protocol");
        long long np = kc_json_int(v, "nodePort", 0);
        if (np)
            snprintf(p, sizeof p, "%lld:%lld/%s", kc_json_int(v, "port", 0), np,
                     proto ? proto : "TCP");
        else
            snprintf(p, sizeof p, "%lld/%s", kc_json_int(v, "port", 0), proto ? proto : "TCP");
        text_add(&ports, ",", p);
    }
    map_selector(&sel, kc_json_path(svc, "spec.selector"));
    add_str(cells, kc_json_str(svc, "metadata.name"));
    add_str(cells, type);
    const char *cip = kc_json_str(svc, "spec.clusterIP");
    add_str(cells, or_none(cip));
    add_str(cells, ext.n ? ext.s : "<none>");
    add_str(cells, ports.n ? ports.s : "<none>");
    add_age(cells, svc, now);
    add_str(cells, sel.n ? sel.s : "<none>");
}

static const struct column endpoints_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Endpoints", "string", "", 0, "Endpoint addresses and ports."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

/* Up to three "ip:port" values, then " + N more...". */
static void endpoints_cells(json_t *cells, const json_t *ep, time_t now)
{
    struct text t = {{0}, 0};
    int count = 0, more = 0;
    size_t i, j, k;
    json_t *subset, *addr, *port;
    json_array_foreach (json_object_get(ep, "subsets"), i, subset) {
        json_t *ports = json_object_get(subset, "ports");
        json_t *addrs = json_object_get(subset, "addresses");
        if (json_array_size(ports) == 0) {
            json_array_foreach (addrs, j, addr) {
                if (count < 3)
                    text_add(&t, ",", kc_json_str(addr, "ip") ? kc_json_str(addr, "ip") : "");
                else
                    more++;
                count++;
            }
            continue;
        }
        json_array_foreach (ports, k, port) {
            json_array_foreach (addrs, j, addr) {
                if (count < 3) {
                    char hp[128];
                    snprintf(hp, sizeof hp, "%s:%lld",
                             kc_json_str(addr, "ip") ? kc_json_str(addr, "ip") : "",
                             kc_json_int(port, "port", 0));
                    text_add(&t, ",", hp);
                } else {
                    more++;
                }
                count++;
            }
        }
    }
    if (more) {
        char m[64];
        snprintf(m, sizeof m, " + %d more...", more);
        text_add(&t, "", m);
    }
    add_str(cells, kc_json_str(ep, "metadata.name"));
    add_str(cells, t.n ? t.s : "<none>");
    add_age(cells, ep, now);
}

static const struct column endpointslice_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"AddressType", "string", "", 0, "The type of address carried by this slice."},
    {"Ports", "string", "", 0, "Ports exposed by this slice."},
    {"Endpoints", "string", "", 0, "Addresses of the endpoints."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void endpointslice_cells(json_t *cells, const json_t *es, time_t now)
{
    struct text ports = {{0}, 0}, eps = {{0}, 0};
    size_t i, j, n = 0;
    json_t *p, *e, *a;
    json_array_foreach (json_object_get(es, "ports"), i, p) {
        if (i >= 3)
            break;
        json_t *port = json_object_get(p, "port");
        char b[32];
        if (json_is_integer(port))
            snprintf(b, sizeof b, "%lld", (long long)json_integer_value(port));
        else
            snprintf(b, sizeof b, "<unset>");
        text_add(&ports, ",", b);
    }
    size_t nports = json_array_size(json_object_get(es, "ports"));
    if (nports > 3) {
        char m[64];
        snprintf(m, sizeof m, " + %zu more...", nports - 3);
        text_add(&ports, "", m);
    }
    size_t total = 0;
    json_array_foreach (json_object_get(es, "endpoints"), i, e)
        total += json_array_size(json_object_get(e, "addresses"));
    json_array_foreach (json_object_get(es, "endpoints"), i, e) {
        json_array_foreach (json_object_get(e, "addresses"), j, a) {
            if (n < 3)
                text_add(&eps, ",", json_string_value(a) ? json_string_value(a) : "");
            n++;
        }
    }
    if (total > 3) {
        char m[64];
        snprintf(m, sizeof m, " + %zu more...", total - 3);
        text_add(&eps, "", m);
    }
    add_str(cells, kc_json_str(es, "metadata.name"));
    add_str(cells, kc_json_str(es, "addressType"));
    add_str(cells, ports.n ? ports.s
                           : (json_is_array(json_object_get(es, "ports")) ? "<none>" : "<unset>"));
    add_str(cells, eps.n ? eps.s : "<unset>");
    add_age(cells, es, now);
}

/* ---- events ---- */

static const struct column event_columns[] = {
    {"Last Seen", "string", "", 0, "Time since the event was last seen."},
    {"Type", "string", "", 0, "Type of the event (Normal, Warning)."},
    {"Reason", "string", "", 0, "Why the event happened, in CamelCase."},
    {"Object", "string", "", 0, "The object the event is about."},
    {"Subobject", "string", "", 1, "The part of the object the event is about."},
    {"Source", "string", "", 1, "The component that reported the event."},
    {"Message", "string", "", 0, "A human-readable description of the event."},
    {"First Seen", "string", "", 1, "Time since the event was first seen."},
    {"Count", "string", "", 1, "How many times the event happened."},
    {"Name", "string", "name", 1, "Name of the event object."},
    {NULL, NULL, NULL, 0, NULL},
};

static void event_cells(json_t *cells, const json_t *ev, time_t now)
{
    char first[32], last[32], target[512], source[512];
    const char *ft = kc_json_str(ev, "firstTimestamp");
    since(first, sizeof first, ft && *ft ? ft : kc_json_str(ev, "eventTime"), now);
    const char *lt = kc_json_str(ev, "lastTimestamp");
    if (lt && *lt)
        since(last, sizeof last, lt, now);
    else
        snprintf(last, sizeof last, "%s", first);
    long long count = kc_json_int(ev, "count", 0);
    if (kc_json_path(ev, "series")) {
        since(last, sizeof last, kc_json_str(ev, "series.lastObservedTime"), now);
        count = kc_json_int(ev, "series.count", 0);
    } else if (count == 0) {
        count = 1;
    }
    const char *kind = kc_json_str(ev, "involvedObject.kind");
    size_t o = 0;
    for (const char *p = kind ? kind : ""; *p && o < 200; p++)
        target[o++] = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
    snprintf(target + o, sizeof target - o, "/%s",
             kc_json_str(ev, "involvedObject.name") ? kc_json_str(ev, "involvedObject.name") : "");
    const char *comp = kc_json_str(ev, "source.component");
    const char *host = kc_json_str(ev, "source.host");
    if (!comp || !*comp)
        comp = kc_json_str(ev, "reportingComponent");
    if (!host || !*host)
        host = kc_json_str(ev, "reportingInstance");
    if (host && *host)
        snprintf(source, sizeof source, "%s, %s", comp ? comp : "", host);
    else
        snprintf(source, sizeof source, "%s", comp ? comp : "");
    const char *msg = kc_json_str(ev, "message");
    char trimmed[2048];
    snprintf(trimmed, sizeof trimmed, "%s", msg ? msg : "");
    size_t tl = strlen(trimmed);
    while (tl && (trimmed[tl - 1] == ' ' || trimmed[tl - 1] == '\n'))
        trimmed[--tl] = 0;
    add_str(cells, last);
    add_str(cells, kc_json_str(ev, "type"));
    add_str(cells, kc_json_str(ev, "reason"));
    add_str(cells, target);
    add_str(cells, kc_json_str(ev, "involvedObject.fieldPath"));
    add_str(cells, source);
    add_str(cells, trimmed);
    add_str(cells, first);
    add_int(cells, count);
    add_str(cells, kc_json_str(ev, "metadata.name"));
}

/* ---- apps ---- */

static const struct column deployment_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Ready", "string", "", 0, "Number of the pod with ready state."},
    {"Up-to-date", "string", "", 0,
     "Total number of pods targeted by this deployment that have the desired template spec."},
    {"Available", "string", "", 0,
     "Total number of available pods (ready for at least minReadySeconds)."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"Containers", "string", "", 1, "Names of each container in the template."},
    {"Images", "string", "", 1, "Images referenced by each container in the template."},
    {"Selector", "string", "", 1, "Label query over pods that should match the replicas count."},
    {NULL, NULL, NULL, 0, NULL},
};

static void deployment_cells(json_t *cells, const json_t *d, time_t now)
{
    add_str(cells, kc_json_str(d, "metadata.name"));
    add_fmt(cells, "%lld/%lld", kc_json_int(d, "status.readyReplicas", 0),
            kc_json_int(d, "spec.replicas", 0));
    add_int(cells, kc_json_int(d, "status.updatedReplicas", 0));
    add_int(cells, kc_json_int(d, "status.availableReplicas", 0));
    add_age(cells, d, now);
    add_containers_images(cells, kc_json_path(d, "spec.template.spec"));
    add_label_selector(cells, kc_json_path(d, "spec.selector"));
}

static const struct column replicaset_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Desired", "integer", "", 0, "Number of desired pods."},
    {"Current", "integer", "", 0, "Number of actual replicas."},
    {"Ready", "integer", "", 0, "The number of ready replicas for this replica set."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {"Containers", "string", "", 1, "Names of each container in the template."},
    {"Images", "string", "", 1, "Images referenced by each container in the template."},
    {"Selector", "string", "", 1, "Label query over pods that should match the replicas count."},
    {NULL, NULL, NULL, 0, NULL},
};

static void replicaset_cells(json_t *cells, const json_t *rs, time_t now)
{
    add_str(cells, kc_json_str(rs, "metadata.name"));
    add_int(cells, kc_json_int(rs, "spec.replicas", 0));
    add_int(cells, kc_json_int(rs, "status.replicas", 0));
    add_int(cells, kc_json_int(rs, "status.readyReplicas", 0));
    add_age(cells, rs, now);
    add_containers_images(cells, kc_json_path(rs, "spec.template.spec"));
    add_label_selector(cells, kc_json_path(rs, "spec.selector"));
}

/* ---- networking ---- */

static const struct column ingress_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Class", "string", "", 0, "The name of the IngressClass resource."},
    {"Hosts", "string", "", 0, "Hosts that incoming requests are matched against."},
    {"Address", "string", "", 0, "Addresses of the load balancer."},
    {"Ports", "string", "", 0, "Ports of the load balancer."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void ingress_cells(json_t *cells, const json_t *ing, time_t now)
{
    struct text hosts = {{0}, 0}, addr = {{0}, 0};
    size_t i, n = 0;
    json_t *r;
    json_array_foreach (kc_json_path(ing, "spec.rules"), i, r) {
        const char *h = kc_json_str(r, "host");
        if (!h || !*h)
            continue;
        if (n < 3)
            text_add(&hosts, ",", h);
        n++;
    }
    if (n > 3) {
        char m[64];
        snprintf(m, sizeof m, " + %zu more...", n - 3);
        text_add(&hosts, "", m);
    }
    json_array_foreach (kc_json_path(ing, "status.loadBalancer.ingress"), i, r) {
        const char *a = kc_json_str(r, "ip");
        if (!a || !*a)
            a = kc_json_str(r, "hostname");
        if (a && *a)
            text_add(&addr, ",", a);
    }
    add_str(cells, kc_json_str(ing, "metadata.name"));
    add_str(cells, or_none(kc_json_str(ing, "spec.ingressClassName")));
    add_str(cells, hosts.n ? hosts.s : "*");
    add_str(cells, addr.s);
    add_str(cells, json_array_size(kc_json_path(ing, "spec.tls")) ? "80, 443" : "80");
    add_age(cells, ing, now);
}

static const struct column ingressclass_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Controller", "string", "", 0, "Controller that implements this class."},
    {"Parameters", "string", "", 0, "Extra configuration for the controller."},
    {"Age", "string", "", 0, "Time since the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void ingressclass_cells(json_t *cells, const json_t *ic, time_t now)
{
    json_t *p = kc_json_path(ic, "spec.parameters");
    add_str(cells, kc_json_str(ic, "metadata.name"));
    add_str(cells, kc_json_str(ic, "spec.controller"));
    if (p) {
        const char *g = kc_json_str(p, "apiGroup");
        if (g && *g)
            add_fmt(cells, "%s/%s", kc_json_str(p, "kind") ? kc_json_str(p, "kind") : "",
                    kc_json_str(p, "name") ? kc_json_str(p, "name") : "");
        else
            add_fmt(cells, "%s/%s", kc_json_str(p, "kind") ? kc_json_str(p, "kind") : "",
                    kc_json_str(p, "name") ? kc_json_str(p, "name") : "");
    } else {
        add_str(cells, "<none>");
    }
    add_age(cells, ic, now);
}

/* ---- the default (any resource without a printer): Name and Created At ---- */

static const struct column default_columns[] = {
    {"Name", "string", "name", 0, "Name must be unique within a namespace."},
    {"Created At", "date", "", 0, "Time when the object was created."},
    {NULL, NULL, NULL, 0, NULL},
};

static void default_cells(json_t *cells, const json_t *obj, time_t now)
{
    add_str(cells, kc_json_str(obj, "metadata.name"));
    add_str(cells, kc_json_str(obj, "metadata.creationTimestamp"));
}

static const struct printer printers[] = {
    {"", "pods", pod_columns, pod_cells},
    {"", "nodes", node_columns, node_cells},
    {"", "namespaces", namespace_columns, namespace_cells},
    {"", "services", service_columns, service_cells},
    {"", "endpoints", endpoints_columns, endpoints_cells},
    {"", "configmaps", configmap_columns, configmap_cells},
    {"", "secrets", secret_columns, secret_cells},
    {"", "serviceaccounts", serviceaccount_columns, serviceaccount_cells},
    {"", "events", event_columns, event_cells},
    {"apps", "deployments", deployment_columns, deployment_cells},
    {"apps", "replicasets", replicaset_columns, replicaset_cells},
    {"networking.k8s.io", "ingresses", ingress_columns, ingress_cells},
    {"networking.k8s.io", "ingressclasses", ingressclass_columns, ingressclass_cells},
    {"discovery.k8s.io", "endpointslices", endpointslice_columns, endpointslice_cells},
    {"coordination.k8s.io", "leases", lease_columns, lease_cells},
};

static const struct printer *find(const char *group, const char *resource)
{
    for (size_t i = 0; i < sizeof printers / sizeof *printers; i++)
        if (!strcmp(printers[i].group, group) && !strcmp(printers[i].resource, resource))
            return &printers[i];
    return NULL;
}

json_t *kc_printer_columns(const char *group, const char *resource)
{
    const struct printer *p = find(group, resource);
    const struct column *c = p ? p->columns : default_columns;
    json_t *a = json_array();
    for (; c->name; c++)
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name, "type",
                                           c->type, "format", c->format, "description",
                                           c->description, "priority", c->priority));
    return a;
}

json_t *kc_printer_cells(const char *group, const char *resource, const json_t *obj, time_t now)
{
    const struct printer *p = find(group, resource);
    json_t *cells = json_array();
    (p ? p->cells : default_cells)(cells, obj, now);
    return cells;
}
