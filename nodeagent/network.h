/* Pod networking for nodes that are network namespaces of one machine.
 *
 * The host keeps a bridge (the fabric, e.g. kubec0 with 10.250.0.1/24); each node is a
 * network namespace with eth0 on the fabric (its InternalIP), its own bridge cni0 holding
 * the first address of the node's pod CIDR, IP forwarding, and a route to every other
 * node's pod CIDR via that node's InternalIP (host-gw). The host routes each pod CIDR via
 * its node, so pods answer from the host. A pod is a network namespace with eth0, a veth
 * whose other end is on cni0, its IP and a default route via cni0. Nothing has a default
 * route out of the machine.
 *
 * Everything is done with iproute2 (`ip`), as the runtime notes measured. */
#ifndef KUBEC_NODEAGENT_NETWORK_H
#define KUBEC_NODEAGENT_NETWORK_H

#include <stddef.h>

struct kc_netnode {
    char netns[64];   /* the node's namespace name under /run/netns */
    char bridge[16];  /* the fabric bridge in the host namespace */
    char gateway[48]; /* the fabric bridge's address with prefix, "10.250.0.1/24" */
    char node_ip[48]; /* the node's fabric address, no prefix */
    char host_veth[16];
    char pod_cidr[48]; /* once known */
};

/* Fills n's names from the options. */
void kc_netnode_init(struct kc_netnode *n, const char *netns, const char *bridge,
                     const char *gateway, const char *node_ip);
/* Creates (or finds) the fabric, the node namespace and its link. Idempotent. */
int kc_netnode_up(struct kc_netnode *n, char *err, size_t errlen);
/* The node's pod CIDR: cni0 with its first address, the host route. Idempotent. */
int kc_netnode_set_pod_cidr(struct kc_netnode *n, const char *cidr, char *err, size_t errlen);
/* A route in the node namespace to another node's pod CIDR. */
int kc_netnode_route(struct kc_netnode *n, const char *cidr, const char *via);
/* What Services need in the node namespace, made idempotently: bridged pod traffic
 * through netfilter (net.bridge.bridge-nf-call-iptables=1, or replies between pods of one
 * bridge skip conntrack), a route for the service CIDR on cni0 (or traffic the node
 * itself sends to a ClusterIP fails before the nat output hook), and in the host
 * namespace a route for the service CIDR via this node when there is none yet (the
 * first node wins). 0 done, 1 not yet (no pod CIDR, so no cni0), -1 with err. */
int kc_netnode_service_prereq(struct kc_netnode *n, const char *service_cidr, char *err,
                              size_t errlen);
/* Removes the host's service CIDR route if it goes via this node. */
void kc_netnode_service_route_down(struct kc_netnode *n, const char *service_cidr);
/* Runs argv inside the node namespace (nsenter --net, never `ip netns exec`, which
 * remounts /sys) with input on stdin; as kc_cmd_run. argv[0] is looked up in PATH. */
int kc_netnode_run(struct kc_netnode *n, char *const argv[], const char *input, char *out,
                   size_t outlen, int timeout_ms);

/* Removes the node namespace, its link and the host routes via the node. */
void kc_netnode_down(struct kc_netnode *n);

/* A listening TCP socket on addr:port made inside the node's namespace (usable from
 * anywhere afterwards); -1 with errno. */
int kc_netnode_listen(struct kc_netnode *n, const char *addr, int port);

/* The pod's network: netns is the pod's namespace name under /run/netns (already made),
 * ip its address in the node's pod CIDR. Idempotent. */
int kc_netpod_up(struct kc_netnode *n, const char *netns, const char *uid, const char *ip,
                 char *err, size_t errlen);
/* Deletes the pod's veth (and with it the pod end). */
void kc_netpod_down(struct kc_netnode *n, const char *uid);

#endif
