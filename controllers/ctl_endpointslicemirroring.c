/* EndpointSlice mirroring controller, as upstream pkg/controller/endpointslicemirroring:
 * the Endpoints of a Service without a selector (written by hand, so no EndpointSlice
 * controller makes slices for it) are mirrored into EndpointSlices labelled
 * kubernetes.io/service-name=<service> and endpointslice.kubernetes.io/managed-by=
 * endpointslicemirroring-controller.k8s.io, owned by the Endpoints. One slice per address
 * type and set of ports; ready addresses become ready endpoints, notReadyAddresses
 * unready ones. The slices go when the Endpoints or the Service go, when the Service gets
 * a selector, or when the Endpoints carry endpointslice.kubernetes.io/skip-mirror=true
 * (as the apiserver's own default/kubernetes Endpoints do).
 *
 * Each sync reads the mirrored slices from the apiserver rather than the informer cache:
 * a cache that lags our own create would make a second slice.
 *
 * Ownership: informer objects are shared and immutable; every other json_t here is owned
 * by the function that made it unless said otherwise. */
#include "controllers/controller.h"
#include "controllers/endpoints_common.h"
#include "lib/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIRROR_MAX_RETRIES 15
#define LABEL_SERVICE "kubernetes.io/service-name"
#define LABEL_MANAGED_BY "endpointslice.kubernetes.io/managed-by"
#define LABEL_SKIP_MIRROR "endpointslice.kubernetes.io/skip-mirror"
#define CONTROLLER_NAME "endpointslicemirroring-controller.k8s.io"
#define ANN_LEADER "control-plane.alpha.kubernetes.io/leader"
#define ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"
#define ANN_TRIGGER "endpoints.kubernetes.io/last-change-trigger-time"

struct mirror_ctl {
    struct kc_ctl_ctx *ctx;
    struct kc_workqueue *q; /* Endpoints (= Service) keys */
};

/* Whether the Endpoints (may be NULL) of a Service (may be NULL) are mirrored (upstream's
 * shouldMirror and the Service check of syncEndpoints). */
static bool should_mirror(const json_t *ep, const json_t *svc)
{
    if (!ep || !svc || json_object_size(kc_json_path(svc, "spec.selector")) > 0)
        return false;
    const char *skip =
        json_string_value(json_object_get(kc_json_path(ep, "metadata.labels"), LABEL_SKIP_MIRROR));
    if (skip && !strcmp(skip, "true"))
        return false;
    return !json_object_get(kc_json_path(ep, "metadata.annotations"), ANN_LEADER);
}

/* A slice's port from an EndpointPort (upstream keeps the name, even empty). New. */
static json_t *slice_port(const json_t *p)
{
    json_t *r = json_pack("{s:s, s:I, s:s}", "name", kc_json_str(p, "name") ?: "", "port",
                          (json_int_t)kc_json_int(p, "port", 0), "protocol",
                          kc_json_str(p, "protocol") ?: "TCP");
    const char *app = kc_json_str(p, "appProtocol");
    if (app && *app)
        json_object_set_new(r, "appProtocol", json_string(app));
    return r;
}

/* upstream's addressToEndpoint. New. */
static json_t *address_endpoint(const json_t *a, bool ready)
{
    json_t *e = json_pack("{s:[s], s:{s:b}}", "addresses", kc_json_str(a, "ip"), "conditions",
                          "ready", ready);
    json_t *ref = json_object_get(a, "targetRef");
    if (ref)
        json_object_set(e, "targetRef", ref);
    const char *node = kc_json_str(a, "nodeName"), *host = kc_json_str(a, "hostname");
    if (node && *node)
        json_object_set_new(e, "nodeName", json_string(node));
    if (host && *host)
        json_object_set_new(e, "hostname", json_string(host));
    return e;
}

/* The labels and annotations of a mirrored slice: the Endpoints' own, less what upstream
 * leaves out, with the service-name and managed-by labels set. New. */
static json_t *mirrored_labels(const json_t *ep)
{
    json_t *l = json_deep_copy(kc_json_path(ep, "metadata.labels"));
    if (!json_is_object(l)) {
        json_decref(l);
        l = json_object();
    }
    json_object_del(l, LABEL_SKIP_MIRROR);
    json_object_set_new(l, LABEL_SERVICE, json_string(kc_json_str(ep, "metadata.name")));
    json_object_set_new(l, LABEL_MANAGED_BY, json_string(CONTROLLER_NAME));
    return l;
}

static json_t *mirrored_annotations(const json_t *ep)
{
    json_t *a = json_deep_copy(kc_json_path(ep, "metadata.annotations"));
    if (!json_is_object(a)) {
        json_decref(a);
        a = json_object();
    }
    json_object_del(a, ANN_LAST_APPLIED);
    json_object_del(a, ANN_TRIGGER);
    return a;
}

