/* The table of served resources. Strategies with real logic live in registry_<x>.c. */
#include "apiserver/resources.h"

#include "apiserver/registry_ingress.h"
#include "apiserver/registry_strategies.h"
#include "apiserver/strategy/strategy.h"

#include <stdio.h>
#include <string.h>

static const char *const no_fields[] = {NULL};

static const char *const node_fields[] = {"spec.unschedulable", NULL};
static const char *const secret_fields[] = {"type", NULL};
static const char *const event_fields[] = {"involvedObject.kind",
                                           "involvedObject.namespace",
                                           "involvedObject.name",
                                           "involvedObject.uid",
                                           "involvedObject.apiVersion",
                                           "involvedObject.resourceVersion",
                                           "involvedObject.fieldPath",
                                           "reason",
                                           "reportingComponent",
                                           "source",
                                           "type",
                                           NULL};

static const struct kc_strategy plain = {.field_labels = no_fields};

static const struct kc_strategy configmap_strategy = {.validate = kc_validate_configmap,
                                                      .validate_update =
                                                          kc_validate_configmap_update,
                                                      .field_labels = no_fields};
static const struct kc_strategy secret_strategy = {.defaults = kc_default_secret,
                                                   .validate = kc_validate_secret,
                                                   .validate_update = kc_validate_secret_update,
                                                   .field_labels = secret_fields};
static const struct kc_strategy event_strategy = {.field_labels = event_fields};
static const struct kc_strategy node_strategy = {.validate = kc_validate_node,
                                                 .field_labels = node_fields};
static const struct kc_strategy ingress_strategy = {
    .validate = kc_validate_ingress, .generation = true, .field_labels = no_fields};

#define SHORT(...) .short_names = {__VA_ARGS__}
#define CATEGORIES(...) .categories = {__VA_ARGS__}

