/* See execserver.h. One exec session runs in the connection's own thread (libmicrohttpd
 * calls the upgrade handler there in thread-per-connection mode): a poll loop over the
 * socket, the command's pipes and a pidfd, so nothing is shared between threads. Frames
 * are written with blocking semantics (poll for POLLOUT), which slows the command down to
 * what the client reads; stdin is buffered up to STDIN_MAX, and the socket is not read
 * while that much waits, so a command that does not read its stdin slows the client. */
#include "nodeagent/execserver.h"
#include "nodeagent/mhd_text.h"

#include "lib/websocket.h"
#include "nodeagent/cmd.h"
#include "nodeagent/runtime.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 1024
#define MAX_MESSAGE (1 << 20) /* client-go sends at most 32 KiB a message */
#define STDIN_MAX (1 << 20)
#define READ_CHUNK (32 * 1024) /* client-go's buffer for one message */
#define WRITE_TIMEOUT_MS 60000 /* client-go's write deadline */
#define CLOSE_WAIT_MS 2000     /* for the client's answer to our close frame */
#define KILL_AFTER_MS 1000     /* a client gone: the command's grace before SIGKILL */

enum { CH_STDIN = 0, CH_STDOUT = 1, CH_STDERR = 2, CH_ERROR = 3, CH_RESIZE = 4, CH_CLOSE = 255 };

struct session {
    struct kc_runtime *rt;
    char uid[128], ctr[256];
    char **argv; /* owned, NULL-terminated */
    bool want[3];
    bool tty;
    int version; /* 1 (channel.k8s.io or none), 4 or 5 */
    struct kc_exec_ctl *ctl;

    int sock;
    struct kc_ws_reader *rd;
    struct kc_exec_proc proc;
    bool started;
    int pidfd;
    bool exited;
    int wstatus;
    uint8_t *in; /* stdin bytes not written to the command yet */
    size_t in_len, in_cap;
    bool in_close; /* close the command's stdin once `in` is written */
    bool peer_gone, close_sent;
};

static const char *const protocols[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io",
                                        NULL};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void kc_exec_session_free(void *session)
{
    struct session *s = session;
    if (!s)
        return;
    for (size_t i = 0; s->argv && s->argv[i]; i++)
        free(s->argv[i]);
    free(s->argv);
    kc_ws_reader_free(s->rd);
    free(s->in);
    free(s);
}

/* ---- the request ---- */

struct args {
    char **v;
    size_t n;
    bool too_many;
};

static enum MHD_Result collect_command(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    struct args *a = cls;
    if (strcmp(key, "command") != 0)
        return MHD_YES;
    if (a->n + 1 >= MAX_ARGS) {
        a->too_many = true;
        return MHD_NO;
    }
    a->v[a->n] = strdup(value ? value : "");
    if (!a->v[a->n])
        abort();
    a->n++;
    return MHD_YES;
}

/* The apiserver sends "1"; "true" is taken too. */
static bool flag(struct MHD_Connection *conn, const char *key)
{
    const char *v = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, key);
    return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
}

static void upgrade_handler(void *cls, struct MHD_Connection *conn, void *con_cls,
                            const char *extra_in, size_t extra_in_size, MHD_socket sock,
                            struct MHD_UpgradeResponseHandle *urh);

