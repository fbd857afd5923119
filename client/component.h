/* What kubec's API-client components (the controller manager, the scheduler, later the
 * node agents) share around their main: the connection and leader-election flags, the
 * campaign, a loopback /metrics server, and signal handling. `prog` is the component's
 * name in messages ("controllers", "scheduler"). */
#ifndef KUBEC_CLIENT_COMPONENT_H
#define KUBEC_CLIENT_COMPONENT_H

#include "client/client.h"
#include "client/leader.h"

#include <stdbool.h>
#include <stdio.h>

struct kc_component_flags {
    const char *kubeconfig, *master;
    bool leader_elect;
    long lease_ms, renew_ms, retry_ms;
    const char *lease_name, *lease_ns;
    int metrics_port;
};

/* Defaults as upstream: leader election on, 15 s / 10 s / 2 s, kube-system/<lease_name>,
 * no metrics port. */
void kc_component_flags_init(struct kc_component_flags *f, const char *lease_name);
/* The usage lines of the shared flags. */
void kc_component_usage(FILE *out, const char *lease_name);

/* Reads the flag at argv[*i]: "--name=value" or "--name value" (advancing *i), or a lone
 * "--leader-elect" meaning true. Returns 0 with name/val set, 1 for --help/-h, -1 after
 * printing why. */
int kc_flag_next(const char *prog, int argc, char **argv, int *i, char *name, size_t namelen,
                 const char **val);
/* A duration flag's value in milliseconds; -1 after printing why. */
long kc_flag_duration(const char *prog, const char *name, const char *val);
/* Takes a shared flag: 1 when name is one, 0 when not, -1 on a bad value (printed). */
int kc_component_flag(const char *prog, struct kc_component_flags *f, const char *name,
                      const char *val);

/* Connects as the flags say (--master alone, or a kubeconfig). 0, or -1 (printed). */
int kc_component_connect(const char *prog, const struct kc_component_flags *f,
                         const char *user_agent, struct kc_client **out);

/* /metrics (write_metrics fills the text) and /healthz on 127.0.0.1:port. NULL when port
 * is 0, or when it cannot listen (printed; the component runs on without it). */
struct kc_metrics_server;
struct kc_metrics_server *kc_metrics_serve(const char *prog, int port,
                                           void (*write_metrics)(FILE *f, void *ctx), void *ctx);
void kc_metrics_stop(struct kc_metrics_server *m);

/* Campaigns for the flags' Lease with a unique identity (host_pid_nonce); NULL with
 * --leader-elect=false (the caller starts at once) or on failure. */
struct kc_leader *kc_component_campaign(const char *prog, struct kc_client *c,
                                        const struct kc_component_flags *f, void (*started)(void *),
                                        void (*stopped)(void *), void *ctx);

/* Blocks SIGINT and SIGTERM in this and every later thread (and ignores SIGPIPE); then
 * kc_component_wait_signal() returns the first of them to arrive. */
void kc_component_block_signals(void);
int kc_component_wait_signal(void);

#endif
