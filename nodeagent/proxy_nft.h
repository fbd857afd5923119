/* The Service dataplane's rules as nftables text: a pure generator (no I/O), so the
 * layout can be unit-tested and checked with `nft -c`.
 *
 * A model holds service ports (a ClusterIP, a protocol, a port, an optional NodePort and
 * session affinity) and each one's ready endpoints (ip:port). Rendering gives one `nft -f`
 * file, one transaction: either a replace (`table ip T` so that the delete never fails,
 * `delete table ip T`, the whole new table) or an update in place from the model loaded
 * before (kc_nft_model_render_update). The layout follows kube-proxy's nftables mode:
 *
 *   nat prerouting (dstnat) and output (-100: nft 1.0.6 refuses dstnat there) jump
 *   `services`, which looks `daddr . l4proto . dport` up in the verdict map service-ips,
 *   and for local addresses (`fib daddr type local`) `l4proto . dport` in
 *   service-nodeports. A service chain marks 0x4000 (masquerade) when the source is not a
 *   pod (outside the cluster CIDR), then picks a ready endpoint at random (kube-proxy's
 *   semantics): `dnat ip to numgen random mod N map { i : ip . port }`, one rule. With
 *   ClientIP affinity it first sends known clients to their endpoint's chain
 *   (`ip saddr @aff-... goto ep-...`), then `numgen random mod N vmap` to endpoint chains,
 *   each recording the client in its set (`update`, the timeout refreshed) and DNATing.
 *   (kube-proxy has an endpoint chain for every endpoint; here only affinity needs one:
 *   1,000 services x 10 endpoints load several times faster without 10,000 chains.) A
 *   NodePort's chain always marks. nat postrouting masquerades marked packets, and
 *   hairpin packets (an endpoint sent to itself: `saddr . daddr` in the set hairpin, one
 *   `ip . ip` element per endpoint address), whose reply must come back through the node.
 *   Service ports without ready endpoints are in the sets no-endpoint-ips/-nodeports,
 *   which filter chains on input, forward and output reject (TCP reset, ICMP port
 *   unreachable), as kube-proxy does, so clients fail at once instead of timing out.
 *
 * Chain names carry the service (`svc-NS/NAME/tcp/80`, `ep-NS/NAME/tcp/80__IP/PORT`), so
 * `nft list table ip kubec` reads like the API. Output is sorted: the same model always
 * gives the same text, which lets the caller skip loads that would change nothing.
 *
 * Only IPv4 TCP and UDP service ports are rendered; everything else is skipped. */
#ifndef KUBEC_NODEAGENT_PROXY_NFT_H
#define KUBEC_NODEAGENT_PROXY_NFT_H

#include <jansson.h>
#include <stddef.h>

struct kc_nft_model;

/* One service port. Strings are copied. */
struct kc_nft_port {
    const char *ns, *name; /* the Service */
    const char *proto;     /* "tcp" or "udp" */
    const char *vip;       /* the ClusterIP */
    int port;              /* the Service port */
    int node_port;         /* 0: none */
    int affinity_s;        /* ClientIP session affinity timeout; 0: none */
};

/* table: the nftables table (ip family); cluster_cidr: pods' addresses ("10.244.0.0/16"),
 * sources outside it are masqueraded. Copied. NULL when either is invalid. */
struct kc_nft_model *kc_nft_model_new(const char *table, const char *cluster_cidr);
void kc_nft_model_free(struct kc_nft_model *m);

/* Adds a service port; its index, or -1 when a field is invalid (not an IPv4 address, a
 * protocol other than tcp/udp, a port out of range, a name with characters an nft
 * identifier cannot hold) or the same vip/proto/port is already there. */
int kc_nft_model_add_port(struct kc_nft_model *m, const struct kc_nft_port *p);
/* Adds a ready endpoint ip:port to service port idx (duplicates are ignored). 0, or -1
 * when invalid. */
int kc_nft_model_add_endpoint(struct kc_nft_model *m, int idx, const char *ip, int port);

/* Adds what a v1 Service (borrowed) and its v1 Endpoints (borrowed, may be NULL) call for:
 * one service port per TCP/UDP port of a service with an IPv4 clusterIP; nothing for
 * ExternalName or headless services. Each port's endpoints are the ready addresses of the
 * Endpoints subsets carrying a port with the same name and protocol (the endpoints
 * controller resolved named targetPorts per pod; hand-made Endpoints work the same way).
 * Returns the number of service ports added. */
int kc_nft_model_add_service(struct kc_nft_model *m, const json_t *svc, const json_t *eps);

/* Counts, for logs and benchmarks. */
size_t kc_nft_model_ports(const struct kc_nft_model *m);
size_t kc_nft_model_endpoints(const struct kc_nft_model *m);

/* The `nft -f` text that replaces the table with the model. malloc'd, caller frees.
 * Sorts the model's endpoints in place. */
char *kc_nft_model_render(const struct kc_nft_model *m);
/* The `nft -f` text that turns the table loaded from prev (the model of the last successful
 * load, borrowed) into m's in one transaction, keeping the elements of the sets both have,
 * that is the clients of session affinity: it flushes every rule, the maps and the fixed
 * sets, deletes the chains and sets m no longer has, then declares m's table (objects that
 * exist stay). A set whose definition changed (another affinity timeout) makes the load
 * fail: the caller then loads kc_nft_model_render(m). prev NULL: kc_nft_model_render(m).
 * malloc'd, caller frees. */
char *kc_nft_model_render_update(const struct kc_nft_model *m, const struct kc_nft_model *prev);
/* The `nft -f` text that removes the table if it exists. malloc'd, caller frees. */
char *kc_nft_render_delete(const char *table);

#endif
