/* The REST client: kubeconfig loading and calls through libcurl.
 *
 * Each thread keeps one libcurl easy handle per client (a pthread key), so calls from a
 * thread reuse its connection (HTTP/2 over TLS, HTTP/1.1 keep-alive on plain HTTP) and
 * no locking is needed around libcurl. Watches use a handle of their own for their
 * whole stream. */
#include "client/client.h"

#include "lib/base64.h"
#include "lib/jsonx.h"
#include "lib/yaml.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const struct kc_gvr KC_GVR_PODS = {"", "v1", "pods", "Pod", true};
const struct kc_gvr KC_GVR_NODES = {"", "v1", "nodes", "Node", false};
const struct kc_gvr KC_GVR_NAMESPACES = {"", "v1", "namespaces", "Namespace", false};
const struct kc_gvr KC_GVR_SERVICES = {"", "v1", "services", "Service", true};
const struct kc_gvr KC_GVR_ENDPOINTS = {"", "v1", "endpoints", "Endpoints", true};
const struct kc_gvr KC_GVR_EVENTS = {"", "v1", "events", "Event", true};
const struct kc_gvr KC_GVR_CONFIGMAPS = {"", "v1", "configmaps", "ConfigMap", true};
const struct kc_gvr KC_GVR_SECRETS = {"", "v1", "secrets", "Secret", true};
const struct kc_gvr KC_GVR_SERVICEACCOUNTS = {"", "v1", "serviceaccounts", "ServiceAccount", true};
const struct kc_gvr KC_GVR_REPLICASETS = {"apps", "v1", "replicasets", "ReplicaSet", true};
const struct kc_gvr KC_GVR_DEPLOYMENTS = {"apps", "v1", "deployments", "Deployment", true};
const struct kc_gvr KC_GVR_ENDPOINTSLICES = {"discovery.k8s.io", "v1", "endpointslices",
                                             "EndpointSlice", true};
const struct kc_gvr KC_GVR_LEASES = {"coordination.k8s.io", "v1", "leases", "Lease", true};
const struct kc_gvr KC_GVR_INGRESSES = {"networking.k8s.io", "v1", "ingresses", "Ingress", true};
const struct kc_gvr KC_GVR_INGRESSCLASSES = {"networking.k8s.io", "v1", "ingressclasses",
                                             "IngressClass", false};

/* A PEM credential: either bytes (from *-data) or a file path. */
struct cred {
    char *data;
    size_t len;
    char *path;
};

struct kc_client {
    char *server; /* without trailing slash */
    struct cred ca, cert, key;
    bool insecure_skip_verify;
    char *token;
    char *user_agent;
    pthread_key_t handle_key;
    volatile int shutdown;
};

static void cred_free(struct cred *c)
{
    free(c->data);
    free(c->path);
}

static void handle_destroy(void *h)
{
    curl_easy_cleanup(h);
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static struct kc_client *client_alloc(void)
{
    pthread_once(&curl_once, curl_init_once);
    struct kc_client *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    if (pthread_key_create(&c->handle_key, handle_destroy) != 0) {
        free(c);
        return NULL;
    }
    c->user_agent = strdup("kubec/0.1");
    return c;
}

int kc_client_new_url(const char *url, struct kc_client **out, char *err, size_t errlen)
{
    struct kc_client *c = client_alloc();
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->server = strdup(url);
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = 0;
    *out = c;
    return 0;
}

/* Finds the entry named name in a kubeconfig list (clusters, users, contexts) and returns
 * its field (cluster, user, context). Borrowed. */
static json_t *named_entry(json_t *cfg, const char *list, const char *name, const char *field)
{
    json_t *arr = json_object_get(cfg, list);
    size_t i;
    json_t *e;
    json_array_foreach (arr, i, e) {
        const char *n = kc_json_str(e, "name");
        if (n && name && strcmp(n, name) == 0)
            return json_object_get(e, field);
    }
    return NULL;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf)
        buf[n] = 0;
    if (len)
        *len = n;
    return buf;
}

