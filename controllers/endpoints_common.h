/* Helpers shared by the Endpoints and EndpointSlice controllers (upstream
 * pkg/controller/util/endpoint and k8s.io/endpointslice/util): which pods belong in a
 * Service's endpoints, how a Service port resolves against a pod, and the tracker of the
 * "endpoints.kubernetes.io/last-change-trigger-time" annotation.
 *
 * Private to controllers/ctl_endpoints.c and controllers/ctl_endpointslice.c; everything is
 * static inline so each file gets its own copy.
 *
 * Ownership: json_t arguments are BORROWED; returned json_t are BORROWED unless said. */
#ifndef KUBEC_CONTROLLERS_ENDPOINTS_COMMON_H
#define KUBEC_CONTROLLERS_ENDPOINTS_COMMON_H

#include "controllers/controller.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define KCEP_ANN_TRIGGER "endpoints.kubernetes.io/last-change-trigger-time"
#define KCEP_LABEL_HEADLESS "service.kubernetes.io/headless"

/* The selector of a Service that gets endpoints from a controller, or NULL: ExternalName
 * services and services without a selector get none (their endpoints are written by
 * hand). An empty selector counts as none: it does not survive upstream's storage. */
static inline const json_t *kcep_service_selector(const json_t *svc)
{
    const char *type = kc_json_str(svc, "spec.type");
    if (type && strcmp(type, "ExternalName") == 0)
        return NULL;
    const json_t *sel = kc_json_path(svc, "spec.selector");
    if (!json_is_object(sel) || json_object_size(sel) == 0)
        return NULL;
    return sel;
}

/* labels.Set(selector).Matches(labels): every selector pair present in labels. */
static inline bool kcep_selector_matches(const json_t *sel, const json_t *labels)
{
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)sel, k, v) {
        json_t *lv = json_object_get(labels, k);
        if (!json_is_string(v) || !json_is_string(lv) ||
            strcmp(json_string_value(v), json_string_value(lv)) != 0)
            return false;
    }
    return true;
}

/* The pods of namespace ns that svc selects: a new array of shared (immutable) pods,
 * sorted by name so that the output does not depend on the cache's order. */
static inline int kcep_cmp_pod_name(const void *a, const void *b)
{
    const char *na = kc_json_str(*(json_t *const *)a, "metadata.name");
    const char *nb = kc_json_str(*(json_t *const *)b, "metadata.name");
    return strcmp(na ? na : "", nb ? nb : "");
}

static inline json_t *kcep_select_pods(struct kc_informer *pods, const json_t *svc)
{
    const json_t *sel = kcep_service_selector(svc);
    json_t *all = kc_informer_list(pods, kc_json_str(svc, "metadata.namespace"));
    json_t *out = json_array();
    size_t i, n = 0;
    json_t *pod;
    json_array_foreach (all, i, pod) {
        if (sel && kcep_selector_matches(sel, kc_json_path(pod, "metadata.labels")))
            json_array_append(out, pod);
    }
    json_decref(all);
    n = json_array_size(out);
    if (n > 1) {
        json_t **v = malloc(n * sizeof *v);
        if (v) {
            for (i = 0; i < n; i++)
                v[i] = json_incref(json_array_get(out, i));
            qsort(v, n, sizeof *v, kcep_cmp_pod_name);
            json_array_clear(out);
            for (i = 0; i < n; i++)
                json_array_append_new(out, v[i]);
            free(v);
        }
    }
    return out;
}

/* Enqueues the key of every Service in pod's namespace whose selector matches pod. */
static inline void kcep_enqueue_pod_services(struct kc_informer *services, struct kc_workqueue *q,
                                             const json_t *pod)
{
    json_t *svcs = kc_informer_list(services, kc_json_str(pod, "metadata.namespace"));
    const json_t *labels = kc_json_path(pod, "metadata.labels");
    size_t i;
    json_t *svc;
    json_array_foreach (svcs, i, svc) {
        const json_t *sel = kcep_service_selector(svc);
        if (sel && kcep_selector_matches(sel, labels))
            kc_ctl_enqueue_obj(q, svc);
    }
    json_decref(svcs);
}

/* A pod update: the services of the new pod, and those of the old one when the labels
 * changed (the pod may have left a service). Resyncs (same resourceVersion) are skipped. */
