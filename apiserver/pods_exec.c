/* GET|POST /api/v1/namespaces/NS/pods/NAME/exec: a command in a container, over a
 * WebSocket relayed to the node agent.
 *
 * As upstream's ExecREST (pkg/registry/core/pod/rest/subresources.go) with ExecLocation
 * (pkg/registry/core/pod/strategy.go): the request is authorized as `create pods/exec` for
 * POST and `get pods/exec` for GET, and a GET is checked for create as well (the
 * AuthorizePodWebsocketUpgradeCreatePermission rule: a WebSocket upgrade is a GET but
 * runs commands); the PodExecOptions query is read (command repeated, container, stdin,
 * stdout, stderr, tty); at least one command is required; the pod is read (404), the
 * container chosen (the only one, else it must be named: 400), a pod without a node
 * refused (400); the node's InternalIP and kubelet port locate the agent's
 * /exec/NS/NAME/CONTAINER.
 *
 * Then what upstream's UpgradeAwareHandler does: the agent is dialled, the upgrade request
 * forwarded with the client's WebSocket headers (key, version, subprotocols), and its answer
 * read. A 101 becomes the response's tunnel (http/tunnel.h): the transport answers the
 * client 101 with the agent's Upgrade and Sec-WebSocket-* headers and relays both ways
 * byte for byte until either side closes. Any other answer is passed on as it came (code,
 * content type, body), as upstream echoes a backend that did not upgrade.
 *
 * Only WebSocket is served, which kubectl 1.30 and newer try first. A SPDY/3.1 upgrade
 * (kubectl 1.29 and older, and 1.30+ when the WebSocket attempt failed) is validated the
 * same way, then the agent is asked the same request without an upgrade: what it refuses
 * (a container that is not running, a runtime that cannot exec, ...) is passed on, and its
 * 426 (only the upgrade missing) becomes a 400 that says what is supported. Since kubectl
 * 1.30+ falls back to SPDY after any failed WebSocket attempt, this keeps the reason of
 * that failure in what it prints. pods/attach is refused (400): containers have no
 * attachable stdin or terminal here.
 *
 * The agent is reached over plain HTTP without credentials, as for logs (pods_log.c). */
#include "apiserver/api_internal.h"
#include "apiserver/auth/authz.h"
#include "apiserver/http/tunnel.h"
#include "apiserver/registry.h"
#include "apiserver/server.h"
#include "lib/jsonx.h"
#include "lib/websocket.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 10000
#define HEAD_WAIT_MS 30000 /* the agent answers at once; this only bounds a stuck one */
#define MAX_HEAD 16384
#define MAX_ERROR_BODY (64 * 1024)
#define ERROR_BODY_WAIT_MS 5000
#define MAX_COMMAND 1024

struct exec_opts {
    const char *container;
    bool in, out, err, tty;
    char **command;
    size_t ncommand;
    bool too_many;
};

static void add_command(void *arg, const char *v)
{
    struct exec_opts *o = arg;
    if (o->ncommand >= MAX_COMMAND) {
        o->too_many = true;
        return;
    }
    o->command[o->ncommand] = strdup(v);
    if (!o->command[o->ncommand])
        abort();
    o->ncommand++;
}

/* The query's conversion of a bool (Convert_Slice_string_To_bool): present and neither "0"
 * nor "false". */
