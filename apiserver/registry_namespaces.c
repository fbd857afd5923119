/* Namespaces: phase Active on create; on delete the namespace turns Terminating and a
 * background finalizer removes everything in it, then the namespace itself (unless
 * --namespace-finalizer=controller leaves that to the namespace controller).
 *
 * The finalizer does in-process what kube-controller-manager's namespace controller does
 * through the API; it uses only the registry (never raw storage), so it can move into
 * the controller manager unchanged in behaviour. */
#include "apiserver/registry.h"
#include "apiserver/registry_strategies.h"
#include "apiserver/server.h"
#include "apiserver/storage/storage.h"
#include "apiserver/strategy/strategy.h"
#include "lib/jsonx.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void prepare_create(json_t *ns)
{
    json_t *status = json_object();
    json_object_set_new(status, "phase", json_string("Active"));
    json_object_set_new(ns, "status", status);
}

/* Status updates may not resurrect a terminating namespace. */
static void prepare_update(json_t *ns, const json_t *old)
{
    json_t *spec = json_object_get(old, "spec");
    if (spec && kc_json_path(old, "metadata.deletionTimestamp"))
        json_object_set_new(ns, "spec", json_deep_copy(spec));
}

struct finalize_job {
    struct kc_server *srv;
    char name[256];
};

struct name_list {
    char **v;
    size_t n, cap;
    size_t prefix_len;
};

static int collect(void *ctx, const char *key, const char *json, size_t len, uint64_t rev)
{
    struct name_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->v = realloc(l->v, l->cap * sizeof *l->v);
        if (!l->v)
            abort();
    }
    l->v[l->n++] = strdup(key + l->prefix_len);
    return 0;
}

/* Deletes every object of the namespace; returns how many remain. */
static size_t purge(struct kc_server *srv, const char *ns)
{
    size_t remaining = 0;
    for (const struct kc_resource *r = kc_resources; r->resource; r++) {
        if (!r->namespaced)
            continue;
        char prefix[512];
        uint64_t snap;
        struct name_list l = {0};
        kc_registry_prefix(r, ns, prefix, sizeof prefix);
        l.prefix_len = strlen(prefix);
        kc_storage_list(srv->storage, prefix, NULL, 0, collect, &l, &snap);
        for (size_t i = 0; i < l.n; i++) {
            struct kc_delete_opts o = {.grace_seconds = 0, .propagation = "Background"};
            struct kc_status st = KC_STATUS_INIT;
            json_t *out = NULL;
            bool gone = false;
            if (kc_registry_delete(srv, r, ns, l.v[i], &o, &out, &gone, &st) != 0 || !gone)
                remaining++;
            json_decref(out);
            kc_status_release(&st);
            free(l.v[i]);
        }
        free(l.v);
    }
    return remaining;
}

static void *finalize_main(void *arg)
{
    struct finalize_job *job = arg;
    struct kc_server *srv = job->srv;
    const struct kc_resource *nsr = kc_resource_find("", "v1", "namespaces");
    while (!srv->stopping) {
        if (purge(srv, job->name) == 0) {
            /* Empty: drop the "kubernetes" finalizer; the registry removes the namespace
             * once no finalizer is left. */
            json_t *ns = NULL, *out = NULL;
            struct kc_status st = KC_STATUS_INIT;
            if (kc_registry_get(srv, nsr, NULL, job->name, &ns, NULL, &st) != 0) {
                kc_status_release(&st);
                break;
            }
            json_t *obj = json_deep_copy(ns);
            json_decref(ns);
            json_object_set_new(kc_json_ensure_obj(obj, "spec"), "finalizers", json_array());
            struct kc_write_opts wo = {0};
            int rc = kc_registry_update(srv, nsr, NULL, job->name, obj, KC_UPDATE_FINALIZE, &wo,
                                        &out, &st);
            json_decref(obj);
            json_decref(out);
            kc_status_release(&st);
            if (rc == 0)
                break;
        }
        sleep(1);
    }
    __atomic_sub_fetch(&srv->background, 1, __ATOMIC_SEQ_CST);
    free(job);
    return NULL;
}

static void after_mark_deleting(struct kc_server *srv, const json_t *ns)
{
    /* With --namespace-finalizer=controller the namespace stays Terminating until the
     * controller manager's namespace controller empties and finalizes it. */
    if (srv->opt.namespace_finalizer_controller)
        return;
    struct finalize_job *job = calloc(1, sizeof *job);
    pthread_t t;
    if (!job)
        abort();
    job->srv = srv;
    snprintf(job->name, sizeof job->name, "%s", kc_json_str(ns, "metadata.name"));
    __atomic_add_fetch(&srv->background, 1, __ATOMIC_SEQ_CST);
    if (pthread_create(&t, NULL, finalize_main, job) != 0) {
        __atomic_sub_fetch(&srv->background, 1, __ATOMIC_SEQ_CST);
        free(job);
        return;
    }
    pthread_detach(t);
}

/* Every namespace gets its `default` ServiceAccount (the ServiceAccount controller's job
 * upstream; done at creation here so that tokens work at once). */
static void after_create(struct kc_server *srv, const json_t *ns)
{
    const struct kc_resource *r = kc_resource_find("", "v1", "serviceaccounts");
    json_t *sa = json_pack("{s:{s:s}}", "metadata", "name", "default"), *out = NULL;
    struct kc_status st = KC_STATUS_INIT;
    struct kc_write_opts wo = {0};
    kc_registry_create(srv, r, kc_json_str(ns, "metadata.name"), sa, &wo, &out, &st);
    json_decref(sa);
    json_decref(out);
    kc_status_release(&st);
}

static const char *const ns_fields[] = {"status.phase", NULL};

const struct kc_strategy kc_namespace_strategy = {
    .defaults = kc_default_namespace,
    .prepare_create = prepare_create,
    .prepare_update = prepare_update,
    .validate = kc_validate_namespace,
    .after_mark_deleting = after_mark_deleting,
    .after_create = after_create,
    .field_labels = ns_fields,
    .status_metadata = true,
};

/* Resumes finalizers of namespaces that were terminating when the server stopped. */
void kc_namespaces_resume(struct kc_server *srv);
void kc_namespaces_resume(struct kc_server *srv)
{
    const struct kc_resource *nsr = kc_resource_find("", "v1", "namespaces");
    char prefix[128];
    struct name_list l = {0};
    uint64_t snap;
    kc_registry_prefix(nsr, NULL, prefix, sizeof prefix);
    l.prefix_len = strlen(prefix);
    kc_storage_list(srv->storage, prefix, NULL, 0, collect, &l, &snap);
    for (size_t i = 0; i < l.n; i++) {
        json_t *ns = NULL;
        struct kc_status st = KC_STATUS_INIT;
        if (kc_registry_get(srv, nsr, NULL, l.v[i], &ns, NULL, &st) == 0 &&
            kc_json_path(ns, "metadata.deletionTimestamp"))
            after_mark_deleting(srv, ns);
        json_decref(ns);
        kc_status_release(&st);
        free(l.v[i]);
    }
    free(l.v);
}
