/* The Ingress controller's pieces around the proxy: the informers' state, the routing
 * table built from it (ingress_backends.c) and the status writer (ingress_status.c). */
#ifndef KUBEC_INGRESS_INGRESS_H
#define KUBEC_INGRESS_INGRESS_H

#include "client/client.h"
#include "client/informer.h"
#include "ingress/ingress_routes.h"

#include <pthread.h>

#define KC_INGRESS_CONTROLLER "kubec.io/ingress-controller"

struct ing_ctx {
    struct kc_client *client;
    struct kc_informer *ingresses, *classes, *services, *slices;
    struct ing_class_opts copts;
    const char *publish_ip;
    int publish_port; /* written into status ports unless 80 */
    /* the status writer thread */
    pthread_t status_thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool status_dirty, stopping, status_started;
};

/* Every Ingress this controller serves (new array of shared objects), oldest first. */
json_t *ing_served(struct ing_ctx *ctx);

/* px_build_fn: the routing table from the informers' caches, each backend resolved to its
 * ready endpoints. NULL on allocation failure. */
struct ing_routes *ing_build_routes(void *ctx);

/* The "svc" index of EndpointSlices: "namespace/service" from kubernetes.io/service-name. */
void ing_index_slice_service(const json_t *obj, kc_index_emit_fn emit, void *emit_ctx);

/* Status writer: a thread that keeps status.loadBalancer of served Ingresses at the
 * publish address, and clears ours from the ones no longer served. */
int ing_status_start(struct ing_ctx *ctx);
void ing_status_wake(struct ing_ctx *ctx);
void ing_status_stop(struct ing_ctx *ctx);

#endif