static bool query_bool(const struct kc_request *req, const char *key)
{
    const char *v = kc_req_query(req, key);
    return v && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the agent connection ---- */

/* A TCP connection to host:port within CONNECT_TIMEOUT_MS, non-blocking; -1 with why. */
static int dial(const char *hostport, char *why, size_t whylen)
{
    char host[300], port[16];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    int fd = -1, err = 0;
    if (!colon) {
        snprintf(why, whylen, "dial tcp %s: missing port in address", hostport);
        return -1;
    }
    snprintf(host, sizeof host, "%.*s", (int)(colon - hostport), hostport);
    snprintf(port, sizeof port, "%s", colon + 1);
    if (host[0] == '[') { /* [v6]:port */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = 0;
    }
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) {
        snprintf(why, whylen, "dial tcp %s: bad address", hostport);
        return -1;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        err = errno;
    } else if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
        err = errno;
    } else {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t len = sizeof err;
        int pr = poll(&p, 1, CONNECT_TIMEOUT_MS);
        if (pr == 0)
            err = ETIMEDOUT;
        else if (pr < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            err = errno;
    }
    freeaddrinfo(ai);
    if (err) {
        char e[128];
        snprintf(e, sizeof e, "%s", err == ETIMEDOUT ? "i/o timeout" : strerror(err));
        e[0] = (char)tolower((unsigned char)e[0]);
        /* Go's words: dial tcp 10.0.0.1:10250: connect: connection refused */
        snprintf(why, whylen, "dial tcp %s: %s%s", hostport,
                 err == ETIMEDOUT ? "" : "connect: ", e);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Writes all of data before the deadline; false otherwise. */
static bool write_all(int fd, const char *data, size_t n, long long deadline)
{
    while (n) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w > 0) {
            data += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (now_ms() >= deadline || poll(&p, 1, 100) < 0)
            return false;
    }
    return true;
}

/* Reads into buf (cap bytes) until `done` says enough, the peer closes, or the deadline.
 * Returns the bytes read in total (*len), false on a socket error or timeout without
 * `done`. */
static bool read_until(int fd, char *buf, size_t cap, size_t *len, long long deadline,
                       const volatile int *stopping, bool (*done)(const char *b, size_t n),
                       bool *closed)
{
    *closed = false;
    while (!done(buf, *len)) {
        if (*len >= cap || *stopping || now_ms() >= deadline)
            return false;
        ssize_t r = recv(fd, buf + *len, cap - *len, 0);
        if (r > 0) {
            *len += (size_t)r;
            continue;
        }
        if (r == 0) {
            *closed = true;
            return true;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            return false;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, 1, 100);
    }
    return true;
}

static bool head_complete(const char *b, size_t n)
{
    return memmem(b, n, "\r\n\r\n", 4) != NULL;
}

static bool never(const char *b, size_t n)
{
    (void)b, (void)n;
    return false;
}

/* The value of header name in a response head (NUL-terminated, lines ending in CRLF),
 * copied into out; false when absent. */
static bool head_value(const char *head, const char *name, char *out, size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (strncasecmp(h, name, nl) != 0 || h[nl] != ':')
            continue;
        const char *v = h + nl + 1, *e = strstr(v, "\r\n");
        while (*v == ' ' || *v == '\t')
            v++;
        size_t vl = e ? (size_t)(e - v) : strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
            vl--;
        snprintf(out, outlen, "%.*s", (int)vl, v);
        return true;
    }
    return false;
}

/* Appends key=value, escaped as url.Values.Encode escapes. */
static void add_param(FILE *f, bool *first, const char *key, const char *value)
{
    fprintf(f, "%s%s=", *first ? "?" : "&", key);
    *first = false;
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (isalnum(*p) || strchr("-_.~", *p))
            fputc(*p, f);
        else if (*p == ' ')
            fputc('+', f);
        else
            fprintf(f, "%%%02X", *p);
    }
}

/* The agent's answer to an upgrade that it did not upgrade, passed on as it came. */
static void pass_on(int fd, char *buf, size_t len, size_t head_len, const volatile int *stopping,
                    struct kc_response *resp)
{
    char ctype[128] = "text/plain", clen[32];
    int code = 0;
    bool closed = false;
    buf[head_len - 2] = 0; /* the head, ending at its last header's CRLF */
    sscanf(buf, "HTTP/%*s %d", &code);
    head_value(buf, "Content-Type", ctype, sizeof ctype);
    size_t body_len = len - head_len, want = MAX_ERROR_BODY;
    if (head_value(buf, "Content-Length", clen, sizeof clen))
        want =
            strtoull(clen, NULL, 10) < MAX_ERROR_BODY ? strtoull(clen, NULL, 10) : MAX_ERROR_BODY;
    char *body = malloc(MAX_ERROR_BODY + 1);
    if (!body)
        abort();
    if (body_len > want)
        body_len = want;
    memcpy(body, buf + head_len, body_len);
    if (body_len < want)
        read_until(fd, body, want, &body_len, now_ms() + ERROR_BODY_WAIT_MS, stopping, never,
                   &closed);
    body[body_len] = 0;
    kc_response_set(resp, code >= 200 && code <= 599 ? code : 502, ctype, body, body_len);
}

