/* Conversion between the old Ingress versions (extensions/v1beta1,
 * networking.k8s.io/v1beta1) and networking.k8s.io/v1, the storage version. */
#ifndef KUBEC_REGISTRY_INGRESS_H
#define KUBEC_REGISTRY_INGRESS_H

#include <jansson.h>

/* In place: backend {serviceName, servicePort} <-> {service: {name, port: {number|name}}},
 * spec.backend <-> spec.defaultBackend; an unset pathType becomes ImplementationSpecific. */
void kc_ingress_v1beta1_to_v1(json_t *ing);
void kc_ingress_v1_to_v1beta1(json_t *ing);

#endif
