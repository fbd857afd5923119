/* Services: ClusterIP and NodePort allocation around the generic registry. */
#include "apiserver/alloc.h"
#include "apiserver/registry_strategies.h"
#include "apiserver/server.h"
#include "apiserver/strategy/strategy.h"
#include "lib/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *svc_type(const json_t *svc)
{
    const char *t = kc_json_str(svc, "spec.type");
    return t && *t ? t : "ClusterIP";
}

static bool wants_cluster_ip(const json_t *svc)
{
    if (strcmp(svc_type(svc), "ExternalName") == 0)
        return false;
    const char *ip = kc_json_str(svc, "spec.clusterIP");
    return !(ip && strcmp(ip, "None") == 0);
}

static bool wants_node_ports(const json_t *svc)
{
    const char *t = svc_type(svc);
    return strcmp(t, "NodePort") == 0 || strcmp(t, "LoadBalancer") == 0;
}

/* The IP a Service holds (NULL when none). */
static const char *held_ip(const json_t *svc)
{
    if (!svc || !wants_cluster_ip(svc))
        return NULL;
    const char *ip = kc_json_str(svc, "spec.clusterIP");
    return ip && *ip ? ip : NULL;
}

static bool holds_port(const json_t *svc, long long port)
{
    if (!svc || !wants_node_ports(svc))
        return false;
    json_t *ports = kc_json_path(svc, "spec.ports"), *p;
    size_t i;
    json_array_foreach (ports, i, p)
        if (kc_json_int(p, "nodePort", 0) == port)
            return true;
    return false;
}

static void prepare_create(json_t *svc)
{
    json_t *status = json_object();
    json_object_set_new(status, "loadBalancer", json_object());
    json_object_set_new(svc, "status", status);
}

/* Carries over allocated values a PUT omitted, as upstream's patchAllocatedValues does. */
static void keep_allocated(json_t *svc, const json_t *old)
{
    json_t *spec = kc_json_ensure_obj(svc, "spec");
    const char *oip = held_ip(old);
    const char *nip = kc_json_str(spec, "clusterIP");
    if (oip && wants_cluster_ip(svc) && (!nip || !*nip)) {
        json_object_set_new(spec, "clusterIP", json_string(oip));
        json_t *ips = kc_json_path(old, "spec.clusterIPs");
        if (ips)
            json_object_set_new(spec, "clusterIPs", json_deep_copy(ips));
    }
    if (!wants_node_ports(svc) || !wants_node_ports(old))
        return;
    json_t *ports = json_object_get(spec, "ports"), *p, *q;
    json_t *oports = kc_json_path(old, "spec.ports");
    size_t i, j;
    json_array_foreach (ports, i, p) {
        if (kc_json_int(p, "nodePort", 0) != 0)
            continue;
        json_array_foreach (oports, j, q) {
            if (kc_json_int(q, "port", -1) == kc_json_int(p, "port", -2) &&
                kc_json_int(q, "nodePort", 0) > 0) {
                json_object_set_new(p, "nodePort", json_integer(kc_json_int(q, "nodePort", 0)));
                break;
            }
        }
    }
}

static void release(struct kc_server *srv, const json_t *obj, const json_t *other)
{
    const char *ip = held_ip(obj);
    const char *oip = held_ip(other);
    if (ip && !(oip && strcmp(ip, oip) == 0))
        kc_ipalloc_release(srv->cluster_ips, ip);
    if (!wants_node_ports(obj))
        return;
    json_t *ports = kc_json_path(obj, "spec.ports"), *p;
    size_t i;
    json_array_foreach (ports, i, p) {
        long long np = kc_json_int(p, "nodePort", 0);
        if (np > 0 && !holds_port(other, np))
            kc_portalloc_release(srv->node_ports, (int)np);
    }
}