/* Dials the agent, forwards the upgrade (without one, upgrade false: the agent's checks
 * only) and reads the answer: a tunnel in resp on 101, the agent's answer otherwise. 0, or
 * -1 with st when the agent could not be reached. */
static int forward(struct kc_server *srv, const struct kc_request *req, const char *hostport,
                   const char *path, bool upgrade, struct kc_response *resp, struct kc_status *st)
{
    char why[512], *buf = NULL, *head = NULL;
    size_t len = 0, head_size = 0;
    bool closed = false;
    int rc = -1;
    int fd = dial(hostport, why, sizeof why);
    if (fd < 0) {
        kc_status_set(st, 500, "", "error dialing backend: %s", why);
        goto out;
    }
    FILE *f = open_memstream(&head, &head_size);
    if (!f)
        abort();
    const char *key = kc_req_header(req, "Sec-WebSocket-Key");
    const char *version = kc_req_header(req, "Sec-WebSocket-Version");
    const char *protocol = kc_req_header(req, "Sec-WebSocket-Protocol");
    fprintf(f, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: %s\r\n", req->method, path, hostport,
            upgrade ? "Upgrade\r\nUpgrade: websocket" : "close");
    if (!upgrade)
        key = version = protocol = NULL;
    if (key)
        fprintf(f, "Sec-WebSocket-Key: %s\r\n", key);
    if (version)
        fprintf(f, "Sec-WebSocket-Version: %s\r\n", version);
    if (protocol)
        fprintf(f, "Sec-WebSocket-Protocol: %s\r\n", protocol);
    fprintf(f, "\r\n");
    fclose(f);
    if (!write_all(fd, head, head_size, now_ms() + CONNECT_TIMEOUT_MS)) {
        kc_status_set(st, 500, "", "error dialing backend: write tcp %s: %s", hostport,
                      strerror(errno));
        goto out;
    }
    buf = malloc(MAX_HEAD + 1);
    if (!buf)
        abort();
    if (!read_until(fd, buf, MAX_HEAD, &len, now_ms() + HEAD_WAIT_MS, &srv->stopping, head_complete,
                    &closed) ||
        !head_complete(buf, len)) {
        kc_status_set(st, 500, "", "error dialing backend: %s",
                      closed ? "the node agent closed the connection"
                             : "timeout awaiting the node agent's response headers");
        goto out;
    }
    buf[len] = 0;
    size_t head_len = (size_t)((char *)memmem(buf, len, "\r\n\r\n", 4) - buf) + 4;
    int code = 0;
    sscanf(buf, "HTTP/%*s %d", &code);
    if (code != 101) {
        pass_on(fd, buf, len, head_len, &srv->stopping, resp);
        rc = 0;
        goto out;
    }
    struct kc_tunnel *t = kc_tunnel_new(fd, &srv->stopping);
    fd = -1;
    static const char *const pass[] = {"Upgrade", "Sec-WebSocket-Accept", "Sec-WebSocket-Protocol",
                                       "Sec-WebSocket-Extensions"};
    char value[1024];
    buf[head_len - 2] = 0;
    for (size_t i = 0; i < sizeof pass / sizeof *pass; i++)
        if (head_value(buf, pass[i], value, sizeof value))
            kc_tunnel_add_header(t, pass[i], value);
    kc_tunnel_set_early(t, buf + head_len, len - head_len);
    resp->code = 101;
    resp->tunnel = t;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(head);
    free(buf);
    return rc;
}

/* ---- the handler ---- */

/* A WebSocket upgrade is a GET that runs commands: it needs create too. */
static int authorize_create(struct kc_server *srv, const struct kc_request *req,
                            const struct kc_reqinfo *ri, struct kc_status *st)
{
    struct kc_attrs a = {.user = req->user ? req->user : "system:anonymous",
                         .groups = req->groups,
                         .ngroups = req->ngroups,
                         .verb = "create",
                         .group = "",
                         .resource = ri->r->resource,
                         .subresource = ri->sub,
                         .ns = ri->ns,
                         .name = ri->name};
    char msg[1024];
    if (kc_authorize(srv, &a))
        return 0;
    kc_forbidden_message(&a, msg, sizeof msg);
    kc_status_set(st, 403, "Forbidden", "%s", msg);
    kc_status_set_details(st, ri->name, "", ri->r->resource);
    return -1;
}

