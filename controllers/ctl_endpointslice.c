/* EndpointSlice controller, as upstream pkg/controller/endpointslice (the reconciler of
 * k8s.io/endpointslice): for every Service with a selector, discovery.k8s.io/v1
 * EndpointSlices named "<service>-<random>", labelled kubernetes.io/service-name and
 * endpointslice.kubernetes.io/managed-by, owned by the Service (so the garbage collector
 * removes them with it). One endpoint per selected pod with an IP, terminating ones
 * included, with conditions ready / serving / terminating; pods are grouped by the set of
 * ports they resolve; at most ES_MAX_PER_SLICE endpoints per slice. Existing slices are
 * updated in place, filled up before new ones are made; a Service without endpoints keeps
 * one empty placeholder slice.
 *
 * The informer cache lags our own writes: a sync that ran before a slice we created shows
 * up in the cache would create it again. As upstream's EndpointSliceTracker, the
 * resourceVersion of every write is remembered and a sync whose cache is older waits.
 *
 * Ownership: informer objects are shared and immutable (deep-copied before a change);
 * every other json_t here is owned by the function that made it unless said otherwise. */
#include "controllers/controller.h"
#include "controllers/endpoints_common.h"
#include "lib/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ES_MAX_PER_SLICE 100
#define ES_MAX_RETRIES 15
#define ES_LABEL_SERVICE "kubernetes.io/service-name"
#define ES_LABEL_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define ES_CONTROLLER_NAME "endpointslice-controller.k8s.io"
#define ES_LABEL_ZONE "topology.kubernetes.io/zone"

struct es_ctl {
    struct kc_ctl_ctx *ctx;
    struct kc_workqueue *q; /* service keys */
    struct kcep_trigger_tracker triggers;
    pthread_mutex_t mu;
    /* service key -> {slice name: resourceVersion we wrote, -1 = we deleted it}; under mu */
    json_t *tracked;
};

/* Reachable for the process lifetime (workers are detached threads). */
static struct es_ctl *g_es;

/* The changes one reconcile decides on. */
struct es_plan {
    json_t *create; /* new slices (owned) */
    json_t *update; /* changed copies of existing slices (owned) */
    json_t *del;    /* existing slices (shared) */
};

static long long rv_of(const json_t *obj)
{
    const char *rv = kc_json_str(obj, "metadata.resourceVersion");
    return rv ? strtoll(rv, NULL, 10) : 0;
}

/* ---- the tracker of our own writes ---- */

static void track(struct es_ctl *c, const char *svc_key, const char *slice, long long rv)
{
    pthread_mutex_lock(&c->mu);
    json_t *t = json_object_get(c->tracked, svc_key);
    if (!t) {
        t = json_object();
        json_object_set_new(c->tracked, svc_key, t);
    }
    json_object_set_new(t, slice, json_integer(rv));
    pthread_mutex_unlock(&c->mu);
}

/* True unless the slice event is the echo of our own write. */
static bool should_sync(struct es_ctl *c, const char *svc_key, const json_t *slice)
{
    bool sync = true;
    pthread_mutex_lock(&c->mu);
    json_t *v =
        json_object_get(json_object_get(c->tracked, svc_key), kc_json_str(slice, "metadata.name"));
    if (v && rv_of(slice) <= json_integer_value(v))
        sync = false;
    pthread_mutex_unlock(&c->mu);
    return sync;
}

/* True when the cache does not show our last writes yet: a slice older than written, a
 * deleted one still there, or a created one not there yet. */
static bool stale_slices(struct es_ctl *c, const char *svc_key, const json_t *slices)
{
    bool stale = false;
    size_t i;
    json_t *s, *v;
    const char *name;
    pthread_mutex_lock(&c->mu);
    json_t *t = json_object_get(c->tracked, svc_key);
    json_array_foreach (slices, i, s) {
        v = json_object_get(t, kc_json_str(s, "metadata.name"));
        if (v && (json_integer_value(v) < 0 || rv_of(s) < json_integer_value(v)))
            stale = true;
    }
    json_object_foreach (t, name, v) {
        bool found = false;
        if (json_integer_value(v) < 0)
            continue;
        json_array_foreach (slices, i, s) {
            const char *n = kc_json_str(s, "metadata.name");
            if (n && strcmp(n, name) == 0) {
                found = true;
                break;
            }
        }
        if (!found)
            stale = true;
    }
    pthread_mutex_unlock(&c->mu);
    return stale;
}

