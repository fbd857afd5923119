/* The table of served resources. Strategies with real logic live in registry_<x>.c. */
#include "apiserver/resources.h"

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
                                                      .field_labels = no_fields};
static const struct kc_strategy secret_strategy = {
    .defaults = kc_default_secret, .validate = kc_validate_secret, .field_labels = secret_fields};
static const struct kc_strategy event_strategy = {.field_labels = event_fields};
static const struct kc_strategy node_strategy = {.validate = kc_validate_node,
                                                 .field_labels = node_fields};
static const struct kc_strategy ingress_strategy = {
    .validate = kc_validate_ingress, .generation = true, .field_labels = no_fields};

const struct kc_resource kc_resources[] = {
    /* core/v1, in the order the real server lists them that matters for `get all`. */
    {"",
     "v1",
     "pods",
     "pod",
     "Pod",
     "PodList",
     true,
     {"po"},
     {"all"},
     KC_SUB_STATUS | KC_SUB_BINDING,
     KC_NAME_DNS1123_SUBDOMAIN,
     &kc_pod_strategy,
     NULL,
     NULL},
    {"",
     "v1",
     "services",
     "service",
     "Service",
     "ServiceList",
     true,
     {"svc"},
     {"all"},
     KC_SUB_STATUS,
     KC_NAME_DNS1035_LABEL,
     &kc_service_strategy,
     NULL,
     NULL},
    {"",
     "v1",
     "namespaces",
     "namespace",
     "Namespace",
     "NamespaceList",
     false,
     {"ns"},
     {NULL},
     KC_SUB_STATUS | KC_SUB_FINALIZE,
     KC_NAME_DNS1123_LABEL,
     &kc_namespace_strategy,
     NULL,
     NULL},
    {"",
     "v1",
     "nodes",
     "node",
     "Node",
     "NodeList",
     false,
     {"no"},
     {NULL},
     KC_SUB_STATUS,
     KC_NAME_DNS1123_SUBDOMAIN,
     &node_strategy,
     NULL,
     NULL},
    {"",
     "v1",
     "endpoints",
     "endpoints",
     "Endpoints",
     "EndpointsList",
     true,
     {"ep"},
     {NULL},
     0,
     KC_NAME_DNS1123_SUBDOMAIN,
     &plain,
     NULL,
     NULL},
    {"",
     "v1",
     "configmaps",
     "configmap",
     "ConfigMap",
     "ConfigMapList",
     true,
     {"cm"},
     {NULL},
     0,
     KC_NAME_DNS1123_SUBDOMAIN,
     &configmap_strategy,
     NULL,
     NULL},
    {"",
     "v1",
     "secrets",
     "secret",
     "Secret",
     "SecretList",
     true,
     {NULL},
     {NULL},
     0,
     KC_NAME_DNS1123_SUBDOMAIN,
     &secret_strategy,
     NULL,
     NULL},
    {"",
     "v1",
     "events",
     "event",
     "Event",
     "EventList",
     true,
     {"ev"},
     {NULL},
     0,
     KC_NAME_DNS1123_SUBDOMAIN,
     &event_strategy,
     NULL,
     NULL},
    {"",
     "v1",
     "serviceaccounts",
     "serviceaccount",
     "ServiceAccount",
     "ServiceAccountList",
     true,
     {"sa"},
     {NULL},
     0,
     KC_NAME_DNS1123_SUBDOMAIN,
     &plain,
     NULL,
     NULL},
    /* apps/v1 */
    {"apps",
     "v1",
     "deployments",
     "deployment",
     "Deployment",
     "DeploymentList",
     true,
     {"deploy"},
     {"all"},
     KC_SUB_STATUS | KC_SUB_SCALE,
     KC_NAME_DNS1123_SUBDOMAIN,
     &kc_deployment_strategy,
     NULL,
     NULL},
    {"apps",
     "v1",
     "replicasets",
     "replicaset",
     "ReplicaSet",
     "ReplicaSetList",
     true,
     {"rs"},
     {"all"},
     KC_SUB_STATUS | KC_SUB_SCALE,
     KC_NAME_DNS1123_SUBDOMAIN,
     &kc_replicaset_strategy,
     NULL,
     NULL},
    /* networking.k8s.io/v1 */
    {"networking.k8s.io",
     "v1",
     "ingresses",
     "ingress",
     "Ingress",
     "IngressList",
     true,
     {"ing"},
     {NULL},
     KC_SUB_STATUS,
     KC_NAME_DNS1123_SUBDOMAIN,
     &ingress_strategy,
     NULL,
     NULL},
    {"networking.k8s.io",
     "v1",
     "ingressclasses",
     "ingressclass",
     "IngressClass",
     "IngressClassList",
     false,
     {NULL},
     {NULL},
     0,
     KC_NAME_DNS1123_SUBDOMAIN,
     &plain,
     NULL,
     NULL},
    /* discovery.k8s.io/v1 */
    {"discovery.k8s.io",
     "v1",
     "endpointslices",
     "endpointslice",
     "EndpointSlice",
     "EndpointSliceList",
     true,
     {NULL},
     {NULL},
     0,
     KC_NAME_DNS1123_SUBDOMAIN,
     &plain,
     NULL,
     NULL},
    /* coordination.k8s.io/v1 */
    {"coordination.k8s.io",
     "v1",
     "leases",
     "lease",
     "Lease",
     "LeaseList",
     true,
     {NULL},
     {NULL},
     0,
     KC_NAME_DNS1123_SUBDOMAIN,
     &plain,
     NULL,
     NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, false, {NULL}, {NULL}, 0, 0, NULL, NULL, NULL},
};

const struct kc_group_version kc_group_versions[] = {
    {"", "v1"},
    {"apps", "v1"},
    {"networking.k8s.io", "v1"},
    {"discovery.k8s.io", "v1"},
    {"coordination.k8s.io", "v1"},
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