enum MHD_Result kc_exec_serve(struct MHD_Connection *conn, const char *method,
                              struct kc_runtime *rt, const char *uid, const char *ctr,
                              struct kc_exec_ctl *ctl, void **con_cls)
{
    struct args a = {calloc(MAX_ARGS, sizeof(char *)), 0, false};
    struct session *s = NULL;
    enum MHD_Result ret;
    if (!a.v)
        abort();
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0) {
        ret = kc_mhd_text(conn, 405, "405: Method Not Allowed");
        goto out;
    }
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_command, &a);
    bool want[3] = {flag(conn, "stdin"), flag(conn, "stdout"), flag(conn, "stderr")};
    bool tty = flag(conn, "tty");
    if (tty)
        want[2] = false; /* a terminal has no separate stderr (the kubelet drops it too) */
    if (!want[0] && !want[1] && !want[2]) {
        ret = kc_mhd_text(conn, 400, "you must specify at least 1 of stdin, stdout, stderr");
        goto out;
    }
    if (a.n == 0 || a.too_many) {
        ret = kc_mhd_text(conn, 400,
                          a.n ? "too many arguments" : "you must specify at least 1 command");
        goto out;
    }
    if (!rt || !rt->ops->exec) {
        ret = kc_mhd_text(conn, 500, "exec is not supported by the %s runtime",
                          rt ? rt->ops->name : "node's");
        goto out;
    }
    if (rt->ops->exec(rt, uid, ctr, NULL, want, tty, NULL, NULL, 0) != 0) {
        ret = kc_mhd_text(conn, 500, "container not found (\"%s\")", ctr);
        goto out;
    }

    /* the WebSocket opening handshake */
    const char *upgrade = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Upgrade");
    const char *connection = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Connection");
    const char *version =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
    const char *key = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
    const char *offered =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Sec-WebSocket-Protocol");
    if (!kc_http_list_has(upgrade, "websocket") || !kc_http_list_has(connection, "upgrade")) {
        /* (the apiserver asks this way to learn whether all but the upgrade is fine) */
        ret =
            kc_mhd_text(conn, MHD_HTTP_UPGRADE_REQUIRED,
                        "exec needs a WebSocket upgrade (Connection: Upgrade, Upgrade: websocket) "
                        "with subprotocol %s, %s or %s; SPDY is not supported",
                        protocols[0], protocols[1], protocols[2]);
        goto out;
    }
    if (!version || strcmp(version, "13") != 0) {
        ret = kc_mhd_text(conn, MHD_HTTP_UPGRADE_REQUIRED, "unsupported Sec-WebSocket-Version");
        goto out;
    }
    if (!kc_ws_key_valid(key)) {
        ret = kc_mhd_text(conn, 400, "missing or malformed Sec-WebSocket-Key");
        goto out;
    }
    const char *chosen = NULL;
    if (offered && *offered) {
        chosen = kc_ws_choose_protocol(offered, protocols);
        if (!chosen) {
            ret = kc_mhd_text(conn, 400,
                              "requested protocol(s) are not supported: [%s]; supports [%s %s %s]",
                              offered, protocols[0], protocols[1], protocols[2]);
            goto out;
        }
    }

    s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->rt = rt;
    snprintf(s->uid, sizeof s->uid, "%s", uid);
    snprintf(s->ctr, sizeof s->ctr, "%s", ctr);
    s->argv = a.v;
    a.v = NULL;
    memcpy(s->want, want, sizeof want);
    s->tty = tty;
    s->version = chosen == protocols[0] ? 5 : chosen == protocols[1] ? 4 : 1;
    s->ctl = ctl;
    s->sock = -1;
    s->pidfd = -1;
    s->proc.pid = -1;
    s->proc.in = s->proc.out = s->proc.err = -1;
    *con_cls = s; /* freed by the server's completion callback, upgraded or not */

    char accept[29];
    kc_ws_accept(key, accept);
    struct MHD_Response *r = MHD_create_response_for_upgrade(upgrade_handler, s);
    if (!r) {
        ret = MHD_NO;
        goto out;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
    if (chosen)
        MHD_add_response_header(r, "Sec-WebSocket-Protocol", chosen);
    ret = MHD_queue_response(conn, MHD_HTTP_SWITCHING_PROTOCOLS, r);
    MHD_destroy_response(r);
out:
    for (size_t i = 0; a.v && i < a.n; i++)
        free(a.v[i]);
    free(a.v);
    return ret;
}

/* ---- writing frames ---- */

/* Writes all of iov to the socket, waiting for room; false when the client is gone, the
 * write deadline passed or the server stops. */