const struct kc_resource kc_resources[] = {
    /* core/v1, in the order that matters for `get all` */
    {.group = "",
     .version = "v1",
     .resource = "pods",
     .singular = "pod",
     .kind = "Pod",
     .list_kind = "PodList",
     .namespaced = true,
     SHORT("po"),
     CATEGORIES("all"),
     .subresources = KC_SUB_STATUS | KC_SUB_BINDING | KC_SUB_LOG | KC_SUB_EXEC,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &kc_pod_strategy},
    {.group = "",
     .version = "v1",
     .resource = "services",
     .singular = "service",
     .kind = "Service",
     .list_kind = "ServiceList",
     .namespaced = true,
     SHORT("svc"),
     CATEGORIES("all"),
     .subresources = KC_SUB_STATUS,
     .name_rule = KC_NAME_DNS1035_LABEL,
     .strategy = &kc_service_strategy},
    {.group = "",
     .version = "v1",
     .resource = "namespaces",
     .singular = "namespace",
     .kind = "Namespace",
     .list_kind = "NamespaceList",
     SHORT("ns"),
     .subresources = KC_SUB_STATUS | KC_SUB_FINALIZE,
     .name_rule = KC_NAME_DNS1123_LABEL,
     .strategy = &kc_namespace_strategy},
    {.group = "",
     .version = "v1",
     .resource = "nodes",
     .singular = "node",
     .kind = "Node",
     .list_kind = "NodeList",
     SHORT("no"),
     .subresources = KC_SUB_STATUS,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &node_strategy},
    {.group = "",
     .version = "v1",
     .resource = "endpoints",
     .singular = "endpoints",
     .kind = "Endpoints",
     .list_kind = "EndpointsList",
     .namespaced = true,
     SHORT("ep"),
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &plain},
    {.group = "",
     .version = "v1",
     .resource = "configmaps",
     .singular = "configmap",
     .kind = "ConfigMap",
     .list_kind = "ConfigMapList",
     .namespaced = true,
     SHORT("cm"),
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &configmap_strategy},
    {.group = "",
     .version = "v1",
     .resource = "secrets",
     .singular = "secret",
     .kind = "Secret",
     .list_kind = "SecretList",
     .namespaced = true,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &secret_strategy},
    {.group = "",
     .version = "v1",
     .resource = "events",
     .singular = "event",
     .kind = "Event",
     .list_kind = "EventList",
     .namespaced = true,
     SHORT("ev"),
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &event_strategy},
    {.group = "",
     .version = "v1",
     .resource = "serviceaccounts",
     .singular = "serviceaccount",
     .kind = "ServiceAccount",
     .list_kind = "ServiceAccountList",
     .subresources = KC_SUB_TOKEN,
     .namespaced = true,
     SHORT("sa"),
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &plain},
    /* apps/v1 */
    {.group = "apps",
     .version = "v1",
     .resource = "deployments",
     .singular = "deployment",
     .kind = "Deployment",
     .list_kind = "DeploymentList",
     .namespaced = true,
     SHORT("deploy"),
     CATEGORIES("all"),
     .subresources = KC_SUB_STATUS | KC_SUB_SCALE,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &kc_deployment_strategy},
    {.group = "apps",
     .version = "v1",
     .resource = "replicasets",
     .singular = "replicaset",
     .kind = "ReplicaSet",
     .list_kind = "ReplicaSetList",
     .namespaced = true,
     SHORT("rs"),
     CATEGORIES("all"),
     .subresources = KC_SUB_STATUS | KC_SUB_SCALE,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &kc_replicaset_strategy},
    /* networking.k8s.io/v1, and the old Ingress versions stored as v1 */
    {.group = "networking.k8s.io",
     .version = "v1",
     .resource = "ingresses",
     .singular = "ingress",
     .kind = "Ingress",
     .list_kind = "IngressList",
     .namespaced = true,
     SHORT("ing"),
     .subresources = KC_SUB_STATUS,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &ingress_strategy},
    {.group = "networking.k8s.io",
     .version = "v1",
     .resource = "ingressclasses",
     .singular = "ingressclass",
     .kind = "IngressClass",
     .list_kind = "IngressClassList",
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &plain},
    {.group = "networking.k8s.io",
     .version = "v1beta1",
     .resource = "ingresses",
     .singular = "ingress",
     .kind = "Ingress",
     .list_kind = "IngressList",
     .namespaced = true,
     SHORT("ing"),
     .subresources = KC_SUB_STATUS,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &ingress_strategy,
     .storage_group = "networking.k8s.io",
     .storage_version = "v1",
     .convert_in = kc_ingress_v1beta1_to_v1,
     .convert_out = kc_ingress_v1_to_v1beta1},
    {.group = "extensions",
     .version = "v1beta1",
     .resource = "ingresses",
     .singular = "ingress",
     .kind = "Ingress",
     .list_kind = "IngressList",
     .namespaced = true,
     SHORT("ing"),
     .subresources = KC_SUB_STATUS,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &ingress_strategy,
     .storage_group = "networking.k8s.io",
     .storage_version = "v1",
     .convert_in = kc_ingress_v1beta1_to_v1,
     .convert_out = kc_ingress_v1_to_v1beta1},
    /* discovery.k8s.io/v1 */
    {.group = "discovery.k8s.io",
     .version = "v1",
     .resource = "endpointslices",
     .singular = "endpointslice",
     .kind = "EndpointSlice",
     .list_kind = "EndpointSliceList",
     .namespaced = true,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &plain},
    /* coordination.k8s.io/v1 */
    {.group = "coordination.k8s.io",
     .version = "v1",
     .resource = "leases",
     .singular = "lease",
     .kind = "Lease",
     .list_kind = "LeaseList",
     .namespaced = true,
     .name_rule = KC_NAME_DNS1123_SUBDOMAIN,
     .strategy = &plain},
    /* rbac.authorization.k8s.io/v1 */
    {.group = "rbac.authorization.k8s.io",
     .version = "v1",
     .resource = "clusterroles",
     .singular = "clusterrole",
     .kind = "ClusterRole",
     .list_kind = "ClusterRoleList",
     .name_rule = KC_NAME_PATH_SEGMENT,
     .strategy = &plain},
    {.group = "rbac.authorization.k8s.io",
     .version = "v1",
     .resource = "clusterrolebindings",
     .singular = "clusterrolebinding",
     .kind = "ClusterRoleBinding",
     .list_kind = "ClusterRoleBindingList",
     .name_rule = KC_NAME_PATH_SEGMENT,
     .strategy = &plain},
    {.group = "rbac.authorization.k8s.io",
     .version = "v1",
     .resource = "roles",
     .singular = "role",
     .kind = "Role",
     .list_kind = "RoleList",
     .namespaced = true,
     .name_rule = KC_NAME_PATH_SEGMENT,
     .strategy = &plain},
    {.group = "rbac.authorization.k8s.io",
     .version = "v1",
     .resource = "rolebindings",
     .singular = "rolebinding",
     .kind = "RoleBinding",
     .list_kind = "RoleBindingList",
     .namespaced = true,
     .name_rule = KC_NAME_PATH_SEGMENT,
     .strategy = &plain},
    /* reviews: answered, never stored */
    {.group = "authorization.k8s.io",
     .version = "v1",
     .resource = "selfsubjectaccessreviews",
     .singular = "selfsubjectaccessreview",
     .kind = "SelfSubjectAccessReview",
     .list_kind = "SelfSubjectAccessReviewList",
     .create_only = true,
     .strategy = &plain},
    {.group = "authentication.k8s.io",
     .version = "v1",
     .resource = "selfsubjectreviews",
     .singular = "selfsubjectreview",
     .kind = "SelfSubjectReview",
     .list_kind = "SelfSubjectReviewList",
     .create_only = true,
     .strategy = &plain},
    {.group = "authentication.k8s.io",
     .version = "v1beta1",
     .resource = "selfsubjectreviews",
     .singular = "selfsubjectreview",
     .kind = "SelfSubjectReview",
     .list_kind = "SelfSubjectReviewList",
     .create_only = true,
     .strategy = &plain},
    {.resource = NULL},
};

