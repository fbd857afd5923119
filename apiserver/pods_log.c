/* GET /api/v1/namespaces/NS/pods/NAME/log: a container's log, from the node agent.
 *
 * As upstream's LogREST (pkg/registry/core/pod/rest/log.go) and LogLocation
 * (pkg/registry/core/pod/strategy.go): the PodLogOptions query is decoded (400) and
 * validated (422 Invalid PodLogOptions), the pod read (404), the container chosen (the only
 * one, else the client must name one: 400), a pod not yet on a node answers an empty log,
 * and the node's InternalIP and kubelet port (status.daemonEndpoints.kubeletEndpoint.Port,
 * 10250 when unset) locate the agent's /containerLogs/NS/NAME/CONTAINER.
 *
 * The kubelet also refuses a container that has not started ("is waiting to start:
 * ContainerCreating"), from the pod status it keeps. kubec's agent serves only the log
 * files, so those checks are made here from the pod's containerStatuses; whether a previous
 * run exists is left to the agent, which has the files.
 *
 * The agent's answer is streamed back as it arrives (libcurl's multi interface, driven by
 * the transport's reads through a kc_watch_stream source: blocking with a timeout for
 * HTTP/1.1, non-blocking for HTTP/2), paused while more than BUFFER_PAUSE bytes wait for a
 * slow client; a client that goes away closes the agent connection, which ends the agent's
 * follow. Error answers become Statuses as upstream's GenericHttpResponseChecker makes them.
 *
 * The agent is reached over plain HTTP without credentials: it binds only to its node
 * address inside the node's network namespace (see nodeagent/logserver.h). TLS to the
 * kubelet port, with the apiserver's kubelet client certificate, is for later. */
#include "apiserver/api_internal.h"
#include "apiserver/http/tunnel.h"
#include "apiserver/registry.h"
#include "apiserver/server.h"
#include "lib/base64.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"
#include "lib/websocket.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_KUBELET_PORT 10250
#define CONNECT_TIMEOUT_MS 10000L
#define HEADER_WAIT_MS 30000 /* the agent answers at once; this only bounds a stuck one */
#define MAX_ERROR_BODY 50000 /* upstream's maxReadLength */
#define BUFFER_PAUSE (1 << 20)

/* ---- options ---- */

struct log_opts {
    const char *container;
    bool follow, previous, timestamps;
    bool has_tail, has_limit, has_since_s, has_since_t;
    long long tail, limit, since_s;
    time_t since_t;
};

