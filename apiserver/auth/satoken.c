/* ServiceAccount JWTs; see satoken.h. */
#include "apiserver/auth/satoken.h"

#include "apiserver/registry.h"
#include "apiserver/server.h"
#include "lib/base64.h"
#include "lib/jsonx.h"

#include <jansson.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ISSUER "https://kubernetes.default.svc.cluster.local"

static EVP_PKEY *key;

int kc_satoken_init(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (f) {
        key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
        fclose(f);
    } else {
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        f = key ? fopen(path, "w") : NULL;
        if (f) {
            fchmod(fileno(f), 0600);
            PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
            fclose(f);
        }
    }
    if (!key) {
        snprintf(err, errlen, "cannot load or create the service account key %s", path);
        return -1;
    }
    return 0;
}

/* base64url without padding */
static char *b64url(const void *data, size_t n)
{
    char *s = kc_base64_encode(data, n);
    for (char *p = s; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=') {
            *p = 0;
            break;
        }
    }
    return s;
}

static int b64url_decode(const char *s, size_t n, unsigned char *out, size_t cap, size_t *outlen)
{
    char *t = malloc(n + 4);
    if (!t)
        abort();
    size_t j = 0;
    for (size_t i = 0; i < n; i++)
        t[j++] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    while (j % 4)
        t[j++] = '=';
    t[j] = 0;
    int rc = kc_base64_decode(t, (char *)out, cap, outlen);
    free(t);
    return rc;
}

char *kc_satoken_issue(const char *ns, const char *name, const char *uid, long seconds,
                       long *expires_at)
{
    if (!key)
        return NULL;
    time_t now = time(NULL);
    char sub[600];
    snprintf(sub, sizeof sub, "system:serviceaccount:%s:%s", ns, name);
    json_t *claims = json_pack("{s:[s], s:I, s:I, s:s, s:{s:s, s:{s:s, s:s}}, s:I, s:s}", "aud",
                               ISSUER, "exp", (json_int_t)(now + seconds), "iat", (json_int_t)now,
                               "iss", ISSUER, "kubernetes.io", "namespace", ns, "serviceaccount",
                               "name", name, "uid", uid, "nbf", (json_int_t)now, "sub", sub);
    char *payload = json_dumps(claims, JSON_COMPACT);
    json_decref(claims);
    const char *header = "{\"alg\":\"ES256\",\"kid\":\"kubec\"}";
    char *h64 = b64url(header, strlen(header)), *p64 = b64url(payload, strlen(payload));
    free(payload);
    size_t in_len = strlen(h64) + 1 + strlen(p64);
    char *signing_input = malloc(in_len + 1);
    snprintf(signing_input, in_len + 1, "%s.%s", h64, p64);

    /* ECDSA over SHA-256; JWS wants r||s, 32 bytes each, not DER */
    unsigned char der[128], raw[64];
    size_t der_len = sizeof der;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    char *token = NULL;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, der, &der_len, (unsigned char *)signing_input, in_len) == 1) {
        const unsigned char *dp = der;
        ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &dp, (long)der_len);
        if (sig) {
            const BIGNUM *r, *s;
            ECDSA_SIG_get0(sig, &r, &s);
            BN_bn2binpad(r, raw, 32);
            BN_bn2binpad(s, raw + 32, 32);
            ECDSA_SIG_free(sig);
            char *s64 = b64url(raw, sizeof raw);
            size_t tl = in_len + 1 + strlen(s64) + 1;
            token = malloc(tl);
            snprintf(token, tl, "%s.%s", signing_input, s64);
            free(s64);
        }
    }
    EVP_MD_CTX_free(md);
    free(signing_input);
    free(h64);
    free(p64);
    if (expires_at)
        *expires_at = (long)now + seconds;
    return token;
}

bool kc_satoken_verify(struct kc_server *srv, const char *token, char *user, size_t n,
                       char groups[][128], int *ngroups)
{
    const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    unsigned char raw[128], payload[4096];
    size_t raw_len, pl_len;
    bool ok = false;
    if (!key || !d1 || !d2 || strchr(d2 + 1, '.'))
        return false;
    if (b64url_decode(d2 + 1, strlen(d2 + 1), raw, sizeof raw, &raw_len) || raw_len != 64)
        return false;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL));
    unsigned char *der = NULL;
    int der_len = i2d_ECDSA_SIG(sig, &der);
    ECDSA_SIG_free(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    bool sig_ok = der_len > 0 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
                  EVP_DigestVerify(md, der, (size_t)der_len, (const unsigned char *)token,
                                   (size_t)(d2 - token)) == 1;
    EVP_MD_CTX_free(md);
    OPENSSL_free(der);
    if (!sig_ok)
        return false;
    if (b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), payload, sizeof payload, &pl_len))
        return false;
    json_t *claims = json_loadb((const char *)payload, pl_len, 0, NULL);
    json_t *k8s = json_object_get(claims, "kubernetes.io");
    const char *ns = kc_json_str(k8s, "namespace");
    const char *name = kc_json_str(k8s, "serviceaccount.name");
    const char *uid = kc_json_str(k8s, "serviceaccount.uid");
    long long exp = kc_json_int(claims, "exp", 0);
    if (ns && name && uid && exp > (long long)time(NULL)) {
        /* revoked when the account is gone or was recreated */
        const struct kc_resource *r = kc_resource_find("", "v1", "serviceaccounts");
        json_t *sa = NULL;
        struct kc_status st = KC_STATUS_INIT;
        if (kc_registry_get(srv, r, ns, name, &sa, NULL, &st) == 0 &&
            kc_json_str(sa, "metadata.uid") && !strcmp(kc_json_str(sa, "metadata.uid"), uid)) {
            snprintf(user, n, "system:serviceaccount:%s:%s", ns, name);
            *ngroups = 0;
            snprintf(groups[(*ngroups)++], 128, "system:serviceaccounts");
            snprintf(groups[(*ngroups)++], 128, "system:serviceaccounts:%s", ns);
            snprintf(groups[(*ngroups)++], 128, "system:authenticated");
            ok = true;
        }
        json_decref(sa);
        kc_status_release(&st);
    }
    json_decref(claims);
    return ok;
}