/* The slices the Endpoints call for: {"<addressType> <ports as JSON>": {addressType, ports,
 * endpoints}}. Addresses that are not IPs are left out, as upstream does. New. */
static json_t *desired_slices(const json_t *ep)
{
    json_t *want = json_object();
    size_t i, j, k;
    json_t *subset, *a, *p;
    json_array_foreach (json_object_get(ep, "subsets"), i, subset) {
        json_t *ports = json_array();
        json_array_foreach (json_object_get(subset, "ports"), k, p)
            json_array_append_new(ports, slice_port(p));
        char *pkey = json_dumps(ports, JSON_COMPACT | JSON_SORT_KEYS);
        for (int ready = 1; ready >= 0; ready--)
            json_array_foreach (json_object_get(subset, ready ? "addresses" : "notReadyAddresses"),
                                j, a) {
                const char *ip = kc_json_str(a, "ip");
                if (!ip || !*ip || (!strchr(ip, '.') && !strchr(ip, ':')))
                    continue;
                const char *type = kcep_is_ipv6(ip) ? "IPv6" : "IPv4";
                char key[4096];
                snprintf(key, sizeof key, "%s %s", type, pkey ? pkey : "");
                json_t *s = json_object_get(want, key);
                if (!s) {
                    s = json_pack("{s:s, s:O, s:[]}", "addressType", type, "ports", ports,
                                  "endpoints");
                    json_object_set_new(want, key, s);
                }
                json_array_append_new(json_object_get(s, "endpoints"), address_endpoint(a, ready));
            }
        free(pkey);
        json_decref(ports);
    }
    return want;
}