/* ---- desired state ---- */

/* "ns/service" of a slice this controller manages, into buf; false for the others. */
static bool slice_service_key(const json_t *slice, char *buf, size_t len)
{
    const json_t *labels = kc_json_path(slice, "metadata.labels");
    /* label keys hold dots: no kc_json_str path walk */
    const char *mb = json_string_value(json_object_get(labels, ES_LABEL_MANAGED_BY));
    const char *svc = json_string_value(json_object_get(labels, ES_LABEL_SERVICE));
    const char *ns = kc_json_str(slice, "metadata.namespace");
    if (!mb || strcmp(mb, ES_CONTROLLER_NAME) != 0 || !svc || !*svc || !ns)
        return false;
    snprintf(buf, len, "%s/%s", ns, svc);
    return true;
}

static bool owned_by(const json_t *slice, const json_t *svc)
{
    const char *uid = kc_json_str(svc, "metadata.uid");
    size_t i;
    json_t *o;
    json_array_foreach (kc_json_path(slice, "metadata.ownerReferences"), i, o) {
        const char *ou = kc_json_str(o, "uid"), *kind = kc_json_str(o, "kind");
        const char *av = kc_json_str(o, "apiVersion");
        if (uid && ou && strcmp(ou, uid) == 0 && kind && strcmp(kind, "Service") == 0 && av &&
            strcmp(av, "v1") == 0)
            return true;
    }
    return false;
}

/* The port map key (upstream NewPortMapKey): the ports' canonical text, sorted, with the
 * defaults filled so stored and computed ports compare alike. malloc'd. */
static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *port_map_key(const json_t *ports)
{
    size_t n = json_array_size(ports), i, len = 1;
    char **parts = calloc(n ? n : 1, sizeof *parts);
    char *out = NULL;
    json_t *p;
    if (!parts)
        return NULL;
    json_array_foreach (ports, i, p) {
        const char *name = kc_json_str(p, "name");
        json_t *norm =
            json_pack("{s:s, s:I, s:s}", "name", name ? name : "", "port",
                      (json_int_t)kc_json_int(p, "port", 0), "protocol", kcep_protocol(p));
        json_t *app = json_object_get(p, "appProtocol");
        if (json_is_string(app))
            json_object_set(norm, "appProtocol", app);
        parts[i] = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(norm);
        len += (parts[i] ? strlen(parts[i]) : 0) + 1;
    }
    qsort(parts, n, sizeof *parts, cmp_cstr);
    out = malloc(len);
    if (out) {
        out[0] = '\0';
        for (i = 0; i < n; i++) {
            if (parts[i]) {
                strcat(out, parts[i]);
                strcat(out, ";");
            }
        }
    }
    for (i = 0; i < n; i++)
        free(parts[i]);
    free(parts);
    return out;
}

/* The identity of an endpoint in a set (upstream hashEndpoint): addresses, hostname and
 * the pod it points to. */
static void endpoint_key(const json_t *ep, char *buf, size_t len)
{
    size_t i, off = 0;
    json_t *a;
    buf[0] = '\0';
    json_array_foreach (json_object_get(ep, "addresses"), i, a) {
        if (json_is_string(a) && off < len)
            off += (size_t)snprintf(buf + off, len - off, "%s,", json_string_value(a));
    }
    if (off < len) {
        const char *h = kc_json_str(ep, "hostname");
        const char *ns = kc_json_str(ep, "targetRef.namespace");
        const char *n = kc_json_str(ep, "targetRef.name");
        snprintf(buf + off, len - off, "|%s|%s/%s", h ? h : "", ns ? ns : "", n ? n : "");
    }
}

/* EndpointsEqualBeyondHash: everything else equal, targetRef.resourceVersion ignored. */
static bool endpoint_equal(const json_t *want, const json_t *have)
{
    json_t *h = json_deep_copy(have);
    json_object_del(json_object_get(h, "targetRef"), "resourceVersion");
    bool eq = json_equal(want, h);
    json_decref(h);
    return eq;
}

/* getEndpointPorts: the service ports the pod resolves. New array. */
static json_t *endpoint_ports(const json_t *svc, const json_t *pod)
{
    json_t *out = json_array(), *sp;
    size_t i;
    json_array_foreach (kc_json_path(svc, "spec.ports"), i, sp) {
        long long num;
        if (kcep_find_port(pod, sp, &num) != 0)
            continue;
        const char *name = kc_json_str(sp, "name");
        json_t *p = json_pack("{s:s, s:I, s:s}", "name", name ? name : "", "port", (json_int_t)num,
                              "protocol", kcep_protocol(sp));
        json_t *app = json_object_get(sp, "appProtocol");
        if (json_is_string(app))
            json_object_set(p, "appProtocol", app);
        json_array_append_new(out, p);
    }
    return out;
}

