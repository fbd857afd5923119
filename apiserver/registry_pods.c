/* Pods: create-time status, graceful deletion, and the binding subresource. */
#include "apiserver/registry_pods.h"

#include "apiserver/registry.h"
#include "apiserver/registry_strategies.h"
#include "apiserver/server.h"
#include "apiserver/strategy/strategy.h"
#include "apiserver/watch/watch_stream.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* QoS class as upstream computes it from requests and limits of cpu and memory. */
static const char *qos_class(const json_t *pod)
{
    bool any = false, guaranteed = true;
    const char *lists[] = {"spec.containers", "spec.initContainers"};
    for (int k = 0; k < 2; k++) {
        json_t *cs = kc_json_path(pod, lists[k]), *c;
        size_t i;
        json_array_foreach (cs, i, c) {
            json_t *req = kc_json_path(c, "resources.requests");
            json_t *lim = kc_json_path(c, "resources.limits");
            const char *res[] = {"cpu", "memory"};
            for (int j = 0; j < 2; j++) {
                json_t *rq = json_object_get(req, res[j]), *lm = json_object_get(lim, res[j]);
                if (rq || lm)
                    any = true;
                if (!lm || (rq && !json_equal(rq, lm)))
                    guaranteed = false;
            }
        }
    }
    if (!any)
        return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}

static void prepare_create(json_t *pod)
{
    json_t *status = json_object();
    json_object_set_new(status, "phase", json_string("Pending"));
    json_object_set_new(status, "qosClass", json_string(qos_class(pod)));
    json_object_set_new(pod, "status", status);
}

static const char *const pod_fields[] = {"spec.nodeName",
                                         "spec.restartPolicy",
                                         "spec.schedulerName",
                                         "spec.serviceAccountName",
                                         "spec.hostNetwork",
                                         "status.phase",
                                         "status.podIP",
                                         "status.podIPs",
                                         "status.nominatedNodeName",
                                         NULL};

const struct kc_strategy kc_pod_strategy = {
    .defaults = kc_default_pod,
    .prepare_create = prepare_create,
    .validate = kc_validate_pod,
    .validate_update = kc_validate_pod_update,
    .field_labels = pod_fields,
    .graceful_delete = true,
};

int kc_pod_bind(struct kc_server *srv, const char *ns, const char *name, const json_t *binding,
                struct kc_status *st)
{
    const struct kc_resource *r = kc_resource_find("", "v1", "pods");
    const char *node = kc_json_str(binding, "target.name");
    const char *bname = kc_json_str(binding, "metadata.name");
    if (bname && *bname && strcmp(bname, name) != 0)
        return kc_status_bad_request(st, "name in URL does not match name in Binding object");
    if (!node || !*node) {
        struct kc_errlist *l = kc_errlist_new();
        kc_err_required(l, "target.name", "");
        kc_status_invalid(st, "", "Binding", name, l);
        kc_errlist_free(l);
        return -1;
    }
    for (int attempt = 0; attempt < KC_WRITE_RETRIES; attempt++) {
        json_t *pod = NULL, *out = NULL;
        uint64_t rev;
        if (kc_registry_get_shared(srv, r, ns, name, &pod, &rev, st))
            return -1;
        if (kc_json_path(pod, "metadata.deletionTimestamp")) {
            json_decref(pod);
            return kc_status_conflict(st, "", "pods", name, "pod is being deleted");
        }
        const char *cur = kc_json_str(pod, "spec.nodeName");
        if (cur && *cur) {
            char why[512];
            snprintf(why, sizeof why, "pod %s is already assigned to node \"%s\"", name, cur);
            json_decref(pod);
            return kc_status_conflict(st, "", "pods/binding", name, why);
        }
        /* What watchers saw before (unbound). pod is shared and read-only: the new object
         * copies what changes (metadata, spec, status and its conditions, one level each)
         * and shares the rest. */
        json_t *attrs = kc_watch_attrs(r, pod), *obj = json_copy(pod);
        static const char *const changed[] = {"metadata", "spec", "status"};
        for (size_t k = 0; k < sizeof changed / sizeof *changed; k++) {
            json_t *m = json_object_get(pod, changed[k]);
            json_object_set_new(obj, changed[k], json_is_object(m) ? json_copy(m) : json_object());
        }
        json_object_set_new(json_object_get(obj, "spec"), "nodeName", json_string(node));
        /* PodScheduled=True, as the real binding storage records it. */
        json_t *status = json_object_get(obj, "status");
        json_t *conds = json_object_get(status, "conditions");
        conds = json_is_array(conds) ? json_copy(conds) : json_array();
        json_object_set_new(status, "conditions", conds);
        char ts[40];
        kc_time_rfc3339(time(NULL), ts, sizeof ts);
        json_t *c = json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled", "status", "True",
                              "lastProbeTime", "lastTransitionTime", ts);
        size_t i;
        json_t *e;
        bool replaced = false;
        json_array_foreach (conds, i, e) {
            if (strcmp(kc_json_str(e, "type") ? kc_json_str(e, "type") : "", "PodScheduled") == 0) {
                json_array_set(conds, i, c);
                replaced = true;
                break;
            }
        }
        if (!replaced)
            json_array_append(conds, c);
        json_decref(c);
        char rv[24];
        snprintf(rv, sizeof rv, "%llu", (unsigned long long)rev);
        json_object_set_new(kc_json_ensure_obj(obj, "metadata"), "resourceVersion",
                            json_string(rv));
        /* nodeName is immutable through ordinary updates, so write with the binding's own
         * rules: spec via the main path would be rejected; use the raw update. */
        int rc = kc_registry_put_raw(srv, r, ns, name, obj, rev, attrs, st);
        json_decref(attrs);
        json_decref(obj);
        json_decref(pod);
        json_decref(out);
        if (rc == 0)
            return 0;
        if (st->code != 409 || strstr(st->message, "modified") == NULL)
            return -1;
        kc_status_release(st);
    }
    return -1;
}
