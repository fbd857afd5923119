/* Server state: storage, watch hub, allocators and the objects every cluster starts with. */
#include "apiserver/server.h"

#include "apiserver/alloc.h"
#include "apiserver/auth/authz.h"
#include "apiserver/auth/satoken.h"

#include "apiserver/registry.h"
#include "apiserver/registry_strategies.h"
#include "apiserver/storage/storage.h"
#include "apiserver/watch/watch_hub.h"
#include "lib/jsonx.h"
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void kc_namespaces_resume(struct kc_server *srv);

static int restore_service(void *ctx, const char *key, const char *json, size_t len, uint64_t rev)
{
    struct kc_server *srv = ctx;
    json_t *svc = json_loadb(json, len, 0, NULL);
    if (svc)
        kc_service_restore(srv, svc);
    json_decref(svc);
    return 0;
}

static int ensure(struct kc_server *srv, const char *resource, const char *ns, const char *text,
                  char *err, size_t errlen)
{
    const struct kc_resource *r = kc_resource_find("", "v1", resource);
    json_t *obj = json_loads(text, 0, NULL), *out = NULL;
    struct kc_status st = KC_STATUS_INIT;
    struct kc_write_opts wo = {0};
    int ret = 0;
    if (kc_registry_get(srv, r, ns, kc_json_str(obj, "metadata.name"), &out, NULL, &st) == 0)
        goto out;
    kc_status_release(&st);
    if (kc_registry_create(srv, r, ns, obj, &wo, &out, &st) != 0 && st.code != 409) {
        snprintf(err, errlen, "bootstrap %s: %s", resource, st.message ? st.message : "");
        ret = -1;
    }
out:
    json_decref(obj);
    json_decref(out);
    kc_status_release(&st);
    return ret;
}

int kc_server_init(struct kc_server *srv, const struct kc_server_options *opt, char *err,
                   size_t errlen)
{
    memset(srv, 0, sizeof *srv);
    srv->opt = *opt;
    srv->started = time(NULL);
    /* jansson's hash seed must be fixed before threads share objects. */
    json_object_seed(0);
    srv->cluster_ips = kc_ipalloc_new(opt->service_cidr);
    if (!srv->cluster_ips) {
        snprintf(err, errlen, "invalid --service-cluster-ip-range %s", opt->service_cidr);
        return -1;
    }
    srv->node_ports = kc_portalloc_new(opt->node_port_min, opt->node_port_max);
    if (!srv->node_ports) {
        snprintf(err, errlen, "invalid --service-node-port-range %d-%d", opt->node_port_min,
                 opt->node_port_max);
        return -1;
    }
    srv->hub = kc_hub_new(opt->watch_window);
    char pki[600], sakey[700];
    mkdir(opt->data_dir, 0700);
    snprintf(pki, sizeof pki, "%s/pki", opt->data_dir);
    mkdir(pki, 0700);
    snprintf(sakey, sizeof sakey, "%s/sa.key", pki);
    if (kc_satoken_init(sakey, err, errlen) != 0)
        return -1;
    struct kc_storage_options so = {
        .map_size = 0, .window = opt->watch_window, .no_sync = opt->no_sync != 0};
    if (kc_storage_open_lmdb(opt->data_dir, &so, srv->hub, &srv->storage, err, errlen) != 0)
        return -1;

    char prefix[128];
    uint64_t snap;
    kc_registry_prefix(kc_resource_find("", "v1", "services"), NULL, prefix, sizeof prefix);
    kc_storage_list(srv->storage, prefix, NULL, 0, restore_service, srv, &snap);

    static const char *const system_ns[] = {"default", "kube-system", "kube-public",
                                            "kube-node-lease"};
    for (size_t i = 0; i < 4; i++) {
        char text[256];
        snprintf(text, sizeof text, "{\"metadata\":{\"name\":\"%s\"}}", system_ns[i]);
        if (ensure(srv, "namespaces", NULL, text, err, errlen))
            return -1;
    }
    /* The `kubernetes` Service every cluster has, on the first address of the range. */
    char ip[16], text[512];
    kc_ipalloc_first(srv->cluster_ips, ip);
    snprintf(text, sizeof text,
             "{\"metadata\":{\"name\":\"kubernetes\",\"labels\":{\"component\":\"apiserver\","
             "\"provider\":\"kubernetes\"}},\"spec\":{\"type\":\"ClusterIP\",\"clusterIP\":\"%s\","
             "\"ports\":[{\"name\":\"https\",\"port\":443,\"protocol\":\"TCP\",\"targetPort\":%d}]"
             ",\"sessionAffinity\":\"None\"}}",
             ip, opt->port > 0 ? opt->port : 6443);
    if (ensure(srv, "services", "default", text, err, errlen))
        return -1;
    if (kc_rbac_bootstrap(srv, err, errlen) != 0)
        return -1;
    kc_namespaces_resume(srv);
    return 0;
}

void kc_server_destroy(struct kc_server *srv)
{
    srv->stopping = 1;
    if (srv->hub)
        kc_hub_shutdown(srv->hub);
    /* namespace finalizers check `stopping` once a second */
    for (int i = 0; i < 50 && __atomic_load_n(&srv->background, __ATOMIC_SEQ_CST) > 0; i++)
        usleep(100 * 1000);
    kc_storage_close(srv->storage);
    kc_hub_free(srv->hub);
    kc_ipalloc_free(srv->cluster_ips);
    kc_portalloc_free(srv->node_ports);
    memset(srv, 0, sizeof *srv);
}
