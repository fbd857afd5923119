/* The node agent's exec endpoint (nodeagent/execserver.c) through the log server on
 * loopback, with a runtime whose exec runs host commands, and a WebSocket client written
 * here with lib/websocket: the handshake (accept key, subprotocol choice v5 > v4 >
 * channel.k8s.io), the first empty message, stdout and stderr on channels 1 and 2, stdin on
 * channel 0 with v5's close signal, a terminal (tty=1: echo, CRLF, resize on channel 4), the
 * Status on channel 3 (Success, NonZeroExitCode with its ExitCode cause, InternalError when
 * the command cannot start), the
 * text-only error channel of channel.k8s.io, ping/pong, masked-frame enforcement (1002),
 * the kubelet's errors before the upgrade (no upgrade, version, key, subprotocol, unknown
 * pod, container not running, no command, no stream), a client that goes away (the command
 * is killed), and a server stop that ends open sessions. */
#include "check.h"

#include "lib/websocket.h"
#include "nodeagent/cmd.h"
#include "nodeagent/logserver.h"
#include "nodeagent/runtime.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[256];
static int port;
static volatile int last_pid;

/* ---- a runtime whose one running container is pod 1111-aaaa's "app" ---- */

static int fake_exec(struct kc_runtime *rt, const char *uid, const char *ctr, char *const argv[],
                     const bool want[3], bool tty, struct kc_exec_proc *out, char *msg,
                     size_t msglen)
{
    int fds[3];
    if (strcmp(uid, "1111-aaaa") != 0 || strcmp(ctr, "app") != 0)
        return KC_EXEC_NOT_RUNNING;
    if (!argv)
        return 0;
    if (strcmp(argv[0], "cannot-start") == 0) {
        snprintf(msg, msglen, "the runtime said no");
        return -1;
    }
    if (kc_cmd_spawn(argv, NULL, NULL, want, tty, &out->pid, fds) != 0) {
        snprintf(msg, msglen, "spawn: %s", strerror(errno));
        return -1;
    }
    out->in = fds[0];
    out->out = fds[1];
    out->err = fds[2];
    last_pid = out->pid;
    return 0;
}

static const struct kc_runtime_ops fake_ops = {"fake", NULL, NULL, NULL,
                                               NULL,   NULL, NULL, fake_exec};
static struct kc_runtime fake = {&fake_ops};

/* ---- a WebSocket client ---- */

