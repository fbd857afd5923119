/* What the node agent asks of a container runtime, whichever it is: start a pod's
 * containers in a sandbox with a given IP, report their state, stop them within a grace
 * period. The `simulated` runtime (runtime_sim.c) runs nothing and reports containers
 * running; real runtimes (oci, process) implement the same operations.
 *
 * Threads: calls come from the agent's pod workers, several at once, never two for the
 * same pod uid at the same time. */
#ifndef KUBEC_NODEAGENT_RUNTIME_H
#define KUBEC_NODEAGENT_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>

struct kc_runtime;

/* One container's state as containerStatuses reports it. */
struct kc_container_state {
    char name[128];
    char id[160]; /* "<runtime>://<id>" */
    bool running, ready, started;
    int restart_count;
    double started_at; /* unix seconds */
};

struct kc_runtime_ops {
    const char *name; /* "simulated" */
    /* Starts every container of pod (borrowed) with the sandbox IP ip. 0, or -1 with a
     * reason ("ErrImagePull", "CreateContainerError") and message. */
    int (*start_pod)(struct kc_runtime *rt, const json_t *pod, const char *ip, char *reason,
                     size_t reasonlen, char *msg, size_t msglen);
    /* State of the pod's containers (up to max); number written, or -1 if unknown. */
    int (*pod_state)(struct kc_runtime *rt, const char *uid, struct kc_container_state *out,
                     int max);
    /* Stops the pod: SIGTERM, then SIGKILL after grace_seconds; frees its sandbox. */
    int (*stop_pod)(struct kc_runtime *rt, const char *uid, long grace_seconds);
    void (*destroy)(struct kc_runtime *rt);
};

struct kc_runtime {
    const struct kc_runtime_ops *ops;
};

/* The simulated runtime: containers "run" at once and are ready after ready_delay_ms. */
struct kc_runtime *kc_runtime_sim_new(int ready_delay_ms);

#endif
