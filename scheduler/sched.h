/* The scheduler's shared types: resources, the node snapshot, the pod being scheduled,
 * and the scheduling algorithm (filter and score plugins) that runs on them.
 *
 * Threads: the algorithm runs on the scheduling thread only, with the snapshot locked
 * (nothing changes under it). Ownership: json_t pointers in these structs are shared,
 * immutable objects (from the informers or the assumed-pod copies): never modify them,
 * incref to keep them. */
#ifndef KUBEC_SCHEDULER_SCHED_H
#define KUBEC_SCHEDULER_SCHED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Amounts as the scheduler counts them: CPU in millicores, memory and ephemeral storage
 * in bytes, pods as a count. */
struct kc_sched_resources {
    int64_t milli_cpu;
    int64_t memory;
    int64_t ephemeral_storage;
    int64_t pods;
};

/* One node and what is placed on it (bound pods and pods assumed by this scheduler). */
struct kc_sched_node {
    char *name;
    const json_t *node;                    /* the Node */
    struct kc_sched_resources allocatable; /* status.allocatable (capacity if absent) */
    struct kc_sched_resources requested;   /* sum of the pods' requests (pods = count) */
    struct kc_sched_resources nonzero;     /* the same with 100m / 200Mi for unset requests */
    json_t *pods;                          /* array of the pods on the node (shared) */
    json_t *host_ports;                    /* array of {"ip","protocol","port"} in use */
    uint64_t generation;                   /* changes on every change; unique across the cache */
};

/* All nodes, in a stable order. */
struct kc_sched_snapshot {
    struct kc_sched_node **nodes;
    size_t n;
};

#define KC_SCHED_STATE_SLOTS 8

/* The pod being scheduled. req / nonzero are filled by kc_sched_pod_init. */
struct kc_sched_pod {
    const json_t *pod;
    struct kc_sched_resources req; /* pods = 1 */
    struct kc_sched_resources nonzero;
    void *state[KC_SCHED_STATE_SLOTS]; /* per-cycle plugin state (see plugins) */
};

/* ---- resources (scheduler/resources.c) ---- */

/* Requests of a pod as the real scheduler computes them: for each resource the larger of
 * the sum over containers and the largest init container (restartable init containers,
 * "sidecars", add to the sum), plus spec.overhead. nonzero: containers with no cpu or
 * memory request count 100m and 200Mi (used in scoring only). Either may be NULL. */
void kc_sched_pod_requests(const json_t *pod, struct kc_sched_resources *req,
                           struct kc_sched_resources *nonzero);
/* status.allocatable of a Node (status.capacity when allocatable is missing). */
void kc_sched_node_allocatable(const json_t *node, struct kc_sched_resources *out);

void kc_sched_pod_init(struct kc_sched_pod *p, const json_t *pod);
/* Releases plugin state. */
void kc_sched_pod_release(struct kc_sched_pod *p);

/* ---- the algorithm (scheduler/algorithm.c, plugins in scheduler/plugin_*.c) ---- */

/* Picks a node for the pod among the snapshot's nodes: filters (NodeUnschedulable,
 * NodeName, NodeSelector/NodeAffinity, TaintToleration, NodeResourcesFit, NodePorts,
 * InterPodAffinity, PodTopologySpread), then scores the feasible ones (least-allocated,
 * balanced allocation, preferred node affinity, PreferNoSchedule taints, spreading of a
 * controller's pods, topology spread, inter-pod preferences) and takes the best (ties
 * broken at random). Like kube-scheduler, with many nodes it stops filtering once it
 * has enough feasible nodes (percentageOfNodesToScore, adaptive; starting where the
 * previous cycle stopped), so a cycle does not cost every node.
 * Returns the index of the chosen node, or -1 with the FailedScheduling message in msg,
 * worded as upstream: "0/5 nodes are available: 3 Insufficient cpu, 2 node(s) had
 * untolerated taint {node-role.kubernetes.io/control-plane: }. preemption: 0/5 nodes are
 * available: 5 No preemption victims found for incoming pod.." (the preemption sentence
 * as 1.28+ prints it when nothing can be preempted, with upstream's double period: the
 * preemption message ends in "." and the outer format adds another). */
int kc_sched_schedule_one(struct kc_sched_pod *p, const struct kc_sched_snapshot *s, char *msg,
                          size_t msglen);

#endif