struct ws {
    int fd;
    int code;
    char head[4096];
    char body[4096]; /* an error answer's body */
    struct kc_ws_reader *r;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sends a request for path with the given extra header lines and reads the answer's head
 * (and, when it is not 101, its body until the server closes). Returns the status code. */
static int ws_open(struct ws *w, const char *method, const char *path, const char *headers)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[4096], buf[8192];
    size_t len = 0;
    memset(w, 0, sizeof *w);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    w->fd = socket(AF_INET, SOCK_STREAM, 0);
    w->r = kc_ws_reader_new(false, 1 << 24);
    if (connect(w->fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return -1;
    struct timeval tv = {10, 0};
    setsockopt(w->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int n = snprintf(req, sizeof req, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s\r\n", method, path,
                     headers);
    if (send(w->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
        return -1;
    char *end = NULL;
    while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
        ssize_t r = recv(w->fd, buf + len, sizeof buf - len - 1, 0);
        if (r <= 0)
            return -1;
        len += (size_t)r;
    }
    size_t hl = (size_t)(end - buf) + 4;
    snprintf(w->head, sizeof w->head, "%.*s", (int)hl, buf);
    sscanf(w->head, "HTTP/1.1 %d", &w->code);
    if (w->code == 101) {
        kc_ws_reader_feed(w->r, buf + hl, len - hl);
        return w->code;
    }
    size_t bl = len - hl;
    memcpy(w->body, buf + hl, bl < sizeof w->body - 1 ? bl : sizeof w->body - 1);
    for (;;) { /* until the server closes or the body is complete */
        const char *cl = strcasestr(w->head, "Content-Length:");
        if (cl && bl >= (size_t)atoi(cl + 15))
            break;
        ssize_t r = recv(w->fd, w->body + bl, sizeof w->body - 1 - bl, 0);
        if (r <= 0)
            break;
        bl += (size_t)r;
    }
    w->body[bl] = 0;
    return w->code;
}

static void ws_close(struct ws *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    kc_ws_reader_free(w->r);
    w->r = NULL;
}

static bool header_is(const struct ws *w, const char *line)
{
    return strcasestr(w->head, line) != NULL;
}

/* One masked frame, as a client must send. */
static void ws_send(struct ws *w, enum kc_ws_opcode op, const void *data, size_t n)
{
    static const uint8_t key[4] = {0x11, 0x22, 0x33, 0x44};
    uint8_t *f = malloc(n + KC_WS_MAX_HEADER);
    size_t h = kc_ws_frame_header(f, op, true, n, key);
    memcpy(f + h, data, n);
    kc_ws_mask(f + h, n, key, 0);
    if (send(w->fd, f, h + n, MSG_NOSIGNAL) != (ssize_t)(h + n))
        fprintf(stderr, "send failed\n");
    free(f);
}

/* What a session said until the server closed: per channel, the close code. */
struct result {
    char out[8192], err[8192], status[4096];
    size_t out_len, err_len, status_len;
    int first_channel; /* of the first message */
    size_t first_len;
    int close_code; /* 0: the connection ended without a close frame */
    char pong[64];
};

/* Reads until the server closes, or stdout has `until` (NULL: never). */
static void collect_until(struct ws *w, struct result *res, long long timeout_ms, const char *until)
{
    memset(res, 0, sizeof *res);
    res->first_channel = -1;
    long long deadline = now_ms() + timeout_ms;
    uint8_t buf[65536];
    while (now_ms() < deadline && !(until && strstr(res->out, until))) {
        struct kc_ws_event ev;
        kc_ws_reader_next(w->r, &ev);
        if (ev.type == KC_WS_EV_NONE) {
            ssize_t r = recv(w->fd, buf, sizeof buf, 0);
            if (r <= 0)
                return;
            kc_ws_reader_feed(w->r, buf, (size_t)r);
            continue;
        }
        if (ev.type == KC_WS_EV_ERROR)
            return;
        if (ev.type == KC_WS_EV_CLOSE) {
            res->close_code = ev.close_code;
            return;
        }
        if (ev.type == KC_WS_EV_PONG) {
            snprintf(res->pong, sizeof res->pong, "%.*s", (int)ev.len, (const char *)ev.data);
            continue;
        }
        if (ev.type != KC_WS_EV_MESSAGE || ev.len == 0)
            continue;
        if (res->first_channel < 0) {
            res->first_channel = ev.data[0];
            res->first_len = ev.len - 1;
        }
        char *dst = ev.data[0] == 1 ? res->out : ev.data[0] == 2 ? res->err : res->status;
        size_t *dl = ev.data[0] == 1   ? &res->out_len
                     : ev.data[0] == 2 ? &res->err_len
                                       : &res->status_len;
        size_t n = ev.len - 1;
        if (*dl + n < sizeof res->out - 1) {
            memcpy(dst + *dl, ev.data + 1, n);
            *dl += n;
            dst[*dl] = 0;
        }
    }
}

static void collect(struct ws *w, struct result *res, long long timeout_ms)
{
    collect_until(w, res, timeout_ms, NULL);
}

#define WS_HEADERS(proto)                                                                          \
    "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"                   \
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" proto
#define V5 WS_HEADERS("Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n")
#define EXEC "/exec/default/web/app?podUID=1111-aaaa&"

/* ---- cases ---- */

static void test_output_and_status(void)
{
    struct ws w;
    struct result res;
    CHECK_INT(ws_open(&w, "GET",
                      EXEC "command=sh&command=-c&command=echo+hi%3B+echo+oops+%3E%262&stdout=1&"
                           "stderr=1",
                      V5),
              101);
    CHECK(header_is(&w, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    CHECK(header_is(&w, "Sec-WebSocket-Protocol: v5.channel.k8s.io\r\n"));
    CHECK(header_is(&w, "Upgrade: websocket\r\n"));
    collect(&w, &res, 10000);
    CHECK_INT(res.first_channel, 1); /* the empty message that says the streams are up */
    CHECK_INT(res.first_len, 0);
    CHECK_STR(res.out, "hi\n");
    CHECK_STR(res.err, "oops\n");
    CHECK_STR(res.status, "{\"metadata\":{},\"status\":\"Success\"}");
    CHECK_INT(res.close_code, 1000);
    ws_close(&w);

    /* a non-zero exit: the Status kubectl turns into its exit code (POST works too) */
    CHECK_INT(ws_open(&w, "POST", EXEC "command=sh&command=-c&command=exit+3&stdout=1", V5), 101);
    collect(&w, &res, 10000);
    CHECK_STR(res.status,
              "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"command terminated with "
              "non-zero exit code: error executing command [sh -c exit 3], exit code 3\","
              "\"reason\":\"NonZeroExitCode\",\"details\":{\"causes\":[{\"reason\":\"ExitCode\","
              "\"message\":\"3\"}]}}");
    CHECK_INT(res.close_code, 1000);
    ws_close(&w);

    /* killed by a signal: 128 + its number */
    CHECK_INT(ws_open(&w, "GET", EXEC "command=sh&command=-c&command=kill+-9+%24%24&stderr=1", V5),
              101);
    collect(&w, &res, 10000);
    CHECK(strstr(res.status, "\"message\":\"137\"") != NULL);
    CHECK_INT(res.first_channel, 2); /* no stdout asked: the empty message is on stderr */
    ws_close(&w);

    /* a lot of output, in order */
    CHECK_INT(ws_open(&w, "GET", EXEC "command=sh&command=-c&command=seq+1+1500&stdout=1", V5),
              101);
    collect(&w, &res, 10000);
    CHECK_INT(res.out_len, 6393); /* the length of `seq 1 1500` */
    CHECK(strncmp(res.out, "1\n2\n3\n", 6) == 0);
    CHECK(res.out_len > 10 && strcmp(res.out + res.out_len - 10, "1499\n1500\n") == 0);
    CHECK(strstr(res.status, "Success") != NULL);
    ws_close(&w);
}

static void test_stdin(void)
{
    struct ws w;
    struct result res;
    /* stdin, then v5's close signal for channel 0: cat ends */
    CHECK_INT(ws_open(&w, "GET", EXEC "command=cat&stdin=1&stdout=1&stderr=1", V5), 101);
    ws_send(&w, KC_WS_BINARY, "\x00hello ", 7);
    ws_send(&w, KC_WS_BINARY, "\x04{\"Width\":80,\"Height\":24}", 26); /* resize: ignored */
    ws_send(&w, KC_WS_BINARY, "\x00world\n", 7);
    ws_send(&w, KC_WS_PING, "are you there", 13);
    ws_send(&w, KC_WS_BINARY, "\xff\x00", 2);
    collect(&w, &res, 10000);
    CHECK_STR(res.out, "hello world\n");
    CHECK_STR(res.pong, "are you there");
    CHECK_STR(res.status, "{\"metadata\":{},\"status\":\"Success\"}");
    CHECK_INT(res.close_code, 1000);
    ws_close(&w);

    /* v4 has no close signal: the command keeps its stdin; a client close ends it */
    CHECK_INT(ws_open(&w, "GET", EXEC "command=cat&stdin=1&stdout=1",
                      WS_HEADERS("Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n")),
              101);
    CHECK(header_is(&w, "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n"));
    ws_send(&w, KC_WS_BINARY,
            "\x00"
            "abc",
            4);
    ws_send(&w, KC_WS_BINARY, "\xff\x00", 2);
    collect_until(&w, &res, 10000, "abc");
    CHECK_STR(res.out, "abc");
    ws_send(&w, KC_WS_CLOSE, "\x03\xe8", 2);
    collect(&w, &res, 10000);
    CHECK_INT(res.status_len, 0); /* closed by the client before the command ended */
    CHECK_INT(res.close_code, 1000);
    ws_close(&w);
}

/* tty=1: a terminal, resized through channel 4; its output (stderr included) on channel 1 */
static void test_tty(void)
{
    struct ws w;
    struct result res;
    CHECK_INT(
        ws_open(&w, "GET",
                EXEC
                "command=sh&command=-c&command=read+x%3B+tty%3B+stty+size%3B+echo+err+%3E%262%3B+"
                "echo+%24x&stdin=1&stdout=1&stderr=1&tty=1",
                V5),
        101);
    ws_send(&w, KC_WS_BINARY, "\x04{\"Width\":100,\"Height\":33}\n", 27); /* as json.Encoder */
    ws_send(&w, KC_WS_BINARY, "\x00typed\n", 7);
    collect(&w, &res, 10000);
    /* the terminal echoes what was typed and ends lines with CRLF */
    CHECK(strstr(res.out, "typed\r\n/dev/pts/") != NULL);
    CHECK(strstr(res.out, "\r\n33 100\r\nerr\r\ntyped\r\n") != NULL);
    CHECK_INT(res.err_len, 0);
    CHECK_STR(res.status, "{\"metadata\":{},\"status\":\"Success\"}");
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", EXEC "command=sh&command=-c&command=exit+6&stdout=1&tty=1", V5),
              101);
    collect(&w, &res, 10000);
    CHECK(strstr(res.status, "\"message\":\"6\"") != NULL);
    ws_close(&w);
}

static void test_failures_after_upgrade(void)
{
    struct ws w;
    struct result res;
    CHECK_INT(ws_open(&w, "GET", EXEC "command=cannot-start&stdout=1", V5), 101);
    collect(&w, &res, 10000);
    CHECK_STR(res.status,
              "{\"metadata\":{},\"status\":\"Failure\",\"message\":\"Internal error occurred: "
              "error executing command in container: the runtime said no\",\"reason\":"
              "\"InternalError\",\"details\":{\"causes\":[{\"message\":\"error executing command "
              "in container: the runtime said no\"}]},\"code\":500}");
    CHECK_INT(res.close_code, 1000);
    ws_close(&w);

    /* channel.k8s.io (and no subprotocol): the error channel is text, failures only */
    CHECK_INT(
        ws_open(&w, "GET", EXEC "command=sh&command=-c&command=exit+2&stdout=1",
                WS_HEADERS("Sec-WebSocket-Protocol: base64.channel.k8s.io, channel.k8s.io\r\n")),
        101);
    CHECK(header_is(&w, "Sec-WebSocket-Protocol: channel.k8s.io\r\n"));
    collect(&w, &res, 10000);
    CHECK_STR(res.status, "command terminated with non-zero exit code: error executing command "
                          "[sh -c exit 2], exit code 2");
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", EXEC "command=true&stdout=1", WS_HEADERS("")), 101);
    CHECK(!header_is(&w, "Sec-WebSocket-Protocol"));
    collect(&w, &res, 10000);
    CHECK_INT(res.status_len, 0);
    CHECK_INT(res.close_code, 1000);
    ws_close(&w);

    /* an unmasked frame from a client is a protocol error: close 1002, command killed */
    CHECK_INT(ws_open(&w, "GET", EXEC "command=sleep&command=30&stdin=1&stdout=1", V5), 101);
    static const uint8_t unmasked[] = {0x82, 0x02, 0x00, 'x'};
    CHECK(send(w.fd, unmasked, sizeof unmasked, 0) == sizeof unmasked);
    collect(&w, &res, 10000);
    CHECK_INT(res.close_code, 1002);
    ws_close(&w);
}

static void test_client_gone(void)
{
    struct ws w;
    last_pid = 0;
    CHECK_INT(ws_open(&w, "GET", EXEC "command=sleep&command=60&stdout=1", V5), 101);
    for (int i = 0; i < 100 && !last_pid; i++)
        usleep(20000);
    int pid = last_pid;
    CHECK(pid > 0 && kill(pid, 0) == 0);
    ws_close(&w); /* no close frame: the connection just ends */
    bool gone = false;
    for (int i = 0; i < 150 && !gone; i++) {
        usleep(20000);
        gone = kill(pid, 0) != 0;
    }
    CHECK(gone);
}

static void test_refused(void)
{
    struct ws w;
    CHECK_INT(ws_open(&w, "GET", EXEC "command=true&stdout=1", ""), 426);
    CHECK(header_is(&w, "Upgrade: websocket\r\n"));
    CHECK(strstr(w.body, "exec needs a WebSocket upgrade") != NULL);
    CHECK(strstr(w.body, "SPDY is not supported") != NULL);
    ws_close(&w);
    CHECK_INT(ws_open(&w, "POST", EXEC "command=true&stdout=1",
                      "Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                      "X-Stream-Protocol-Version: v4.channel.k8s.io\r\n"),
              426);
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", EXEC "command=true&stdout=1",
                      "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"),
              426);
    CHECK(header_is(&w, "Sec-WebSocket-Version: 13\r\n"));
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", EXEC "command=true&stdout=1",
                      "Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
                      "Sec-WebSocket-Key: short\r\n"),
              400);
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", EXEC "command=true&stdout=1",
                      WS_HEADERS("Sec-WebSocket-Protocol: v9.channel.k8s.io\r\n")),
              400);
    CHECK(strstr(w.body, "requested protocol(s) are not supported") != NULL);
    ws_close(&w);
    /* the kubelet's errors */
    CHECK_INT(ws_open(&w, "GET", "/exec/default/nosuch/app?command=true&stdout=1", V5), 404);
    CHECK_STR(w.body, "pod does not exist");
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", EXEC "command=true&stdout=1", V5), 101);
    ws_close(&w);
    CHECK_INT(
        ws_open(&w, "GET", "/exec/default/web/down?podUID=1111-aaaa&command=true&stdout=1", V5),
        500);
    CHECK_STR(w.body, "container not found (\"down\")");
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", "/exec/default/web/Bad_Name?command=true&stdout=1", V5), 500);
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", EXEC "stdout=1", V5), 400);
    CHECK_STR(w.body, "you must specify at least 1 command");
    ws_close(&w);
    CHECK_INT(ws_open(&w, "GET", EXEC "command=true", V5), 400);
    CHECK_STR(w.body, "you must specify at least 1 of stdin, stdout, stderr");
    ws_close(&w);
    CHECK_INT(ws_open(&w, "PUT", EXEC "command=true&stdout=1", V5), 405);
    ws_close(&w);
}

