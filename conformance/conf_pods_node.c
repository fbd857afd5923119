/* [sig-node] Pods (test/e2e/common/node/pods.go upstream), the tests that need the node:
 * activeDeadlineSeconds raised on a running pod fails it (DeadlineExceeded), and exec and
 * logs over WebSockets.
 *
 * The C client speaks no WebSocket, so a minimal client is here: the connection comes from
 * the client (TLS and credentials of the kubeconfig, kc_client_connect), the handshake is
 * written by hand and the frames read with lib/websocket.c. */
#include "conformance/conformance.h"

#include "lib/base64.h"
#include "lib/jsonx.h"
#include "lib/websocket.h"

#include <curl/curl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define POD_START_MS 180000 /* generous: CI runs under sanitizers */

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* ---- a WebSocket client ---- */

struct ws {
    CURL *h;                /* owned */
    struct kc_ws_reader *r; /* owned */
};

static void ws_close(struct ws *w)
{
    if (w->h)
        curl_easy_cleanup(w->h);
    if (w->r)
        kc_ws_reader_free(w->r);
    memset(w, 0, sizeof *w);
}

/* Waits until the connection's socket can be read (or written) or the deadline passed. */
static bool ws_wait(struct ws *w, bool for_write, long deadline)
{
    curl_socket_t fd = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(w->h, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK || fd == CURL_SOCKET_BAD)
        return false;
    long left = deadline - ms_now();
    struct pollfd pf = {fd, (short)(for_write ? POLLOUT : POLLIN), 0};
    return left > 0 && poll(&pf, 1, (int)(left > 1000 ? 1000 : left)) >= 0;
}

static int ws_send_all(struct ws *w, const void *data, size_t n, long deadline)
{
    const char *p = data;
    while (n > 0) {
        size_t sent = 0;
        CURLcode rc = curl_easy_send(w->h, p, n, &sent);
        if (rc == CURLE_AGAIN) {
            if (ms_now() >= deadline || !ws_wait(w, true, deadline))
                return -1;
            continue;
        }
        if (rc != CURLE_OK)
            return -1;
        p += sent;
        n -= sent;
    }
    return 0;
}

/* Some bytes into buf: >0, 0 at the end of the stream, -1 on errors or the deadline. */
static ssize_t ws_recv(struct ws *w, char *buf, size_t len, long deadline)
{
    for (;;) {
        size_t got = 0;
        CURLcode rc = curl_easy_recv(w->h, buf, len, &got);
        if (rc == CURLE_OK)
            return (ssize_t)got;
        if (rc != CURLE_AGAIN || ms_now() >= deadline)
            return -1;
        ws_wait(w, false, deadline);
    }
}

/* Opens a WebSocket to path (with query) offering protocol: the 101 MUST come. 0, or -1
 * with a failure recorded. */
static int ws_open(struct kc_conf *t, struct ws *w, const char *path, const char *protocol)
{
    char authority[256], head[8192], key_raw[16];
    const char *token = NULL;
    long deadline = ms_now() + 30000;
    memset(w, 0, sizeof *w);
    w->h = kc_client_connect(kc_conf_client(t), authority, sizeof authority, &token);
    if (!w->h) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "cannot connect to the server");
        return -1;
    }
    if (getrandom(key_raw, sizeof key_raw, 0) != (ssize_t)sizeof key_raw)
        memset(key_raw, 7, sizeof key_raw);
    char *key = kc_base64_encode(key_raw, sizeof key_raw);
    int n =
        snprintf(head, sizeof head,
                 "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                 "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n"
                 "Sec-WebSocket-Protocol: %s\r\n%s%s%s\r\n",
                 path, authority, key ? key : "", protocol, token ? "Authorization: Bearer " : "",
                 token ? token : "", token ? "\r\n" : "");
    free(key);
    if (n <= 0 || (size_t)n >= sizeof head || ws_send_all(w, head, (size_t)n, deadline) != 0) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "sending the WebSocket upgrade of %s failed", path);
        goto fail;
    }
    /* the answer's head; what follows it is the first frames */
    size_t len = 0;
    char *end = NULL;
    while (!end) {
        if (len + 1 >= sizeof head) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "the upgrade's answer is too long");
            goto fail;
        }
        ssize_t got = ws_recv(w, head + len, sizeof head - 1 - len, deadline);
        if (got <= 0) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "no answer to the WebSocket upgrade of %s",
                            path);
            goto fail;
        }
        len += (size_t)got;
        head[len] = 0;
        end = strstr(head, "\r\n\r\n");
    }
    int code = 0;
    sscanf(head, "HTTP/%*s %d", &code);
    if (code != 101) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "the WebSocket upgrade of %s was answered %d: %s",
                        path, code, end + 4);
        goto fail;
    }
    w->r = kc_ws_reader_new(false, 16 << 20);
    size_t head_len = (size_t)(end + 4 - head);
    kc_ws_reader_feed(w->r, head + head_len, len - head_len);
    return 0;