/* podToEndpoint. node may be NULL. New. */
static json_t *pod_to_endpoint(const json_t *pod, const json_t *node, const json_t *svc, bool ipv6)
{
    bool serving = kc_pod_is_ready(pod);
    bool terminating = json_is_string(kc_json_path(pod, "metadata.deletionTimestamp"));
    /* for compatibility, never ready while terminating, unless publishNotReadyAddresses */
    bool ready =
        kc_json_bool(svc, "spec.publishNotReadyAddresses", false) || (serving && !terminating);
    json_t *addrs = json_array(), *e;
    size_t i;
    json_array_foreach (kc_json_path(pod, "status.podIPs"), i, e) {
        const char *ip = kc_json_str(e, "ip");
        if (ip && *ip && kcep_is_ipv6(ip) == ipv6)
            json_array_append_new(addrs, json_string(ip));
    }
    if (json_array_size(addrs) == 0) {
        const char *ip = kcep_pod_ip(pod, ipv6);
        if (ip)
            json_array_append_new(addrs, json_string(ip));
    }
    json_t *ref =
        json_pack("{s:s, s:s?, s:s?, s:s?}", "kind", "Pod", "namespace",
                  kc_json_str(pod, "metadata.namespace"), "name", kc_json_str(pod, "metadata.name"),
                  "uid", kc_json_str(pod, "metadata.uid"));
    json_t *ep =
        json_pack("{s:o, s:{s:b, s:b, s:b}, s:o}", "addresses", addrs, "conditions", "ready", ready,
                  "serving", serving, "terminating", terminating, "targetRef", ref);
    const char *node_name = kc_json_str(pod, "spec.nodeName");
    if (node_name && *node_name)
        json_object_set_new(ep, "nodeName", json_string(node_name));
    const char *zone =
        json_string_value(json_object_get(kc_json_path(node, "metadata.labels"), ES_LABEL_ZONE));
    if (zone && *zone)
        json_object_set_new(ep, "zone", json_string(zone));
    if (kcep_should_set_hostname(pod, svc))
        json_object_set_new(ep, "hostname", json_string(kc_json_str(pod, "spec.hostname")));
    return ep;
}

/* setEndpointSliceLabels: the service's labels (but the reserved ones), the headless
 * label for services without a cluster IP, service-name and managed-by. New. */
static json_t *slice_labels(const json_t *svc)
{
    json_t *l = json_object(), *v;
    const char *k;
    json_object_foreach (kc_json_path(svc, "metadata.labels"), k, v) {
        if (strcmp(k, ES_LABEL_SERVICE) == 0 || strcmp(k, ES_LABEL_MANAGED_BY) == 0 ||
            strcmp(k, KCEP_LABEL_HEADLESS) == 0)
            continue;
        json_object_set(l, k, v);
    }
    if (!kcep_service_ip_set(svc))
        json_object_set_new(l, KCEP_LABEL_HEADLESS, json_string(""));
    json_object_set_new(l, ES_LABEL_SERVICE, json_string(kc_json_str(svc, "metadata.name")));
    json_object_set_new(l, ES_LABEL_MANAGED_BY, json_string(ES_CONTROLLER_NAME));
    return l;
}

/* newEndpointSlice: no name yet (generateName), controlled by the service. ports
 * borrowed (copied). New. */
static json_t *new_slice(const json_t *svc, const json_t *ports, const char *addr_type)
{
    char prefix[300];
    snprintf(prefix, sizeof prefix, "%s-", kc_json_str(svc, "metadata.name"));
    json_t *owner =
        json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "apiVersion", "v1", "kind", "Service", "name",
                  kc_json_str(svc, "metadata.name"), "uid", kc_json_str(svc, "metadata.uid"),
                  "controller", 1, "blockOwnerDeletion", 1);
    json_t *s = json_pack("{s:s, s:s, s:{s:s, s:s, s:o, s:[o]}, s:s, s:[]}", "apiVersion",
                          "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata",
                          "generateName", prefix, "namespace",
                          kc_json_str(svc, "metadata.namespace"), "labels", slice_labels(svc),
                          "ownerReferences", owner, "addressType", addr_type, "endpoints");
    if (json_array_size(ports))
        json_object_set_new(s, "ports", json_deep_copy(ports));
    return s;
}

