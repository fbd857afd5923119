/* The endpoints of the `kubernetes` Service, kept by the apiserver itself as upstream's
 * master endpoints reconciler does (pkg/controlplane/reconcilers): an Endpoints object and
 * an EndpointSlice, both default/kubernetes, with this server's advertised address and
 * secure port (the plain HTTP port when there is none). */
#ifndef KUBEC_MASTER_ENDPOINTS_H
#define KUBEC_MASTER_ENDPOINTS_H

struct kc_server;
struct kc_master_endpoints;

/* Writes both objects now (when missing or different) and again every 10 s from a thread
 * of its own, so that a deleted or changed object comes back. NULL when the thread does
 * not start. */
struct kc_master_endpoints *kc_master_endpoints_start(struct kc_server *srv);
/* Ends the thread (within 100 ms) and frees; NULL is fine. */
void kc_master_endpoints_stop(struct kc_master_endpoints *m);

/* One round (for tests): 0 when both objects are as they should be. */
int kc_master_endpoints_reconcile(struct kc_server *srv);

#endif