/* Go's query conversion of a bool: present and neither "0" nor "false" is true. */
static bool query_bool(const struct kc_request *req, const char *key)
{
    const char *v = kc_req_query(req, key);
    return v && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

/* An int64 parameter as strconv.ParseInt reads it; absent or empty leaves *has false. */
static int query_int64(const struct kc_request *req, const char *key, bool *has, long long *out,
                       struct kc_status *st)
{
    const char *v = kc_req_query(req, key);
    char *end;
    *has = false;
    if (!v || !*v)
        return 0;
    errno = 0;
    *out = strtoll(v, &end, 10);
    if (isspace((unsigned char)v[0]) || *end)
        return kc_status_bad_request(st, "strconv.ParseInt: parsing \"%s\": invalid syntax", v);
    if (errno == ERANGE)
        return kc_status_bad_request(st, "strconv.ParseInt: parsing \"%s\": value out of range", v);
    *has = true;
    return 0;
}

static int parse_opts(const struct kc_request *req, const char *name, struct log_opts *o,
                      struct kc_status *st)
{
    memset(o, 0, sizeof *o);
    o->container = kc_req_query(req, "container");
    if (o->container && !*o->container)
        o->container = NULL;
    o->follow = query_bool(req, "follow");
    o->previous = query_bool(req, "previous");
    o->timestamps = query_bool(req, "timestamps");
    if (query_int64(req, "tailLines", &o->has_tail, &o->tail, st) ||
        query_int64(req, "limitBytes", &o->has_limit, &o->limit, st) ||
        query_int64(req, "sinceSeconds", &o->has_since_s, &o->since_s, st))
        return -1;
    const char *t = kc_req_query(req, "sinceTime");
    if (t && *t) {
        if (kc_time_parse(t, &o->since_t) != 0)
            return kc_status_bad_request(st,
                                         "parsing time \"%s\" as \"2006-01-02T15:04:05Z07:00\": "
                                         "cannot parse \"%s\" as \"2006\"",
                                         t, t);
        o->has_since_t = true;
    }
    /* validation.ValidatePodLogOptions */
    struct kc_errlist *l = kc_errlist_new();
    if (o->has_tail && o->tail < 0) {
        json_t *v = json_integer(o->tail);
        kc_err_invalid(l, "tailLines", v, "must be greater than or equal to 0");
        json_decref(v);
    }
    if (o->has_limit && o->limit < 1) {
        json_t *v = json_integer(o->limit);
        kc_err_invalid(l, "limitBytes", v, "must be greater than 0");
        json_decref(v);
    }
    if (o->has_since_s && o->has_since_t) {
        kc_err_forbidden(l, "", "at most one of `sinceTime` or `sinceSeconds` may be specified");
    } else if (o->has_since_s && o->since_s < 1) {
        json_t *v = json_integer(o->since_s);
        kc_err_invalid(l, "sinceSeconds", v, "must be greater than 0");
        json_decref(v);
    }
    int rc = 0;
    if (kc_errlist_len(l))
        rc = kc_status_invalid(st, "", "PodLogOptions", name, l);
    kc_errlist_free(l);
    return rc;
}

/* ---- the pod ---- */

/* Calls fn for each container of the pod in upstream's VisitContainers order (init, regular,
 * ephemeral) until it returns true; returns that container (borrowed) or NULL. */
static const json_t *visit_containers(const json_t *pod, bool (*fn)(const json_t *c, void *arg),
                                      void *arg)
{
    static const char *const lists[] = {"spec.initContainers", "spec.containers",
                                        "spec.ephemeralContainers"};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        size_t k;
        json_t *c;
        json_array_foreach (kc_json_path(pod, lists[i]), k, c)
            if (fn(c, arg))
                return c;
    }
    return NULL;
}

static bool named(const json_t *c, void *arg)
{
    const char *n = kc_json_str(c, "name");
    return n && strcmp(n, arg) == 0;
}

static bool append_name(const json_t *c, void *arg)
{
    char *list = arg;
    const char *n = kc_json_str(c, "name");
    size_t len = strlen(list);
    if (n && len + strlen(n) + 2 < 1024)
        snprintf(list + len, 1024 - len, "%s%s", len ? " " : "", n);
    return false;
}

/* upstream's validateContainer: the container asked for, or the only one. */
int kc_pod_choose_container(const json_t *pod, const char *name, const char *asked,
                            const char **out, struct kc_status *st)
{
    if (asked) {
        if (!visit_containers(pod, named, (void *)asked))
            return kc_status_bad_request(st, "container %s is not valid for pod %s", asked, name);
        *out = asked;
        return 0;
    }
    json_t *cs = kc_json_path(pod, "spec.containers");
    if (json_array_size(cs) == 1) {
        *out = kc_json_str(json_array_get(cs, 0), "name");
        return *out ? 0
                    : kc_status_bad_request(st, "a container name must be specified for pod %s",
                                            name);
    }
    if (json_array_size(cs) == 0)
        return kc_status_bad_request(st, "a container name must be specified for pod %s", name);
    char list[1024] = "";
    visit_containers(pod, append_name, list);
    return kc_status_bad_request(
        st, "a container name must be specified for pod %s, choose one of: [%s]", name, list);
}

static json_t *find_status(const json_t *pod, const char *ctr)
{
    static const char *const lists[] = {"status.containerStatuses", "status.initContainerStatuses",
                                        "status.ephemeralContainerStatuses"};
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        size_t k;
        json_t *s;
        json_array_foreach (kc_json_path(pod, lists[i]), k, s) {
            const char *n = kc_json_str(s, "name");
            if (n && strcmp(n, ctr) == 0)
                return s;
        }
    }
    return NULL;
}

