/* API discovery as the controllers need it: every top-level resource of the preferred
 * version of each group, as client-go's ServerPreferredResources walks them. */
#ifndef KUBEC_CLIENT_DISCOVERY_H
#define KUBEC_CLIENT_DISCOVERY_H

#include "client/client.h"

#include <stdbool.h>

/* resource: the APIResource object (borrowed for the call). group is "" for core;
 * group_version is "v1" or "apps/v1". */
typedef void (*kc_discovery_fn)(void *ctx, const char *group, const char *version,
                                const char *group_version, const json_t *resource);
/* A document that could not be had: "v1", "apis" (the group list) or a groupVersion. */
typedef void (*kc_discovery_failed_fn)(void *ctx, const char *group_version);

/* Walks /api/v1 and the preferred version of every group under /apis, calling fn for each
 * resource (subresources skipped) and failed (may be NULL) for each document missing.
 * Returns the number of documents missing. */
int kc_discover_preferred(struct kc_client *c, kc_discovery_fn fn, kc_discovery_failed_fn failed,
                          void *ctx);

bool kc_discovery_has_verb(const json_t *resource, const char *verb);

#endif
