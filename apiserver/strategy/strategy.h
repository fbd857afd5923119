/* Defaulting and validation of objects, as the real apiserver does them (the core and
 * apps defaulters, the validation packages and the admission plugins whose effect every
 * cluster shows). Objects are in their external JSON form. Defaulting functions mutate in
 * place; validation appends field errors to a kc_errlist (see lib/status.h). */
#ifndef KUBEC_STRATEGY_H
#define KUBEC_STRATEGY_H

#include "lib/status.h"

#include <jansson.h>
#include <stdbool.h>

enum kc_name_rule {
    KC_NAME_DNS1123_SUBDOMAIN,
    KC_NAME_DNS1123_LABEL,
    KC_NAME_PATH_SEGMENT,
    KC_NAME_DNS1035_LABEL,
};

bool kc_is_dns1123_label(const char *s);
bool kc_is_dns1123_subdomain(const char *s);

/* metadata: name/generateName, namespace, labels, annotations, ownerReferences,
 * finalizers. */
void kc_validate_object_meta(const json_t *obj, bool namespaced, enum kc_name_rule rule,
                             struct kc_errlist *l);
/* name, namespace, uid and creationTimestamp never change. */
void kc_validate_object_meta_update(const json_t *newobj, const json_t *oldobj,
                                    struct kc_errlist *l);

void kc_default_pod(json_t *pod);
/* The tolerationSeconds the DefaultTolerationSeconds admission gives every pod for the
 * not-ready and unreachable NoExecute taints (300 and 300 unless set at startup). */
void kc_default_toleration_seconds(long long not_ready, long long unreachable);
void kc_default_pod_spec(json_t *spec);
void kc_default_deployment(json_t *d);
void kc_default_replicaset(json_t *rs);
void kc_default_service(json_t *svc);
void kc_default_namespace(json_t *ns);
void kc_default_secret(json_t *s);

void kc_validate_pod(const json_t *pod, struct kc_errlist *l);
void kc_validate_pod_update(const json_t *newpod, const json_t *oldpod, struct kc_errlist *l);
void kc_validate_deployment(const json_t *d, struct kc_errlist *l);
void kc_validate_deployment_update(const json_t *n, const json_t *o, struct kc_errlist *l);
void kc_validate_replicaset(const json_t *rs, struct kc_errlist *l);
void kc_validate_replicaset_update(const json_t *n, const json_t *o, struct kc_errlist *l);
void kc_validate_service(const json_t *svc, struct kc_errlist *l);
void kc_validate_service_update(const json_t *n, const json_t *o, struct kc_errlist *l);
void kc_validate_configmap(const json_t *cm, struct kc_errlist *l);
void kc_validate_secret(const json_t *s, struct kc_errlist *l);
/* Immutable ConfigMaps and Secrets (`immutable: true`) keep their data and the mark. */
void kc_validate_configmap_update(const json_t *n, const json_t *o, struct kc_errlist *l);
void kc_validate_secret_update(const json_t *n, const json_t *o, struct kc_errlist *l);
void kc_validate_namespace(const json_t *ns, struct kc_errlist *l);
void kc_validate_node(const json_t *n, struct kc_errlist *l);
void kc_validate_ingress(const json_t *ing, struct kc_errlist *l);

#endif
