/* The cluster zone: what a name under the cluster domain resolves to, from Services and
 * Endpoints, as the DNS specification for Kubernetes says:
 *   <service>.<ns>.svc.<domain>   A: the ClusterIP; a headless Service: its ready endpoints;
 *                                 an ExternalName Service: a CNAME to its externalName
 *   _<port>._<proto>.<service>.<ns>.svc.<domain>
 *                                 SRV: the named port, its target the Service's name (or,
 *                                 headless, one per endpoint: <host>.<service>...)
 *   <host>.<service>.<ns>.svc.<domain>
 *                                 A: a headless Service's endpoint whose hostname is <host>
 *                                 (or whose address, spelled with dashes, is)
 *   <a-b-c-d>.<ns>.pod.<domain>   A: a.b.c.d
 *   <d>.<c>.<b>.<a>.in-addr.arpa  PTR: the Service whose ClusterIP is a.b.c.d
 * Other names are refused (there is no upstream resolver to forward to). */
#ifndef KUBEC_DNS_ZONE_H
#define KUBEC_DNS_ZONE_H

#include "dns/dns_msg.h"

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct kc_dns_source {
    /* New references or NULL: the Service and the Endpoints ns/name. */
    json_t *(*service)(void *ctx, const char *ns, const char *name);
    json_t *(*endpoints)(void *ctx, const char *ns, const char *name);
    void *ctx;
    /* New reference or NULL: the Service whose ClusterIP is ip (NULL: no PTR records). */
    json_t *(*service_by_ip)(void *ctx, const char *ip);
};

/* Resolves name (lower case, no trailing dot) of type qtype in domain ("cluster.local"):
 * a kc_dns_rcode and, with NOERROR, *n records (at most max) in rr — none for a name that
 * exists without records of that type. */
int kc_dns_lookup(const struct kc_dns_source *src, const char *domain, const char *name,
                  uint16_t qtype, struct kc_dns_rr *rr, size_t max, size_t *n);

/* kc_dns_lookup's A records only: with NOERROR, *n addresses (network order, at most max) in ips —
 * none for a name that exists without records of that type. */
int kc_dns_resolve(const struct kc_dns_source *src, const char *domain, const char *name,
                   uint16_t qtype, uint32_t *ips, size_t max, size_t *n);

#endif
