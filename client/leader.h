/* Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: acquire the
 * Lease when it is free or its holder let it expire (renewTime + leaseDurationSeconds in
 * the past), renew every retry period, step down when renewal fails for renew_deadline.
 * Writes use the Lease's resourceVersion, so two candidates never both win. */
#ifndef KUBEC_CLIENT_LEADER_H
#define KUBEC_CLIENT_LEADER_H

#include "client/client.h"

struct kc_leader;

struct kc_leader_config {
    const char *ns;        /* "kube-system" */
    const char *name;      /* "kube-controller-manager" */
    const char *identity;  /* unique per process: "host_uuid" */
    int lease_duration_ms; /* 15000 */
    int renew_deadline_ms; /* 10000 */
    int retry_period_ms;   /* 2000 */
    /* Called on the election thread when leadership is gained / lost. After losing, the
     * process should exit (as kube-controller-manager does). */
    void (*on_started_leading)(void *ctx);
    void (*on_stopped_leading)(void *ctx);
    void *ctx;
};

/* Starts the election thread. The config strings are copied. */
struct kc_leader *kc_leader_start(struct kc_client *c, const struct kc_leader_config *cfg);
bool kc_leader_is_leader(struct kc_leader *l);
/* Stops campaigning; a leader releases the Lease (empty holder) so another takes over now. */
void kc_leader_stop(struct kc_leader *l);
void kc_leader_free(struct kc_leader *l);

#endif
