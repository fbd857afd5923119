/* ServiceAccount tokens: ES256-signed JWTs issued through TokenRequest
 * (serviceaccounts/NAME/token) and verified on every request that bears one. A token is
 * valid only while its ServiceAccount exists with the same uid: deleting the account
 * revokes its tokens. */
#ifndef KUBEC_AUTH_SATOKEN_H
#define KUBEC_AUTH_SATOKEN_H

#include <stdbool.h>
#include <stddef.h>

struct kc_server;

/* Loads (creating when missing) the signing key at path. 0 or -1 with err. */
int kc_satoken_init(const char *key_path, char *err, size_t errlen);

/* A signed token for the account, valid for seconds; malloc'd, or NULL. */
char *kc_satoken_issue(const char *ns, const char *name, const char *uid, long seconds,
                       long *expires_at);

/* Verifies a bearer token: fills user ("system:serviceaccount:ns:name") and groups; false
 * when the token is not ours, is expired, or its account is gone. */
bool kc_satoken_verify(struct kc_server *srv, const char *token, char *user, size_t n,
                       char groups[][128], int *ngroups);

#endif