fail:
    ws_close(w);
    return -1;
}

/* The next message (a copy the caller frees into *data, *len; opcode in *op): 1, 0 when
 * the server closed (a close frame or the end of the stream, io.EOF for upstream's
 * client), -1 on errors or after timeout_ms. */
static int ws_message(struct ws *w, int timeout_ms, uint8_t **data, size_t *len, int *op)
{
    long deadline = ms_now() + timeout_ms;
    for (;;) {
        struct kc_ws_event ev;
        kc_ws_reader_next(w->r, &ev);
        switch (ev.type) {
        case KC_WS_EV_MESSAGE:
            *data = malloc(ev.len + 1);
            if (!*data)
                return -1;
            memcpy(*data, ev.data, ev.len);
            (*data)[ev.len] = 0;
            *len = ev.len;
            *op = ev.opcode;
            return 1;
        case KC_WS_EV_CLOSE:
            return 0;
        case KC_WS_EV_ERROR:
            return -1;
        case KC_WS_EV_PING:
        case KC_WS_EV_PONG:
            continue; /* the tests' streams are short: no pong needed */
        case KC_WS_EV_NONE:
            break;
        }
        char buf[16384];
        ssize_t got = ws_recv(w, buf, sizeof buf, deadline);
        if (got == 0)
            return 0;
        if (got < 0)
            return -1;
        kc_ws_reader_feed(w->r, buf, (size_t)got);
    }
}

/* ---- tests ---- */

static json_t *get_pod(struct kc_conf *t, const char *name)
{
    json_t *pod = NULL; /* owned, returned */
    if (kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s", kc_conf_ns(t),
                     name) != 200) {
        json_decref(pod);
        return NULL;
    }
    return pod;
}

/* A pod of one container "main" running sh -c script, created and Running. */
static bool create_sync(struct kc_conf *t, const char *name, const char *script)
{
    json_t *pod = json_pack("{s:{s:s},s:{s:i,s:[{s:s,s:s,s:[s,s,s]}]}}", "metadata", "name", name,
                            "spec", "terminationGracePeriodSeconds", 1, "containers", "name",
                            "main", "image", kc_conf_image(t), "command", "/bin/sh", "-c", script);
    int code = kc_conf_pod_create(t, pod);
    json_decref(pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        return false;
    }
    return kc_conf_pod_wait_phase(t, name, "Running", POD_START_MS);
}

struct exec_read {
    const char *path;
    char err[512];
};

/* One attempt of upstream's Eventually: reads the exec's messages to the end; the output
 * (channel 1) MUST hold "remote execution test". */
