/* The pods/binding subresource. */
#ifndef KUBEC_REGISTRY_PODS_H
#define KUBEC_REGISTRY_PODS_H

#include "lib/status.h"

#include <jansson.h>

struct kc_server;

/* Assigns a pod to a node (Binding.target.name): sets spec.nodeName once, records the
 * PodScheduled condition. 409 when already bound. */
int kc_pod_bind(struct kc_server *srv, const char *ns, const char *name, const json_t *binding,
                struct kc_status *st);

#endif
