/* The Service dataplane (kube-proxy's role) of a node agent whose node is a network
 * namespace: Services and Endpoints are watched with informers and turned into one
 * nftables table (proxy_nft.h) in the node's namespace, changed atomically by one
 * `nft -f -` run there (nsenter --net): replaced the first time, then updated in place so
 * that session affinity's sets keep their clients (replaced again if nft refuses the
 * update). Changes are coalesced for a few tens of milliseconds; a table identical to the
 * one loaded is not loaded again.
 *
 * Only for the oci runtime: the simulated runtime has no dataplane at all, and the
 * process runtime's pods are loopback addresses of the host namespace, where the agent
 * must not install NAT rules (a userspace proxy would be the way; not done).
 *
 * Threads: one thread of its own writes the rules; the informer handlers only flag work. */
#ifndef KUBEC_NODEAGENT_PROXY_H
#define KUBEC_NODEAGENT_PROXY_H

#include "client/client.h"
#include "nodeagent/network.h"

struct kc_proxy;

struct kc_proxy_options {
    const char *table;        /* "kubec" */
    const char *service_cidr; /* "10.96.0.0/12": routed on cni0 and from the host */
    const char *cluster_cidr; /* "10.244.0.0/16": sources outside it are masqueraded */
    int debounce_ms;          /* coalescing delay (50) */
};

/* Starts the informers and the thread. c and net are borrowed and must outlive the proxy;
 * o's strings are copied. NULL on error, with a message on stderr (a bad table name or
 * cluster CIDR, no nft binary). */
struct kc_proxy *kc_proxy_start(struct kc_client *c, struct kc_netnode *net,
                                const struct kc_proxy_options *o);
/* Stops the thread and the informers (shut the client down first, or their watches run
 * to their timeout), removes the table and the host's service route if it goes via this
 * node, frees p (NULL: nothing). */
void kc_proxy_stop(struct kc_proxy *p);
/* Removes the table from the node's namespace (for --cleanup). 0 or -1. */
int kc_proxy_delete_table(struct kc_netnode *net, const char *table);

#endif
