/* Defaulting (pkg/apis/core/v1/defaults.go, pkg/apis/apps/v1/defaults.go) plus the
 * effects of the admission plugins every cluster runs (Priority, DefaultTolerationSeconds)
 * that users see in `kubectl get -o yaml`. */
#include "apiserver/strategy/strategy.h"

#include "lib/base64.h"
#include "lib/jsonx.h"

#include <stdlib.h>
#include <string.h>

/* Always when the tag is "latest" or missing (and there is no digest). */
static const char *pull_policy_for(const char *image)
{
    if (!image)
        return "IfNotPresent";
    if (strchr(image, '@'))
        return "IfNotPresent";
    const char *slash = strrchr(image, '/');
    const char *colon = strrchr(slash ? slash : image, ':');
    if (!colon || strcmp(colon + 1, "latest") == 0)
        return "Always";
    return "IfNotPresent";
}

static void default_probe(json_t *probe)
{
    if (!json_is_object(probe))
        return;
    kc_json_default_int(probe, "timeoutSeconds", 1);
    kc_json_default_int(probe, "periodSeconds", 10);
    kc_json_default_int(probe, "successThreshold", 1);
    kc_json_default_int(probe, "failureThreshold", 3);
    json_t *http = json_object_get(probe, "httpGet");
    if (json_is_object(http)) {
        kc_json_default_str(http, "path", "/");
        kc_json_default_str(http, "scheme", "HTTP");
    }
}

static void default_container(json_t *c)
{
    if (!json_is_object(c))
        return;
    kc_json_default_str(c, "imagePullPolicy", pull_policy_for(kc_json_str(c, "image")));
    kc_json_default_str(c, "terminationMessagePath", "/dev/termination-log");
    kc_json_default_str(c, "terminationMessagePolicy", "File");
    if (!json_is_object(json_object_get(c, "resources")))
        json_object_set_new(c, "resources", json_object());
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(c, "ports"), i, p)
        if (json_is_object(p))
            kc_json_default_str(p, "protocol", "TCP");
    json_array_foreach (json_object_get(c, "env"), i, p) {
        json_t *fr = kc_json_path(p, "valueFrom.fieldRef");
        if (json_is_object(fr))
            kc_json_default_str(fr, "apiVersion", "v1");
    }
    default_probe(json_object_get(c, "livenessProbe"));
    default_probe(json_object_get(c, "readinessProbe"));
    default_probe(json_object_get(c, "startupProbe"));
}

void kc_default_pod_spec(json_t *spec)
{
    if (!json_is_object(spec))
        return;
    kc_json_default_str(spec, "restartPolicy", "Always");
    kc_json_default_int(spec, "terminationGracePeriodSeconds", 30);
    kc_json_default_str(spec, "dnsPolicy", "ClusterFirst");
    kc_json_default_str(spec, "schedulerName", "default-scheduler");
    if (!json_is_object(json_object_get(spec, "securityContext")))
        json_object_set_new(spec, "securityContext", json_object());
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(spec, "containers"), i, c)
        default_container(c);
    json_array_foreach (json_object_get(spec, "initContainers"), i, c)
        default_container(c);
    json_array_foreach (json_object_get(spec, "volumes"), i, c) {
        json_t *cm = json_object_get(c, "configMap");
        if (json_is_object(cm))
            kc_json_default_int(cm, "defaultMode", 420);
        json_t *sec = json_object_get(c, "secret");
        if (json_is_object(sec))
            kc_json_default_int(sec, "defaultMode", 420);
    }
}

/* kube-apiserver's --default-not-ready-toleration-seconds and
 * --default-unreachable-toleration-seconds; set once at startup. */
static long long not_ready_seconds = 300, unreachable_seconds = 300;

void kc_default_toleration_seconds(long long not_ready, long long unreachable)
{
    not_ready_seconds = not_ready;
    unreachable_seconds = unreachable;
}

static void add_toleration(json_t *tols, const char *key, long long seconds)
{
    size_t i;
    json_t *t;
    json_array_foreach (tols, i, t) {
        const char *k = kc_json_str(t, "key"), *e = kc_json_str(t, "effect");
        if (k && !strcmp(k, key) && (!e || !*e || !strcmp(e, "NoExecute")))
            return;
    }
    json_array_append_new(tols, json_pack("{s:s, s:s, s:s, s:I}", "key", key, "operator", "Exists",
                                          "effect", "NoExecute", "tolerationSeconds", seconds));
}

/* SetDefaults_Pod: a resource with a limit and no request is requested at its limit (in
 * pods only, not in templates). */
static void requests_from_limits(json_t *c)
{
    json_t *res = json_object_get(c, "resources");
    json_t *limits = json_object_get(res, "limits");
    if (!json_is_object(limits) || !json_object_size(limits))
        return;
    json_t *req = json_object_get(res, "requests");
    if (!json_is_object(req)) {
        req = json_object();
        json_object_set_new(res, "requests", req);
    }
    const char *k;
    json_t *v;
    json_object_foreach (limits, k, v)
        if (!json_object_get(req, k))
            json_object_set(req, k, v);
}

