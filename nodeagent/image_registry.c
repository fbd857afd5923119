/* A small client of the OCI distribution API over plain HTTP with libcurl: manifests
 * (GET, PUT), blobs (GET following redirects, HEAD, the POST + PUT monolithic upload).
 * One easy handle per registry object, so the requests of one pull or push share a
 * keep-alive connection. No authentication: the registries are on loopback. */
#include "nodeagent/image_internal.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct kc_registry {
    char base[300]; /* http://host */
    CURL *h;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct kc_registry *kc_registry_open(const char *host)
{
    pthread_once(&curl_once, curl_init_once);
    struct kc_registry *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    snprintf(r->base, sizeof r->base, "http://%s", host);
    r->h = curl_easy_init();
    if (!r->h) {
        free(r);
        return NULL;
    }
    return r;
}

void kc_registry_close(struct kc_registry *r)
{
    if (!r)
        return;
    curl_easy_cleanup(r->h);
    free(r);
}

/* What one request collects. */
struct xfer {
    char *body; /* when no sink: the response body, capped at max */
    size_t len, max;
    bool too_big;
    int (*sink)(void *ctx, const void *data, size_t len); /* blob bodies go here on 2xx */
    void *sink_ctx;
    bool sink_failed;
    long status; /* of the last response (redirects reset the headers) */
    char location[2048];
    char digest[128];
    char ctype[128];
    /* upload source */
    FILE *in;
    const char *in_buf;
    size_t in_len, in_off;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (x->sink && x->status >= 200 && x->status < 300) {
        if (x->sink(x->sink_ctx, data, n) != 0) {
            x->sink_failed = true;
            return 0; /* aborts the transfer */
        }
        return n;
    }
    if (x->len + n > x->max) {
        x->too_big = true;
        return 0;
    }
    char *nb = realloc(x->body, x->len + n + 1);
    if (!nb)
        return 0;
    x->body = nb;
    memcpy(x->body + x->len, data, n);
    x->len += n;
    x->body[x->len] = 0;
    return n;
}

static void header_value(const char *line, size_t n, size_t namelen, char *out, size_t outlen)
{
    const char *v = line + namelen;
    const char *end = line + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    snprintf(out, outlen, "%.*s", (int)(end - v), v);
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (n > 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* a new response (after a redirect or a 100 Continue): forget the last one's */
        const char *sp = memchr(line, ' ', n);
        x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->location[0] = x->digest[0] = x->ctype[0] = 0;
        x->len = 0; /* keep only the last response's body */
    } else if (n > 9 && strncasecmp(line, "Location:", 9) == 0) {
        header_value(line, n, 9, x->location, sizeof x->location);
    } else if (n > 22 && strncasecmp(line, "Docker-Content-Digest:", 22) == 0) {
        header_value(line, n, 22, x->digest, sizeof x->digest);
    } else if (n > 13 && strncasecmp(line, "Content-Type:", 13) == 0) {
        header_value(line, n, 13, x->ctype, sizeof x->ctype);
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t want = size * nmemb;
    if (x->in)
        return fread(buf, 1, want, x->in);
    size_t n = x->in_len - x->in_off < want ? x->in_len - x->in_off : want;
    memcpy(buf, x->in_buf + x->in_off, n);
    x->in_off += n;
    return n;
}

/* The registry's error message from an error body ({"errors":[{"code","message"}]}), or
 * the start of the body. */
static void body_reason(const struct xfer *x, char *out, size_t outlen)
{
    out[0] = 0;
    if (!x->body || !x->len)
        return;
    json_t *doc = json_loadb(x->body, x->len, 0, NULL);
    json_t *e0 = json_array_get(json_object_get(doc, "errors"), 0);
    const char *code = json_string_value(json_object_get(e0, "code"));
    const char *msg = json_string_value(json_object_get(e0, "message"));
    if (code || msg)
        snprintf(out, outlen, ": %s%s%s", code ? code : "", code && msg ? ": " : "",
                 msg ? msg : "");
    else
        snprintf(out, outlen, ": %.*s", (int)(x->len < 200 ? x->len : 200), x->body);
    json_decref(doc);
}

/* err: "<what>: unexpected status N: <the registry's reason>"; what is printf-formatted. */
static void status_error(const struct xfer *x, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void status_error(const struct xfer *x, char *err, size_t errlen, const char *fmt, ...)
{
    char what[2200], why[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    body_reason(x, why, sizeof why);
    kc_image_errf(err, errlen, "%s: unexpected status %ld%s", what, x->status, why);
}

/* Runs one request. method: "GET", "HEAD", "POST", "PUT". Returns 0 when a response came
 * (x->status set), -1 on a transport error (err). */
static int perform(struct kc_registry *r, const char *method, const char *url,
                   struct curl_slist *headers, struct xfer *x, bool upload, char *err,
                   size_t errlen)
{
    CURL *h = r->h;
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "kubec-nodeagent");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    /* a registry that stops sending for 30 s is gone */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    if (headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (strcmp(method, "GET") == 0) {
        /* blob GETs may be redirected to the storage backend */
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    } else if (upload) {
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, x);
        curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->in_len);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && (x->sink_failed || x->too_big))) {
        kc_image_errf(err, errlen, "failed to do request: %s \"%s\": %s", method, url,
                      cerr[0] ? cerr : curl_easy_strerror(rc));
        return -1;
    }
    if (x->too_big) {
        kc_image_errf(err, errlen, "%s \"%s\": response larger than %zu bytes", method, url,
                      x->max);
        return -1;
    }
    return 0;
}