static bool exec_output(struct kc_conf *t, void *arg)
{
    struct exec_read *x = arg;
    struct ws w;
    char *out = NULL;
    size_t out_len = 0;
    bool ok = false;
    FILE *f = open_memstream(&out, &out_len);
    if (!f)
        return false;
    if (ws_open(t, &w, x->path, "channel.k8s.io") != 0) {
        fclose(f);
        free(out);
        return false;
    }
    for (;;) {
        uint8_t *msg = NULL;
        size_t len = 0;
        int op = 0;
        int rc = ws_message(&w, 30000, &msg, &len, &op);
        if (rc < 0) {
            snprintf(x->err, sizeof x->err, "Failed to read completely from websocket %s", x->path);
            goto done;
        }
        if (rc == 0)
            break;
        if (len > 0 && msg[0] != 1 && len > 1) {
            snprintf(x->err, sizeof x->err,
                     "Got message from server that didn't start with channel 1 (STDOUT): "
                     "channel %d, %.200s",
                     msg[0], (const char *)msg + 1);
            free(msg);
            goto done;
        }
        if (len > 1)
            fwrite(msg + 1, 1, len - 1, f);
        free(msg);
    }
    fflush(f);
    if (out_len == 0)
        snprintf(x->err, sizeof x->err, "unexpected output from server");
    else if (!strstr(out, "remote execution test"))
        snprintf(x->err, sizeof x->err, "expected to find 'remote execution test' in %.300s", out);
    else
        ok = true;
done:
    fclose(f);
    free(out);
    ws_close(&w);
    return ok;
}

/* GET pods/NAME/exec?command=echo&command=remote execution test over a WebSocket
 * (channel.k8s.io): the output MUST come on channel 1. */
static void exec_websocket(struct kc_conf *t)
{
    char name[96], path[512];
    kc_conf_unique(t, "pod-exec-websocket", name, sizeof name);
    if (!create_sync(t, name, "echo container is alive; sleep 600"))
        goto out;
    snprintf(path, sizeof path,
             "/api/v1/namespaces/%s/pods/%s/exec?stderr=1&stdout=1&container=main&command=echo&"
             "command=remote+execution+test",
             kc_conf_ns(t), name);
    struct exec_read x = {.path = path};
    /* upstream: Eventually, within a minute, every 10 s */
    bool ok = false;
    for (long end = ms_now() + 60000; !ok && !kc_conf_failed(t);) {
        x.err[0] = 0;
        ok = exec_output(t, &x);
        if (ok || ms_now() + 10000 > end)
            break;
        sleep(10);
    }
    EXPECT(t, ok, "%s", x.err[0] ? x.err : "exec over a websocket failed");
out:
    kc_conf_pod_delete(t, name, 0);
}

/* GET pods/NAME/log over a WebSocket (binary.k8s.io): the messages, blank ones aside, MUST be
 * exactly the log, "container is alive\n", and the stream MUST end. */
static void logs_websocket(struct kc_conf *t)
{
    char name[96], path[512];
    char *buf = NULL;
    size_t buf_len = 0;
    struct ws w = {0};
    FILE *f = open_memstream(&buf, &buf_len);
    REQUIRE(t, f, "out of memory");
    kc_conf_unique(t, "pod-logs-websocket", name, sizeof name);
    if (!create_sync(t, name, "echo container is alive; sleep 10000"))
        goto out;
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/log?container=main", kc_conf_ns(t),
             name);
    /* the pod runs: its echo may not be in the log for some milliseconds more */
    for (int i = 0; i < 50; i++) {
        char *log = kc_conf_pod_log(t, name, "main");
        bool has = log && strstr(log, "container is alive");
        free(log);
        if (has)
            break;
        usleep(100 * 1000);
    }
    if (ws_open(t, &w, path, "binary.k8s.io") != 0)
        goto out;
    for (;;) {
        uint8_t *msg = NULL;
        size_t len = 0;
        int op = 0;
        int rc = ws_message(&w, 30000, &msg, &len, &op);
        if (rc < 0) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to read completely from websocket %s",
                            path);
            goto out;
        }
        if (rc == 0)
            break;
        bool blank = true;
        for (size_t i = 0; i < len; i++)
            if (msg[i] != ' ' && msg[i] != '\n' && msg[i] != '\r' && msg[i] != '\t')
                blank = false;
        if (!blank)
            fwrite(msg, 1, len, f);
        free(msg);
    }
    fflush(f);
    EXPECT(t, buf_len == strlen("container is alive\n") && !strcmp(buf, "container is alive\n"),
           "Unexpected websocket logs:\n%s", buf);