static inline void kcep_on_pod_update(struct kc_informer *services, struct kc_workqueue *q,
                                      const json_t *old_pod, const json_t *new_pod)
{
    const char *orv = kc_json_str(old_pod, "metadata.resourceVersion");
    const char *nrv = kc_json_str(new_pod, "metadata.resourceVersion");
    if (orv && nrv && strcmp(orv, nrv) == 0)
        return;
    kcep_enqueue_pod_services(services, q, new_pod);
    if (!kc_json_equal(kc_json_path(old_pod, "metadata.labels"),
                       kc_json_path(new_pod, "metadata.labels")))
        kcep_enqueue_pod_services(services, q, old_pod);
}

/* ShouldPodBeInEndpoints: not terminal, has an IP, and (unless include_terminating) not
 * being deleted. */
static inline bool kcep_pod_in_endpoints(const json_t *pod, bool include_terminating)
{
    const char *phase = kc_json_str(pod, "status.phase");
    if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
        return false;
    const char *ip = kc_json_str(pod, "status.podIP");
    if ((!ip || !*ip) && json_array_size(kc_json_path(pod, "status.podIPs")) == 0)
        return false;
    if (!include_terminating && json_is_string(kc_json_path(pod, "metadata.deletionTimestamp")))
        return false;
    return true;
}

static inline bool kcep_is_ipv6(const char *ip)
{
    return strchr(ip, ':') != NULL;
}

/* The pod's first IP of the family (status.podIPs, else status.podIP), or NULL. */
static inline const char *kcep_pod_ip(const json_t *pod, bool ipv6)
{
    size_t i;
    json_t *e;
    json_array_foreach (kc_json_path(pod, "status.podIPs"), i, e) {
        const char *ip = kc_json_str(e, "ip");
        if (ip && *ip && kcep_is_ipv6(ip) == ipv6)
            return ip;
    }
    const char *ip = kc_json_str(pod, "status.podIP");
    if (ip && *ip && kcep_is_ipv6(ip) == ipv6)
        return ip;
    return NULL;
}

/* ShouldSetHostname: the pod names this service as its subdomain. */
static inline bool kcep_should_set_hostname(const json_t *pod, const json_t *svc)
{
    const char *h = kc_json_str(pod, "spec.hostname");
    const char *sub = kc_json_str(pod, "spec.subdomain");
    const char *name = kc_json_str(svc, "metadata.name");
    const char *pns = kc_json_str(pod, "metadata.namespace");
    const char *sns = kc_json_str(svc, "metadata.namespace");
    return h && *h && sub && name && strcmp(sub, name) == 0 && pns && sns && strcmp(pns, sns) == 0;
}

static inline const char *kcep_protocol(const json_t *port)
{
    const char *p = kc_json_str(port, "protocol");
    return p && *p ? p : "TCP";
}

static inline bool kcep_find_named_port(const json_t *containers, const char *name,
                                        const char *proto, bool sidecars_only, long long *out)
{
    size_t i, j;
    json_t *c, *p;
    json_array_foreach (containers, i, c) {
        if (sidecars_only) {
            const char *rp = kc_json_str(c, "restartPolicy");
            if (!rp || strcmp(rp, "Always") != 0)
                continue;
        }
        json_array_foreach (json_object_get(c, "ports"), j, p) {
            const char *pn = kc_json_str(p, "name");
            if (pn && strcmp(pn, name) == 0 && strcmp(kcep_protocol(p), proto) == 0) {
                *out = kc_json_int(p, "containerPort", 0);
                return true;
            }
        }
    }
    return false;
}

/* podutil.FindPort: the service port's targetPort resolved against pod: a number as it
 * is, a name looked up among the container ports of the same protocol (regular
 * containers, then sidecar init containers). 0, or -1 when the pod has no such port. */
static inline int kcep_find_port(const json_t *pod, const json_t *svc_port, long long *out)
{
    json_t *tp = json_object_get(svc_port, "targetPort");
    if (!tp || json_is_null(tp)) {
        /* the apiserver defaults targetPort to port; be lenient with older objects */
        *out = kc_json_int(svc_port, "port", 0);
        return 0;
    }
    if (json_is_integer(tp)) {
        *out = json_integer_value(tp);
        return 0;
    }
    if (!json_is_string(tp))
        return -1;
    const char *name = json_string_value(tp);
    const char *proto = kcep_protocol(svc_port);
    if (kcep_find_named_port(kc_json_path(pod, "spec.containers"), name, proto, false, out) ||
        kcep_find_named_port(kc_json_path(pod, "spec.initContainers"), name, proto, true, out))
        return 0;
    return -1;
}

