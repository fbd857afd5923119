/* Authentication by bearer token and RBAC authorization (rbac.authorization.k8s.io/v1). */
#ifndef KUBEC_AUTH_AUTHZ_H
#define KUBEC_AUTH_AUTHZ_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct kc_server;

struct kc_attrs {
    const char *user;
    const char *const *groups;
    int ngroups;
    const char *verb;     /* get list watch create update patch delete deletecollection */
    const char *group;    /* API group, "" for core */
    const char *resource; /* plural */
    const char *subresource;
    const char *ns;
    const char *name;
};

/* True when RBAC (or membership of system:masters) allows the request. */
bool kc_authorize(struct kc_server *srv, const struct kc_attrs *a);

/* The 403 message the real server gives: `pods "x" is forbidden: User "u" cannot get
 * resource "pods" in API group "" in the namespace "ns"`. */
void kc_forbidden_message(const struct kc_attrs *a, char *buf, size_t n);

/* Static tokens (--token-auth-file, CSV: token,user,uid,"group1,group2"). */
int kc_tokens_load(const char *path, char *err, size_t errlen);
/* Looks a bearer token up: fills user (n bytes) and up to 6 groups; false if unknown. */
bool kc_token_lookup(const char *token, char *user, size_t n, char groups[][128], int *ngroups);

/* Creates the bootstrap ClusterRoles (cluster-admin, admin, edit, view) and the binding of
 * system:masters to cluster-admin, when missing. */
int kc_rbac_bootstrap(struct kc_server *srv, char *err, size_t errlen);

#endif