const struct kc_group_version kc_group_versions[] = {
    {"", "v1"},
    {"apps", "v1"},
    {"networking.k8s.io", "v1"},
    {"networking.k8s.io", "v1beta1"},
    {"discovery.k8s.io", "v1"},
    {"coordination.k8s.io", "v1"},
    {"rbac.authorization.k8s.io", "v1"},
    {"authorization.k8s.io", "v1"},
    {"authentication.k8s.io", "v1"},
    {"authentication.k8s.io", "v1beta1"},
    {"extensions", "v1beta1"},
    {NULL, NULL},
};

const struct kc_resource *kc_resource_find(const char *group, const char *version,
                                           const char *resource)
{
    for (const struct kc_resource *r = kc_resources; r->resource; r++)
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->resource, resource) == 0)
            return r;
    return NULL;
}

void kc_resource_qualified(const struct kc_resource *r, char *buf, size_t n)
{
    if (*r->group)
        snprintf(buf, n, "%s.%s", r->resource, r->group);
    else
        snprintf(buf, n, "%s", r->resource);
}

void kc_resource_api_version(const struct kc_resource *r, char *buf, size_t n)
{
    if (*r->group)
        snprintf(buf, n, "%s/%s", r->group, r->version);
    else
        snprintf(buf, n, "%s", r->version);
}

const struct kc_resource *kc_resource_storage(const struct kc_resource *r)
{
    if (!r->storage_version)
        return r;
    const struct kc_resource *s =
        kc_resource_find(r->storage_group, r->storage_version, r->resource);
    return s ? s : r;
}

void kc_resource_to_external(const struct kc_resource *r, json_t *obj)
{
    if (!r->convert_out || !json_is_object(obj))
        return;
    r->convert_out(obj);
    char av[128];
    kc_resource_api_version(r, av, sizeof av);
    json_object_set_new(obj, "apiVersion", json_string(av));
}

void kc_resource_to_storage(const struct kc_resource *r, json_t *obj)
{
    if (!r->convert_in || !json_is_object(obj))
        return;
    r->convert_in(obj);
    const struct kc_resource *s = kc_resource_storage(r);
    char av[128];
    kc_resource_api_version(s, av, sizeof av);
    json_object_set_new(obj, "apiVersion", json_string(av));
}
