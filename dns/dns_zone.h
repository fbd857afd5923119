/* The cluster zone: what a name under the cluster domain resolves to, from Services and
 * Endpoints, as the DNS specification for Kubernetes says:
 *   <service>.<ns>.svc.<domain>   A: the ClusterIP; a headless Service: its ready endpoints
 *   <a-b-c-d>.<ns>.pod.<domain>   A: a.b.c.d
 * Names outside the domain are refused (there is no upstream resolver to forward to). */
#ifndef KUBEC_DNS_ZONE_H
#define KUBEC_DNS_ZONE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct kc_dns_source {
    /* New references or NULL: the Service and the Endpoints ns/name. */
    json_t *(*service)(void *ctx, const char *ns, const char *name);
    json_t *(*endpoints)(void *ctx, const char *ns, const char *name);
    void *ctx;
};

/* Resolves name (lower case, no trailing dot) of type qtype in domain ("cluster.local").
 * Returns a kc_dns_rcode; with NOERROR, *n addresses (network order, at most max) in ips —
 * none for a name that exists without records of that type. */
int kc_dns_resolve(const struct kc_dns_source *src, const char *domain, const char *name,
                   uint16_t qtype, uint32_t *ips, size_t max, size_t *n);

#endif