/* The kubelet's validateContainerLogStatus for the current run, from the pod's status: a
 * container that never ran has no log to show. */
static int check_started(const json_t *pod, const char *name, const char *ctr, struct kc_status *st)
{
    json_t *cs = find_status(pod, ctr);
    if (!cs)
        return kc_status_bad_request(st, "container \"%s\" in pod \"%s\" is not available", ctr,
                                     name);
    if (kc_json_path(cs, "state.running") || kc_json_path(cs, "state.terminated") ||
        kc_json_path(cs, "lastState.terminated"))
        return 0;
    json_t *waiting = kc_json_path(cs, "state.waiting");
    if (!waiting)
        return kc_status_bad_request(
            st, "container \"%s\" in pod \"%s\" is waiting to start - no logs yet", ctr, name);
    const char *reason = kc_json_str(waiting, "reason") ? kc_json_str(waiting, "reason") : "";
    if (strcmp(reason, "ErrImagePull") == 0)
        return kc_status_bad_request(
            st, "container \"%s\" in pod \"%s\" is waiting to start: image can't be pulled", ctr,
            name);
    if (strcmp(reason, "ImagePullBackOff") == 0)
        return kc_status_bad_request(st,
                                     "container \"%s\" in pod \"%s\" is waiting to start: trying "
                                     "and failing to pull image",
                                     ctr, name);
    return kc_status_bad_request(st, "container \"%s\" in pod \"%s\" is waiting to start: %s", ctr,
                                 name, reason);
}

/* "host:port" of the node's agent (brackets around an IPv6 address). */
int kc_pod_agent_address(struct kc_server *srv, const char *node_name, char *hostport, size_t n,
                         struct kc_status *st)
{
    const struct kc_resource *nodes = kc_resource_find("", "v1", "nodes");
    json_t *node = NULL;
    int rc = -1;
    if (!nodes || kc_registry_get(srv, nodes, NULL, node_name, &node, NULL, st))
        goto out;
    const char *ip = NULL;
    char known[512] = "";
    size_t i;
    json_t *a;
    json_array_foreach (kc_json_path(node, "status.addresses"), i, a) {
        const char *type = kc_json_str(a, "type"), *addr = kc_json_str(a, "address");
        size_t kl = strlen(known);
        snprintf(known + kl, sizeof known - kl, "%s{%s %s}", kl ? " " : "", type ? type : "",
                 addr ? addr : "");
        if (!ip && type && addr && strcmp(type, "InternalIP") == 0)
            ip = addr;
    }
    if (!ip) {
        kc_status_set(st, 500, "", "no preferred addresses found; known addresses: [%s]", known);
        goto out;
    }
    long long port = kc_json_int(node, "status.daemonEndpoints.kubeletEndpoint.Port", 0);
    if (port <= 0 || port > 65535)
        port = DEFAULT_KUBELET_PORT;
    snprintf(hostport, n, strchr(ip, ':') ? "[%s]:%lld" : "%s:%lld", ip, port);
    rc = 0;
out:
    json_decref(node);
    return rc;
}

/* ---- the proxy ---- */

struct log_proxy {
    CURLM *multi;
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];
    char *buf; /* received body bytes not handed out yet: [off, len) */
    size_t len, off, cap;
    bool headers_done, done, paused;
    CURLcode result;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct log_proxy *lp = arg;
    size_t n = size * nmemb;
    if (lp->len - lp->off >= BUFFER_PAUSE) {
        lp->paused = true; /* curl keeps these bytes until we resume */
        return CURL_WRITEFUNC_PAUSE;
    }
    if (lp->off == lp->len)
        lp->off = lp->len = 0;
    if (lp->len + n > lp->cap) {
        if (lp->off) {
            memmove(lp->buf, lp->buf + lp->off, lp->len - lp->off);
            lp->len -= lp->off;
            lp->off = 0;
        }
        size_t cap = lp->cap ? lp->cap : 16384;
        while (cap < lp->len + n)
            cap *= 2;
        lp->buf = realloc(lp->buf, cap);
        if (!lp->buf)
            abort();
        lp->cap = cap;
    }
    memcpy(lp->buf + lp->len, p, n);
    lp->len += n;
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct log_proxy *lp = arg;
    size_t n = size * nmemb;
    long code = 0;
    /* the blank line after a final (not 1xx) status ends the head */
    if ((n == 2 && p[0] == '\r') || (n == 1 && p[0] == '\n')) {
        curl_easy_getinfo(lp->easy, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200)
            lp->headers_done = true;
    }
    return n;
}