/* Paths in a kubeconfig are relative to the file's directory. */
static char *resolve_path(const char *cfgpath, const char *p)
{
    if (p[0] == '/')
        return strdup(p);
    const char *slash = strrchr(cfgpath, '/');
    if (!slash)
        return strdup(p);
    size_t dl = (size_t)(slash - cfgpath);
    char *r = malloc(dl + strlen(p) + 2);
    if (r)
        sprintf(r, "%.*s/%s", (int)dl, cfgpath, p);
    return r;
}

static int load_cred(const char *cfgpath, json_t *obj, const char *datakey, const char *filekey,
                     struct cred *out, char *err, size_t errlen)
{
    const char *d = kc_json_str(obj, datakey);
    const char *f = kc_json_str(obj, filekey);
    if (d) {
        size_t cap = strlen(d) + 4;
        out->data = malloc(cap);
        if (!out->data || kc_base64_decode(d, out->data, cap, &out->len) != 0) {
            snprintf(err, errlen, "kubeconfig: %s is not valid base64", datakey);
            return -1;
        }
    } else if (f) {
        out->path = resolve_path(cfgpath, f);
    }
    return 0;
}

int kc_client_from_kubeconfig(const char *path, struct kc_client **out, char *err, size_t errlen)
{
    int rc = -1;
    size_t len = 0;
    json_t *cfg = NULL;
    struct kc_client *c = NULL;
    char *text = read_file(path, &len);
    if (!text) {
        snprintf(err, errlen, "cannot read kubeconfig %s: %s", path, strerror(errno));
        goto out;
    }
    char perr[256];
    cfg = kc_yaml_parse(text, len, perr, sizeof perr);
    if (!cfg) {
        snprintf(err, errlen, "kubeconfig %s: %s", path, perr);
        goto out;
    }
    const char *cur = kc_json_str(cfg, "current-context");
    json_t *ctx = named_entry(cfg, "contexts", cur, "context");
    if (!ctx) {
        json_t *first = json_array_get(json_object_get(cfg, "contexts"), 0);
        ctx = json_object_get(first, "context");
    }
    json_t *cluster = named_entry(cfg, "clusters", kc_json_str(ctx, "cluster"), "cluster");
    json_t *user = named_entry(cfg, "users", kc_json_str(ctx, "user"), "user");
    const char *server = kc_json_str(cluster, "server");
    if (!server) {
        snprintf(err, errlen, "kubeconfig %s: no server for the current context", path);
        goto out;
    }
    if (kc_client_new_url(server, &c, err, errlen) != 0)
        goto out;
    c->insecure_skip_verify = kc_json_bool(cluster, "insecure-skip-tls-verify", false);
    if (load_cred(path, cluster, "certificate-authority-data", "certificate-authority", &c->ca, err,
                  errlen) != 0 ||
        load_cred(path, user, "client-certificate-data", "client-certificate", &c->cert, err,
                  errlen) != 0 ||
        load_cred(path, user, "client-key-data", "client-key", &c->key, err, errlen) != 0)
        goto out;
    const char *tok = kc_json_str(user, "token");
    const char *tokfile = kc_json_str(user, "tokenFile");
    if (tok) {
        c->token = strdup(tok);
    } else if (tokfile) {
        char *p = resolve_path(path, tokfile);
        c->token = p ? read_file(p, NULL) : NULL;
        free(p);
        if (!c->token) {
            snprintf(err, errlen, "kubeconfig: cannot read tokenFile %s", tokfile);
            goto out;
        }
        c->token[strcspn(c->token, "\r\n")] = 0;
    }
    *out = c;
    c = NULL;
    rc = 0;
out:
    if (c)
        kc_client_free(c);
    json_decref(cfg);
    free(text);
    return rc;
}

void kc_client_set_user_agent(struct kc_client *c, const char *ua)
{
    free(c->user_agent);
    c->user_agent = strdup(ua);
}

void kc_client_shutdown(struct kc_client *c)
{
    __atomic_store_n(&c->shutdown, 1, __ATOMIC_SEQ_CST);
}

bool kc_client_is_shutdown(const struct kc_client *c)
{
    return __atomic_load_n(&c->shutdown, __ATOMIC_SEQ_CST) != 0;
}

