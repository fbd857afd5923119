/* /api/v1/namespaces/NS/pods/[SCHEME:]NAME[:PORT]/proxy[/PATH]: an HTTP request forwarded
 * to the pod.
 *
 * As upstream's ProxyREST (pkg/registry/core/pod/rest/subresources.go) with the pod
 * strategy's ResourceLocation: the pod is read (404), its port is PORT or else the first
 * containerPort of its containers (none: the scheme's default), and the request goes
 * straight to the pod IP (400 when the pod has none yet), not through the kubelet. The
 * pod's answer (status, Content-Type, body) is relayed; one that cannot be reached is a
 * 503 Status as upstream's proxy error responder makes it.
 *
 * Kept simple: the answer is buffered (up to MAX_BODY) rather than streamed, the request's
 * body is forwarded but its query string is not (the transport gives lookups by key only),
 * and there are no upgrades (WebSockets). */
#include "apiserver/api_internal.h"
#include "apiserver/registry.h"
#include "apiserver/server.h"
#include "lib/jsonx.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONNECT_TIMEOUT_MS 10000L
#define TOTAL_TIMEOUT_MS 30000L
#define MAX_BODY (10 << 20)

struct answer {
    char *buf; /* owned */
    size_t len, cap;
    bool too_large;
    char ctype[128];
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    if (a->len + len > MAX_BODY) {
        a->too_large = true;
        return 0; /* ends the transfer */
    }
    if (a->len + len + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + len + 1)
            cap *= 2;
        char *nb = realloc(a->buf, cap);
        if (!nb)
            return 0;
        a->buf = nb;
        a->cap = cap;
    }
    memcpy(a->buf + a->len, data, len);
    a->len += len;
    a->buf[a->len] = 0;
    return len;
}

/* Keeps the pod's Content-Type. */
static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    static const char key[] = "content-type:";
    if (len > sizeof key - 1 && strncasecmp(data, key, sizeof key - 1) == 0) {
        const char *v = data + sizeof key - 1;
        size_t vl = len - (sizeof key - 1);
        while (vl && isspace((unsigned char)*v)) {
            v++;
            vl--;
        }
        while (vl && isspace((unsigned char)v[vl - 1]))
            vl--;
        if (vl >= sizeof a->ctype)
            vl = sizeof a->ctype - 1;
        memcpy(a->ctype, v, vl);
        a->ctype[vl] = 0;
    }
    return len;
}

/* upstream's net.SplitSchemeNamePort: "name", "name:port" or "scheme:name:port"; the
 * scheme, when given, is http or https. false when malformed. */
static bool split_scheme_name_port(const char *id, char *scheme, char *name, char *port, size_t len)
{
    char parts[3][256];
    int n = 0;
    const char *p = id;
    for (;;) {
        size_t l = strcspn(p, ":");
        if (n == 3 || l >= sizeof parts[0])
            return false;
        memcpy(parts[n], p, l);
        parts[n++][l] = 0;
        if (!p[l])
            break;
        p += l + 1;
    }
    const char *s = "", *nm = parts[0], *pt = "";
    if (n == 2) {
        pt = parts[1];
    } else if (n == 3) {
        s = parts[0];
        nm = parts[1];
        pt = parts[2];
    }
    if (!*nm || (*s && strcmp(s, "http") != 0 && strcmp(s, "https") != 0))
        return false;
    snprintf(scheme, len, "%s", *s ? s : "http");
    snprintf(name, len, "%s", nm);
    snprintf(port, len, "%s", pt);
    return true;
}

void kc_handle_pod_proxy(struct kc_server *srv, const struct kc_request *req,
                         const struct kc_reqinfo *ri, const char *rest, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    struct answer a = {0};
    json_t *pod = NULL; /* owned */
    CURL *curl = NULL;
    char scheme[256], name[256], port[256], url[2048];
    if (!split_scheme_name_port(ri->name, scheme, name, port, sizeof name)) {
        kc_status_set(&st, 400, "BadRequest", "invalid pod request %s", ri->name);
        goto out;
    }
    if (kc_registry_get(srv, ri->r, ri->ns, name, &pod, NULL, &st))
        goto out;
    if (!*port) {
        /* the first container port, as upstream's ResourceLocation */
        size_t i;
        json_t *c;
        json_array_foreach (kc_json_path(pod, "spec.containers"), i, c) {
            long long cp =
                kc_json_int(json_array_get(json_object_get(c, "ports"), 0), "containerPort", 0);
            if (cp > 0) {
                snprintf(port, sizeof port, "%lld", cp);
                break;
            }
        }
    }
    const char *ip = kc_json_str(pod, "status.podIP");
    if (!ip || !*ip) {
        kc_status_set(&st, 400, "BadRequest", "address not allowed");
        goto out;
    }
    bool v6 = strchr(ip, ':') != NULL;
    snprintf(url, sizeof url, "%s://%s%s%s%s%s/%s", scheme, v6 ? "[" : "", ip, v6 ? "]" : "",
             *port ? ":" : "", port, rest ? rest : "");
    curl = curl_easy_init();
    if (!curl) {
        kc_status_internal(&st, "cannot start the proxy request");
        goto out;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
    /* a pod serving https has a certificate of its own making: upstream does not verify it
     * either (its proxy transport has InsecureSkipVerify) */
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
    if (!strcmp(req->method, "HEAD"))
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    if (req->body_len) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &a);
    CURLcode rc = curl_easy_perform(curl);
    if (a.too_large) {
        kc_status_internal(&st, "the pod's answer is larger than the proxy keeps");
        goto out;
    }
    if (rc != CURLE_OK) {
        /* upstream's proxy error responder: 503 with the dial error */
        kc_status_set(&st, 503, "ServiceUnavailable", "error trying to reach service: %s",
                      curl_easy_strerror(rc));
        goto out;
    }
    long code = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
    kc_response_set(resp, (int)code, a.ctype[0] ? a.ctype : "text/plain",
                    a.buf ? a.buf : strdup(""), a.len);
    a.buf = NULL; /* the response's now */
out:
    if (st.code)
        kc_respond_status(resp, &st);
    kc_status_release(&st);
    if (curl)
        curl_easy_cleanup(curl);
    free(a.buf);
    json_decref(pod);
}
