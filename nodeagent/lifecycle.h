/* The kubelet's container lifecycle over a container driver: init containers in order,
 * containers started with their images, restart policy with the crash-loop back-off
 * (10 s doubling to 5 min, reset after 10 min of running), image pull back-off, startup,
 * liveness and readiness probes, graceful stops, termination messages, adoption of what a
 * previous agent left running.
 *
 * Each run of a container is a directory `<root>/pods/<uid>/<c|i>-<name>-<N>` (N the
 * restart count) where the driver keeps its bundle and the shim writes `pid`; its log is
 * `<root>/logs/<ns>_<pod>_<uid>/<name>/<N>.log` and, once ended, `<N>.exit` beside it. The
 * on-disk state is the truth: a restarted agent reads it back. */
#ifndef KUBEC_NODEAGENT_LIFECYCLE_H
#define KUBEC_NODEAGENT_LIFECYCLE_H

#include "client/events.h"
#include "nodeagent/env_sources.h"
#include "nodeagent/image_store.h"
#include "nodeagent/runtime.h"

#include <stdbool.h>
#include <stddef.h>

struct kc_driver;

/* Paths of one container run, filled by the lifecycle for the driver. */
struct kc_run_paths {
    char id[256];       /* the runtime's container id */
    char dir[1024];     /* the run's directory (exists) */
    char pod_dir[1024]; /* <root>/pods/<uid> */
    char log[1024];     /* the CRI log file */
    char exit[1024];    /* the exit file the shim writes */
    char pidfile[1024]; /* the container's init pid, written by the shim */
};

struct kc_driver_ops {
    const char *name; /* containerID scheme ("crun", "process") */
    /* The pod's sandbox (namespaces, network) with address ip. Idempotent. */
    int (*sandbox_up)(struct kc_driver *d, const json_t *pod, const char *ip, const char *pod_dir,
                      char *msg, size_t msglen);
    void (*sandbox_down)(struct kc_driver *d, const char *uid, const char *pod_dir);
    /* Starts one run of container ctr (borrowed) of pod from img through a shim. */
    int (*start)(struct kc_driver *d, const json_t *pod, const json_t *ctr,
                 const struct kc_image *img, const char *ip, const struct kc_run_paths *p,
                 char *msg, size_t msglen);
    /* Runs argv inside the running container (exec probes): its exit status, -1 if it
     * could not run, 128+9 when killed at timeout_ms. */
    int (*exec)(struct kc_driver *d, const struct kc_run_paths *p, char *const argv[],
                int timeout_ms, char *out, size_t outlen);
    /* Releases what the run held once it has ended (mounts, runtime state). */
    void (*cleanup)(struct kc_driver *d, const struct kc_run_paths *p);
    /* The address probes and the status report for a pod that has ip (the process driver
     * maps pod IPs to loopback ones). */
    void (*probe_addr)(struct kc_driver *d, const char *ip, char *out, size_t outlen);
    /* Starts argv in the running container of run p with its streams on pipes (see
     * kc_runtime_ops.exec): 0, or -1 with a message. */
    int (*exec_stream)(struct kc_driver *d, const struct kc_run_paths *p, char *const argv[],
                       const bool want[3], bool tty, struct kc_exec_proc *out, char *msg,
                       size_t msglen);
};

/* Fills the start of a `kubec shim` command line for run p (self: this executable; mode:
 * "--oci" or "--process"); returns how many entries it wrote (at most 9). */
int kc_shim_argv(char **argv, const char *self, const char *mode, const struct kc_run_paths *p);

struct kc_driver {
    const struct kc_driver_ops *ops;
};

/* A runtime running pods through driver d; root holds pods/ and logs/; images and rec
 * are borrowed. */
struct kc_runtime *kc_runtime_real_new(struct kc_driver *d, const char *root,
                                       struct kc_image_store *images, struct kc_recorder *rec);

/* The runtime (of kc_runtime_real_new) resolves containers' environment values from
 * env (borrowed, outlives it) before each start. */
void kc_runtime_real_set_env(struct kc_runtime *rt, const struct kc_env_lookup *env);

/* Drivers. */
struct kc_netnode;
struct kc_driver *kc_driver_oci_new(const char *crun, const char *state_root,
                                    const char *cgroup_parent, struct kc_netnode *net);
struct kc_driver *kc_driver_process_new(void);
/* oci: the pods' /etc/resolv.conf names the cluster DNS server at ip (the kube-dns
 * ClusterIP) with the search path of domain, for pods with dnsPolicy ClusterFirst. Both
 * copied; NULL ip: the image's own resolv.conf. */
void kc_driver_oci_set_dns(struct kc_driver *d, const char *ip, const char *domain);
/* Removes the cgroup rel ("kubec-node1") and everything below it in every hierarchy,
 * retrying for up to wait_ms while processes are still leaving. */
void kc_oci_remove_cgroups(const char *rel, int wait_ms);

/* Builds the container's process as Kubernetes defines it: args from command/args and the
 * image's Entrypoint/Cmd, env (image, then the container's with $(VAR) expansion and the
 * fieldRefs a node knows), working directory. New references in *args and *env. */
void kc_container_process(const json_t *pod, const json_t *ctr, const json_t *img_config,
                          const char *ip, const char *host_ip, json_t **args, json_t **env,
                          const char **cwd);

#endif