void kc_client_free(struct kc_client *c)
{
    if (!c)
        return;
    CURL *h = pthread_getspecific(c->handle_key);
    if (h) {
        curl_easy_cleanup(h);
        pthread_setspecific(c->handle_key, NULL);
    }
    pthread_key_delete(c->handle_key);
    free(c->server);
    cred_free(&c->ca);
    cred_free(&c->cert);
    cred_free(&c->key);
    free(c->token);
    free(c->user_agent);
    free(c);
}

/* ---- one transfer ---- */

struct buf {
    char *p;
    size_t n, cap;
};

static int buf_append(struct buf *b, const char *d, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np)
            return -1;
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
    return 0;
}

static size_t on_body(char *d, size_t sz, size_t nm, void *ud)
{
    return buf_append(ud, d, sz * nm) == 0 ? sz * nm : 0;
}

static size_t on_header(char *d, size_t sz, size_t nm, void *ud)
{
    long *retry_after = ud;
    size_t n = sz * nm;
    if (n > 12 && strncasecmp(d, "Retry-After:", 12) == 0)
        *retry_after = strtol(d + 12, NULL, 10);
    return n;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c2, curl_off_t d)
{
    (void)a, (void)b, (void)c2, (void)d;
    return kc_client_is_shutdown(ud) ? 1 : 0;
}

/* Sets the options every request shares. */
static void setup_handle(struct kc_client *c, CURL *h)
{
    curl_easy_setopt(h, CURLOPT_USERAGENT, c->user_agent);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
    if (c->ca.data) {
        struct curl_blob b = {c->ca.data, c->ca.len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
    } else if (c->ca.path) {
        curl_easy_setopt(h, CURLOPT_CAINFO, c->ca.path);
    }
    if (c->insecure_skip_verify) {
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (c->cert.data) {
        struct curl_blob b = {c->cert.data, c->cert.len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &b);
    } else if (c->cert.path) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert.path);
    }
    if (c->key.data) {
        struct curl_blob b = {c->key.data, c->key.len, CURL_BLOB_COPY};
        curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &b);
    } else if (c->key.path) {
        curl_easy_setopt(h, CURLOPT_SSLKEY, c->key.path);
    }
}

static struct curl_slist *headers_accepting(struct kc_client *c, const char *accept,
                                            const char *ctype, bool has_body)
{
    char aline[512];
    snprintf(aline, sizeof aline, "Accept: %s", accept);
    struct curl_slist *hl = curl_slist_append(NULL, aline);
    if (has_body) {
        char line[128];
        snprintf(line, sizeof line, "Content-Type: %s", ctype ? ctype : "application/json");
        hl = curl_slist_append(hl, line);
    }
    if (c->token) {
        size_t n = strlen(c->token) + 32;
        char *line = malloc(n);
        if (line) {
            snprintf(line, n, "Authorization: Bearer %s", c->token);
            hl = curl_slist_append(hl, line);
            free(line);
        }
    }
    /* No "Expect: 100-continue" round trip on large bodies. */
    return curl_slist_append(hl, "Expect:");
}

static struct curl_slist *base_headers(struct kc_client *c, const char *ctype, bool has_body)
{
    return headers_accepting(c, "application/json", ctype, has_body);
}

static CURL *thread_handle(struct kc_client *c)
{
    CURL *h = pthread_getspecific(c->handle_key);
    if (h) {
        curl_easy_reset(h);
    } else {
        h = curl_easy_init();
        if (!h)
            return NULL;
        pthread_setspecific(c->handle_key, h);
    }
    setup_handle(c, h);
    return h;
}

void *kc_client_connect(struct kc_client *c, char *authority, size_t len, const char **token)
{
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    setup_handle(c, h);
    /* HTTP/1.1 only (ALPN): the caller speaks it, an upgrade is an HTTP/1.1 thing */
    curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(h, CURLOPT_URL, c->server);
    curl_easy_setopt(h, CURLOPT_CONNECT_ONLY, 1L);
    if (curl_easy_perform(h) != CURLE_OK) {
        curl_easy_cleanup(h);
        return NULL;
    }
    /* the authority is what follows the scheme */
    const char *a = strstr(c->server, "://");
    snprintf(authority, len, "%s", a ? a + 3 : c->server);
    *token = c->token;
    return h;
}

