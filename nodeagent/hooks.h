/* Container lifecycle hooks (spec.containers[].lifecycle.postStart / preStop), run as the
 * kubelet's handler runner does: exec in the container, or an HTTP GET whose answer's status
 * does not matter (only failing to get one does). */
#ifndef KUBEC_NODEAGENT_HOOKS_H
#define KUBEC_NODEAGENT_HOOKS_H

#include "nodeagent/lifecycle.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* A handler's or probe's port: a number, or the name of one of ctr's (borrowed) ports; -1
 * when it names none. */
int kc_container_port(const json_t *ctr, const json_t *port);

/* Runs handler (borrowed: a LifecycleHandler) of container ctr (borrowed) in run p; addr is
 * the pod's address (httpGet's default host). 0, or -1 with why in the kubelet's words. A
 * handler runs at most timeout_ms (exec is killed then). */
int kc_hook_run(struct kc_driver *d, const json_t *ctr, const json_t *handler, const char *addr,
                const struct kc_run_paths *p, int timeout_ms, char *why, size_t whylen);

/* What a preStop hook needs once the pod's spec is gone: started by kc_hook_prestop_async,
 * which owns it. */
struct kc_prestop {
    struct kc_driver *d;
    struct kc_recorder *rec; /* events (may be NULL) */
    json_t *pod;             /* owned: a copy, for the event's object */
    json_t *ctr;             /* owned */
    char addr[64];
    struct kc_run_paths p;
    int pid;        /* the run's init, signalled after the hook */
    int timeout_ms; /* the grace period */
};

/* Runs ctr's preStop hook on a thread of its own, then sends SIGTERM to s->pid, so a stop
 * never blocks a worker for the hook. Takes s (allocated by the caller with malloc). 0, or
 * -1 when no thread could start (s freed, nothing sent). */
int kc_hook_prestop_async(struct kc_prestop *s);

#endif