int kc_registry_get_manifest(struct kc_registry *r, const char *repo, const char *ref, char **body,
                             size_t *len, char *media_type, size_t mtlen, char *digest,
                             size_t digestlen, char *err, size_t errlen)
{
    char url[2048];
    struct xfer x = {.max = KC_OCI_MAX_DOC};
    struct curl_slist *hl = curl_slist_append(NULL, "Accept: " KC_MANIFEST_ACCEPT);
    int rc = -1;
    *body = NULL;
    *len = 0;
    snprintf(url, sizeof url, "%s/v2/%s/manifests/%s", r->base, repo, ref);
    if (perform(r, "GET", url, hl, &x, false, err, errlen) != 0)
        goto out;
    if (x.status == 404) {
        rc = KC_REGISTRY_NOT_FOUND;
        goto out;
    }
    if (x.status != 200) {
        status_error(&x, err, errlen, "GET \"%s\"", url);
        goto out;
    }
    snprintf(media_type, mtlen, "%s", x.ctype);
    snprintf(digest, digestlen, "%s", x.digest);
    *body = x.body ? x.body : calloc(1, 1);
    *len = x.len;
    x.body = NULL;
    rc = *body ? 0 : -1;
out:
    curl_slist_free_all(hl);
    free(x.body);
    return rc;
}

int kc_registry_get_blob(struct kc_registry *r, const char *repo, const char *digest,
                         int (*sink)(void *ctx, const void *data, size_t len), void *ctx, char *err,
                         size_t errlen)
{
    char url[2048];
    struct xfer x = {.max = 64 << 10, .sink = sink, .sink_ctx = ctx};
    int rc = -1;
    snprintf(url, sizeof url, "%s/v2/%s/blobs/%s", r->base, repo, digest);
    if (perform(r, "GET", url, NULL, &x, false, err, errlen) != 0)
        goto out;
    if (x.sink_failed) {
        kc_image_errf(err, errlen,
                      "blob %s: more data than its descriptor's size, or a write error", digest);
        goto out;
    }
    if (x.status == 404) {
        rc = KC_REGISTRY_NOT_FOUND;
        goto out;
    }
    if (x.status != 200) {
        status_error(&x, err, errlen, "GET \"%s\"", url);
        goto out;
    }
    rc = 0;
out:
    free(x.body);
    return rc;
}

