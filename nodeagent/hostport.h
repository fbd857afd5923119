/* hostPorts on nodes that are network namespaces: the CNI portmap plugin's role, which the
 * kubelet leaves to the runtime. Each pod with ports[].hostPort gets an nft table of its own
 * in the node's namespace, `table ip kchp_<uid>`: nat prerouting and output (priority -101,
 * before the Services table) DNAT <hostIP or any local address>:<hostPort>/<protocol> to
 * <podIP>:<containerPort>, and postrouting masquerades what the node sends from loopback
 * (hostIP 127.0.0.1; route_localnet is turned on in the node's namespace for it) so the
 * pod's replies come back. The table goes with the pod. */
#ifndef KUBEC_NODEAGENT_HOSTPORT_H
#define KUBEC_NODEAGENT_HOSTPORT_H

#include "nodeagent/network.h"

#include <jansson.h>
#include <stddef.h>

/* The nft script for pod's hostPorts to pod_ip, into out: its length, 0 when the pod has
 * none, -1 when it does not fit. */
int kc_hostport_render(const json_t *pod, const char *pod_ip, char *out, size_t len);
/* Loads it in the node's namespace: 1 done, 0 nothing to do, -1 with err. */
int kc_hostport_up(struct kc_netnode *n, const json_t *pod, const char *pod_ip, char *err,
                   size_t errlen);
/* Removes the pod's table. */
void kc_hostport_down(struct kc_netnode *n, const char *uid);

#endif
