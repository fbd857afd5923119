/* Certificate and kubeconfig generation with OpenSSL; see certs.h. */
#include "apiserver/tls/certs.h"

#include "lib/base64.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int exists(const char *p)
{
    return access(p, R_OK) == 0;
}

static EVP_PKEY *new_key(void)
{
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static EVP_PKEY *load_key(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    return k;
}

static X509 *load_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    return c;
}

static int save(const char *path, EVP_PKEY *key, X509 *crt)
{
    FILE *f = fopen(path, "w");
    int ok;
    if (!f)
        return -1;
    if (key) {
        fchmod(fileno(f), 0600);
        ok = PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    } else {
        ok = PEM_write_X509(f, crt);
    }
    fclose(f);
    return ok ? 0 : -1;
}

static void add_ext(X509 *crt, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, crt, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext) {
        X509_add_ext(crt, ext, -1);
        X509_EXTENSION_free(ext);
    }
}

/* Issues a certificate for key, signed by ca (self-signed when ca is NULL). */
static X509 *issue(EVP_PKEY *key, const char *cn, const char *org, X509 *ca, EVP_PKEY *ca_key,
                   int days, bool is_ca, const char *usage, const char *san)
{
    X509 *crt = X509_new();
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt));
    BN_free(bn);
    X509_set_version(crt, 2);
    X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
    X509_gmtime_adj(X509_getm_notAfter(crt), (long)days * 86400);
    X509_set_pubkey(crt, key);
    X509_NAME *name = X509_get_subject_name(crt);
    if (org)
        X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)org, -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(crt, ca ? X509_get_subject_name(ca) : name);
    X509 *issuer = ca ? ca : crt;
    if (is_ca) {
        add_ext(crt, issuer, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(crt, issuer, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign");
    } else {
        add_ext(crt, issuer, NID_basic_constraints, "critical,CA:FALSE");
        add_ext(crt, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
        add_ext(crt, issuer, NID_ext_key_usage, usage);
    }
    add_ext(crt, issuer, NID_subject_key_identifier, "hash");
    if (ca)
        add_ext(crt, issuer, NID_authority_key_identifier, "keyid:always");
    if (san)
        add_ext(crt, issuer, NID_subject_alt_name, san);
    if (!X509_sign(crt, ca ? ca_key : key, EVP_sha256())) {
        X509_free(crt);
        return NULL;
    }
    return crt;
}

int kc_pki_ensure(const char *dir, const char *const *dns, const char *const *ips,
                  struct kc_pki_paths *p, char *err, size_t errlen)
{
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *crt = NULL;
    int ret = -1;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(p->ca_crt, sizeof p->ca_crt, "%s/ca.crt", dir);
    snprintf(p->ca_key, sizeof p->ca_key, "%s/ca.key", dir);
    snprintf(p->server_crt, sizeof p->server_crt, "%s/apiserver.crt", dir);
    snprintf(p->server_key, sizeof p->server_key, "%s/apiserver.key", dir);
    snprintf(p->admin_crt, sizeof p->admin_crt, "%s/admin.crt", dir);
    snprintf(p->admin_key, sizeof p->admin_key, "%s/admin.key", dir);

    if (exists(p->ca_crt) && exists(p->ca_key)) {
        ca = load_cert(p->ca_crt);
        ca_key = load_key(p->ca_key);
    } else {
        ca_key = new_key();
        ca = ca_key ? issue(ca_key, "kubec-ca", NULL, NULL, NULL, 3650, true, NULL, NULL) : NULL;
        if (!ca || save(p->ca_key, ca_key, NULL) || save(p->ca_crt, NULL, ca))
            goto fail;
    }
    if (!ca || !ca_key)
        goto fail;
    if (!exists(p->server_crt) || !exists(p->server_key)) {
        char san[2048];
        size_t off = 0;
        san[0] = 0;
        for (int i = 0; dns && dns[i]; i++)
            off +=
                (size_t)snprintf(san + off, sizeof san - off, "%sDNS:%s", off ? "," : "", dns[i]);
        for (int i = 0; ips && ips[i]; i++)
            off += (size_t)snprintf(san + off, sizeof san - off, "%sIP:%s", off ? "," : "", ips[i]);
        key = new_key();
        crt = key ? issue(key, "kube-apiserver", NULL, ca, ca_key, 825, false, "serverAuth", san)
                  : NULL;
        if (!crt || save(p->server_key, key, NULL) || save(p->server_crt, NULL, crt))
            goto fail;
        EVP_PKEY_free(key);
        X509_free(crt);
        key = NULL;
        crt = NULL;
    }
    if (!exists(p->admin_crt) || !exists(p->admin_key)) {
        key = new_key();
        crt = key ? issue(key, "kubernetes-admin", "system:masters", ca, ca_key, 825, false,
                          "clientAuth", NULL)
                  : NULL;
        if (!crt || save(p->admin_key, key, NULL) || save(p->admin_crt, NULL, crt))
            goto fail;
    }
    ret = 0;
    goto out;
fail:
    snprintf(err, errlen, "cannot create the certificates in %s", dir);
out:
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(crt);
    return ret;
}

int kc_pki_ensure_client(const char *dir, const char *file, const char *cn, const char *org,
                         char *crt_path, char *key_path, size_t pathlen, char *err, size_t errlen)
{
    char ca_crt[512], ca_key_path[512];
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *crt = NULL;
    int ret = -1;
    snprintf(ca_crt, sizeof ca_crt, "%s/ca.crt", dir);
    snprintf(ca_key_path, sizeof ca_key_path, "%s/ca.key", dir);
    snprintf(crt_path, pathlen, "%s/%s.crt", dir, file);
    snprintf(key_path, pathlen, "%s/%s.key", dir, file);
    if (exists(crt_path) && exists(key_path))
        return 0;
    ca = load_cert(ca_crt);
    ca_key = load_key(ca_key_path);
    key = ca && ca_key ? new_key() : NULL;
    crt = key ? issue(key, cn, org, ca, ca_key, 825, false, "clientAuth", NULL) : NULL;
    if (!crt || save(key_path, key, NULL) || save(crt_path, NULL, crt)) {
        snprintf(err, errlen, "cannot create the %s certificate in %s", file, dir);
        goto out;
    }
    ret = 0;
out:
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    X509_free(ca);
    X509_free(crt);
    return ret;
}

static char *file_base64(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char buf[16384];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return kc_base64_encode(buf, n);
}

int kc_kubeconfig_write(const char *path, const char *server, const char *ca_crt,
                        const char *client_crt, const char *client_key, const char *user, char *err,
                        size_t errlen)
{
    char *ca = file_base64(ca_crt), *c = file_base64(client_crt), *k = file_base64(client_key);
    int ret = -1;
    FILE *f = NULL;
    if (!ca || !c || !k) {
        snprintf(err, errlen, "cannot read the certificates for %s", path);
        goto out;
    }
    f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        goto out;
    }
    fchmod(fileno(f), 0600);
    fprintf(f,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kubec\n  cluster:\n"
            "    server: %s\n    certificate-authority-data: %s\ncontexts:\n- name: %s@kubec\n"
            "  context:\n    cluster: kubec\n    user: %s\ncurrent-context: %s@kubec\nusers:\n"
            "- name: %s\n  user:\n    client-certificate-data: %s\n    client-key-data: %s\n",
            server, ca, user, user, user, user, c, k);
    fclose(f);
    ret = 0;
out:
    free(ca);
    free(c);
    free(k);
    return ret;
}