void kc_default_pod(json_t *pod)
{
    json_t *spec = json_object_get(pod, "spec");
    if (!json_is_object(spec))
        return;
    kc_default_pod_spec(spec);
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(spec, "containers"), i, c)
        requests_from_limits(c);
    json_array_foreach (json_object_get(spec, "initContainers"), i, c)
        requests_from_limits(c);
    kc_json_default_int(spec, "priority", 0);
    kc_json_default_str(spec, "preemptionPolicy", "PreemptLowerPriority");
    if (!json_is_boolean(json_object_get(spec, "enableServiceLinks")))
        json_object_set_new(spec, "enableServiceLinks", json_true());
    /* DefaultTolerationSeconds admission */
    json_t *tols = json_object_get(spec, "tolerations");
    if (!json_is_array(tols)) {
        tols = json_array();
        json_object_set_new(spec, "tolerations", tols);
    }
    add_toleration(tols, "node.kubernetes.io/not-ready", not_ready_seconds);
    add_toleration(tols, "node.kubernetes.io/unreachable", unreachable_seconds);
}

static void default_template(json_t *obj)
{
    json_t *tspec = kc_json_path(obj, "spec.template.spec");
    kc_default_pod_spec(tspec);
}

void kc_default_deployment(json_t *d)
{
    json_t *spec = json_object_get(d, "spec");
    if (!json_is_object(spec))
        return;
    kc_json_default_int(spec, "replicas", 1);
    json_t *strategy = json_object_get(spec, "strategy");
    if (!json_is_object(strategy)) {
        strategy = json_object();
        json_object_set_new(spec, "strategy", strategy);
    }
    kc_json_default_str(strategy, "type", "RollingUpdate");
    const char *type = kc_json_str(strategy, "type");
    if (type && !strcmp(type, "RollingUpdate")) {
        json_t *ru = kc_json_ensure_obj(strategy, "rollingUpdate");
        if (!json_object_get(ru, "maxUnavailable"))
            json_object_set_new(ru, "maxUnavailable", json_string("25%"));
        if (!json_object_get(ru, "maxSurge"))
            json_object_set_new(ru, "maxSurge", json_string("25%"));
    }
    kc_json_default_int(spec, "revisionHistoryLimit", 10);
    kc_json_default_int(spec, "progressDeadlineSeconds", 600);
    default_template(d);
}

void kc_default_replicaset(json_t *rs)
{
    json_t *spec = json_object_get(rs, "spec");
    if (!json_is_object(spec))
        return;
    kc_json_default_int(spec, "replicas", 1);
    default_template(rs);
}

void kc_default_service(json_t *svc)
{
    json_t *spec = json_object_get(svc, "spec");
    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(svc, "spec", spec);
    }
    kc_json_default_str(spec, "type", "ClusterIP");
    kc_json_default_str(spec, "sessionAffinity", "None");
    const char *type = kc_json_str(spec, "type");
    bool external_name = type && !strcmp(type, "ExternalName");
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(spec, "ports"), i, p) {
        if (!json_is_object(p))
            continue;
        kc_json_default_str(p, "protocol", "TCP");
        json_t *tp = json_object_get(p, "targetPort");
        if (!tp || json_is_null(tp) || (json_is_integer(tp) && json_integer_value(tp) == 0) ||
            (json_is_string(tp) && json_string_length(tp) == 0)) {
            json_t *port = json_object_get(p, "port");
            if (json_is_integer(port))
                json_object_set_new(p, "targetPort", json_integer(json_integer_value(port)));
        }
    }
    if (!external_name) {
        kc_json_default_str(spec, "internalTrafficPolicy", "Cluster");
        if (!json_object_get(spec, "ipFamilies")) {
            json_t *f = json_array();
            json_array_append_new(f, json_string("IPv4"));
            json_object_set_new(spec, "ipFamilies", f);
        }
        kc_json_default_str(spec, "ipFamilyPolicy", "SingleStack");
    }
    if (type && (!strcmp(type, "NodePort") || !strcmp(type, "LoadBalancer")))
        kc_json_default_str(spec, "externalTrafficPolicy", "Cluster");
    if (type && !strcmp(type, "LoadBalancer") &&
        !json_object_get(spec, "allocateLoadBalancerNodePorts"))
        json_object_set_new(spec, "allocateLoadBalancerNodePorts", json_true());
}

void kc_default_namespace(json_t *ns)
{
    json_t *spec = kc_json_ensure_obj(ns, "spec");
    if (!json_is_array(json_object_get(spec, "finalizers"))) {
        json_t *f = json_array();
        json_array_append_new(f, json_string("kubernetes"));
        json_object_set_new(spec, "finalizers", f);
    }
    const char *name = kc_json_str(ns, "metadata.name");
    if (name) {
        json_t *labels = kc_json_ensure_obj(kc_json_ensure_obj(ns, "metadata"), "labels");
        json_object_set_new(labels, "kubernetes.io/metadata.name", json_string(name));
    }
}

void kc_default_secret(json_t *s)
{
    kc_json_default_str(s, "type", "Opaque");
    json_t *sd = json_object_get(s, "stringData");
    if (json_is_object(sd)) {
        json_t *data = kc_json_ensure_obj(s, "data");
        const char *k;
        json_t *v;
        json_object_foreach (sd, k, v) {
            if (!json_is_string(v))
                continue;
            char *enc = kc_base64_encode(json_string_value(v), json_string_length(v));
            json_object_set_new(data, k, json_string(enc));
            free(enc);
        }
    }
    json_object_del(s, "stringData");
}