static size_t n_endpoints(const json_t *slice)
{
    return json_array_size(json_object_get(slice, "endpoints"));
}

static int cmp_fullest(const void *a, const void *b)
{
    size_t x = n_endpoints(*(json_t *const *)a), y = n_endpoints(*(json_t *const *)b);
    return x > y ? -1 : x < y ? 1 : 0;
}

/* Moves the first endpoint of set (object key -> endpoint) into slice's endpoints. */
static void pop_into(json_t *set, json_t *slice)
{
    void *it = json_object_iter(set);
    json_t *eps = json_object_get(slice, "endpoints");
    if (!json_is_array(eps)) {
        eps = json_array();
        json_object_set_new(slice, "endpoints", eps);
    }
    json_array_append(eps, json_object_iter_value(it));
    json_object_del(set, json_object_iter_key(it));
}

/* reconcileByPortMapping: for one set of ports, the existing slices (shared, may be NULL)
 * against the desired endpoints (set: key -> endpoint, emptied here). Results go to plan.
 * 1. drop endpoints no longer desired from the existing slices and refresh changed ones;
 * 2. fill the slices being updated, fullest first; 3. put the rest in an unchanged slice
 * that can take them all, else in new slices. */
static void reconcile_port_mapping(const json_t *svc, const json_t *existing, json_t *set,
                                   const json_t *ports, const char *addr_type, struct es_plan *plan)
{
    json_t *by_name = json_object();   /* name -> slice (shared, or our copy) */
    json_t *unchanged = json_object(); /* name -> true */
    json_t *to_update = json_object(); /* name -> true */
    json_t *labels = slice_labels(svc);
    json_t *s, *ep, *v;
    const char *name;
    char key[1024];
    size_t i, j;

    json_array_foreach (existing, i, s) {
        name = kc_json_str(s, "metadata.name");
        if (!name)
            continue;
        json_object_set(by_name, name, s);
        json_t *keep = json_array();
        bool changed = false;
        json_array_foreach (json_object_get(s, "endpoints"), j, ep) {
            endpoint_key(ep, key, sizeof key);
            json_t *want = json_object_get(set, key);
            if (!want)
                continue;
            json_array_append(keep, want);
            if (!endpoint_equal(want, ep))
                changed = true;
            json_object_del(set, key); /* placed: no longer to be handled */
        }
        bool labels_changed = !kc_json_equal(labels, kc_json_path(s, "metadata.labels"));
        if (changed || json_array_size(keep) != n_endpoints(s)) {
            if (json_array_size(keep) == 0) {
                json_array_append(plan->del, s);
            } else {
                json_t *cp = json_deep_copy(s);
                json_object_set(cp, "endpoints", keep);
                json_object_set(kc_json_ensure_obj(cp, "metadata"), "labels", labels);
                json_object_set_new(by_name, name, cp);
                json_object_set_new(to_update, name, json_true());
            }
        } else if (labels_changed) {
            json_t *cp = json_deep_copy(s);
            json_object_set(kc_json_ensure_obj(cp, "metadata"), "labels", labels);
            json_object_set_new(by_name, name, cp);
            json_object_set_new(to_update, name, json_true());
        } else {
            json_object_set_new(unchanged, name, json_true());
        }
        json_decref(keep);
    }

    /* 2. fill the slices already being updated, the fullest first */
    if (json_object_size(set) > 0 && json_object_size(to_update) > 0) {
        size_t n = json_object_size(to_update), k = 0;
        json_t **v_arr = calloc(n, sizeof *v_arr);
        if (v_arr) {
            json_object_foreach (to_update, name, v)
                v_arr[k++] = json_object_get(by_name, name);
            qsort(v_arr, n, sizeof *v_arr, cmp_fullest);
            for (k = 0; k < n; k++) {
                while (json_object_size(set) > 0 && n_endpoints(v_arr[k]) < ES_MAX_PER_SLICE)
                    pop_into(set, v_arr[k]);
            }
            free(v_arr);
        }
    }

    /* 3. the rest: into the unchanged slice that fits them best, else new slices */
    while (json_object_size(set) > 0) {
        json_t *fill = NULL;
        const char *fill_name = NULL;
        if (json_object_size(set) < ES_MAX_PER_SLICE && json_object_size(unchanged) > 0) {
            /* getSliceToFill: the one left closest to full */
            size_t closest = ES_MAX_PER_SLICE, want = json_object_size(set);
            json_object_foreach (unchanged, name, v) {
                json_t *cand = json_object_get(by_name, name);
                size_t have = n_endpoints(cand);
                if (want + have <= ES_MAX_PER_SLICE && ES_MAX_PER_SLICE - (want + have) < closest) {
                    closest = ES_MAX_PER_SLICE - (want + have);
                    fill_name = name;
                }
            }
        }
        if (fill_name) {
            fill = json_deep_copy(json_object_get(by_name, fill_name));
            json_object_set_new(to_update, fill_name, json_true());
            json_object_set_new(by_name, fill_name, fill); /* by_name owns it now */
            json_object_del(unchanged, kc_json_str(fill, "metadata.name"));
        } else {
            fill = new_slice(svc, ports, addr_type);
            json_array_append_new(plan->create, fill); /* plan owns it now */
        }
        while (json_object_size(set) > 0 && n_endpoints(fill) < ES_MAX_PER_SLICE)
            pop_into(set, fill);
    }

    json_object_foreach (to_update, name, v)
        json_array_append(plan->update, json_object_get(by_name, name));
    json_decref(by_name);
    json_decref(unchanged);
    json_decref(to_update);
    json_decref(labels);
}

