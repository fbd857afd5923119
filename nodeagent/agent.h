/* The node agent (kubec's kubelet). One process serves one node, or many simulated
 * nodes (--simulate-nodes): each node has its registration, its Lease heartbeat, its pod
 * CIDR and IP allocations; pods bound to any of them are run by the runtime.
 *
 * Threads: informer threads enqueue; pod workers sync pods; one heartbeat thread renews
 * every node's Lease and status. struct kc_agent_node fields after `mu` are guarded by it. */
#ifndef KUBEC_NODEAGENT_AGENT_H
#define KUBEC_NODEAGENT_AGENT_H

#include "client/client.h"
#include "client/events.h"
#include "client/informer.h"
#include "client/workqueue.h"
#include "nodeagent/runtime.h"

#include <pthread.h>
#include <stdint.h>

struct kc_agent_options {
    const char *node_name; /* the node, or the prefix of simulated ones */
    int simulate_nodes;    /* 0: one real node named node_name */
    const char *runtime;   /* "simulated" */
    const char *cpu, *memory, *pods, *ephemeral_storage; /* capacity */
    int lease_duration_s;                                /* 40 */
    int lease_renew_ms;                                  /* 10000 */
    int status_report_ms;   /* node status heartbeat when nothing changed: 60000 */
    int sim_ready_delay_ms; /* simulated containers turn ready after this */
    int workers;            /* pod workers (8) */
    const char *root_dir;   /* --root-dir: logs/ under it (/var/lib/kubec/nodeagent/NODE) */
    int kubelet_port;       /* log server port, in the Node's daemonEndpoints (10250; 0: none) */
};

struct kc_agent_node {
    char *name;
    char internal_ip[32];
    pthread_mutex_t mu;
    uint32_t net, mask; /* spec.podCIDR as host-order integers; mask 0 while unknown */
    uint32_t nbits;     /* addresses in the CIDR */
    uint8_t *used;      /* allocation bitmap */
    char *lease_rv;     /* resourceVersion of our Lease */
};

struct kc_agent {
    struct kc_client *client;
    struct kc_agent_options opt;
    struct kc_runtime *rt;
    struct kc_recorder *rec;
    struct kc_agent_node *nodes;
    int nnodes;
    json_t *node_index; /* name -> index */
    struct kc_informer *pods, *node_inf;
    struct kc_workqueue *q;
    json_t *ips; /* pod uid -> ip (what we handed out) */
    pthread_mutex_t ips_mu;
    volatile int stop;
};

struct kc_agent_node *kc_agent_node_find(struct kc_agent *a, const char *name);

/* node_status.c */
int kc_agent_register_nodes(struct kc_agent *a);
int kc_agent_start_heartbeat(struct kc_agent *a);
/* Takes spec.podCIDR of a Node (borrowed) into the node's allocator. */
void kc_agent_node_set_cidr(struct kc_agent_node *n, const char *cidr);

/* pods.c */
int kc_agent_start_pods(struct kc_agent *a);

int kc_nodeagent_main(int argc, char **argv);

#endif