static const char *const OBJECT_MANAGED_FIELDS[] = {"metadata", "managedFields", NULL};
static const char *const LIST_MANAGED_FIELDS[] = {"items", "[]", "metadata", "managedFields", NULL};
static const char *const EVENT_MANAGED_FIELDS[] = {"object", "metadata", "managedFields", NULL};

/* One request's handle: URL, headers, method, body and where the answer goes. NULL on
 * failure; else *url and *hl are the caller's to free once the request is done. */
static CURL *prepare(struct kc_client *c, const char *method, const char *path, const char *accept,
                     const char *body, size_t body_len, const char *ctype, struct buf *resp,
                     char **url, struct curl_slist **hl)
{
    CURL *h = thread_handle(c);
    if (!h)
        return NULL;
    size_t ul = strlen(c->server) + strlen(path) + 1;
    *url = malloc(ul);
    if (!*url)
        return NULL;
    snprintf(*url, ul, "%s%s", c->server, path);
    *hl = headers_accepting(c, accept, ctype, body != NULL);
    curl_easy_setopt(h, CURLOPT_URL, *url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hl);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 60000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
    return h;
}

/* One attempt. Returns the HTTP status or -1; retry_after gets the header's seconds. */
static int do_once(struct kc_client *c, const char *method, const char *path, const char *body,
                   const char *ctype, int flags, json_t **out, long *retry_after)
{
    int rc = -1;
    struct buf resp = {0};
    char *url = NULL;
    struct curl_slist *hl = NULL;
    CURL *h = prepare(c, method, path, "application/json", body, body ? strlen(body) : 0, ctype,
                      &resp, &url, &hl);
    if (!h)
        goto out;
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, retry_after);
    CURLcode cc = curl_easy_perform(h);
    if (cc != CURLE_OK)
        goto out;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    rc = (int)code;
    if (out && resp.n > 0) {
        if (flags & KC_CLIENT_NO_MANAGED_FIELDS) {
            resp.n = kc_json_text_drop(resp.p, resp.n, OBJECT_MANAGED_FIELDS);
            resp.n = kc_json_text_drop(resp.p, resp.n, LIST_MANAGED_FIELDS);
        }
        *out = kc_json_loadb(resp.p, resp.n);
    }
out:
    curl_slist_free_all(hl);
    free(url);
    free(resp.p);
    return rc;
}

/* Keeps the Content-Type of the answer for kc_client_raw. */
static size_t on_raw_header(char *d, size_t sz, size_t nm, void *ud)
{
    struct kc_client_raw *r = ud;
    size_t n = sz * nm;
    if (n > 13 && strncasecmp(d, "Content-Type:", 13) == 0) {
        const char *v = d + 13;
        size_t vl = n - 13;
        while (vl && (*v == ' ' || *v == '\t'))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        if (vl >= sizeof r->answer_type)
            vl = sizeof r->answer_type - 1;
        memcpy(r->answer_type, v, vl);
        r->answer_type[vl] = 0;
    }
    return n;
}