/* Moves the transfer along; waits up to wait_ms when that brought nothing. */
static void pump(struct log_proxy *lp, int wait_ms)
{
    int running = 0, left = 0;
    size_t had = lp->len;
    bool had_headers = lp->headers_done;
    CURLMsg *m;
    curl_multi_perform(lp->multi, &running);
    if (wait_ms > 0 && running && lp->len == had && lp->headers_done == had_headers) {
        curl_multi_poll(lp->multi, NULL, 0, wait_ms, NULL);
        curl_multi_perform(lp->multi, &running);
    }
    while ((m = curl_multi_info_read(lp->multi, &left)))
        if (m->msg == CURLMSG_DONE) {
            lp->done = true;
            lp->result = m->data.result;
        }
}

static ssize_t proxy_read(void *src, char *buf, size_t max, int wait_ms)
{
    struct log_proxy *lp = src;
    if (lp->off == lp->len && !lp->done && !lp->paused)
        pump(lp, wait_ms);
    if (lp->off == lp->len)
        return lp->done ? -1 : 0;
    size_t n = lp->len - lp->off;
    if (n > max)
        n = max;
    memcpy(buf, lp->buf + lp->off, n);
    lp->off += n;
    if (lp->paused && lp->len - lp->off < BUFFER_PAUSE / 2) {
        lp->paused = false;
        curl_easy_pause(lp->easy, CURLPAUSE_CONT);
    }
    return (ssize_t)n;
}

static void proxy_free(void *src)
{
    struct log_proxy *lp = src;
    if (!lp)
        return;
    if (lp->multi && lp->easy)
        curl_multi_remove_handle(lp->multi, lp->easy);
    curl_easy_cleanup(lp->easy);
    curl_multi_cleanup(lp->multi);
    free(lp->buf);
    free(lp);
}

static const struct kc_stream_source_ops proxy_ops = {proxy_read, proxy_free};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Go's %q for the few bytes an error body holds. */
static void go_quote(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n && o + 6 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            o += (size_t)snprintf(out + o, cap - o, "\\%c", c);
        else if (c == '\n')
            o += (size_t)snprintf(out + o, cap - o, "\\n");
        else if (c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
        else
            out[o++] = (char)c;
    }
    snprintf(out + o, cap - o, "\"");
}

/* An error answer of the agent as GenericHttpResponseChecker turns it into a Status. */
static void agent_error(long code, const char *body, const char *name, struct kc_status *st)
{
    const char *reason = "", *msg = NULL;
    char fallback[256], quoted[128];
    if (code == 500) {
        kc_status_set(st, 500, "InternalError", "Internal error occurred: %s", body);
        st->details = json_pack("{s:[{s:s}]}", "causes", "message", body);
        return;
    }
    if (code == 400) {
        kc_status_bad_request(st, "%s", body);
        return;
    }
    snprintf(fallback, sizeof fallback,
             "the server responded with the status code %ld but did not return more information",
             code);
    msg = fallback;
    switch (code) {
    case 401:
        reason = "Unauthorized";
        msg = "the server has asked for the client to provide credentials";
        break;
    case 403:
        reason = "Forbidden";
        msg = body;
        break;
    case 404:
        reason = "NotFound";
        msg = "the server could not find the requested resource";
        break;
    case 405:
        reason = "MethodNotAllowed";
        msg = "the server does not allow this method on the requested resource";
        break;
    case 409:
        reason = "Conflict";
        msg = "the server reported a conflict";
        break;
    case 422:
        reason = "Invalid";
        msg = "the server rejected our request due to an error in our request";
        break;
    case 429:
        reason = "TooManyRequests";
        msg = "the server has received too many requests and has asked us to try again later";
        break;
    case 503:
        reason = "ServiceUnavailable";
        msg = "the server is currently unable to handle the request";
        break;
    case 504:
        reason = "Timeout";
        msg = "the server was unable to return a response in the time allotted, but may still be "
              "processing the request";
        break;
    default:
        if (code >= 500) {
            reason = "InternalError";
            go_quote(body, strlen(body), quoted, sizeof quoted);
            snprintf(fallback, sizeof fallback,
                     "an error on the server (%s) has prevented the request from succeeding",
                     quoted);
        }
    }
    kc_status_set(st, (int)code, reason, "%s ( pods/log %s)", msg, name);
    kc_status_set_details(st, name, "", "pods/log");
}