struct bg {
    struct result res;
};

static void *session_bg(void *arg)
{
    struct bg *b = arg;
    struct ws w;
    if (ws_open(&w, "GET", EXEC "command=sleep&command=60&stdout=1", V5) == 101)
        collect(&w, &b->res, 10000);
    ws_close(&w);
    return NULL;
}

int main(void)
{
    char err[256], path[512];
    snprintf(root, sizeof root, "/tmp/kubec-execserver-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/default_web_1111-aaaa", root);
    mkdir(path, 0755);
    int fd = kc_logserver_listen("127.0.0.1", 0);
    struct kc_logserver *ls = kc_logserver_start(root, fd, err, sizeof err);
    CHECK(ls != NULL);
    if (!ls)
        return 1;
    port = kc_logserver_port(ls);
    /* before a runtime is set, exec is refused */
    struct ws w;
    CHECK_INT(ws_open(&w, "GET", EXEC "command=true&stdout=1", V5), 500);
    CHECK(strstr(w.body, "exec is not supported") != NULL);
    ws_close(&w);
    kc_logserver_set_runtime(ls, &fake);

    test_output_and_status();
    test_stdin();
    test_tty();
    test_failures_after_upgrade();
    test_client_gone();
    test_refused();

    /* stopping the server ends an open session (and its command) */
    pthread_t th;
    struct bg b;
    last_pid = 0;
    pthread_create(&th, NULL, session_bg, &b);
    for (int i = 0; i < 100 && !last_pid; i++)
        usleep(20000);
    long long t0 = now_ms();
    kc_logserver_stop(ls);
    pthread_join(th, NULL);
    CHECK(now_ms() - t0 < 5000);
    CHECK(last_pid > 0 && kill(last_pid, 0) != 0);
    CHECK_INT(b.res.close_code, 1001); /* going away */

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    CHECK_DONE();
}
