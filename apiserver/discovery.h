/* Discovery documents built from the resource table: legacy (/api, /apis, /apis/G,
 * /api/v1, /apis/G/V) and aggregated (apidiscovery.k8s.io v2 and v2beta1). */
#ifndef KUBEC_DISCOVERY_H
#define KUBEC_DISCOVERY_H

#include <jansson.h>
#include <stdbool.h>

/* All return new references, or NULL when the group/version is not served. */
json_t *kc_discovery_api_versions(void);       /* /api (legacy) */
json_t *kc_discovery_group_list(void);         /* /apis (legacy) */
json_t *kc_discovery_group(const char *group); /* /apis/G */
json_t *kc_discovery_resource_list(const char *group, const char *version);
/* Aggregated: core=true for /api, false for /apis. apiversion "v2" or "v2beta1". */
json_t *kc_discovery_aggregated(bool core, const char *apiversion);

#endif