/* placeholderSliceCompare: the same empty slice, ignoring name and resourceVersion. */
static bool same_placeholder(const json_t *have, const json_t *want)
{
    return n_endpoints(have) == 0 && json_array_size(json_object_get(have, "ports")) == 0 &&
           kc_json_equal(json_object_get(have, "addressType"),
                         json_object_get(want, "addressType")) &&
           kc_json_equal(kc_json_path(have, "metadata.namespace"),
                         kc_json_path(want, "metadata.namespace")) &&
           kc_json_equal(kc_json_path(have, "metadata.labels"),
                         kc_json_path(want, "metadata.labels")) &&
           kc_json_equal(kc_json_path(have, "metadata.ownerReferences"),
                         kc_json_path(want, "metadata.ownerReferences"));
}

static void set_trigger(json_t *slice, const char *trigger)
{
    json_t *meta = kc_json_ensure_obj(slice, "metadata");
    json_t *ann = kc_json_ensure_obj(meta, "annotations");
    if (trigger)
        json_object_set_new(ann, KCEP_ANN_TRIGGER, json_string(trigger));
    else
        json_object_del(ann, KCEP_ANN_TRIGGER);
    if (json_object_size(ann) == 0)
        json_object_del(meta, "annotations");
}

/* finalize: creates turned into updates of slices that would be deleted, then the writes.
 * 0, or -1 on the first failure. */
static int finalize(struct es_ctl *c, const json_t *svc, const char *svc_key, struct es_plan *plan,
                    const char *trigger)
{
    const char *ns = kc_json_str(svc, "metadata.namespace");
    json_t *resp = NULL, *s;
    size_t i = 0;
    int code;

    while (i < json_array_size(plan->del) && json_array_size(plan->create) > 0) {
        json_t *d = json_array_get(plan->del, i);
        json_t *n = json_array_get(plan->create, json_array_size(plan->create) - 1);
        if (!kc_json_equal(json_object_get(d, "addressType"), json_object_get(n, "addressType")) ||
            !owned_by(d, svc)) {
            i++;
            continue;
        }
        /* reuse the old slice's identity, with the new content */
        json_t *upd = json_deep_copy(n);
        json_t *meta = json_deep_copy(json_object_get(d, "metadata"));
        json_object_set(meta, "labels", kc_json_path(n, "metadata.labels"));
        json_object_set(meta, "ownerReferences", kc_json_path(n, "metadata.ownerReferences"));
        json_object_set_new(upd, "metadata", meta);
        json_array_append_new(plan->update, upd);
        json_array_remove(plan->create, json_array_size(plan->create) - 1);
        json_array_remove(plan->del, i);
    }

    /* no new slices for a service being deleted: they would race the garbage collector */
    if (!json_is_string(kc_json_path(svc, "metadata.deletionTimestamp"))) {
        json_array_foreach (plan->create, i, s) {
            set_trigger(s, trigger);
            code = kc_create(c->ctx->client, &KC_GVR_ENDPOINTSLICES, ns, s, &resp);
            if (code == 403 && kcep_namespace_terminating(resp)) {
                json_decref(resp);
                return 0; /* creates keep failing in a terminating namespace */
            }
            if (code < 200 || code >= 300) {
                fprintf(stderr, "endpointslice-controller: creating a slice for %s: %d %s\n",
                        svc_key, code, resp ? kc_json_str(resp, "message") : "");
                json_decref(resp);
                return -1;
            }
            track(c, svc_key, kc_json_str(resp, "metadata.name"), rv_of(resp));
            json_decref(resp);
            resp = NULL;
        }
    }
    json_array_foreach (plan->update, i, s) {
        set_trigger(s, trigger);
        code = kc_update(c->ctx->client, &KC_GVR_ENDPOINTSLICES, ns, s, NULL, &resp);
        if (code < 200 || code >= 300) {
            if (code != 409)
                fprintf(stderr, "endpointslice-controller: updating %s/%s: %d\n", ns,
                        kc_json_str(s, "metadata.name"), code);
            json_decref(resp);
            return -1;
        }
        track(c, svc_key, kc_json_str(resp, "metadata.name"), rv_of(resp));
        json_decref(resp);
        resp = NULL;
    }
    json_array_foreach (plan->del, i, s) {
        const char *name = kc_json_str(s, "metadata.name");
        code = kc_delete(c->ctx->client, &KC_GVR_ENDPOINTSLICES, ns, name, NULL, NULL, -1, &resp);
        json_decref(resp);
        resp = NULL;
        if ((code < 200 || code >= 300) && code != 404)
            return -1;
        track(c, svc_key, name, -1);
    }
    return 0;
}