/* The Go client's words for a request that got no answer. */
static void transfer_error(struct log_proxy *lp, const char *url, const char *hostport,
                           struct kc_status *st)
{
    long os_errno = 0;
    char why[512];
    curl_easy_getinfo(lp->easy, CURLINFO_OS_ERRNO, &os_errno);
    if (lp->result == CURLE_COULDNT_CONNECT && os_errno) {
        char e[128];
        snprintf(e, sizeof e, "%s", strerror((int)os_errno));
        e[0] = (char)tolower((unsigned char)e[0]);
        snprintf(why, sizeof why, "dial tcp %s: connect: %s", hostport, e);
    } else if (lp->result == CURLE_OPERATION_TIMEDOUT) {
        snprintf(why, sizeof why, "dial tcp %s: i/o timeout", hostport);
    } else if (!lp->done) {
        snprintf(why, sizeof why, "net/http: timeout awaiting response headers");
    } else {
        snprintf(why, sizeof why, "%s",
                 lp->errbuf[0] ? lp->errbuf : curl_easy_strerror(lp->result));
    }
    kc_status_set(st, 500, "", "Get \"%s\": %s", url, why);
}

/* Appends &key=value (value escaped as url.Values.Encode does for what appears here). */
static void add_param(char *q, size_t cap, const char *key, const char *value)
{
    size_t n = strlen(q);
    n += (size_t)snprintf(q + n, n < cap ? cap - n : 0, "%s%s=", n ? "&" : "", key);
    for (const char *p = value; *p && n + 4 < cap; p++) {
        if (isalnum((unsigned char)*p) || strchr("-_.~", *p))
            q[n++] = *p;
        else
            n += (size_t)snprintf(q + n, cap - n, "%%%02X", (unsigned char)*p);
    }
    q[n < cap ? n : cap - 1] = 0;
}

static void add_int(char *q, size_t cap, const char *key, long long v)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", v);
    add_param(q, cap, key, s);
}

/* Connects to the agent and waits for its status line and headers. On success *out is the
 * transfer, still running; otherwise st says why. */