/* The key of an existing slice, as desired_slices makes them. malloc'd. */
static char *slice_key(const json_t *slice)
{
    json_t *ports = json_array(), *p;
    size_t i;
    json_array_foreach (json_object_get(slice, "ports"), i, p)
        json_array_append_new(ports, slice_port(p));
    char *pkey = json_dumps(ports, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(ports);
    const char *type = kc_json_str(slice, "addressType") ?: "";
    size_t n = strlen(type) + (pkey ? strlen(pkey) : 0) + 2;
    char *key = malloc(n);
    if (key)
        snprintf(key, n, "%s %s", type, pkey ? pkey : "");
    free(pkey);
    return key;
}

static int sync_key(struct mirror_ctl *c, const char *key)
{
    struct kc_ctl_ctx *ctx = c->ctx;
    char ns[256], name[256], query[700], esc[600];
    json_t *ep = NULL, *svc = NULL, *existing = NULL, *want = NULL, *resp = NULL;
    int ret = -1, code;
    kc_key_split(key, ns, sizeof ns, name, sizeof name);
    ep = kc_informer_get(ctx->endpoints, key);
    svc = kc_informer_get(ctx->services, key);
    /* the slices this controller made for the Service */
    char sel[600];
    snprintf(sel, sizeof sel, "%s=%s,%s=%s", LABEL_SERVICE, name, LABEL_MANAGED_BY,
             CONTROLLER_NAME);
    snprintf(query, sizeof query, "labelSelector=%s", kc_client_query_escape(esc, sizeof esc, sel));
    code = kc_list(ctx->client, &KC_GVR_ENDPOINTSLICES, ns, query, &existing);
    if (code != 200)
        goto out;
    want = should_mirror(ep, svc) ? desired_slices(ep) : json_object();
    json_t *labels = ep ? mirrored_labels(ep) : NULL;           /* owned */
    json_t *annotations = ep ? mirrored_annotations(ep) : NULL; /* owned */
    bool failed = false;
    size_t i;
    json_t *slice;
    /* existing slices: updated in place when wanted, else deleted */
    json_array_foreach (json_object_get(existing, "items"), i, slice) {
        char *k = slice_key(slice);
        json_t *w = k ? json_object_get(want, k) : NULL;
        const char *sname = kc_json_str(slice, "metadata.name");
        if (!w) {
            code = kc_delete(ctx->client, &KC_GVR_ENDPOINTSLICES, ns, sname, NULL, NULL, -1, NULL);
            failed |= !((code >= 200 && code < 300) || code == 404);
        } else {
            if (!json_equal(json_object_get(slice, "endpoints"), json_object_get(w, "endpoints")) ||
                !json_equal(kc_json_path(slice, "metadata.labels"), labels) ||
                !json_equal(kc_json_path(slice, "metadata.annotations") ?: annotations,
                            annotations)) {
                json_t *u = json_deep_copy(slice);
                json_object_set(u, "endpoints", json_object_get(w, "endpoints"));
                json_object_set(u, "ports", json_object_get(w, "ports"));
                json_t *m = kc_json_ensure_obj(u, "metadata");
                json_object_set(m, "labels", labels);
                json_object_set(m, "annotations", annotations);
                code = kc_update(ctx->client, &KC_GVR_ENDPOINTSLICES, ns, u, NULL, NULL);
                json_decref(u);
                failed |= !(code >= 200 && code < 300);
            }
            json_object_del(want, k); /* a second slice of the same key goes */
        }
        free(k);
    }
    /* the rest are new */
    const char *k;
    json_t *w;
    json_object_foreach (want, k, w) {
        char prefix[300];
        /* upstream's getEndpointSlicePrefix: the name, cut to leave room for the suffix */
        snprintf(prefix, sizeof prefix, "%.57s-", name);
        json_t *s = json_pack(
            "{s:s, s:s, s:{s:s, s:s, s:O, s:O, s:[{s:s, s:s, s:s, s:s, s:b, s:b}]}, s:O, s:O, "
            "s:O}",
            "apiVersion", "discovery.k8s.io/v1", "kind", "EndpointSlice", "metadata",
            "generateName", prefix, "namespace", ns, "labels", labels, "annotations", annotations,
            "ownerReferences", "apiVersion", "v1", "kind", "Endpoints", "name", name, "uid",
            kc_json_str(ep, "metadata.uid") ?: "", "controller", 1, "blockOwnerDeletion", 1,
            "addressType", json_object_get(w, "addressType"), "ports", json_object_get(w, "ports"),
            "endpoints", json_object_get(w, "endpoints"));
        code = s ? kc_create(ctx->client, &KC_GVR_ENDPOINTSLICES, ns, s, &resp) : -1;
        json_decref(s);
        if (code == 403 && kcep_namespace_terminating(resp))
            code = 201; /* creates keep failing in a terminating namespace: drop the key */
        json_decref(resp);
        resp = NULL;
        failed |= !(code >= 200 && code < 300);
    }
    json_decref(labels);
    json_decref(annotations);
    ret = failed ? -1 : 0;
out:
    json_decref(ep);
    json_decref(svc);
    json_decref(existing);
    json_decref(want);
    json_decref(resp);
    return ret;
}

static void *mirror_worker(void *arg)
{
    struct mirror_ctl *c = arg;
    char *key;
    if (!kc_ctl_wait_synced(c->ctx))
        return NULL;
    while ((key = kc_wq_get(c->q)) != NULL) {
        if (sync_key(c, key) == 0) {
            kc_wq_forget(c->q, key);
        } else if (kc_wq_num_requeues(c->q, key) < MIRROR_MAX_RETRIES) {
            kc_wq_add_rate_limited(c->q, key);
        } else {
            fprintf(stderr, "endpointslicemirroring-controller: dropping %s out of the queue\n",
                    key);
            kc_wq_forget(c->q, key);
        }
        kc_wq_done(c->q, key);
        free(key);
    }
    return NULL;
}

/* ---- event handlers (informer thread; only enqueue) ---- */

static void on_add(void *arg, const json_t *obj)
{
    kc_ctl_enqueue_obj(((struct mirror_ctl *)arg)->q, obj);
}

static void on_update(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    (void)old_obj;
    kc_ctl_enqueue_obj(((struct mirror_ctl *)arg)->q, new_obj);
}

/* A mirrored slice changed or deleted by someone else: its Endpoints sync again. */
static void on_slice(void *arg, const json_t *slice)
{
    struct mirror_ctl *c = arg;
    const json_t *labels = kc_json_path(slice, "metadata.labels");
    const char *mb = json_string_value(json_object_get(labels, LABEL_MANAGED_BY));
    const char *svc = json_string_value(json_object_get(labels, LABEL_SERVICE));
    const char *ns = kc_json_str(slice, "metadata.namespace");
    if (!mb || strcmp(mb, CONTROLLER_NAME) || !svc || !ns)
        return;
    char key[600];
    snprintf(key, sizeof key, "%s/%s", ns, svc);
    kc_wq_add(c->q, key);
}

static void on_slice_update(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    (void)old_obj;
    on_slice(arg, new_obj);
}

int kc_ctl_endpointslicemirroring_start(struct kc_ctl_ctx *ctx)
{
    struct mirror_ctl *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "endpointslicemirroring-controller: out of memory\n");
        return -1;
    }
    c->ctx = ctx;
    c->q = kc_wq_new("endpoint_slice_mirroring");
    struct kc_informer_handlers h = {
        .on_add = on_add, .on_update = on_update, .on_delete = on_add, .ctx = c};
    struct kc_informer_handlers slice_h = {
        .on_update = on_slice_update, .on_delete = on_slice, .ctx = c};
    kc_informer_add_handlers(ctx->endpoints, &h);
    kc_informer_add_handlers(ctx->services, &h);
    kc_informer_add_handlers(ctx->endpointslices, &slice_h);
    kc_ctl_register_queue(ctx, c->q);
    int workers = ctx->opt.concurrent_syncs > 0 ? ctx->opt.concurrent_syncs : 1;
    if (kc_ctl_spawn_workers(workers, mirror_worker, c) != 0) {
        fprintf(stderr, "endpointslicemirroring-controller: cannot start workers\n");
        return -1;
    }
    return 0;
}
