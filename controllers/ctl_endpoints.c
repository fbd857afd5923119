/* Endpoints controller, as upstream pkg/controller/endpoint: for every Service with a
 * selector, one core/v1 Endpoints object of the same name listing the selected pods that
 * have an IP (ready ones in addresses, the others in notReadyAddresses; all in addresses
 * with publishNotReadyAddresses; terminating pods left out), with the Service's ports
 * resolved against each pod (targetPort by number, or by container port name). Pods that
 * serve the same set of ports share a subset (upstream's RepackSubsets). Services without
 * a selector are left alone: their Endpoints are written by hand. The Endpoints object is
 * deleted when its Service goes. Written only when it changes.
 *
 * Ownership: informer objects are shared and immutable (deep-copied before a change);
 * every other json_t here is owned by the function that made it unless said otherwise. */
#include "controllers/controller.h"
#include "controllers/endpoints_common.h"
#include "lib/jsonx.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EP_MAX_CAPACITY 1000 /* addresses kept in one Endpoints object */
#define EP_MAX_RETRIES 15
#define ANN_OVER_CAPACITY "endpoints.kubernetes.io/over-capacity"
#define ANN_LEADER "control-plane.alpha.kubernetes.io/leader"

struct ep_ctl {
    struct kc_ctl_ctx *ctx;
    struct kc_workqueue *q; /* service keys */
    struct kc_recorder *rec;
    struct kcep_trigger_tracker triggers;
    atomic_bool leftovers_checked;
};

/* Reachable for the process lifetime (workers are detached threads). */
static struct ep_ctl *g_ep;

/* ---- desired state ---- */

/* One pod's address and the ports it serves. */
struct ep_entry {
    json_t *addr;  /* EndpointAddress, owned */
    json_t *ports; /* array of EndpointPort, owned; empty for a headless service without ports */
    bool ready;
    const char *ip;  /* borrowed from addr */
    const char *uid; /* borrowed from addr */
};