static int open_agent(struct kc_server *srv, const char *url, const char *hostport,
                      const char *name, struct log_proxy **out, struct kc_status *st)
{
    struct log_proxy *lp = calloc(1, sizeof *lp);
    int rc = -1;
    if (!lp)
        abort();
    pthread_once(&curl_once, curl_init_once);
    lp->multi = curl_multi_init();
    lp->easy = curl_easy_init();
    if (!lp->multi || !lp->easy) {
        kc_status_internal(st, "cannot start a request to the node agent");
        goto out;
    }
    curl_easy_setopt(lp->easy, CURLOPT_URL, url);
    curl_easy_setopt(lp->easy, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(lp->easy, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(lp->easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(lp->easy, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(lp->easy, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(lp->easy, CURLOPT_ERRORBUFFER, lp->errbuf);
    curl_easy_setopt(lp->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(lp->easy, CURLOPT_WRITEDATA, lp);
    curl_easy_setopt(lp->easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(lp->easy, CURLOPT_HEADERDATA, lp);
    curl_multi_add_handle(lp->multi, lp->easy);

    long long deadline = now_ms() + HEADER_WAIT_MS;
    while (!lp->headers_done && !lp->done && !srv->stopping && now_ms() < deadline)
        pump(lp, 100);
    if (!lp->headers_done) {
        transfer_error(lp, url, hostport, st);
        goto out;
    }
    long code = 0;
    curl_easy_getinfo(lp->easy, CURLINFO_RESPONSE_CODE, &code);
    if (code < 200 || code > 206) {
        deadline = now_ms() + 5000;
        while (!lp->done && lp->len < MAX_ERROR_BODY && now_ms() < deadline)
            pump(lp, 100);
        size_t n = lp->len < MAX_ERROR_BODY ? lp->len : MAX_ERROR_BODY;
        char *body = strndup(lp->buf ? lp->buf : "", n);
        if (!body)
            abort();
        agent_error(code, body, name, st);
        free(body);
        goto out;
    }
    *out = lp;
    lp = NULL;
    rc = 0;
out:
    proxy_free(lp);
    return rc;
}

/* ---- the handler ---- */

/* ---- WebSocket ----
 *
 * As upstream's wsstream.Reader (what the log REST handler streams through when the request
 * is a WebSocket upgrade): each piece of the log is a binary message ("binary.k8s.io", or
 * no subprotocol) or a text message of its base64 ("base64.binary.k8s.io"); the end of the
 * log is a close frame. The transport relays a socket pair as a tunnel: a thread writes the
 * frames into its other end. */

struct ws_log {
    struct log_proxy *lp; /* owned */
    int fd;               /* owned: our end of the pair */
    bool base64;
    const volatile int *stopping;
};

static int write_full(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int ws_send(int fd, enum kc_ws_opcode op, const void *data, size_t n)
{
    uint8_t head[KC_WS_MAX_HEADER];
    size_t hl = kc_ws_frame_header(head, op, true, n, NULL);
    return write_full(fd, head, hl) == 0 && write_full(fd, data, n) == 0 ? 0 : -1;
}

static void *ws_log_main(void *arg)
{
    struct ws_log *w = arg;
    char buf[32768], drain[4096];
    for (;;) {
        if (*w->stopping)
            break;
        /* what the client sends (its close, pings) is not needed: a read-only stream */
        ssize_t got = recv(w->fd, drain, sizeof drain, MSG_DONTWAIT);
        if (got == 0)
            break; /* the client went away */
        ssize_t n = proxy_read(w->lp, buf, sizeof buf, 500);
        if (n < 0)
            break;
        if (n == 0)
            continue;
        int rc;
        if (w->base64) {
            char *b = kc_base64_encode(buf, (size_t)n);
            rc = b ? ws_send(w->fd, KC_WS_TEXT, b, strlen(b)) : -1;
            free(b);
        } else {
            rc = ws_send(w->fd, KC_WS_BINARY, buf, (size_t)n);
        }
        if (rc != 0)
            break;
    }
    static const uint8_t normal[2] = {KC_WS_CLOSE_NORMAL >> 8, KC_WS_CLOSE_NORMAL & 0xff};
    ws_send(w->fd, KC_WS_CLOSE, normal, sizeof normal);
    shutdown(w->fd, SHUT_WR);
    close(w->fd);
    proxy_free(w->lp);
    free(w);
    return NULL;
}

/* True when req asks for a WebSocket (Connection: Upgrade, Upgrade: websocket). */
static bool wants_websocket(const struct kc_request *req)
{
    return kc_http_list_has(kc_req_header(req, "Connection"), "upgrade") &&
           kc_http_list_has(kc_req_header(req, "Upgrade"), "websocket");
}

/* Answers 101 and streams the log of lp (taken) as WebSocket messages. 0, or -1 with st
 * set (lp freed either way). */
static int ws_log(struct kc_server *srv, const struct kc_request *req, struct log_proxy *lp,
                  struct kc_response *resp, struct kc_status *st)
{
    static const char *const protocols[] = {"binary.k8s.io", "base64.binary.k8s.io", NULL};
    const char *key = kc_req_header(req, "Sec-WebSocket-Key");
    const char *offered = kc_req_header(req, "Sec-WebSocket-Protocol");
    const char *chosen = NULL;
    int pair[2] = {-1, -1};
    if (!key || !kc_ws_key_valid(key)) {
        kc_status_set(st, 400, "BadRequest", "missing or bad Sec-WebSocket-Key");
        goto fail;
    }
    if (offered && *offered && !(chosen = kc_ws_choose_protocol(offered, protocols))) {
        kc_status_set(st, 400, "BadRequest", "requested protocol(s) are not supported: [%s]",
                      offered);
        goto fail;
    }
    struct ws_log *w = calloc(1, sizeof *w);
    if (!w || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        free(w);
        kc_status_internal(st, "cannot stream the log");
        goto fail;
    }
    w->lp = lp;
    w->fd = pair[1];
    w->base64 = chosen && !strcmp(chosen, "base64.binary.k8s.io");
    w->stopping = &srv->stopping;
    pthread_t th;
    if (pthread_create(&th, NULL, ws_log_main, w) != 0) {
        free(w);
        close(pair[1]);
        close(pair[0]);
        kc_status_internal(st, "cannot stream the log");
        goto fail;
    }
    pthread_detach(th);
    struct kc_tunnel *t = kc_tunnel_new(pair[0], &srv->stopping);
    char accept[29];
    kc_ws_accept(key, accept);
    kc_tunnel_add_header(t, "Upgrade", "websocket");
    kc_tunnel_add_header(t, "Sec-WebSocket-Accept", accept);
    if (chosen)
        kc_tunnel_add_header(t, "Sec-WebSocket-Protocol", chosen);
    resp->code = 101;
    resp->tunnel = t;
    return 0;
fail:
    proxy_free(lp);
    return -1;
}

void kc_handle_pod_log(struct kc_server *srv, const struct kc_request *req,
                       const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    struct log_opts o;
    json_t *pod = NULL;
    struct log_proxy *lp = NULL;
    const char *ctr = NULL;
    if (parse_opts(req, ri->name, &o, &st) ||
        kc_registry_get(srv, ri->r, ri->ns, ri->name, &pod, NULL, &st) ||
        kc_pod_choose_container(pod, ri->name, o.container, &ctr, &st))
        goto out;
    const char *node = kc_json_str(pod, "spec.nodeName");
    if (!node || !*node) {
        /* not on a node yet: upstream streams nothing */
        kc_response_set(resp, 200, "text/plain", strdup(""), 0);
        goto out;
    }
    char hostport[300];
    if ((!o.previous && check_started(pod, ri->name, ctr, &st)) ||
        kc_pod_agent_address(srv, node, hostport, sizeof hostport, &st))
        goto out;

    char q[512] = "", url[2048];
    if (o.follow)
        add_param(q, sizeof q, "follow", "true");
    if (o.has_limit)
        add_int(q, sizeof q, "limitBytes", o.limit);
    add_param(q, sizeof q, "podUID", kc_json_str(pod, "metadata.uid") ?: "");
    if (o.previous)
        add_param(q, sizeof q, "previous", "true");
    if (o.has_since_s)
        add_int(q, sizeof q, "sinceSeconds", o.since_s);
    if (o.has_since_t) {
        char t[40];
        kc_time_rfc3339(o.since_t, t, sizeof t);
        add_param(q, sizeof q, "sinceTime", t);
    }
    if (o.has_tail)
        add_int(q, sizeof q, "tailLines", o.tail);
    if (o.timestamps)
        add_param(q, sizeof q, "timestamps", "true");
    if ((size_t)snprintf(url, sizeof url, "http://%s/containerLogs/%s/%s/%s?%s", hostport, ri->ns,
                         ri->name, ctr, q) >= sizeof url) {
        kc_status_internal(&st, "the node agent's URL is too long");
        goto out;
    }
    if (open_agent(srv, url, hostport, ri->name, &lp, &st))
        goto out;
    if (req->can_upgrade && wants_websocket(req)) {
        ws_log(srv, req, lp, resp, &st);
        goto out;
    }
    resp->code = 200;
    snprintf(resp->content_type, sizeof resp->content_type, "text/plain");
    resp->stream = kc_watch_stream_from_source(srv, &proxy_ops, lp);
out:
    if (st.code)
        kc_respond_status(resp, &st);
    kc_status_release(&st);
    json_decref(pod);
}
