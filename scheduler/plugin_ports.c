/* NodePorts: the pod's hostPorts against the ones in use on the node. */
#include "scheduler/plugins.h"

#include <stdlib.h>
#include <string.h>

int kc_plugin_ports_parse(struct kc_pstate *ps, const json_t *pod)
{
    const json_t *ctrs = json_object_get(json_object_get(pod, "spec"), "containers");
    size_t i, k, total = 0;
    const json_t *c, *port;
    json_array_foreach (ctrs, i, c) {
        total += json_array_size(json_object_get(c, "ports"));
    }
    if (!total)
        return 0;
    ps->ports = calloc(total, sizeof *ps->ports);
    if (!ps->ports)
        return -1;
    json_array_foreach (ctrs, i, c) {
        json_array_foreach (json_object_get(c, "ports"), k, port) {
            json_int_t hp = json_integer_value(json_object_get(port, "hostPort"));
            if (hp <= 0)
                continue;
            struct kc_hostport *h = &ps->ports[ps->nports++];
            const char *ip = json_string_value(json_object_get(port, "hostIP"));
            const char *proto = json_string_value(json_object_get(port, "protocol"));
            h->ip = ip && *ip ? ip : "0.0.0.0";
            h->proto = proto && *proto ? proto : "TCP";
            h->port = hp;
        }
    }
    return 0;
}

/* HostPortInfo.CheckConflict: 0.0.0.0 conflicts with every address. */
static bool conflicts(const struct kc_hostport *w, const json_t *used)
{
    if (json_integer_value(json_object_get(used, "port")) != w->port)
        return false;
    const char *proto = json_string_value(json_object_get(used, "protocol"));
    const char *ip = json_string_value(json_object_get(used, "ip"));
    if (strcmp(proto && *proto ? proto : "TCP", w->proto) != 0)
        return false;
    if (!ip || !*ip)
        ip = "0.0.0.0";
    return strcmp(w->ip, "0.0.0.0") == 0 || strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, w->ip) == 0;
}

const char *kc_filter_ports(const struct kc_pstate *ps, const struct kc_ninfo *ni)
{
    if (!ps->nports)
        return NULL;
    const json_t *used = ni->sn->host_ports;
    for (size_t i = 0; i < ps->nports; i++) {
        size_t k;
        const json_t *u;
        json_array_foreach (used, k, u) {
            if (conflicts(&ps->ports[i], u))
                return "node(s) didn't have free ports for the requested pod ports";
        }
    }
    return NULL;
}