/* getAddressTypesForService: its ipFamilies; else its cluster IP's family; a legacy
 * headless service gets both. Writes up to two types, returns how many. */
static int address_types(const json_t *svc, const char *types[2])
{
    int n = 0;
    size_t i;
    json_t *f;
    bool v4 = false, v6 = false;
    json_array_foreach (kc_json_path(svc, "spec.ipFamilies"), i, f) {
        if (json_is_string(f) && strcmp(json_string_value(f), "IPv4") == 0)
            v4 = true;
        if (json_is_string(f) && strcmp(json_string_value(f), "IPv6") == 0)
            v6 = true;
    }
    if (!v4 && !v6) {
        if (kcep_service_ip_set(svc)) {
            if (kcep_is_ipv6(kc_json_str(svc, "spec.clusterIP")))
                v6 = true;
            else
                v4 = true;
        } else {
            v4 = v6 = true;
        }
    }
    if (v4)
        types[n++] = "IPv4";
    if (v6)
        types[n++] = "IPv6";
    return n;
}

/* reconcileByAddressType: existing: the managed slices of this type (shared). Sets
 * *node_missing when a pod was skipped because its Node is not known (yet). 0 or -1. */
static int reconcile_addr_type(struct es_ctl *c, const json_t *svc, const char *svc_key,
                               const json_t *pods, const json_t *existing, const char *addr_type,
                               const char *trigger, bool *node_missing)
{
    struct es_plan plan = {json_array(), json_array(), json_array()};
    json_t *by_port = json_object(); /* port map key -> array of owned slices (shared) */
    json_t *desired = json_object(); /* port map key -> {"ports": [...], "set": {key: ep}} */
    bool publish = kc_json_bool(svc, "spec.publishNotReadyAddresses", false);
    bool ipv6 = strcmp(addr_type, "IPv6") == 0;
    json_t *s, *pod, *v;
    const char *pk;
    char key[1024];
    size_t i;
    int ret;

    json_array_foreach (existing, i, s) {
        if (!owned_by(s, svc)) {
            json_array_append(plan.del, s); /* left by an older service of the same name */
            continue;
        }
        char *k = port_map_key(json_object_get(s, "ports"));
        if (!k)
            continue;
        json_t *arr = json_object_get(by_port, k);
        if (!arr) {
            arr = json_array();
            json_object_set_new(by_port, k, arr);
        }
        json_array_append(arr, s);
        free(k);
    }

    json_array_foreach (pods, i, pod) {
        if (!kcep_pod_in_endpoints(pod, true))
            continue;
        const char *node_name = kc_json_str(pod, "spec.nodeName");
        json_t *node = node_name && *node_name ? kc_informer_get(c->ctx->nodes, node_name) : NULL;
        if (!node && !publish) {
            /* retried later; meanwhile the slice goes out without the pod */
            *node_missing = true;
            continue;
        }
        json_t *ports = endpoint_ports(svc, pod);
        char *k = port_map_key(ports);
        json_t *ep = pod_to_endpoint(pod, node, svc, ipv6);
        json_decref(node);
        if (k && json_array_size(json_object_get(ep, "addresses")) > 0) {
            json_t *g = json_object_get(desired, k);
            if (!g) {
                g = json_pack("{s:O, s:{}}", "ports", ports, "set");
                json_object_set_new(desired, k, g);
            }
            endpoint_key(ep, key, sizeof key);
            json_object_set(json_object_get(g, "set"), key, ep);
        }
        free(k);
        json_decref(ports);
        json_decref(ep);
    }

    json_object_foreach (desired, pk, v)
        reconcile_port_mapping(svc, json_object_get(by_port, pk), json_object_get(v, "set"),
                               json_object_get(v, "ports"), addr_type, &plan);
    /* port sets nobody serves any more */
    json_object_foreach (by_port, pk, v) {
        if (!json_object_get(desired, pk))
            json_array_extend(plan.del, v);
    }

    /* a service without endpoints keeps one empty placeholder slice */
    if (json_array_size(existing) == json_array_size(plan.del) &&
        json_array_size(plan.create) == 0) {
        json_t *ph = new_slice(svc, NULL, addr_type);
        if (json_array_size(plan.del) == 1 && same_placeholder(json_array_get(plan.del, 0), ph)) {
            json_array_clear(plan.del); /* it is already there */
            json_decref(ph);
        } else {
            json_array_append_new(plan.create, ph);
        }
    }

    ret = finalize(c, svc, svc_key, &plan, trigger);
    json_decref(plan.create);
    json_decref(plan.update);
    json_decref(plan.del);
    json_decref(by_port);
    json_decref(desired);
    return ret;
}

