/* The PKI a fresh kubec creates for itself: a CA, a serving certificate and an admin
 * client certificate (O=system:masters), plus kubeconfigs that use them. */
#ifndef KUBEC_TLS_CERTS_H
#define KUBEC_TLS_CERTS_H

#include <stddef.h>

struct kc_pki_paths {
    char ca_crt[512], ca_key[512];
    char server_crt[512], server_key[512];
    char admin_crt[512], admin_key[512];
};

/* Creates whatever is missing under cert_dir (ECDSA P-256, SHA-256): ca.crt/ca.key,
 * apiserver.crt/.key for the given DNS names and IPs, admin.crt/.key. Existing files are
 * kept, so a restart keeps its identity. 0 or -1 with err. */
int kc_pki_ensure(const char *cert_dir, const char *const *dns, const char *const *ips,
                  struct kc_pki_paths *out, char *err, size_t errlen);

/* Creates DIR/FILE.crt and .key (when missing): a client certificate with CN=cn and
 * O=org (org may be NULL) signed by DIR's CA; the paths go to crt_path / key_path. */
int kc_pki_ensure_client(const char *dir, const char *file, const char *cn, const char *org,
                         char *crt_path, char *key_path, size_t pathlen, char *err, size_t errlen);

/* Writes a kubeconfig for server (https URL) with the CA and a client certificate,
 * embedded as base64 data. 0 or -1. */
int kc_kubeconfig_write(const char *path, const char *server, const char *ca_crt,
                        const char *client_crt, const char *client_key, const char *user, char *err,
                        size_t errlen);

#endif