static int allocate(struct kc_server *srv, json_t *svc, const json_t *old, struct kc_status *st)
{
    struct kc_errlist *l = kc_errlist_new();
    json_t *spec = kc_json_ensure_obj(svc, "spec");
    char ipbuf[16];
    int ret = 0;
    bool took_ip = false;
    int took_ports[64];
    int ntook = 0;

    if (old)
        keep_allocated(svc, old);
    if (wants_cluster_ip(svc)) {
        const char *ip = kc_json_str(spec, "clusterIP");
        if (!ip || !*ip) {
            json_t *ips = json_object_get(spec, "clusterIPs");
            ip = json_string_value(json_array_get(ips, 0));
        }
        if (!ip || !*ip) {
            if (kc_ipalloc_next(srv->cluster_ips, ipbuf) != 0) {
                kc_status_set(st, 500, "InternalError",
                              "Internal error occurred: failed to allocate a serviceIP: range "
                              "is full");
                ret = -1;
                goto out;
            }
            took_ip = true;
            ip = ipbuf;
        } else if (!(held_ip(old) && strcmp(held_ip(old), ip) == 0)) {
            int rc = kc_ipalloc_claim(srv->cluster_ips, ip);
            if (rc == 0) {
                took_ip = true;
            } else {
                const char *why = rc == -2   ? "provided IP is already allocated"
                                  : rc == -1 ? "provided IP is not in the valid range"
                                             : "not a valid IP address";
                if (rc == -1)
                    kc_errlist_add(l, "FieldValueInvalid", "spec.clusterIPs",
                                   "Invalid value: []string{\"%s\"}: failed to allocate IP %s: "
                                   "%s. The range of valid IPs is %s",
                                   ip, ip, why, kc_ipalloc_cidr(srv->cluster_ips));
                else
                    kc_errlist_add(l, "FieldValueInvalid", "spec.clusterIPs",
                                   "Invalid value: []string{\"%s\"}: failed to allocate IP %s: %s",
                                   ip, ip, why);
            }
        }
        char keep[16];
        snprintf(keep, sizeof keep, "%s", ip);
        json_object_set_new(spec, "clusterIP", json_string(keep));
        json_t *ips = json_array();
        json_array_append_new(ips, json_string(keep));
        json_object_set_new(spec, "clusterIPs", ips);
    } else if (strcmp(svc_type(svc), "ExternalName") != 0) {
        json_t *ips = json_array();
        json_array_append_new(ips, json_string("None"));
        json_object_set_new(spec, "clusterIPs", ips);
    }

    if (wants_node_ports(svc)) {
        json_t *ports = json_object_get(spec, "ports"), *p;
        size_t i;
        json_array_foreach (ports, i, p) {
            long long np = kc_json_int(p, "nodePort", 0);
            if (np == 0) {
                int port = kc_portalloc_next(srv->node_ports);
                if (port < 0) {
                    kc_status_set(st, 500, "InternalError",
                                  "Internal error occurred: failed to allocate a nodePort: "
                                  "range is full");
                    ret = -1;
                    goto out;
                }
                if (ntook < 64)
                    took_ports[ntook++] = port;
                json_object_set_new(p, "nodePort", json_integer(port));
            } else if (!holds_port(old, np)) {
                int rc = kc_portalloc_claim(srv->node_ports, (int)np);
                char field[64];
                snprintf(field, sizeof field, "spec.ports[%zu].nodePort", i);
                if (rc == 0) {
                    if (ntook < 64)
                        took_ports[ntook++] = (int)np;
                } else if (rc == -2) {
                    kc_errlist_add(l, "FieldValueInvalid", field,
                                   "Invalid value: %lld: provided port is already allocated", np);
                } else {
                    int mn, mx;
                    kc_portalloc_range(srv->node_ports, &mn, &mx);
                    kc_errlist_add(l, "FieldValueInvalid", field,
                                   "Invalid value: %lld: provided port is not in the valid "
                                   "range. The range of valid ports is %d-%d",
                                   np, mn, mx);
                }
            }
        }
    }
    if (kc_errlist_len(l)) {
        kc_status_invalid(st, "", "Service", kc_json_str(svc, "metadata.name"), l);
        ret = -1;
    }
out:
    if (ret) {
        if (took_ip)
            kc_ipalloc_release(srv->cluster_ips, kc_json_str(spec, "clusterIP"));
        for (int k = 0; k < ntook; k++)
            kc_portalloc_release(srv->node_ports, took_ports[k]);
    }
    kc_errlist_free(l);
    return ret;
}

static void after_delete(struct kc_server *srv, const json_t *svc)
{
    release(srv, svc, NULL);
}

void kc_service_restore(struct kc_server *srv, const json_t *svc)
{
    const char *ip = held_ip(svc);
    if (ip)
        kc_ipalloc_claim(srv->cluster_ips, ip);
    if (!wants_node_ports(svc))
        return;
    json_t *ports = kc_json_path(svc, "spec.ports"), *p;
    size_t i;
    json_array_foreach (ports, i, p) {
        long long np = kc_json_int(p, "nodePort", 0);
        if (np > 0)
            kc_portalloc_claim(srv->node_ports, (int)np);
    }
}

static const char *const no_fields[] = {NULL};

const struct kc_strategy kc_service_strategy = {
    .defaults = kc_default_service,
    .prepare_create = prepare_create,
    .prepare_update = keep_allocated,
    .validate = kc_validate_service,
    .validate_update = kc_validate_service_update,
    .allocate = allocate,
    .release = release,
    .after_delete = after_delete,
    .field_labels = no_fields,
    /* upstream's serviceStatusStrategy resets only the spec */
    .status_metadata = true,
};