static int cmp_entry(const void *a, const void *b)
{
    const struct ep_entry *x = a, *y = b;
    int c = strcmp(x->ip, y->ip);
    return c ? c : strcmp(x->uid, y->uid);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Canonical text of a port, for grouping and ordering. malloc'd. "" for no port. */
static char *port_key(const json_t *port)
{
    return port ? json_dumps(port, JSON_COMPACT | JSON_SORT_KEYS) : strdup("");
}

static json_t *endpoint_address(const json_t *pod, const json_t *svc, const char *ip)
{
    json_t *ref =
        json_pack("{s:s, s:s?, s:s?, s:s?}", "kind", "Pod", "namespace",
                  kc_json_str(pod, "metadata.namespace"), "name", kc_json_str(pod, "metadata.name"),
                  "uid", kc_json_str(pod, "metadata.uid"));
    json_t *a = json_pack("{s:s, s:o}", "ip", ip, "targetRef", ref);
    const char *node = kc_json_str(pod, "spec.nodeName");
    if (node && *node)
        json_object_set_new(a, "nodeName", json_string(node));
    if (kcep_should_set_hostname(pod, svc))
        json_object_set_new(a, "hostname", json_string(kc_json_str(pod, "spec.hostname")));
    return a;
}

/* endpointPortFromServicePort. New. */
static json_t *endpoint_port(const json_t *svc_port, long long num)
{
    json_t *p =
        json_pack("{s:I, s:s}", "port", (json_int_t)num, "protocol", kcep_protocol(svc_port));
    const char *name = kc_json_str(svc_port, "name");
    const char *app = kc_json_str(svc_port, "appProtocol");
    if (name && *name)
        json_object_set_new(p, "name", json_string(name));
    if (app && *app)
        json_object_set_new(p, "appProtocol", json_string(app));
    return p;
}

/* The IP family of the service's endpoints: its first ipFamily, else its cluster IP's. */
static bool service_wants_ipv6(const json_t *svc, const json_t *pod)
{
    json_t *f0 = json_array_get(kc_json_path(svc, "spec.ipFamilies"), 0);
    if (json_is_string(f0))
        return strcmp(json_string_value(f0), "IPv6") == 0;
    if (kcep_service_ip_set(svc))
        return kcep_is_ipv6(kc_json_str(svc, "spec.clusterIP"));
    /* legacy headless service: follow the pod */
    const char *ip = kc_json_str(pod, "status.podIP");
    return ip && kcep_is_ipv6(ip);
}

/* Upstream truncateEndpoints: keeps at most EP_MAX_CAPACITY addresses, ready ones first,
 * spread over the subsets in proportion. true when something was dropped. */
static bool truncate_subsets(json_t *subsets)
{
    size_t i, total_ready = 0, total_not_ready = 0;
    json_t *s;
    json_array_foreach (subsets, i, s) {
        total_ready += json_array_size(json_object_get(s, "addresses"));
        total_not_ready += json_array_size(json_object_get(s, "notReadyAddresses"));
    }
    if (total_ready + total_not_ready <= EP_MAX_CAPACITY)
        return false;
    bool truncate_ready = total_ready > EP_MAX_CAPACITY;
    size_t max = truncate_ready ? EP_MAX_CAPACITY : EP_MAX_CAPACITY - total_ready;
    size_t num_total = truncate_ready ? total_ready : total_not_ready;
    size_t can_add = max;
    json_array_foreach (subsets, i, s) {
        const char *field = truncate_ready ? "addresses" : "notReadyAddresses";
        json_t *arr = json_object_get(s, field);
        size_t in = json_array_size(arr);
        size_t add = (size_t)ceil((double)in / (double)num_total * (double)max);
        if (add > can_add)
            add = can_add;
        while (json_array_size(arr) > add)
            json_array_remove(arr, json_array_size(arr) - 1);
        can_add -= json_array_size(arr);
        if (truncate_ready)
            json_object_del(s, "notReadyAddresses");
        if (arr && json_array_size(arr) == 0)
            json_object_del(s, field);
    }
    return true;
}

/* The subsets for svc from the selected pods, packed as upstream's RepackSubsets: each
 * distinct port is served by a set of addresses, and ports served by the same set share
 * one subset. Addresses sorted by IP then uid; subsets and ports by the ports' text.
 * New array. */
static json_t *compute_subsets(const json_t *svc, const json_t *pods)
{
    const json_t *svc_ports = kc_json_path(svc, "spec.ports");
    bool publish = kc_json_bool(svc, "spec.publishNotReadyAddresses", false);
    const char *cip = kc_json_str(svc, "spec.clusterIP");
    bool headless = cip && strcmp(cip, "None") == 0;
    size_t npods = json_array_size(pods), n = 0, nkeys = 0, i, j, k;
    struct ep_entry *e = calloc(npods ? npods : 1, sizeof *e);
    json_t *distinct = json_object(); /* port key -> port (or null for "no port") */
    json_t *groups = json_object();   /* signature -> subset (borrowed from subsets) */
    json_t *subsets = json_array();
    const char **keys = NULL;
    char *sig = NULL;
    json_t *pod, *sp;

    if (!e)
        goto out;
    json_array_foreach (pods, i, pod) {
        if (!kcep_pod_in_endpoints(pod, publish))
            continue;
        const char *ip = kcep_pod_ip(pod, service_wants_ipv6(svc, pod));
        if (!ip)
            continue; /* no address of the service's family (dual-stack upgrade) */
        json_t *ports = json_array();
        if (json_array_size(svc_ports) == 0) {
            if (!headless) { /* only headless services may go without ports */
                json_decref(ports);
                continue;
            }
        } else {
            json_array_foreach (svc_ports, j, sp) {
                long long num;
                if (kcep_find_port(pod, sp, &num) == 0)
                    json_array_append_new(ports, endpoint_port(sp, num));
            }
            if (json_array_size(ports) == 0) {
                json_decref(ports);
                continue;
            }
        }
        e[n].addr = endpoint_address(pod, svc, ip);
        e[n].ports = ports;
        e[n].ready = publish || kc_pod_is_ready(pod);
        e[n].ip = kc_json_str(e[n].addr, "ip");
        e[n].uid = kc_json_str(e[n].addr, "targetRef.uid");
        if (!e[n].uid)
            e[n].uid = "";
        n++;
    }
    qsort(e, n, sizeof *e, cmp_entry);

    /* the distinct ports, in their text's order */
    for (i = 0; i < n; i++) {
        if (json_array_size(e[i].ports) == 0) {
            json_object_set_new(distinct, "", json_null());
            continue;
        }
        json_array_foreach (e[i].ports, j, sp) {
            char *pk = port_key(sp);
            if (pk && !json_object_get(distinct, pk))
                json_object_set(distinct, pk, sp);
            free(pk);
        }
    }
    nkeys = json_object_size(distinct);
    keys = calloc(nkeys ? nkeys : 1, sizeof *keys);
    sig = malloc(n + 1);
    if (!keys || !sig)
        goto out;
    k = 0;
    const char *key;
    json_t *port;
    json_object_foreach (distinct, key, port)
        keys[k++] = key;
    qsort(keys, nkeys, sizeof *keys, cmp_str);

    for (k = 0; k < nkeys; k++) {
        port = json_object_get(distinct, keys[k]);
        /* the signature: which entries serve this port */
        for (i = 0; i < n; i++) {
            bool serves = false;
            if (json_is_null(port)) {
                serves = json_array_size(e[i].ports) == 0;
            } else {
                json_array_foreach (e[i].ports, j, sp) {
                    if (json_equal(sp, port)) {
                        serves = true;
                        break;
                    }
                }
            }
            sig[i] = serves ? '1' : '0';
        }
        sig[n] = '\0';
        json_t *subset = json_object_get(groups, sig);
        if (!subset) {
            json_t *ready = json_array(), *not_ready = json_array();
            for (i = 0; i < n; i++) {
                if (sig[i] == '1')
                    json_array_append(e[i].ready ? ready : not_ready, e[i].addr);
            }
            subset = json_object();
            if (json_array_size(ready))
                json_object_set(subset, "addresses", ready);
            if (json_array_size(not_ready))
                json_object_set(subset, "notReadyAddresses", not_ready);
            json_decref(ready);
            json_decref(not_ready);
            json_array_append_new(subsets, subset);
            json_object_set(groups, sig, subset);
        }
        if (!json_is_null(port)) {
            json_t *ps = json_object_get(subset, "ports");
            if (!ps) {
                ps = json_array();
                json_object_set_new(subset, "ports", ps);
            }
            json_array_append(ps, port);
        }
    }
out:
    for (i = 0; i < n; i++) {
        json_decref(e[i].addr);
        json_decref(e[i].ports);
    }
    free(e);
    free(keys);
    free(sig);
    json_decref(distinct);
    json_decref(groups);
    return subsets;
}

/* ---- comparison with what is stored ---- */

/* Stored subsets in the form compute_subsets produces: targetRef.resourceVersion dropped
 * (upstream compares ignoring it) and empty lists removed. New array. */
static json_t *normalize_subsets(const json_t *stored)
{
    json_t *out = json_is_array(stored) ? json_deep_copy(stored) : json_array();
    const char *lists[] = {"addresses", "notReadyAddresses", "ports"};
    size_t i, j;
    json_t *s, *a;
    json_array_foreach (out, i, s) {
        for (int l = 0; l < 3; l++) {
            json_t *arr = json_object_get(s, lists[l]);
            if (arr && json_array_size(arr) == 0) {
                json_object_del(s, lists[l]);
                continue;
            }
            if (l < 2) {
                json_array_foreach (arr, j, a)
                    json_object_del(json_object_get(a, "targetRef"), "resourceVersion");
            }
        }
    }
    return out;
}

/* The labels an Endpoints object should carry: the service's, plus the headless label for
 * services without a cluster IP. New object. */
static json_t *desired_labels(const json_t *svc)
{
    const json_t *sl = kc_json_path(svc, "metadata.labels");
    json_t *l = json_is_object(sl) ? json_deep_copy(sl) : json_object();
    if (kcep_service_ip_set(svc))
        json_object_del(l, KCEP_LABEL_HEADLESS);
    else
        json_object_set_new(l, KCEP_LABEL_HEADLESS, json_string(""));
    return l;
}

static bool labels_equal(const json_t *a, const json_t *b)
{
    size_t na = json_is_object(a) ? json_object_size(a) : 0;
    size_t nb = json_is_object(b) ? json_object_size(b) : 0;
    if (na == 0 && nb == 0)
        return true;
    return kc_json_equal(a, b);
}

/* ---- sync ---- */

static int sync_service(struct ep_ctl *c, const char *key)
{
    struct kc_ctl_ctx *ctx = c->ctx;
    char ns[256], name[256];
    json_t *svc = NULL, *pods = NULL, *subsets = NULL, *cur = NULL, *obj = NULL, *resp = NULL,
           *stored = NULL, *labels = NULL;
    char *trigger = NULL;
    int ret = -1, code;

    kc_key_split(key, ns, sizeof ns, name, sizeof name);
    svc = kc_informer_get(ctx->services, key);
    cur = kc_informer_get(ctx->endpoints, key);
    if (!svc) {
        /* the service is gone: so are its endpoints */
        kcep_trigger_forget(&c->triggers, key);
        if (!cur) {
            ret = 0;
            goto out;
        }
        code = kc_delete(ctx->client, &KC_GVR_ENDPOINTS, ns, name, NULL, NULL, -1, &resp);
        ret = (code >= 200 && code < 300) || code == 404 ? 0 : -1;
        goto out;
    }
    if (!kcep_service_selector(svc)) {
        ret = 0; /* endpoints of this service are written by hand */
        goto out;
    }

    pods = kcep_select_pods(ctx->pods, svc);
    /* computed on every sync so the tracker's state follows even when nothing is written */
    trigger = kcep_trigger_compute(&c->triggers, key, svc, pods);
    subsets = compute_subsets(svc, pods);
    bool truncated = truncate_subsets(subsets);
    labels = desired_labels(svc);

    if (cur) {
        stored = normalize_subsets(kc_json_path(cur, "subsets"));
        bool over =
            json_object_get(kc_json_path(cur, "metadata.annotations"), ANN_OVER_CAPACITY) != NULL;
        if (json_equal(stored, subsets) &&
            labels_equal(kc_json_path(cur, "metadata.labels"), labels) && over == truncated) {
            ret = 0;
            goto out;
        }
        obj = json_deep_copy(cur);
    } else {
        obj = json_pack("{s:s, s:s, s:{s:s, s:s}}", "apiVersion", "v1", "kind", "Endpoints",
                        "metadata", "name", name, "namespace", ns);
    }
    json_t *meta = kc_json_ensure_obj(obj, "metadata");
    json_object_set(obj, "subsets", subsets);
    if (json_object_size(labels))
        json_object_set(meta, "labels", labels);
    else
        json_object_del(meta, "labels");
    json_t *ann = kc_json_ensure_obj(meta, "annotations");
    if (trigger)
        json_object_set_new(ann, KCEP_ANN_TRIGGER, json_string(trigger));
    else
        json_object_del(ann, KCEP_ANN_TRIGGER);
    if (truncated)
        json_object_set_new(ann, ANN_OVER_CAPACITY, json_string("truncated"));
    else
        json_object_del(ann, ANN_OVER_CAPACITY);
    if (json_object_size(ann) == 0)
        json_object_del(meta, "annotations");

    if (!cur) {
        code = kc_create(ctx->client, &KC_GVR_ENDPOINTS, ns, obj, &resp);
        if (code == 403 && kcep_namespace_terminating(resp)) {
            ret = 0; /* creates keep failing in a terminating namespace: drop the key */
            goto out;
        }
    } else {
        code = kc_update(ctx->client, &KC_GVR_ENDPOINTS, ns, obj, NULL, &resp);
    }
    if (code >= 200 && code < 300) {
        ret = 0;
        goto out;
    }
    /* 409 (stale cache) and the rest: retried with back-off */
    if (code != 409) {
        const char *msg = kc_json_str(resp, "message");
        if (!cur)
            kc_event(c->rec, obj, "Warning", "FailedToCreateEndpoint",
                     "Failed to create endpoint for service %s/%s: %s", ns, name,
                     msg ? msg : "no answer");
        else
            kc_event(c->rec, obj, "Warning", "FailedToUpdateEndpoint",
                     "Failed to update endpoint %s/%s: %s", ns, name, msg ? msg : "no answer");
    }
out:
    json_decref(svc);
    json_decref(pods);
    json_decref(subsets);
    json_decref(cur);
    json_decref(obj);
    json_decref(resp);
    json_decref(stored);
    json_decref(labels);
    free(trigger);
    return ret;
}

/* Endpoints left behind by services deleted while the controller was down; once, at start
 * (in steady state the service's delete event does it). */
static void check_leftovers(struct ep_ctl *c)
{
    json_t *all = kc_informer_list(c->ctx->endpoints, NULL);
    size_t i;
    json_t *ep;
    json_array_foreach (all, i, ep) {
        /* leader-election records live in Endpoints without a service: never touch them */
        if (json_object_get(kc_json_path(ep, "metadata.annotations"), ANN_LEADER))
            continue;
        kc_ctl_enqueue_obj(c->q, ep);
    }
    json_decref(all);
}

static void *ep_worker(void *arg)
{
    struct ep_ctl *c = arg;
    char *key;
    if (!kc_ctl_wait_synced(c->ctx))
        return NULL;
    if (!atomic_exchange(&c->leftovers_checked, true))
        check_leftovers(c);
    while ((key = kc_wq_get(c->q)) != NULL) {
        if (sync_service(c, key) == 0) {
            kc_wq_forget(c->q, key);
        } else if (kc_wq_num_requeues(c->q, key) < EP_MAX_RETRIES) {
            kc_wq_add_rate_limited(c->q, key);
        } else {
            fprintf(stderr, "endpoint-controller: dropping service %s out of the queue\n", key);
            kc_wq_forget(c->q, key);
        }
        kc_wq_done(c->q, key);
        free(key);
    }
    return NULL;
}

/* ---- event handlers (informer thread; only enqueue) ---- */

static void on_service_add(void *arg, const json_t *obj)
{
    kc_ctl_enqueue_obj(((struct ep_ctl *)arg)->q, obj);
}

static void on_service_update(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    (void)old_obj;
    kc_ctl_enqueue_obj(((struct ep_ctl *)arg)->q, new_obj);
}

static void on_pod_add(void *arg, const json_t *pod)
{
    struct ep_ctl *c = arg;
    kcep_enqueue_pod_services(c->ctx->services, c->q, pod);
}

static void on_pod_update(void *arg, const json_t *old_pod, const json_t *new_pod)
{
    struct ep_ctl *c = arg;
    kcep_on_pod_update(c->ctx->services, c->q, old_pod, new_pod);
}

/* Endpoints deleted by someone else come back (or stay gone when the service is gone). */
static void on_endpoints_delete(void *arg, const json_t *obj)
{
    kc_ctl_enqueue_obj(((struct ep_ctl *)arg)->q, obj);
}

int kc_ctl_endpoints_start(struct kc_ctl_ctx *ctx)
{
    struct ep_ctl *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "endpoint-controller: out of memory\n");
        return -1;
    }
    c->ctx = ctx;
    c->q = kc_wq_new("endpoint");
    c->rec = kc_recorder_new(ctx->client, "endpoint-controller");
    kcep_trigger_init(&c->triggers);
    atomic_init(&c->leftovers_checked, false);
    g_ep = c;

    struct kc_informer_handlers svc_h = {.on_add = on_service_add,
                                         .on_update = on_service_update,
                                         .on_delete = on_service_add,
                                         .ctx = c};
    struct kc_informer_handlers pod_h = {
        .on_add = on_pod_add, .on_update = on_pod_update, .on_delete = on_pod_add, .ctx = c};
    struct kc_informer_handlers ep_h = {.on_delete = on_endpoints_delete, .ctx = c};
    kc_informer_add_handlers(ctx->services, &svc_h);
    kc_informer_add_handlers(ctx->pods, &pod_h);
    kc_informer_add_handlers(ctx->endpoints, &ep_h);
    kc_ctl_register_queue(ctx, c->q);

    int workers = ctx->opt.concurrent_syncs > 0 ? ctx->opt.concurrent_syncs : 1;
    if (kc_ctl_spawn_workers(workers, ep_worker, c) != 0) {
        fprintf(stderr, "endpoint-controller: cannot start workers\n");
        return -1;
    }
    return 0;
}