static int sync_service(struct es_ctl *c, const char *key)
{
    struct kc_ctl_ctx *ctx = c->ctx;
    char ns[256], name[256], sk[600];
    json_t *svc = NULL, *pods = NULL, *all = NULL, *slices = NULL, *s;
    char *trigger = NULL;
    const char *types[2];
    bool node_missing = false;
    size_t i;
    int ret = -1;

    kc_key_split(key, ns, sizeof ns, name, sizeof name);
    svc = kc_informer_get(ctx->services, key);
    if (!svc) {
        /* the garbage collector deletes the slices through their ownerReference */
        kcep_trigger_forget(&c->triggers, key);
        pthread_mutex_lock(&c->mu);
        json_object_del(c->tracked, key);
        pthread_mutex_unlock(&c->mu);
        ret = 0;
        goto out;
    }
    if (!kcep_service_selector(svc)) {
        ret = 0; /* slices of this service are written by hand (or mirrored) */
        goto out;
    }

    /* our slices of this service, but those already being deleted */
    all = kc_informer_list(ctx->endpointslices, ns);
    slices = json_array();
    json_array_foreach (all, i, s) {
        if (slice_service_key(s, sk, sizeof sk) && strcmp(sk, key) == 0 &&
            !json_is_string(kc_json_path(s, "metadata.deletionTimestamp")))
            json_array_append(slices, s);
    }
    if (stale_slices(c, key, slices))
        goto out; /* retried once the cache has caught up */

    pods = kcep_select_pods(ctx->pods, svc);
    trigger = kcep_trigger_compute(&c->triggers, key, svc, pods);
    int ntypes = address_types(svc, types);

    /* slices of an address type the service no longer has go */
    struct es_plan gone = {json_array(), json_array(), json_array()};
    json_array_foreach (slices, i, s) {
        const char *at = kc_json_str(s, "addressType");
        bool keep = false;
        for (int t = 0; t < ntypes; t++)
            keep = keep || (at && strcmp(at, types[t]) == 0);
        if (!keep)
            json_array_append(gone.del, s);
    }
    ret = 0;
    for (int t = 0; t < ntypes; t++) {
        json_t *of_type = json_array();
        json_array_foreach (slices, i, s) {
            const char *at = kc_json_str(s, "addressType");
            if (at && strcmp(at, types[t]) == 0)
                json_array_append(of_type, s);
        }
        if (reconcile_addr_type(c, svc, key, pods, of_type, types[t], trigger, &node_missing))
            ret = -1;
        json_decref(of_type);
    }
    if (finalize(c, svc, key, &gone, trigger))
        ret = -1;
    json_decref(gone.create);
    json_decref(gone.update);
    json_decref(gone.del);
    if (node_missing)
        ret = -1;
out:
    json_decref(svc);
    json_decref(pods);
    json_decref(all);
    json_decref(slices);
    free(trigger);
    return ret;
}