/* IsServiceIPSet: a cluster IP that is neither empty nor "None". */
static inline bool kcep_service_ip_set(const json_t *svc)
{
    const char *ip = kc_json_str(svc, "spec.clusterIP");
    return ip && *ip && strcmp(ip, "None") != 0;
}

/* The lastTransitionTime of the pod's Ready condition, or NULL. */
static inline const char *kcep_pod_ready_transition(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "status.conditions"), i, c) {
        const char *t = kc_json_str(c, "type");
        if (t && strcmp(t, "Ready") == 0)
            return kc_json_str(c, "lastTransitionTime");
    }
    return NULL;
}

/* ---- TriggerTimeTracker ----
 * The annotation tells consumers (kube-proxy latency metrics) when the change that led to
 * this write happened: the earliest of the trigger times (a pod's Ready transition, the
 * service's creation) that changed since the last sync; the service's creation time on
 * the first sync. State per service, guarded by mu (syncs of one key never overlap). */
struct kcep_trigger_tracker {
    pthread_mutex_t mu;
    json_t *states; /* key -> {"svc": real, "pods": {name: real}}; owned, under mu */
};

static inline void kcep_trigger_init(struct kcep_trigger_tracker *t)
{
    pthread_mutex_init(&t->mu, NULL);
    t->states = json_object();
}

/* Returns a malloc'd RFC 3339 time, or NULL when nothing changed. pods: the selected pods. */
static inline char *kcep_trigger_compute(struct kcep_trigger_tracker *t, const char *key,
                                         const json_t *svc, const json_t *pods)
{
    json_t *pod_times = json_object();
    const char *min_s = NULL;
    double min = 0, svc_t = 0, v;
    size_t i;
    json_t *pod;

    pthread_mutex_lock(&t->mu);
    json_t *state = json_object_get(t->states, key);
    bool known = state != NULL;
    json_t *old_pods = json_object_get(state, "pods");
    double old_svc = json_real_value(json_object_get(state, "svc"));
    json_array_foreach (pods, i, pod) {
        const char *lt = kcep_pod_ready_transition(pod);
        const char *name = kc_json_str(pod, "metadata.name");
        if (!name || kc_time_parse_frac(lt, &v) != 0)
            continue;
        json_object_set_new(pod_times, name, json_real(v));
        json_t *o = json_object_get(old_pods, name);
        if ((!o || v > json_real_value(o)) && (!min_s || v < min)) {
            min = v;
            min_s = lt;
        }
    }
    const char *cs = kc_json_str(svc, "metadata.creationTimestamp");
    if (kc_time_parse_frac(cs, &svc_t) == 0 && svc_t > old_svc && (!min_s || svc_t < min))
        min_s = cs;
    json_object_set_new(t->states, key, json_pack("{s:f, s:o}", "svc", svc_t, "pods", pod_times));
    pthread_mutex_unlock(&t->mu);
    if (!known)
        return cs ? strdup(cs) : NULL;
    return min_s ? strdup(min_s) : NULL;
}

static inline void kcep_trigger_forget(struct kcep_trigger_tracker *t, const char *key)
{
    pthread_mutex_lock(&t->mu);
    json_object_del(t->states, key);
    pthread_mutex_unlock(&t->mu);
}

/* A Status saying the namespace is terminating (creates there keep failing). */
static inline bool kcep_namespace_terminating(const json_t *status)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(status, "details.causes"), i, c) {
        const char *r = kc_json_str(c, "reason");
        if (r && strcmp(r, "NamespaceTerminating") == 0)
            return true;
    }
    return false;
}

/* A small object reference for events: kind and apiVersion are not in cached objects. New. */
static inline json_t *kcep_ref(const char *api_version, const char *kind, const json_t *obj)
{
    json_t *meta = json_object();
    const char *fields[] = {"name", "namespace", "uid", "resourceVersion"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *v = json_object_get(json_object_get(obj, "metadata"), fields[i]);
        if (json_is_string(v))
            json_object_set(meta, fields[i], v);
    }
    return json_pack("{s:s, s:s, s:o}", "apiVersion", api_version, "kind", kind, "metadata", meta);
}

#endif