int kc_client_raw(struct kc_client *c, const char *method, const char *path,
                  struct kc_client_raw *r)
{
    int rc = -1;
    struct buf resp = {0};
    r->answer = NULL;
    r->answer_len = 0;
    r->answer_type[0] = 0;
    char *url = NULL;
    struct curl_slist *hl = NULL;
    CURL *h = prepare(c, method, path, r->accept ? r->accept : "application/json", r->body,
                      r->body_len, r->content_type, &resp, &url, &hl);
    if (!h)
        goto out;
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_raw_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    if (curl_easy_perform(h) != CURLE_OK)
        goto out;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    rc = (int)code;
    if (!resp.p && buf_append(&resp, "", 0) != 0) {
        rc = -1;
        goto out;
    }
    r->answer = resp.p; /* the caller's now */
    r->answer_len = resp.n;
    resp.p = NULL;
out:
    curl_slist_free_all(hl);
    free(url);
    free(resp.p);
    return rc;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int kc_client_do(struct kc_client *c, const char *method, const char *path, const json_t *body,
                 const char *content_type, json_t **out)
{
    return kc_client_do_flags(c, method, path, body, content_type, 0, out);
}

int kc_client_do_flags(struct kc_client *c, const char *method, const char *path,
                       const json_t *body, const char *content_type, int flags, json_t **out)
{
    char *text = NULL;
    int rc = -1;
    if (out)
        *out = NULL;
    if (body) {
        text = kc_json_dumps(body, NULL);
        if (!text)
            return -1;
    }
    long backoff = 100;
    for (int attempt = 0; attempt < 6; attempt++) {
        if (kc_client_is_shutdown(c)) {
            rc = -1;
            break;
        }
        long retry_after = -1;
        if (out && *out) {
            json_decref(*out);
            *out = NULL;
        }
        rc = do_once(c, method, path, text, content_type, flags, out, &retry_after);
        bool retry = rc < 0 || rc == 429 || (rc >= 500 && rc != 501);
        if (!retry || attempt == 5)
            break;
        long wait = retry_after >= 0 ? retry_after * 1000 : backoff;
        if (wait > 5000)
            wait = 5000;
        sleep_ms(wait);
        backoff = backoff * 2 > 2000 ? 2000 : backoff * 2;
    }
    free(text);
    return rc;
}

char *kc_client_path(char *buf, size_t len, const struct kc_gvr *r, const char *ns,
                     const char *name, const char *sub)
{
    int n;
    if (r->group[0])
        n = snprintf(buf, len, "/apis/%s/%s", r->group, r->version);
    else
        n = snprintf(buf, len, "/api/%s", r->version);
    if (r->namespaced && ns && ns[0])
        n += snprintf(buf + n, len > (size_t)n ? len - n : 0, "/namespaces/%s", ns);
    n += snprintf(buf + n, len > (size_t)n ? len - n : 0, "/%s", r->resource);
    if (name)
        n += snprintf(buf + n, len > (size_t)n ? len - n : 0, "/%s", name);
    if (sub)
        snprintf(buf + n, len > (size_t)n ? len - n : 0, "/%s", sub);
    return buf;
}

char *kc_client_query_escape(char *buf, size_t len, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s && o + 4 < len; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '_' || ch == '.' || ch == '~') {
            buf[o++] = (char)ch;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[ch >> 4];
            buf[o++] = hex[ch & 15];
        }
    }
    if (len)
        buf[o < len ? o : len - 1] = 0;
    return buf;
}

int kc_get(struct kc_client *c, const struct kc_gvr *r, const char *ns, const char *name,
           json_t **out)
{
    char p[512];
    return kc_client_do(c, "GET", kc_client_path(p, sizeof p, r, ns, name, NULL), NULL, NULL, out);
}

int kc_list(struct kc_client *c, const struct kc_gvr *r, const char *ns, const char *query,
            json_t **out)
{
    char base[512], p[4096];
    json_t *all = NULL, *page = NULL;
    char *cont = NULL;
    int rc;
    kc_client_path(base, sizeof base, r, ns, NULL, NULL);
    *out = NULL;
    for (;;) {
        char esc[2048] = "";
        if (cont)
            kc_client_query_escape(esc, sizeof esc, cont);
        snprintf(p, sizeof p, "%s?limit=500%s%s%s%s", base, query ? "&" : "", query ? query : "",
                 cont ? "&continue=" : "", esc);
        rc = kc_client_do(c, "GET", p, NULL, NULL, &page);
        if (rc != 200) {
            json_decref(all);
            *out = page;
            goto out;
        }
        if (!all) {
            all = page;
        } else {
            json_array_extend(json_object_get(all, "items"), json_object_get(page, "items"));
            json_decref(page);
        }
        page = NULL;
        free(cont);
        cont = NULL;
        const char *next = kc_json_str(all, "metadata.continue");
        if (!next || !next[0])
            break;
        cont = strdup(next);
        json_object_del(json_object_get(all, "metadata"), "continue");
    }
    *out = all;
out:
    free(cont);
    return rc;
}

int kc_create(struct kc_client *c, const struct kc_gvr *r, const char *ns, const json_t *obj,
              json_t **out)
{
    char p[512];
    return kc_client_do(c, "POST", kc_client_path(p, sizeof p, r, ns, NULL, NULL), obj, NULL, out);
}