static void *es_worker(void *arg)
{
    struct es_ctl *c = arg;
    char *key;
    if (!kc_ctl_wait_synced(c->ctx))
        return NULL;
    while ((key = kc_wq_get(c->q)) != NULL) {
        if (sync_service(c, key) == 0) {
            kc_wq_forget(c->q, key);
        } else if (kc_wq_num_requeues(c->q, key) < ES_MAX_RETRIES) {
            kc_wq_add_rate_limited(c->q, key);
        } else {
            fprintf(stderr, "endpointslice-controller: dropping service %s out of the queue\n",
                    key);
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
    kc_ctl_enqueue_obj(((struct es_ctl *)arg)->q, obj);
}

static void on_service_update(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    (void)old_obj;
    kc_ctl_enqueue_obj(((struct es_ctl *)arg)->q, new_obj);
}

static void on_pod_add(void *arg, const json_t *pod)
{
    struct es_ctl *c = arg;
    kcep_enqueue_pod_services(c->ctx->services, c->q, pod);
}

static void on_pod_update(void *arg, const json_t *old_pod, const json_t *new_pod)
{
    struct es_ctl *c = arg;
    kcep_on_pod_update(c->ctx->services, c->q, old_pod, new_pod);
}

static void on_slice_add(void *arg, const json_t *slice)
{
    struct es_ctl *c = arg;
    char key[600];
    if (slice_service_key(slice, key, sizeof key) && should_sync(c, key, slice))
        kc_wq_add(c->q, key);
}

static void on_slice_update(void *arg, const json_t *old_slice, const json_t *new_slice_obj)
{
    struct es_ctl *c = arg;
    char key[600], old_key[600];
    bool was = slice_service_key(old_slice, old_key, sizeof old_key);
    bool is = slice_service_key(new_slice_obj, key, sizeof key);
    /* taken over by (or from) someone else, or moved to another service: both resync */
    if (was && (!is || strcmp(key, old_key) != 0))
        kc_wq_add(c->q, old_key);
    if (is && should_sync(c, key, new_slice_obj))
        kc_wq_add(c->q, key);
}

/* A slice we did not delete ourselves comes back. */
static void on_slice_delete(void *arg, const json_t *slice)
{
    struct es_ctl *c = arg;
    char key[600];
    bool expected = false;
    if (!slice_service_key(slice, key, sizeof key))
        return;
    pthread_mutex_lock(&c->mu);
    json_t *t = json_object_get(c->tracked, key);
    const char *name = kc_json_str(slice, "metadata.name");
    json_t *v = name ? json_object_get(t, name) : NULL;
    if (v) {
        expected = json_integer_value(v) < 0;
        json_object_del(t, name);
    }
    pthread_mutex_unlock(&c->mu);
    if (!expected)
        kc_wq_add(c->q, key);
}

int kc_ctl_endpointslice_start(struct kc_ctl_ctx *ctx)
{
    struct es_ctl *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "endpointslice-controller: out of memory\n");
        return -1;
    }
    c->ctx = ctx;
    c->q = kc_wq_new("endpoint_slice");
    kcep_trigger_init(&c->triggers);
    pthread_mutex_init(&c->mu, NULL);
    c->tracked = json_object();
    g_es = c;

    struct kc_informer_handlers svc_h = {.on_add = on_service_add,
                                         .on_update = on_service_update,
                                         .on_delete = on_service_add,
                                         .ctx = c};
    struct kc_informer_handlers pod_h = {
        .on_add = on_pod_add, .on_update = on_pod_update, .on_delete = on_pod_add, .ctx = c};
    struct kc_informer_handlers slice_h = {.on_add = on_slice_add,
                                           .on_update = on_slice_update,
                                           .on_delete = on_slice_delete,
                                           .ctx = c};
    kc_informer_add_handlers(ctx->services, &svc_h);
    kc_informer_add_handlers(ctx->pods, &pod_h);
    kc_informer_add_handlers(ctx->endpointslices, &slice_h);
    kc_ctl_register_queue(ctx, c->q);

    int workers = ctx->opt.concurrent_syncs > 0 ? ctx->opt.concurrent_syncs : 1;
    if (kc_ctl_spawn_workers(workers, es_worker, c) != 0) {
        fprintf(stderr, "endpointslice-controller: cannot start workers\n");
        return -1;
    }
    return 0;
}
