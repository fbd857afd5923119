/* Strategies of the resources with behaviour beyond the generic registry. */
#ifndef KUBEC_REGISTRY_STRATEGIES_H
#define KUBEC_REGISTRY_STRATEGIES_H

#include "apiserver/resources.h"

extern const struct kc_strategy kc_pod_strategy;
extern const struct kc_strategy kc_service_strategy;
extern const struct kc_strategy kc_namespace_strategy;
extern const struct kc_strategy kc_deployment_strategy;
extern const struct kc_strategy kc_replicaset_strategy;

/* Marks the IPs and ports of a stored Service as used (startup rebuild). */
void kc_service_restore(struct kc_server *srv, const json_t *svc);

#endif
