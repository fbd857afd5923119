/* A pod's sysctls (spec.securityContext.sysctls) as the OCI config's linux.sysctl, which
 * the runtime writes in the container's namespaces, as the kubelet passes them through CRI.
 * The apiserver allowed only namespaced names. */
#ifndef KUBEC_NODEAGENT_SYSCTLS_H
#define KUBEC_NODEAGENT_SYSCTLS_H

#include <jansson.h>

/* name -> value of the pod's (borrowed) sysctls, a name in the slash form
 * (kernel/shm_rmid_forced) turned into the dotted one as the kubelet does. New reference. */
json_t *kc_pod_sysctls(const json_t *pod);

#endif