int kc_update(struct kc_client *c, const struct kc_gvr *r, const char *ns, const json_t *obj,
              const char *sub, json_t **out)
{
    char p[512];
    const char *name = kc_json_str(obj, "metadata.name");
    if (!name)
        return -1;
    return kc_client_do(c, "PUT", kc_client_path(p, sizeof p, r, ns, name, sub), obj, NULL, out);
}

int kc_patch(struct kc_client *c, const struct kc_gvr *r, const char *ns, const char *name,
             const char *sub, const char *patch_type, const json_t *patch, json_t **out)
{
    char p[512];
    return kc_client_do(c, "PATCH", kc_client_path(p, sizeof p, r, ns, name, sub), patch,
                        patch_type, out);
}

int kc_delete(struct kc_client *c, const struct kc_gvr *r, const char *ns, const char *name,
              const char *propagation, const char *uid_precondition, long grace, json_t **out)
{
    char p[512];
    json_t *opts = json_pack("{s:s,s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
    if (propagation)
        json_object_set_new(opts, "propagationPolicy", json_string(propagation));
    if (uid_precondition)
        json_object_set_new(opts, "preconditions", json_pack("{s:s}", "uid", uid_precondition));
    if (grace >= 0)
        json_object_set_new(opts, "gracePeriodSeconds", json_integer(grace));
    int rc =
        kc_client_do(c, "DELETE", kc_client_path(p, sizeof p, r, ns, name, NULL), opts, NULL, out);
    json_decref(opts);
    return rc;
}

/* ---- watch ---- */

struct watch_state {
    struct buf line;
    int flags;
    kc_watch_fn fn;
    void *ctx;
    int stopped; /* the callback asked to stop */
};

static size_t on_watch_data(char *d, size_t sz, size_t nm, void *ud)
{
    struct watch_state *w = ud;
    size_t n = sz * nm;
    if (buf_append(&w->line, d, n) != 0)
        return 0;
    char *start = w->line.p;
    char *nl;
    while ((nl = memchr(start, '\n', w->line.n - (size_t)(start - w->line.p))) != NULL) {
        size_t len = (size_t)(nl - start);
        if (w->flags & KC_CLIENT_NO_MANAGED_FIELDS)
            len = kc_json_text_drop(start, len, EVENT_MANAGED_FIELDS);
        json_t *ev = kc_json_loadb(start, len);
        start = nl + 1;
        if (!ev)
            continue;
        const char *type = kc_json_str(ev, "type");
        json_t *obj = json_object_get(ev, "object");
        int r = type && obj ? w->fn(w->ctx, type, obj) : 0;
        json_decref(ev);
        if (r != 0) {
            w->stopped = 1;
            return 0;
        }
    }
    size_t rest = w->line.n - (size_t)(start - w->line.p);
    memmove(w->line.p, start, rest);
    w->line.n = rest;
    w->line.p[rest] = 0;
    return n;
}

int kc_client_watch(struct kc_client *c, const char *path, kc_watch_fn on_event, void *ctx)
{
    return kc_client_watch_flags(c, path, 0, on_event, ctx);
}

int kc_client_watch_flags(struct kc_client *c, const char *path, int flags, kc_watch_fn on_event,
                          void *ctx)
{
    if (kc_client_is_shutdown(c))
        return -1;
    int rc = -1;
    struct watch_state w = {.flags = flags, .fn = on_event, .ctx = ctx};
    CURL *h = curl_easy_init();
    if (!h)
        return -1;
    setup_handle(c, h);
    size_t ul = strlen(c->server) + strlen(path) + 1;
    char *url = malloc(ul);
    if (!url) {
        curl_easy_cleanup(h);
        return -1;
    }
    snprintf(url, ul, "%s%s", c->server, path);
    struct curl_slist *hl = base_headers(c, NULL, false);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_watch_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &w);
    /* A silent stream for long is a dead connection: the server sends bookmarks at least
     * every minute, and the request asks for a timeout below this. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 660L);
    CURLcode cc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (cc == CURLE_OK || (w.stopped && cc == CURLE_WRITE_ERROR))
        rc = (int)code;
    else if (code >= 300)
        rc = (int)code;
    curl_slist_free_all(hl);
    free(url);
    free(w.line.p);
    curl_easy_cleanup(h);
    return rc;
}
