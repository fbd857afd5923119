/* The parts of a container's environment that the kubelet takes from the API rather than
 * from the pod (kubelet_pods.go makeEnvironmentVariables, envvars.go):
 *   - the service links: <SVC>_SERVICE_HOST, <SVC>_SERVICE_PORT, <SVC>_PORT_<p>_TCP...
 *     for the Services of the pod's namespace (spec.enableServiceLinks, default true) and
 *     always for default/kubernetes;
 *   - envFrom: every key of a ConfigMap or Secret, after an optional prefix; keys that
 *     are not environment variable names are skipped with a Warning event;
 *   - env valueFrom configMapKeyRef, secretKeyRef (optional ones left out when missing)
 *     and resourceFieldRef (limits not set default to the node's allocatable).
 * A missing non-optional source is an error: the container does not start
 * (CreateContainerConfigError), as upstream. */
#ifndef KUBEC_NODEAGENT_ENV_SOURCES_H
#define KUBEC_NODEAGENT_ENV_SOURCES_H

#include "client/client.h"
#include "client/events.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Where the values come from; the API (kc_env_api_init) or a test's fakes. */
struct kc_env_lookup {
    /* Object name of resource r in namespace ns: a new reference; NULL with *not_found
     * when the API has none, NULL with msg on other failures. */
    json_t *(*get)(void *ctx, const struct kc_gvr *r, const char *ns, const char *name,
                   bool *not_found, char *msg, size_t msglen);
    /* The Services of namespace ns: a new reference to an array, NULL on failure. */
    json_t *(*services)(void *ctx, const char *ns);
    /* The node's status.allocatable: a new reference, NULL when unknown. */
    json_t *(*allocatable)(void *ctx);
    /* A Warning event about pod (borrowed); NULL: none. */
    void (*warn)(void *ctx, const json_t *pod, const char *reason, const char *msg);
    void *ctx;
};

/* The lookup answered by the API through c for node node (copied), its events recorded
 * by rec (both borrowed; rec may be NULL). */
struct kc_env_api {
    struct kc_env_lookup lookup;
    struct kc_client *c;
    struct kc_recorder *rec;
    char node[256];
};
void kc_env_api_init(struct kc_env_api *e, struct kc_client *c, struct kc_recorder *rec,
                     const char *node);

/* A copy of container ctr of pod (both borrowed) whose env carries every value above
 * resolved, in the kubelet's order of precedence (service links, then envFrom, then
 * env), and no envFrom: what kc_container_process expects. Values taken from the API are
 * written with `$` doubled so that the $(VAR) expansion leaves them as they are. 0 with a
 * new reference in *out, or -1 with why in msg. */
int kc_env_sources_apply(const struct kc_env_lookup *l, const json_t *pod, const json_t *ctr,
                         json_t **out, char *msg, size_t msglen);

#endif
