/* See hooks.h. */
#include "nodeagent/hooks.h"

#include "client/events.h"
#include "lib/jsonx.h"

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
#include <time.h>
#include <unistd.h>

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int kc_container_port(const json_t *ctr, const json_t *port)
{
    if (json_is_integer(port))
        return (int)json_integer_value(port);
    const char *name = json_string_value(port);
    if (!name)
        return -1;
    size_t i;
    json_t *p;
    json_array_foreach (json_object_get(ctr, "ports"), i, p)
        if (!strcmp(kc_json_str(p, "name") ?: "", name))
            return (int)kc_json_int(p, "containerPort", -1);
    return atoi(name) > 0 ? atoi(name) : -1;
}

/* GET http://host:port/path, waiting for the answer's status line (or the server closing)
 * so the request was handled; the status itself is not looked at, as the kubelet's. */
static int http_get(const json_t *ctr, const json_t *h, const char *addr, int timeout_ms, char *why,
                    size_t whylen)
{
    const char *host = kc_json_str(h, "host");
    if (!host || !*host)
        host = addr;
    int port = kc_container_port(ctr, json_object_get(h, "port"));
    const char *path = kc_json_str(h, "path") ?: "/";
    const char *scheme = kc_json_str(h, "scheme") ?: "HTTP";
    long deadline = ms_now() + timeout_ms;
    int ret = -1, fd = -1;
    if (strcmp(scheme, "HTTP") != 0) {
        snprintf(why, whylen, "unsupported scheme %s for an httpGet hook", scheme);
        return -1; /* https: not yet */
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        snprintf(why, whylen, "invalid address %s:%d", host, port);
        return -1;
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        goto fail;
    struct pollfd pf = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    if (poll(&pf, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
        err != 0)
        goto fail;
    char req[4096];
    int len = snprintf(req, sizeof req,
                       "GET %s%s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: kube-lifecycle/1.33\r\n"
                       "Accept: */*\r\nConnection: close\r\n",
                       path[0] == '/' ? "" : "/", path, host, port);
    size_t i;
    json_t *hd;
    json_array_foreach (json_object_get(h, "httpHeaders"), i, hd)
        if (len < (int)sizeof req - 600)
            len += snprintf(req + len, sizeof req - (size_t)len, "%.200s: %.300s\r\n",
                            kc_json_str(hd, "name") ?: "X", kc_json_str(hd, "value") ?: "");
    len += snprintf(req + len, sizeof req - (size_t)len, "\r\n");
    if (send(fd, req, (size_t)len, MSG_NOSIGNAL) != len)
        goto fail;
    /* the answer's first bytes, or the server's close */
    char buf[512];
    for (;;) {
        long left = deadline - ms_now();
        pf.events = POLLIN;
        if (left <= 0 || poll(&pf, 1, (int)left) != 1)
            goto fail;
        ssize_t got = recv(fd, buf, sizeof buf, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            goto fail;
        break;
    }
    ret = 0;
    goto out;
fail:
    snprintf(why, whylen, "Get \"http://%s:%d%s\": dial tcp %s:%d: %s", host, port, path, host,
             port, errno ? strerror(errno) : "timeout");
out:
    if (fd >= 0)
        close(fd);
    return ret;
}

int kc_hook_run(struct kc_driver *d, const json_t *ctr, const json_t *handler, const char *addr,
                const struct kc_run_paths *p, int timeout_ms, char *why, size_t whylen)
{
    const json_t *h;
    why[0] = 0;
    if ((h = json_object_get(handler, "exec"))) {
        const json_t *cmd = json_object_get(h, "command");
        size_t n = json_array_size(cmd);
        if (n == 0 || n > 64) {
            snprintf(why, whylen, "exec hook without a command");
            return -1;
        }
        char *argv[65];
        for (size_t i = 0; i < n; i++)
            argv[i] = (char *)(json_string_value(json_array_get(cmd, i)) ?: "");
        argv[n] = NULL;
        char out[1024] = "";
        int rc = d->ops->exec(d, p, argv, timeout_ms, out, sizeof out);
        if (rc == 0)
            return 0;
        /* the kubelet's words: the command's output, with its exit code */
        snprintf(why, whylen, "command '%s' exited with %d: %s", argv[0], rc, out);
        return -1;
    }
    if ((h = json_object_get(handler, "httpGet")))
        return http_get(ctr, h, addr, timeout_ms, why, whylen);
    if ((h = json_object_get(handler, "sleep"))) {
        long s = kc_json_int(h, "seconds", 0);
        long ms = s * 1000 < timeout_ms ? s * 1000 : timeout_ms;
        if (ms > 0)
            usleep((useconds_t)ms * 1000);
        return 0;
    }
    snprintf(why, whylen, "a lifecycle hook without a handler");
    return -1;
}

static void *prestop_main(void *arg)
{
    struct kc_prestop *s = arg;
    char why[1200];
    const json_t *h = kc_json_path(s->ctr, "lifecycle.preStop");
    if (kc_hook_run(s->d, s->ctr, h, s->addr, &s->p, s->timeout_ms, why, sizeof why) != 0 && s->rec)
        kc_event(s->rec, s->pod, "Warning", "FailedPreStopHook", "PreStopHook failed: %s", why);
    /* the hook is done (or failed): the stop goes on; SIGKILL at the end of the grace
     * period is the caller's */
    if (s->pid > 0)
        kill(s->pid, SIGTERM);
    json_decref(s->pod);
    json_decref(s->ctr);
    free(s);
    return NULL;
}

int kc_hook_prestop_async(struct kc_prestop *s)
{
    pthread_t th;
    if (pthread_create(&th, NULL, prestop_main, s) != 0) {
        json_decref(s->pod);
        json_decref(s->ctr);
        free(s);
        return -1;
    }
    pthread_detach(th);
    return 0;
}