void kc_handle_pod_exec(struct kc_server *srv, const struct kc_request *req,
                        const struct kc_reqinfo *ri, struct kc_response *resp)
{
    struct kc_status st = KC_STATUS_INIT;
    struct exec_opts o = {.command = calloc(MAX_COMMAND, sizeof(char *))};
    json_t *pod = NULL;
    const char *ctr = NULL;
    char *path = NULL;
    size_t path_size = 0;
    bool attach = strcmp(ri->sub, "attach") == 0;
    if (!o.command)
        abort();
    if (strcmp(req->method, "GET") == 0 && authorize_create(srv, req, ri, &st))
        goto out;
    o.container = kc_req_query(req, "container");
    if (o.container && !*o.container)
        o.container = NULL;
    o.in = query_bool(req, "stdin");
    o.out = query_bool(req, "stdout");
    o.err = query_bool(req, "stderr");
    o.tty = query_bool(req, "tty");
    kc_req_query_each(req, "command", add_command, &o);
    if (!attach && o.ncommand == 0) {
        kc_status_bad_request(&st, "you must specify at least 1 command");
        goto out;
    }
    if (o.too_many) {
        kc_status_bad_request(&st, "too many command arguments (at most %d)", MAX_COMMAND);
        goto out;
    }
    if (kc_registry_get(srv, ri->r, ri->ns, ri->name, &pod, NULL, &st) ||
        kc_pod_choose_container(pod, ri->name, o.container, &ctr, &st))
        goto out;
    if (attach) {
        kc_status_bad_request(&st,
                              "pods/attach is not supported by kubec: containers run without an "
                              "attachable stdin or terminal; use kubectl logs -f to follow a "
                              "container's output, or kubectl exec");
        goto out;
    }
    const char *node = kc_json_str(pod, "spec.nodeName");
    if (!node || !*node) {
        kc_status_bad_request(&st, "pod %s does not have a host assigned", ri->name);
        goto out;
    }
    char hostport[300];
    if (kc_pod_agent_address(srv, node, hostport, sizeof hostport, &st))
        goto out;

    /* upstream's streamParams, and the pod's uid as for logs */
    FILE *f = open_memstream(&path, &path_size);
    bool first = true;
    if (!f)
        abort();
    fprintf(f, "/exec/%s/%s/%s", ri->ns, ri->name, ctr);
    for (size_t i = 0; i < o.ncommand; i++)
        add_param(f, &first, "command", o.command[i]);
    add_param(f, &first, "podUID", kc_json_str(pod, "metadata.uid") ?: "");
    if (o.err)
        add_param(f, &first, "stderr", "1");
    if (o.in)
        add_param(f, &first, "stdin", "1");
    if (o.out)
        add_param(f, &first, "stdout", "1");
    if (o.tty)
        add_param(f, &first, "tty", "1");
    fclose(f);

    const char *upgrade = kc_req_header(req, "Upgrade");
    bool wants_upgrade = kc_http_list_has(kc_req_header(req, "Connection"), "upgrade");
    if (req->can_upgrade && wants_upgrade && kc_http_list_has(upgrade, "websocket")) {
        forward(srv, req, hostport, path, true, resp, &st);
        goto out;
    }
    if (!req->can_upgrade || !wants_upgrade || !upgrade || !*upgrade) {
        /* upstream's answer to a request that does not upgrade */
        kc_status_bad_request(&st, "Upgrade request required");
        goto out;
    }
    /* SPDY: the agent's checks first, so that what the kubelet would refuse (a container
     * that is not running, ...) is said, also to kubectl 1.30+ falling back here after its
     * WebSocket attempt failed; the agent answers 426 when only the upgrade is missing */
    if (forward(srv, req, hostport, path, false, resp, &st) == 0 && resp->code == 426) {
        kc_response_release(resp);
        kc_status_bad_request(&st,
                              "exec is served over WebSocket only (Upgrade: websocket with "
                              "subprotocol v5.channel.k8s.io, v4.channel.k8s.io or "
                              "channel.k8s.io, as kubectl 1.30 and newer use); %s is not "
                              "supported",
                              upgrade);
    }
out:
    if (st.code)
        kc_respond_status(resp, &st);
    kc_status_release(&st);
    json_decref(pod);
    for (size_t i = 0; i < o.ncommand; i++)
        free(o.command[i]);
    free(o.command);
    free(path);
}