static bool send_all(struct session *s, struct iovec *iov, int n)
{
    long long deadline = now_ms() + WRITE_TIMEOUT_MS;
    if (s->peer_gone)
        return false;
    while (n > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(s->sock, &mh, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd p = {.fd = s->sock, .events = POLLOUT};
            if (s->ctl->stopping || now_ms() > deadline)
                goto gone;
            poll(&p, 1, 200);
            continue;
        }
        if (w < 0)
            goto gone;
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return true;
gone:
    s->peer_gone = true;
    return false;
}

/* One unfragmented, unmasked frame; with ch >= 0, the payload is the channel byte and data. */
static bool send_frame(struct session *s, enum kc_ws_opcode op, int ch, const void *data,
                       size_t len)
{
    uint8_t hdr[KC_WS_MAX_HEADER], chb = (uint8_t)ch;
    size_t hl = kc_ws_frame_header(hdr, op, true, len + (ch >= 0), NULL);
    struct iovec iov[3] = {{hdr, hl}, {&chb, ch >= 0 ? 1 : 0}, {(void *)data, len}};
    return send_all(s, iov, 3);
}

static void send_close(struct session *s, int code)
{
    uint8_t body[2] = {(uint8_t)(code >> 8), (uint8_t)code};
    if (s->close_sent)
        return;
    s->close_sent = true;
    send_frame(s, KC_WS_CLOSE, -1, body, sizeof body);
}

/* The final word on channel 3. code < 0: the command could not run (why says so). */
static void send_status(struct session *s, int code, const char *why)
{
    json_t *st = NULL;
    char *text = NULL;
    if (code < 0) {
        char msg[1200];
        snprintf(msg, sizeof msg, "error executing command in container: %s", why);
        st = json_pack("{s:{},s:s,s:s+,s:s,s:{s:[{s:s}]},s:i}", "metadata", "status", "Failure",
                       "message", "Internal error occurred: ", msg, "reason", "InternalError",
                       "details", "causes", "message", msg, "code", 500);
    } else if (code > 0) {
        /* Go's %v of the command: [sh -c exit 3] */
        size_t cap = 64;
        for (size_t i = 0; s->argv[i]; i++)
            cap += strlen(s->argv[i]) + 1;
        char *cmd = malloc(cap), *msg = malloc(cap + 128), num[16];
        if (!cmd || !msg)
            abort();
        size_t o = 0;
        for (size_t i = 0; s->argv[i]; i++)
            o += (size_t)snprintf(cmd + o, cap - o, "%s%s", i ? " " : "", s->argv[i]);
        cmd[o] = 0;
        snprintf(msg, cap + 128,
                 "command terminated with non-zero exit code: error executing command [%s], exit "
                 "code %d",
                 cmd, code);
        snprintf(num, sizeof num, "%d", code);
        st = json_pack("{s:{},s:s,s:s,s:s,s:{s:[{s:s,s:s}]}}", "metadata", "status", "Failure",
                       "message", msg, "reason", "NonZeroExitCode", "details", "causes", "reason",
                       "ExitCode", "message", num);
        free(cmd);
        free(msg);
    } else {
        st = json_pack("{s:{},s:s}", "metadata", "status", "Success");
    }
    if (s->version >= 4) {
        text = json_dumps(st, JSON_COMPACT);
    } else if (code != 0) {
        /* channel.k8s.io: only a failure's message, as text */
        const char *m = json_string_value(json_object_get(st, "message"));
        text = strdup(m ? m : "");
    }
    if (text)
        send_frame(s, KC_WS_BINARY, CH_ERROR, text, strlen(text));
    free(text);
    json_decref(st);
}

/* ---- the command ---- */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Reaps the command if it ended; true once it has. */
static bool reap(struct session *s, bool block)
{
    if (s->exited)
        return true;
    int st;
    pid_t r;
    do
        r = waitpid(s->proc.pid, &st, block ? 0 : WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == s->proc.pid || (r < 0 && errno == ECHILD)) {
        s->exited = true;
        s->wstatus = r == s->proc.pid ? st : 0;
        close_fd(&s->pidfd);
    }
    return s->exited;
}

static int exit_code(int wstatus)
{
    if (WIFEXITED(wstatus))
        return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus))
        return 128 + WTERMSIG(wstatus);
    return 1;
}

/* Sends what a pipe (or the terminal's master) has now; false at its end (closed then).
 * ch < 0: read and dropped (a terminal's output nobody asked for). */
