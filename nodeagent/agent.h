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
#include "nodeagent/env_sources.h"
#include "nodeagent/runtime.h"

#include <pthread.h>
#include <stdbool.h>
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
    /* real runtimes */
    const char *root_dir;       /* pods/ and logs/ (/var/lib/kubec/nodeagent/<node>) */
    const char *image_dir;      /* the image store, shared by the nodes of a machine */
    const char *image_registry; /* a registry on loopback mirroring every image */
    const char *image_layouts;  /* a directory of OCI layouts */
    const char *crun;           /* the OCI runtime binary */
    const char *node_netns;     /* oci: the node's network namespace (kubec-<node>) */
    const char *node_ip;        /* oci: the node's address on the fabric */
    const char *fabric_bridge;  /* oci: the host bridge joining the nodes (kubec0) */
    const char *fabric_gateway; /* oci: its address (10.250.0.1/24) */
    const char *cluster_dns;    /* oci: the cluster DNS server's ClusterIP, or NULL */
    const char *cluster_domain; /* (cluster.local) */
    int kubelet_port;         /* log server port, in the Node's daemonEndpoints (10250; 0: none) */
    bool proxy;               /* oci: the Service dataplane (true) */
    const char *service_cidr; /* 10.96.0.0/12 */
    const char *cluster_cidr; /* 10.244.0.0/16: what is not a pod gets masqueraded */
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

struct kc_proxy;

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
    struct kc_netnode *net;   /* oci: the node's network (NULL otherwise) */
    struct kc_proxy *proxy;   /* oci: the Service dataplane (NULL otherwise) */
    char runtime_version[64]; /* nodeInfo.containerRuntimeVersion, "crun://1.8.1" */
    json_t *routes;           /* node name -> "cidr via ip" routed in our namespace */
    json_t *ips;              /* pod uid -> ip (what we handed out) */
    struct kc_env_api env;    /* real runtimes: containers' environment values from the API */
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
