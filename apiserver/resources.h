/* The resource table: every served resource described once. Discovery, routing, storage
 * keys, Table printing and the registry's strategy hooks all read this table; adding a
 * resource means adding one entry (see resources.c) and, when it has special semantics,
 * a strategy file registry_<resource>.c.
 */
#ifndef KUBEC_RESOURCES_H
#define KUBEC_RESOURCES_H

#include "lib/status.h"

#include <jansson.h>
#include <stdbool.h>

struct kc_server;

enum kc_subresource_flags {
    KC_SUB_STATUS = 1 << 0,
    KC_SUB_SCALE = 1 << 1,
    KC_SUB_BINDING = 1 << 2,
    KC_SUB_FINALIZE = 1 << 3,
    KC_SUB_TOKEN = 1 << 4, /* serviceaccounts/NAME/token (TokenRequest) */
    KC_SUB_LOG = 1 << 5,   /* pods/NAME/log, proxied to the node agent (pods_log.c) */
    KC_SUB_EXEC = 1 << 6,  /* pods/NAME/exec relayed to the agent, and attach (pods_exec.c) */
};

/* Strategy hooks. Objects are the external JSON form. Hooks that can fail return 0 or -1
 * with st filled. All may be NULL. */
struct kc_strategy {
    /* Defaults applied on create and update (after decoding, before validation). */
    void (*defaults)(json_t *obj);
    /* Create: set server-owned fields (status reset, phase, ...). */
    void (*prepare_create)(json_t *obj);
    /* Update of the main resource: carry over what the client may not change (status). */
    void (*prepare_update)(json_t *obj, const json_t *old);
    void (*validate)(const json_t *obj, struct kc_errlist *l);
    void (*validate_update)(const json_t *obj, const json_t *old, struct kc_errlist *l);
    /* Allocation of server-assigned resources (Service IPs, node ports); old is NULL on
     * create. Called after validation; `release` undoes it when the write fails. */
    int (*allocate)(struct kc_server *srv, json_t *obj, const json_t *old, struct kc_status *st);
    void (*release)(struct kc_server *srv, const json_t *obj, const json_t *old);
    /* After a successful delete: free allocations. */
    void (*after_delete)(struct kc_server *srv, const json_t *obj);
    /* After an object was created (not on dry runs). */
    void (*after_create)(struct kc_server *srv, const json_t *obj);
    /* After an object was marked for deletion (deletionTimestamp set, finalizers pending). */
    void (*after_mark_deleting)(struct kc_server *srv, const json_t *obj);
    /* Fields (besides metadata.name / metadata.namespace) usable in field selectors. */
    const char *const *field_labels;
    /* Spec-carrying resources bump metadata.generation on spec changes only. */
    bool generation;
    /* Graceful deletion (pods): DELETE sets deletionTimestamp and keeps the object. */
    bool graceful_delete;
    /* A status update takes the client's metadata (labels, annotations, ...) as upstream's
     * status strategies that reset only the spec do (namespaces, services); otherwise the
     * stored metadata stays. */
    bool status_metadata;
};

struct kc_resource {
    const char *group; /* "" for core */
    const char *version;
    const char *resource; /* plural, lower case */
    const char *singular;
    const char *kind;
    const char *list_kind;
    bool namespaced;
    const char *short_names[4];
    const char *categories[2];
    unsigned subresources;
    int name_rule; /* enum kc_name_rule from strategy/strategy.h */
    const struct kc_strategy *strategy;
    /* Storage prefix shared by all versions of a resource (extensions/v1beta1 ingresses
     * would share networking.k8s.io's). */
    const char *storage_group;
    const char *storage_version_hash;
    /* Older versions of a resource are stored in the storage version
     * (storage_group/storage_version) and converted at the API boundary. */
    const char *storage_version;
    void (*convert_in)(json_t *obj);  /* this version -> storage version, in place */
    void (*convert_out)(json_t *obj); /* storage version -> this version, in place */
    /* Virtual resources that only answer POST (reviews): not stored. */
    bool create_only;
};

/* The resource objects of r are stored as (r itself when it is the storage version). */
const struct kc_resource *kc_resource_storage(const struct kc_resource *r);
/* Converts a stored object to r's version (no-op for the storage version). */
void kc_resource_to_external(const struct kc_resource *r, json_t *obj);
/* Converts an object of r's version to the storage version (no-op likewise). */
void kc_resource_to_storage(const struct kc_resource *r, json_t *obj);

/* The table, terminated by an entry with resource == NULL. */
extern const struct kc_resource kc_resources[];

/* Finds a resource by group, version and plural; NULL if not served. */
const struct kc_resource *kc_resource_find(const char *group, const char *version,
                                           const char *resource);
/* "pods" / "deployments.apps" */
void kc_resource_qualified(const struct kc_resource *r, char *buf, size_t n);
/* "v1" / "apps/v1" */
void kc_resource_api_version(const struct kc_resource *r, char *buf, size_t n);

/* Group-versions served, in discovery order (NULL-terminated). */
struct kc_group_version {
    const char *group;
    const char *version;
};
extern const struct kc_group_version kc_group_versions[];

#endif
