/* What the node agent asks of a runtime, whichever it is: bring a pod to what its spec
 * says (start, restart, probe), report its containers as containerStatuses describe them,
 * stop it within a grace period.
 *
 * Runtimes: `simulated` (runtime_sim.c: nothing runs, containers are ready after a delay),
 * and the real ones built on lifecycle.c (init containers, restart policy with back-off,
 * probes) over a container driver: `oci` (crun, driver_oci.c) and `process` (plain child
 * processes, driver_process.c).
 *
 * Threads: calls come from the agent's pod workers, several at once, never two for the
 * same pod uid at the same time. */
#ifndef KUBEC_NODEAGENT_RUNTIME_H
#define KUBEC_NODEAGENT_RUNTIME_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct kc_runtime;

enum kc_cstate { KC_C_WAITING, KC_C_RUNNING, KC_C_TERMINATED };

/* One finished run of a container (state.terminated / lastState.terminated). */
struct kc_container_term {
    int exit_code, signal;
    char reason[64];   /* Completed, Error, OOMKilled, ContainerStatusUnknown */
    char message[512]; /* the termination message, if any */
    double started_at, finished_at;
    char id[160];
};

/* One container's state as containerStatuses reports it. */
struct kc_container_state {
    char name[128];
    char id[160]; /* "<runtime>://<id>", empty before the first start */
    bool init;    /* an init container */
    enum kc_cstate state;
    char reason[64];   /* waiting: ContainerCreating, CrashLoopBackOff, ErrImagePull, ... */
    char message[512]; /* waiting message */
    double started_at; /* running */
    struct kc_container_term term; /* terminated */
    bool has_last;
    struct kc_container_term last; /* lastState.terminated */
    bool ready, started;
    int restart_count;
    char image_id[600];
};

/* What a sync learnt about the pod as a whole. */
struct kc_pod_report {
    int n;                                 /* containers in states (init containers first) */
    bool sandbox;                          /* PodReadyToStartContainers */
    bool initialized;                      /* every init container succeeded */
    long requeue_ms;                       /* look again after this (0: only on changes) */
    char event_reason[64], event_msg[512]; /* an event to record, if reason is set */
    bool event_warning;
};

/* A command started in a container by a streaming exec: our child (leading its own
 * process group) and the parent's ends of its stdin, stdout and stderr pipes, -1 for the
 * streams not asked for; non-blocking, close-on-exec, owned by the caller. With a terminal,
 * in and out are two descriptors of its master, and err, when not -1, carries what the
 * runtime itself says (crun's errors). */
struct kc_exec_proc {
    int pid;
    int in, out, err;
};

/* What exec answers when the container has no running run. */
#define KC_EXEC_NOT_RUNNING (-2)

struct kc_runtime_ops {
    const char *name;
    /* Brings pod (borrowed) toward its spec with sandbox IP ip and reports its containers
     * (up to max) in out. 0, or -1 if the pod cannot be run at all (report says why). */
    int (*sync_pod)(struct kc_runtime *rt, const json_t *pod, const char *ip,
                    struct kc_container_state *out, int max, struct kc_pod_report *report);
    /* Stops the pod: SIGTERM, SIGKILL once grace_seconds have passed since the first call,
     * then frees its sandbox. Never blocks for the grace period: 1 while still stopping
     * (call again), 0 when everything is gone. */
    int (*stop_pod)(struct kc_runtime *rt, const json_t *pod, long grace_seconds);
    /* Pod uids the runtime has state for (adoption and clean-up after a restart). New
     * reference: an array of strings. */
    json_t *(*list_pods)(struct kc_runtime *rt);
    /* Removes what is left of a pod the API no longer has. */
    void (*forget_pod)(struct kc_runtime *rt, const char *uid);
    /* The address the pod is reachable at for an allocated ip (NULL op: ip itself; the
     * process runtime answers on loopback addresses). */
    void (*pod_address)(struct kc_runtime *rt, const char *ip, char *out, size_t outlen);
    void (*destroy)(struct kc_runtime *rt);
    /* Streaming exec (what the kubelet's /exec runs): with argv NULL, only says whether
     * container ctr of pod uid runs now; otherwise starts argv (borrowed) in it with the
     * streams asked for in want (stdin, stdout, stderr) on pipes, or with tty on a new
     * terminal, filling *out. 0; KC_EXEC_NOT_RUNNING; -1 with a message in msg when the
     * command could not be started. NULL op: the runtime cannot exec. Safe from any
     * thread. */
    int (*exec)(struct kc_runtime *rt, const char *uid, const char *ctr, char *const argv[],
                const bool want[3], bool tty, struct kc_exec_proc *out, char *msg, size_t msglen);
};

struct kc_runtime {
    const struct kc_runtime_ops *ops;
};

/* The simulated runtime: containers "run" at once and are ready after ready_delay_ms. */
struct kc_runtime *kc_runtime_sim_new(int ready_delay_ms);

#endif