/* Location may be relative ("/v2/x/blobs/uploads/<id>?_state=...") or absolute. */
static void absolute_url(const struct kc_registry *r, const char *loc, char *out, size_t outlen)
{
    if (strncmp(loc, "http://", 7) == 0 || strncmp(loc, "https://", 8) == 0)
        snprintf(out, outlen, "%s", loc);
    else
        snprintf(out, outlen, "%s%s%s", r->base, loc[0] == '/' ? "" : "/", loc);
}

int kc_registry_push_blob(struct kc_registry *r, const char *repo, const char *digest,
                          const char *path, long long size, bool *skipped, char *err, size_t errlen)
{
    char url[2048], put[4200];
    struct xfer x = {.max = 64 << 10};
    struct curl_slist *hl = NULL;
    int rc = -1;
    *skipped = false;
    snprintf(url, sizeof url, "%s/v2/%s/blobs/%s", r->base, repo, digest);
    if (perform(r, "HEAD", url, NULL, &x, false, err, errlen) != 0)
        goto out;
    if (x.status == 200) {
        *skipped = true;
        rc = 0;
        goto out;
    }
    free(x.body);
    x = (struct xfer){.max = 64 << 10};
    snprintf(url, sizeof url, "%s/v2/%s/blobs/uploads/", r->base, repo);
    if (perform(r, "POST", url, NULL, &x, false, err, errlen) != 0)
        goto out;
    if (x.status != 202 || !x.location[0]) {
        status_error(&x, err, errlen, "POST \"%s\"", url);
        goto out;
    }
    char loc[4096];
    absolute_url(r, x.location, loc, sizeof loc);
    snprintf(put, sizeof put, "%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", digest);
    free(x.body);
    x = (struct xfer){.max = 64 << 10};
    x.in = fopen(path, "rb");
    if (!x.in) {
        kc_image_errf(err, errlen, "open %s: %m", path);
        goto out;
    }
    x.in_len = (size_t)size;
    hl = curl_slist_append(NULL, "Content-Type: application/octet-stream");
    hl = curl_slist_append(hl, "Expect:"); /* no 100-continue round trip */
    if (perform(r, "PUT", put, hl, &x, true, err, errlen) != 0)
        goto out;
    if (x.status != 201) {
        status_error(&x, err, errlen, "PUT blob %s", digest);
        goto out;
    }
    rc = 0;
out:
    if (x.in)
        fclose(x.in);
    curl_slist_free_all(hl);
    free(x.body);
    return rc;
}

int kc_registry_put_manifest(struct kc_registry *r, const char *repo, const char *ref,
                             const char *media_type, const void *body, size_t len, char *err,
                             size_t errlen)
{
    char url[2048], ct[256], want[72];
    struct xfer x = {.max = 64 << 10, .in_buf = body, .in_len = len};
    snprintf(url, sizeof url, "%s/v2/%s/manifests/%s", r->base, repo, ref);
    snprintf(ct, sizeof ct, "Content-Type: %s", media_type);
    struct curl_slist *hl = curl_slist_append(NULL, ct);
    hl = curl_slist_append(hl, "Expect:");
    int rc = -1;
    if (perform(r, "PUT", url, hl, &x, true, err, errlen) != 0)
        goto out;
    if (x.status != 201) {
        status_error(&x, err, errlen, "PUT \"%s\"", url);
        goto out;
    }
    kc_sha256_buf(body, len, want);
    if (x.digest[0] && strcmp(x.digest, want) != 0) {
        kc_image_errf(err, errlen, "PUT \"%s\": the registry stored %s, not %s", url, x.digest,
                      want);
        goto out;
    }
    rc = 0;
out:
    curl_slist_free_all(hl);
    free(x.body);
    return rc;
}