out:
    fclose(f);
    free(buf);
    ws_close(&w);
    kc_conf_pod_delete(t, name, 0);
}

struct deadline_want {
    const char *name;
    bool other; /* Failed for another reason */
};

/* upstream's WaitForPodTerminatedInNamespace(..., "DeadlineExceeded") */
static bool deadline_exceeded(struct kc_conf *t, void *arg)
{
    struct deadline_want *d = arg;
    json_t *pod = get_pod(t, d->name); /* owned */
    bool failed = !strcmp(kc_json_str(pod, "status.phase") ?: "", "Failed");
    bool reason = !strcmp(kc_json_str(pod, "status.reason") ?: "", "DeadlineExceeded");
    d->other = failed && !reason;
    json_decref(pod);
    return failed;
}

/* A running pod's activeDeadlineSeconds set to 5: it MUST end Failed with reason
 * DeadlineExceeded. */
static void active_deadline(struct kc_conf *t)
{
    char name[128], sel[96], value[32];
    json_t *pod = NULL, *list = NULL; /* owned */
    kc_conf_unique(t, "pod-update-activedeadlineseconds", name, sizeof name);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(value, sizeof value, "%ld", ts.tv_nsec);
    /* agnhost pause ends on SIGTERM, as this shell does */
    pod = json_pack("{s:{s:s,s:{s:s,s:s}},s:{s:[{s:s,s:s,s:[s,s,s]}]}}", "metadata", "name", name,
                    "labels", "name", "foo", "time", value, "spec", "containers", "name",
                    "agnhost-container", "image", kc_conf_image(t), "command", "/bin/sh", "-c",
                    "trap 'exit 0' TERM; sleep 3600 & wait");
    int code = kc_conf_pod_create(t, pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    if (!kc_conf_pod_wait_phase(t, name, "Running", POD_START_MS))
        goto out;
    snprintf(sel, sizeof sel, "time%%3D%s", value);
    code = kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/namespaces/%s/pods?labelSelector=%s",
                        kc_conf_ns(t), sel);
    EXPECT(t, code == 200 && json_array_size(json_object_get(list, "items")) == 1,
           "listing the pod by its time label: HTTP %d, %zu pods", code,
           json_array_size(json_object_get(list, "items")));
    /* upstream's podClient.Update: read, change, write, again on a conflict */
    for (int attempt = 0; attempt < 5; attempt++) {
        json_decref(pod);
        pod = get_pod(t, name);
        if (!pod)
            break;
        json_object_set_new(json_object_get(pod, "spec"), "activeDeadlineSeconds", json_integer(5));
        code = kc_conf_call(t, "PUT", pod, NULL, NULL, "/api/v1/namespaces/%s/pods/%s",
                            kc_conf_ns(t), name);
        if (code != 409)
            break;
    }
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "updating the pod's activeDeadlineSeconds: HTTP %d",
                        code);
        goto out;
    }
    struct deadline_want d = {name, false};
    if (!kc_conf_wait(t, POD_START_MS, deadline_exceeded, &d))
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s did not terminate (DeadlineExceeded)", name);
    else
        EXPECT(t, !d.other, "pod %s failed for a reason other than DeadlineExceeded", name);
out:
    kc_conf_pod_delete(t, name, 0);
    json_decref(list);
    json_decref(pod);
}

/* clang-format off */
const struct kc_conf_test kc_conf_tests_pods_node[] = {
    {"[sig-node] Pods should allow activeDeadlineSeconds to be updated [NodeConformance] [Conformance]", active_deadline, KC_CONF_CONTAINERS},
    {"[sig-node] Pods should support remote command execution over websockets [NodeConformance] [Conformance]", exec_websocket, KC_CONF_CONTAINERS},
    {"[sig-node] Pods should support retrieving logs from the container over websockets [NodeConformance] [Conformance]", logs_websocket, KC_CONF_CONTAINERS},
    {NULL, NULL, 0},
};
/* clang-format on */
