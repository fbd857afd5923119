/* The controller manager's shared parts: one client, shared informers, the options, and the
 * registry of controllers. Each controller lives in its own file (ctl_*.c) and exposes one
 * start function; kc_controllers_main() starts the informers each controller asks for,
 * waits for their caches, then starts the controllers' workers.
 *
 * A controller's start function runs before the informers start: it adds its handlers
 * (and indexes) to the shared informers and starts its worker threads, which must call
 * kc_ctl_wait_synced() before their first sync. */
#ifndef KUBEC_CONTROLLERS_CONTROLLER_H
#define KUBEC_CONTROLLERS_CONTROLLER_H

#include "client/client.h"
#include "client/events.h"
#include "client/informer.h"
#include "client/workqueue.h"

#include <stdbool.h>
#include <stdio.h>

struct kc_ctl_options {
    int concurrent_syncs;        /* workers per controller, --concurrent-syncs (2) */
    int node_monitor_period_ms;  /* --node-monitor-period (5s) */
    int node_monitor_grace_ms;   /* --node-monitor-grace-period (40s) */
    int node_startup_grace_ms;   /* --node-startup-grace-period (60s) */
    int pod_eviction_timeout_ms; /* default tolerationSeconds when a pod has none: 300s */
    int gc_sync_period_ms;       /* how often GC rescans every resource (30s) */
    bool allocate_node_cidrs;    /* --allocate-node-cidrs (true) */
    const char *cluster_cidr;    /* --cluster-cidr (10.244.0.0/16) */
    int node_cidr_mask_size;     /* --node-cidr-mask-size (24) */
};

struct kc_ctl_ctx {
    struct kc_client *client;
    struct kc_ctl_options opt;
    /* Shared informers, all namespaces. Indexes present: "namespace" on all;
     * "owner" (owner uid) on pods and replicasets; "node" (spec.nodeName) on pods. */
    struct kc_informer *pods, *replicasets, *deployments, *services, *endpoints, *endpointslices,
        *namespaces, *nodes, *leases;
    /* Set by the manager when shutting down; workers leave when their queue's get returns NULL. */
    volatile int stopping;
};

/* Waits until every shared informer has synced (or shutdown). */
bool kc_ctl_wait_synced(struct kc_ctl_ctx *ctx);

/* Registers a work queue so that /metrics reports it and shutdown stops it. */
void kc_ctl_register_queue(struct kc_ctl_ctx *ctx, struct kc_workqueue *q);

/* Starts n threads running fn(arg). Returns 0 or -1. Threads are detached; they must exit
 * when their queue shuts down. */
int kc_ctl_spawn_workers(int n, void *(*fn)(void *), void *arg);

/* Enqueues the key of obj (borrowed). */
void kc_ctl_enqueue_obj(struct kc_workqueue *q, const json_t *obj);

/* The controller of obj: the ownerReference with controller=true, or NULL. Borrowed. */
const json_t *kc_ctl_controller_ref(const json_t *obj);

/* Pod state helpers as upstream's podutil defines them. */
bool kc_pod_is_active(const json_t *pod); /* not Succeeded/Failed, no deletionTimestamp */
bool kc_pod_is_ready(const json_t *pod);  /* condition Ready=True */
/* Ready for at least min_ready_seconds at time now (unix seconds). */
bool kc_pod_is_available(const json_t *pod, int min_ready_seconds, double now);

/* The controllers. Each returns 0, or -1 after printing why. */
int kc_ctl_replicaset_start(struct kc_ctl_ctx *ctx);
int kc_ctl_deployment_start(struct kc_ctl_ctx *ctx);
int kc_ctl_gc_start(struct kc_ctl_ctx *ctx);
int kc_ctl_namespace_start(struct kc_ctl_ctx *ctx);
int kc_ctl_endpoints_start(struct kc_ctl_ctx *ctx);
int kc_ctl_endpointslice_start(struct kc_ctl_ctx *ctx);
int kc_ctl_nodelifecycle_start(struct kc_ctl_ctx *ctx);
int kc_ctl_nodeipam_start(struct kc_ctl_ctx *ctx);
int kc_ctl_endpointslicemirroring_start(struct kc_ctl_ctx *ctx);

int kc_controllers_main(int argc, char **argv);

#endif
