/* Deployments and ReplicaSets: defaults, validation and a fresh status on create. */
#include "apiserver/registry_strategies.h"
#include "apiserver/strategy/strategy.h"

static void reset_status(json_t *obj)
{
    json_object_set_new(obj, "status", json_object());
}

static const char *const no_fields[] = {NULL};
static const char *const rs_fields[] = {"status.replicas", NULL};

const struct kc_strategy kc_deployment_strategy = {
    .defaults = kc_default_deployment,
    .prepare_create = reset_status,
    .validate = kc_validate_deployment,
    .validate_update = kc_validate_deployment_update,
    .field_labels = no_fields,
    .generation = true,
};

const struct kc_strategy kc_replicaset_strategy = {
    .defaults = kc_default_replicaset,
    .prepare_create = reset_status,
    .validate = kc_validate_replicaset,
    .validate_update = kc_validate_replicaset_update,
    .field_labels = rs_fields,
    .generation = true,
};