static bool pump_output(struct session *s, int *fd, int ch, uint8_t *buf)
{
    for (;;) {
        ssize_t n = read(*fd, buf, READ_CHUNK);
        if (n > 0) {
            if (ch >= 0 && !send_frame(s, KC_WS_BINARY, ch, buf, (size_t)n))
                return true; /* the client is gone: the loop ends */
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return true;
        close_fd(fd);
        return false;
    }
}

static void write_stdin(struct session *s)
{
    while (s->in_len && s->proc.in >= 0) {
        ssize_t w = write(s->proc.in, s->in, s->in_len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (w < 0) { /* the command closed its stdin: what the client sends is dropped */
            close_fd(&s->proc.in);
            s->in_len = 0;
            break;
        }
        memmove(s->in, s->in + w, s->in_len - (size_t)w);
        s->in_len -= (size_t)w;
    }
    if (!s->in_len && s->in_close)
        close_fd(&s->proc.in);
}

/* Where the command's stdout goes: with a terminal that nobody reads, nowhere. */
static int out_channel(const struct session *s)
{
    return s->tty && !s->want[1] ? -1 : CH_STDOUT;
}

/* A terminal's new size: {"Width":80,"Height":24}, as client-go sends it. */
static void resize(struct session *s, const uint8_t *d, size_t len)
{
    json_t *j = json_loadb((const char *)d, len, JSON_DISABLE_EOF_CHECK, NULL);
    json_int_t w = json_integer_value(json_object_get(j, "Width"));
    json_int_t h = json_integer_value(json_object_get(j, "Height"));
    if (s->tty && s->proc.out >= 0 && w > 0 && h > 0 && w <= 65535 && h <= 65535) {
        struct winsize ws = {.ws_row = (unsigned short)h, .ws_col = (unsigned short)w};
        ioctl(s->proc.out, TIOCSWINSZ, &ws);
    }
    json_decref(j);
}

/* ---- reading frames ---- */

static void on_message(struct session *s, const uint8_t *d, size_t len)
{
    if (len == 0)
        return;
    switch (d[0]) {
    case CH_STDIN:
        if (s->proc.in < 0 || s->in_close)
            return;
        if (s->in_len + len - 1 > s->in_cap) {
            size_t cap = s->in_cap ? s->in_cap : 65536;
            while (cap < s->in_len + len - 1)
                cap *= 2;
            s->in = realloc(s->in, cap);
            if (!s->in)
                abort();
            s->in_cap = cap;
        }
        memcpy(s->in + s->in_len, d + 1, len - 1);
        s->in_len += len - 1;
        return;
    case CH_CLOSE: /* v5: the client closed one of its streams; only stdin is ours to close */
        if (s->version >= 5 && len >= 2 && d[1] == CH_STDIN)
            s->in_close = true;
        return;
    case CH_RESIZE:
        resize(s, d + 1, len - 1);
        return;
    default: /* nothing the client may write */
        return;
    }
}

/* Handles the frames received so far; false when the client is done (closed, or broke the
 * protocol). */
static bool handle_frames(struct session *s)
{
    for (;;) {
        struct kc_ws_event ev;
        kc_ws_reader_next(s->rd, &ev);
        switch (ev.type) {
        case KC_WS_EV_NONE:
            return true;
        case KC_WS_EV_MESSAGE:
            on_message(s, ev.data, ev.len);
            break;
        case KC_WS_EV_PING:
            send_frame(s, KC_WS_PONG, -1, ev.data, ev.len);
            break;
        case KC_WS_EV_PONG:
            break;
        case KC_WS_EV_CLOSE:
            send_close(s,
                       ev.close_code == KC_WS_CLOSE_NO_STATUS ? KC_WS_CLOSE_NORMAL : ev.close_code);
            s->peer_gone = true;
            return false;
        case KC_WS_EV_ERROR:
            send_close(s, ev.close_code);
            s->peer_gone = true;
            return false;
        }
    }
}

/* Reads what the socket has and handles its frames; false when the client is done. */
static bool read_client(struct session *s, uint8_t *buf)
{
    ssize_t n = recv(s->sock, buf, READ_CHUNK, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return true;
    if (n <= 0) {
        s->peer_gone = true;
        return false;
    }
    kc_ws_reader_feed(s->rd, buf, (size_t)n);
    return handle_frames(s);
}

/* ---- the session ---- */

static void run(struct session *s, const char *extra, size_t extra_len)
{
    uint8_t *buf = malloc(READ_CHUNK);
    char msg[1024] = "";
    if (!buf)
        abort();
    s->rd = kc_ws_reader_new(true, MAX_MESSAGE);
    if (extra_len)
        kc_ws_reader_feed(s->rd, extra, extra_len);
    int rc = s->rt->ops->exec(s->rt, s->uid, s->ctr, s->argv, s->want, s->tty, &s->proc, msg,
                              sizeof msg);
    if (rc == KC_EXEC_NOT_RUNNING)
        snprintf(msg, sizeof msg, "container not found (\"%s\")", s->ctr);
    if (rc != 0) {
        send_status(s, -1, msg);
        send_close(s, KC_WS_CLOSE_NORMAL);
        goto linger;
    }
    s->started = true;
    s->pidfd = (int)syscall(SYS_pidfd_open, s->proc.pid, 0);
    if (s->tty && !s->want[0])
        close_fd(&s->proc.in); /* the terminal's master stays open for its output */
    /* as the kubelet: an empty message on the first channel the client reads tells it the
     * streams are up */
    send_frame(s, KC_WS_BINARY,
               s->want[1]   ? CH_STDOUT
               : s->want[2] ? CH_STDERR
                            : CH_ERROR,
               NULL, 0);
    /* frames that came with the request */
    if (extra_len && !handle_frames(s))
        goto linger;

    while (!s->peer_gone && !s->ctl->stopping) {
        struct pollfd p[5];
        int np = 0, i_sock = -1, i_in = -1, i_out = -1, i_err = -1, i_pid = -1;
        if (s->in_len < STDIN_MAX) {
            i_sock = np;
            p[np++] = (struct pollfd){.fd = s->sock, .events = POLLIN};
        }
        if (s->proc.in >= 0 && s->in_len) {
            i_in = np;
            p[np++] = (struct pollfd){.fd = s->proc.in, .events = POLLOUT};
        }
        if (s->proc.out >= 0) {
            i_out = np;
            p[np++] = (struct pollfd){.fd = s->proc.out, .events = POLLIN};
        }
        if (s->proc.err >= 0) {
            i_err = np;
            p[np++] = (struct pollfd){.fd = s->proc.err, .events = POLLIN};
        }
        if (s->pidfd >= 0 && !s->exited) {
            i_pid = np;
            p[np++] = (struct pollfd){.fd = s->pidfd, .events = POLLIN};
        }
        /* without a pidfd the command's end is noticed by polling */
        int timeout = s->pidfd < 0 && !s->exited ? 50 : 1000;
        int pr = poll(p, (nfds_t)np, timeout);
        if (pr < 0 && errno != EINTR)
            break;
        if (pr > 0 && i_sock >= 0 && p[i_sock].revents && !read_client(s, buf))
            break;
        if (i_in >= 0 && p[i_in].revents)
            write_stdin(s);
        if (i_out >= 0 && p[i_out].revents)
            pump_output(s, &s->proc.out, out_channel(s), buf);
        if (i_err >= 0 && p[i_err].revents)
            pump_output(s, &s->proc.err, s->tty ? CH_STDOUT : CH_STDERR, buf);
        if (s->in_close && !s->in_len)
            close_fd(&s->proc.in);
        if (i_pid >= 0 && p[i_pid].revents)
            reap(s, false);
        else if (s->pidfd < 0)
            reap(s, false);
        if (s->exited) {
            /* what the command wrote is all in its pipes now; output of children it left
             * running is not waited for */
            if (s->proc.out >= 0)
                pump_output(s, &s->proc.out, out_channel(s), buf);
            if (s->proc.err >= 0)
                pump_output(s, &s->proc.err, s->tty ? CH_STDOUT : CH_STDERR, buf);
            close_fd(&s->proc.out);
            close_fd(&s->proc.err);
            close_fd(&s->proc.in);
            send_status(s, exit_code(s->wstatus), NULL);
            send_close(s, KC_WS_CLOSE_NORMAL);
            break;
        }
    }

    if (s->ctl->stopping)
        send_close(s, KC_WS_CLOSE_GOING_AWAY);
linger:
    /* wait a little for the client's close frame, so that the connection ends cleanly */
    if (s->close_sent && !s->peer_gone) {
        long long deadline = now_ms() + CLOSE_WAIT_MS;
        while (!s->peer_gone && now_ms() < deadline && !s->ctl->stopping) {
            struct pollfd p = {.fd = s->sock, .events = POLLIN};
            if (poll(&p, 1, 100) > 0 && !read_client(s, buf))
                break;
        }
    }
    if (s->started && !s->exited) {
        /* the client went away first: end the command (stdin and its pipes close; whatever
         * still runs after a grace period is killed with its process group) */
        close_fd(&s->proc.in);
        close_fd(&s->proc.out);
        close_fd(&s->proc.err);
        long long deadline = now_ms() + KILL_AFTER_MS;
        while (!reap(s, false) && now_ms() < deadline) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
        if (!s->exited) {
            /* the tree first: below crun exec, the command has a session of its own; then
             * what is left in the group (a host process's children that were reparented) */
            kc_cmd_kill_tree(s->proc.pid);
            killpg(s->proc.pid, SIGKILL);
            reap(s, true);
        }
    }
    /* (children that a command which ended left running keep running, as under the kubelet) */
    close_fd(&s->proc.in);
    close_fd(&s->proc.out);
    close_fd(&s->proc.err);
    close_fd(&s->pidfd);
    free(buf);
}

static void upgrade_handler(void *cls, struct MHD_Connection *conn, void *con_cls,
                            const char *extra_in, size_t extra_in_size, MHD_socket sock,
                            struct MHD_UpgradeResponseHandle *urh)
{
    struct session *s = cls;
    s->sock = sock;
    __atomic_add_fetch(&s->ctl->sessions, 1, __ATOMIC_SEQ_CST);
    run(s, extra_in, extra_in_size);
    MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    __atomic_sub_fetch(&s->ctl->sessions, 1, __ATOMIC_SEQ_CST);
}
