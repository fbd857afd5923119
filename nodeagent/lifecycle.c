/* See lifecycle.h. */
#include "nodeagent/lifecycle.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"
#include "nodeagent/cmd.h"
#include "nodeagent/hooks.h"
#include "nodeagent/probe_grpc.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

#define BACKOFF_INITIAL_MS 10000L
#define BACKOFF_MAX_MS 300000L
#define BACKOFF_RESET_S 600.0 /* a run this long forgets earlier crashes */
#define MAX_CTRS 32

struct probe {
    double next;
    int succ, fail;
    bool ok;
};

/* What the lifecycle remembers of one container between syncs (all of it can be lost:
 * attempts come back from disk, back-off restarts at its first step). */
struct ctr {
    char name[128];
    bool init;
    int attempt;         /* the newest run, -1 before the first */
    int seen_exit;       /* the run whose end was handled (back-off computed) */
    double restart_at;   /* the back-off ends */
    long backoff_ms;     /* the next crash waits this long */
    double img_retry_at; /* image pull back-off */
    long img_backoff_ms;
    char img_reason[32], img_msg[512];
    struct probe startup, live, ready;
    bool killing;      /* a probe failure stops the run */
    double kill_at;    /* SIGKILL once past */
    double dead_since; /* init gone and no exit file yet */
    char image_id[600];
    int last_read; /* the attempt whose previous run `last` describes */
    bool has_last;
    struct kc_container_term last; /* lastState of that attempt */
};

struct pod {
    char uid[64];
    pthread_mutex_t mu;
    bool loaded; /* attempts read back from disk */
    bool sandbox;
    int n;
    struct ctr c[MAX_CTRS];
    /* stopping */
    bool stopping, term_sent, kill_sent, done;
    double stop_deadline;
    /* Users of the pod (pod_get ... pod_put) and whether it left the list (pod_drop):
     * a pod forgotten by the informer's thread while a worker syncs it is freed by the
     * last of them. Both guarded by real_runtime.mu. */
    int refs;
    bool dropped;
    struct pod *next;
};

struct real_runtime {
    struct kc_runtime base;
    struct kc_driver *d;
    char root[1024];
    struct kc_image_store *images;
    struct kc_recorder *rec;
    const struct kc_env_lookup *env; /* borrowed; NULL: no values from the API */
    pthread_mutex_t mu;
    struct pod *pods;
};

struct run_info {
    bool exists, running, exited, start_error;
    int pid;
    double started_at, finished_at;
    int code, sig;
    char reason[64];
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Events go nowhere without a recorder (the --cleanup pass). */
#define ev(r, ...)                                                                                 \
    do {                                                                                           \
        if ((r)->rec)                                                                              \
            kc_event((r)->rec, __VA_ARGS__);                                                       \
    } while (0)

/* ---- pods in memory ---- */

/* The pod of uid (made when create), NULL when there is none; the caller holds a
 * reference until pod_put. */
static struct pod *pod_get(struct real_runtime *r, const char *uid, bool create)
{
    pthread_mutex_lock(&r->mu);
    struct pod *p;
    for (p = r->pods; p; p = p->next)
        if (strcmp(p->uid, uid) == 0)
            break;
    if (!p && create) {
        p = calloc(1, sizeof *p);
        snprintf(p->uid, sizeof p->uid, "%s", uid);
        pthread_mutex_init(&p->mu, NULL);
        p->next = r->pods;
        r->pods = p;
    }
    if (p)
        p->refs++;
    pthread_mutex_unlock(&r->mu);
    return p;
}

static void pod_free(struct pod *p)
{
    pthread_mutex_destroy(&p->mu);
    free(p);
}

static void pod_put(struct real_runtime *r, struct pod *p)
{
    pthread_mutex_lock(&r->mu);
    bool last = --p->refs == 0 && p->dropped;
    pthread_mutex_unlock(&r->mu);
    if (last)
        pod_free(p);
}

/* Takes the pod of uid out of the list; freed now, or by the last pod_put. */
static void pod_drop(struct real_runtime *r, const char *uid)
{
    struct pod *gone = NULL;
    pthread_mutex_lock(&r->mu);
    for (struct pod **pp = &r->pods; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->uid, uid) == 0) {
            struct pod *p = *pp;
            *pp = p->next;
            p->dropped = true;
            if (p->refs == 0)
                gone = p;
            break;
        }
    }
    pthread_mutex_unlock(&r->mu);
    if (gone)
        pod_free(gone);
}

/* ---- paths and files ---- */

static void pod_dir(struct real_runtime *r, const char *uid, char *out, size_t len)
{
    snprintf(out, len, "%s/pods/%s", r->root, uid);
}

static void logs_dir(struct real_runtime *r, const char *ns, const char *name, const char *uid,
                     char *out, size_t len)
{
    snprintf(out, len, "%s/logs/%s_%s_%s", r->root, ns, name, uid);
}

static void run_paths(struct real_runtime *r, const char *ns, const char *pname, const char *uid,
                      const struct ctr *c, int attempt, struct kc_run_paths *p)
{
    char ld[1024];
    pod_dir(r, uid, p->pod_dir, sizeof p->pod_dir);
    kc_fmt(p->dir, sizeof p->dir, "%s/%c-%s-%d", p->pod_dir, c->init ? 'i' : 'c', c->name, attempt);
    snprintf(p->id, sizeof p->id, "%s_%c_%s_%d", uid, c->init ? 'i' : 'c', c->name, attempt);
    logs_dir(r, ns, pname, uid, ld, sizeof ld);
    kc_fmt(p->log, sizeof p->log, "%s/%s/%d.log", ld, c->name, attempt);
    kc_fmt(p->exit, sizeof p->exit, "%s/%s/%d.exit", ld, c->name, attempt);
    kc_fmt(p->pidfile, sizeof p->pidfile, "%s/pid", p->dir);
}

static void read_run(const struct kc_run_paths *p, struct run_info *ri)
{
    memset(ri, 0, sizeof *ri);
    struct stat st;
    if (stat(p->dir, &st) != 0)
        return;
    ri->exists = true;
    FILE *f = fopen(p->pidfile, "r");
    if (f) {
        if (fscanf(f, "%d", &ri->pid) != 1)
            ri->pid = 0;
        fclose(f);
        if (stat(p->pidfile, &st) == 0)
            ri->started_at = (double)st.st_mtim.tv_sec + (double)st.st_mtim.tv_nsec / 1e9;
    }
    json_t *ex = json_load_file(p->exit, 0, NULL);
    if (ex) {
        ri->exited = true;
        ri->code = (int)json_integer_value(json_object_get(ex, "exitCode"));
        ri->sig = (int)json_integer_value(json_object_get(ex, "signal"));
        snprintf(ri->reason, sizeof ri->reason, "%s", kc_json_str(ex, "reason") ?: "Error");
        const char *fin = kc_json_str(ex, "finishedAt");
        double t = 0;
        ri->finished_at = fin && kc_time_parse_frac(fin, &t) == 0 ? t : now_s();
        ri->start_error = strcmp(ri->reason, "StartError") == 0;
        if (!ri->started_at)
            ri->started_at = ri->finished_at;
        json_decref(ex);
        return;
    }
    if (ri->pid > 0 && (kill(ri->pid, 0) == 0 || errno == EPERM))
        ri->running = true;
}

/* The termination message: the file the container wrote at terminationMessagePath, or
 * with FallbackToLogsOnError the end of its log when it failed. */
static void termination_message(const json_t *ctr, const struct kc_run_paths *p, int code,
                                char *out, size_t len)
{
    char path[1100];
    out[0] = 0;
    snprintf(path, sizeof path, "%s/termination-log", p->dir);
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f) {
        n = fread(out, 1, len - 1, f);
        out[n] = 0;
        fclose(f);
    }
    const char *policy = kc_json_str(ctr, "terminationMessagePolicy");
    if (n || code == 0 || !policy || strcmp(policy, "FallbackToLogsOnError") != 0)
        return;
    f = fopen(p->log, "r");
    if (!f)
        return;
    /* the last lines of the log, without their CRI prefix */
    char line[4096];
    char *tail = calloc(1, len);
    size_t used = 0;
    while (fgets(line, sizeof line, f)) {
        char *text = line;
        for (int k = 0; k < 3 && text; k++) {
            text = strchr(text, ' ');
            if (text)
                text++;
        }
        if (!text)
            continue;
        /* a record ends with a newline of the file's; the text had one only when it is a
         * full (F) line, not a partial (P) one, as the kubelet's CRI log parser reads it */
        size_t tl = strlen(text);
        if (tl && text[tl - 1] == '\n' && text - line >= 2 && text[-2] == 'P')
            text[--tl] = 0;
        if (tl >= len - 1)
            continue;
        if (used + tl >= len - 1) {
            size_t drop = used + tl - (len - 1);
            memmove(tail, tail + drop, used - drop);
            used -= drop;
        }
        memcpy(tail + used, text, tl);
        used += tl;
        tail[used] = 0;
    }
    fclose(f);
    snprintf(out, len, "%s", tail);
    free(tail);
}

/* Highest N of `<kind>-<name>-<N>` in the pod directory, -1 if none. */
static int last_attempt(const char *pdir, const struct ctr *c)
{
    DIR *d = opendir(pdir);
    if (!d)
        return -1;
    char prefix[200];
    snprintf(prefix, sizeof prefix, "%c-%s-", c->init ? 'i' : 'c', c->name);
    size_t pl = strlen(prefix);
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, pl) != 0)
            continue;
        char *end;
        long v = strtol(e->d_name + pl, &end, 10);
        if (*end == 0 && v > best && v < 100000)
            best = (int)v;
    }
    closedir(d);
    return best;
}

/* ---- images ---- */

static const char *pull_policy(const json_t *ctr)
{
    return kc_json_str(ctr, "imagePullPolicy");
}

/* ---- probes ---- */

static int connect_timeout(const char *ip, int port, int timeout_ms)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    struct pollfd pf = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    if (poll(&pf, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 ||
        err != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One probe run: true on success; why says what failed, as the kubelet's events do. */
static bool probe_run(struct real_runtime *r, const json_t *ctr, const json_t *pr, const char *ip,
                      const struct kc_run_paths *p, char *why, size_t whylen)
{
    int timeout_ms = (int)kc_json_int(pr, "timeoutSeconds", 1) * 1000;
    why[0] = 0;
    const json_t *h;
    if ((h = json_object_get(pr, "exec"))) {
        const json_t *cmd = json_object_get(h, "command");
        size_t n = json_array_size(cmd);
        if (n == 0 || n > 64) {
            snprintf(why, whylen, "exec probe without a command");
            return false;
        }
        char *argv[65];
        for (size_t i = 0; i < n; i++)
            argv[i] = (char *)(json_string_value(json_array_get(cmd, i)) ?: "");
        argv[n] = NULL;
        char out[1024];
        int rc = r->d->ops->exec(r->d, p, argv, timeout_ms, out, sizeof out);
        if (rc == 0)
            return true;
        if (rc == 128 + SIGKILL)
            snprintf(why, whylen, "command timed out");
        else
            snprintf(why, whylen, "%s", out[0] ? out : "command failed");
        return false;
    }
    char addr[64];
    r->d->ops->probe_addr(r->d, ip, addr, sizeof addr);
    if ((h = json_object_get(pr, "tcpSocket"))) {
        int port = kc_container_port(ctr, json_object_get(h, "port"));
        const char *host = kc_json_str(h, "host") ?: addr;
        int fd = port > 0 ? connect_timeout(host, port, timeout_ms) : -1;
        if (fd >= 0) {
            close(fd);
            return true;
        }
        snprintf(why, whylen, "dial tcp %s:%d: connect: connection refused", host, port);
        return false;
    }
    if ((h = json_object_get(pr, "httpGet"))) {
        int port = kc_container_port(ctr, json_object_get(h, "port"));
        const char *host = kc_json_str(h, "host") ?: addr;
        const char *path = kc_json_str(h, "path") ?: "/";
        int fd = port > 0 ? connect_timeout(host, port, timeout_ms) : -1;
        if (fd < 0) {
            snprintf(why, whylen,
                     "Get \"http://%s:%d%s\": dial tcp %s:%d: connect: connection refused", host,
                     port, path, host, port);
            return false;
        }
        char req[2048];
        int len = snprintf(req, sizeof req,
                           "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: kube-probe/1.33\r\n"
                           "Accept: */*\r\nConnection: close\r\n",
                           path, host, port);
        size_t i;
        json_t *hd;
        json_array_foreach (json_object_get(h, "httpHeaders"), i, hd)
            if (len < (int)sizeof req - 200)
                len += snprintf(req + len, sizeof req - (size_t)len, "%s: %s\r\n",
                                kc_json_str(hd, "name") ?: "X", kc_json_str(hd, "value") ?: "");
        len += snprintf(req + len, sizeof req - (size_t)len, "\r\n");
        bool ok = false;
        if (write(fd, req, (size_t)len) == len) {
            struct pollfd pf = {fd, POLLIN, 0};
            char resp[256] = "";
            if (poll(&pf, 1, timeout_ms) == 1) {
                ssize_t got = read(fd, resp, sizeof resp - 1);
                if (got > 0) {
                    resp[got] = 0;
                    int code = 0;
                    if (sscanf(resp, "HTTP/%*s %d", &code) == 1) {
                        ok = code >= 200 && code < 400;
                        if (!ok)
                            snprintf(why, whylen, "HTTP probe failed with statuscode: %d", code);
                    }
                }
            } else {
                snprintf(why, whylen,
                         "Get \"http://%s:%d%s\": context deadline exceeded (Client.Timeout "
                         "exceeded while awaiting headers)",
                         host, port, path);
            }
        }
        close(fd);
        if (!ok && !why[0])
            snprintf(why, whylen, "HTTP probe failed");
        return ok;
    }
    if ((h = json_object_get(pr, "grpc"))) {
        int port = (int)kc_json_int(h, "port", -1);
        return kc_probe_grpc(addr, port, kc_json_str(h, "service") ?: "", timeout_ms, why, whylen);
    }
    return true; /* a probe with no handler (validation prevents it) counts as passing */
}

/* Runs probe kind pr of a running container if due. Returns true when its result flipped
 * to a verdict (success/failure threshold reached). */
static void probe_tick(struct real_runtime *r, const json_t *pod, const json_t *ctr,
                       const json_t *pr, struct probe *st, const char *kind, const char *ip,
                       const struct kc_run_paths *p, double started, double now, double *wake)
{
    if (st->next == 0)
        st->next = started + (double)kc_json_int(pr, "initialDelaySeconds", 0);
    if (now + 0.001 < st->next) {
        if (*wake == 0 || st->next < *wake)
            *wake = st->next;
        return;
    }
    char why[600];
    bool ok = probe_run(r, ctr, pr, ip, p, why, sizeof why);
    if (ok) {
        st->fail = 0;
        if (++st->succ >= kc_json_int(pr, "successThreshold", 1))
            st->ok = true;
    } else {
        st->succ = 0;
        st->fail++;
        ev(r, pod, "Warning", "Unhealthy", "%s probe failed: %s", kind, why);
        if (st->fail >= kc_json_int(pr, "failureThreshold", 3))
            st->ok = false;
    }
    st->next = now + (double)kc_json_int(pr, "periodSeconds", 10);
    if (*wake == 0 || st->next < *wake)
        *wake = st->next;
}

/* ---- one container ---- */

static void set_waiting(struct kc_container_state *out, const char *reason, const char *msg)
{
    out->state = KC_C_WAITING;
    snprintf(out->reason, sizeof out->reason, "%s", reason);
    snprintf(out->message, sizeof out->message, "%s", msg ? msg : "");
}

static void fill_term(struct kc_container_term *t, const struct run_info *ri, const char *id,
                      const char *scheme, const char *msg)
{
    memset(t, 0, sizeof *t);
    t->exit_code = ri->code;
    t->signal = ri->sig;
    snprintf(t->reason, sizeof t->reason, "%s", ri->reason[0] ? ri->reason : "Error");
    snprintf(t->message, sizeof t->message, "%s", msg ? msg : "");
    t->started_at = ri->started_at;
    t->finished_at = ri->finished_at;
    snprintf(t->id, sizeof t->id, "%s://%s", scheme, id);
}

static long grace_of(const json_t *pod, const json_t *probe)
{
    if (probe && json_object_get(probe, "terminationGracePeriodSeconds"))
        return kc_json_int(probe, "terminationGracePeriodSeconds", 30);
    return kc_json_int(pod, "spec.terminationGracePeriodSeconds", 30);
}

/* The longest a postStart hook may hold its container's start (the kubelet waits without
 * a bound; a stuck hook should not hold a worker for ever). */
#define POSTSTART_MAX_MS 120000

/* Ends run p (init pid) of ctr as the kubelet's killContainer does: its preStop hook first
 * (on a thread of its own, within grace seconds), then SIGTERM; SIGKILL once the grace
 * period is over is the caller's. addr: the pod's address, for httpGet hooks. */
static void term_run(struct real_runtime *r, const json_t *pod, const json_t *ctr,
                     const struct kc_run_paths *p, int pid, const char *addr, long grace)
{
    if (ctr && kc_json_path(ctr, "lifecycle.preStop") && grace > 0) {
        struct kc_prestop *s = calloc(1, sizeof *s);
        if (s) {
            s->d = r->d;
            s->rec = r->rec;
            s->pod = json_deep_copy(pod);
            s->ctr = json_deep_copy(ctr);
            snprintf(s->addr, sizeof s->addr, "%s", addr ? addr : "");
            s->p = *p;
            s->pid = pid;
            s->timeout_ms = (int)(grace > 3600 ? 3600 : grace) * 1000;
            if (kc_hook_prestop_async(s) == 0)
                return;
        }
    }
    kill(pid, SIGTERM);
}

/* The container spec named name in pod (regular or init); borrowed. */
static const json_t *ctr_spec(const json_t *pod, const char *name, bool init)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, init ? "spec.initContainers" : "spec.containers"), i, c)
        if (!strcmp(kc_json_str(c, "name") ?: "", name))
            return c;
    return NULL;
}

/* Runs ctr's postStart hook once run p has started, as the kubelet does right after
 * starting a container (holding the pod's sync meanwhile). A failed hook is an event
 * (FailedPostStartHook) and the run is killed (its preStop first); false then. */
static bool post_start(struct real_runtime *r, const json_t *pod, const json_t *ctr, struct ctr *c,
                       const struct kc_run_paths *p, const char *ip)
{
    const json_t *h = kc_json_path(ctr, "lifecycle.postStart");
    if (!h)
        return true;
    struct run_info ri;
    /* the shim starts the container in the background: its pid comes */
    for (int waited = 0; waited < 60000; waited += 50) {
        read_run(p, &ri);
        if (ri.running || ri.exited)
            break;
        usleep(50 * 1000);
    }
    if (!ri.running)
        return true; /* it ended (or never ran): its exit is handled as any other */
    char addr[64], why[1200];
    r->d->ops->probe_addr(r->d, ip, addr, sizeof addr);
    if (kc_hook_run(r->d, ctr, h, addr, p, POSTSTART_MAX_MS, why, sizeof why) == 0)
        return true;
    ev(r, pod, "Warning", "FailedPostStartHook", "PostStartHook failed: %s", why);
    long grace = kc_json_int(pod, "spec.terminationGracePeriodSeconds", 30);
    c->killing = true;
    c->kill_at = now_s() + (double)grace;
    term_run(r, pod, ctr, p, ri.pid, addr, grace);
    return false;
}

/* Starts run `attempt` of c: image, directories, driver. 0 started, -1 (out says why). */
static int start_run(struct real_runtime *r, const json_t *pod, const json_t *ctr, struct ctr *c,
                     int attempt, const char *ip, struct kc_container_state *out, double now)
{
    const char *ns = kc_json_str(pod, "metadata.namespace");
    const char *pname = kc_json_str(pod, "metadata.name");
    const char *uid = kc_json_str(pod, "metadata.uid");
    const char *image = kc_json_str(ctr, "image") ?: "";
    if (c->img_retry_at > now) {
        char msg[600];
        snprintf(msg, sizeof msg, "Back-off pulling image \"%s\"", image);
        set_waiting(out, "ImagePullBackOff", msg);
        return -1;
    }
    struct kc_image img = {0};
    char msg[1024];
    enum kc_image_err ie =
        r->images ? kc_image_ensure(r->images, image, pull_policy(ctr), &img, msg, sizeof msg)
                  : KC_IMAGE_OK;
    if (ie != KC_IMAGE_OK) {
        const char *reason = kc_image_err_reason(ie);
        c->img_backoff_ms = c->img_backoff_ms ? c->img_backoff_ms * 2 : BACKOFF_INITIAL_MS;
        if (c->img_backoff_ms > BACKOFF_MAX_MS)
            c->img_backoff_ms = BACKOFF_MAX_MS;
        c->img_retry_at = now + (double)c->img_backoff_ms / 1000.0;
        ev(r, pod, "Warning", "Failed", "Failed to pull image \"%s\": %s", image, msg);
        ev(r, pod, "Warning", "Failed", "Error: %s", reason);
        set_waiting(out, reason, msg);
        return -1;
    }
    c->img_backoff_ms = 0;
    snprintf(c->image_id, sizeof c->image_id, "%s", img.image_id);
    struct kc_run_paths p;
    run_paths(r, ns, pname, uid, c, attempt, &p);
    char logdir[1100];
    snprintf(logdir, sizeof logdir, "%s", p.log);
    *strrchr(logdir, '/') = 0;
    if (kc_mkdirs(p.dir, 0700) != 0 || kc_mkdirs(logdir, 0755) != 0) {
        kc_image_release(&img);
        set_waiting(out, "CreateContainerError", "cannot create the container's directories");
        return -1;
    }
    /* an old run that was never cleaned (an agent stopped in between) */
    unlink(p.exit);
    /* the environment's values from the API, read at each start as the kubelet does */
    json_t *rctr = NULL; /* owned */
    if (r->env && kc_env_sources_apply(r->env, pod, ctr, &rctr, msg, sizeof msg) != 0) {
        kc_image_release(&img);
        ev(r, pod, "Warning", "Failed", "Error: %s", msg);
        set_waiting(out, "CreateContainerConfigError", msg);
        kc_remove_tree(p.dir);
        return -1;
    }
    int rc = r->d->ops->start(r->d, pod, rctr ? rctr : ctr, &img, ip, &p, msg, sizeof msg);
    json_decref(rctr);
    kc_image_release(&img);
    if (rc != 0) {
        ev(r, pod, "Warning", "Failed", "Error: %s", msg);
        set_waiting(out, "CreateContainerError", msg);
        kc_remove_tree(p.dir);
        return -1;
    }
    c->attempt = attempt;
    memset(&c->startup, 0, sizeof c->startup);
    memset(&c->live, 0, sizeof c->live);
    memset(&c->ready, 0, sizeof c->ready);
    c->killing = false;
    c->dead_since = 0;
    ev(r, pod, "Normal", "Created", "Created container %s", c->name);
    ev(r, pod, "Normal", "Started", "Started container %s", c->name);
    post_start(r, pod, ctr, c, &p, ip);
    /* the run before the previous one is of no use any more (logs of the previous run
     * stay for --previous) */
    if (attempt >= 2) {
        struct kc_run_paths old;
        run_paths(r, ns, pname, uid, c, attempt - 2, &old);
        r->d->ops->cleanup(r->d, &old);
        kc_remove_tree(old.dir);
    }
    return 0;
}

static void wake_at(double *wake, double t)
{
    if (*wake == 0 || t < *wake)
        *wake = t;
}

/* The waiting reason of a container being created: the kubelet reports containers it has
 * no runtime state for as PodInitializing in a pod with init containers (the first start
 * of each), ContainerCreating otherwise. */
static const char *creating_reason(const json_t *pod, const struct ctr *c)
{
    bool inits = json_array_size(kc_json_path(pod, "spec.initContainers")) > 0;
    return inits && c->attempt <= 0 ? "PodInitializing" : "ContainerCreating";
}

/* Syncs one container; out is its state. Returns true when it is "done" in the sense of
 * init containers (ended with 0) or when it runs (regular ones). */
static void sync_ctr(struct real_runtime *r, const json_t *pod, const json_t *ctr, struct ctr *c,
                     const char *ip, bool may_start, struct kc_container_state *out, double now,
                     double *wake)
{
    const char *ns = kc_json_str(pod, "metadata.namespace");
    const char *pname = kc_json_str(pod, "metadata.name");
    const char *uid = kc_json_str(pod, "metadata.uid");
    const char *policy = kc_json_str(pod, "spec.restartPolicy") ?: "Always";
    const char *scheme = r->d->ops->name;
    memset(out, 0, sizeof *out);
    snprintf(out->name, sizeof out->name, "%s", c->name);
    out->init = c->init;
    out->restart_count = c->attempt > 0 ? c->attempt : 0;
    snprintf(out->image_id, sizeof out->image_id, "%s", c->image_id);
    /* the previous run, for lastState: it has ended for good, so its files are read once
     * per attempt, not at every look */
    if (c->attempt >= 1 && c->last_read != c->attempt) {
        struct kc_run_paths pp;
        struct run_info pri;
        run_paths(r, ns, pname, uid, c, c->attempt - 1, &pp);
        read_run(&pp, &pri);
        c->last_read = c->attempt;
        c->has_last = pri.exited;
        if (pri.exited)
            fill_term(&c->last, &pri, pp.id, scheme, NULL);
    }
    if (c->attempt >= 1 && c->has_last) {
        out->has_last = true;
        out->last = c->last;
    }
    if (c->attempt < 0) {
        if (!may_start) {
            set_waiting(out, "PodInitializing", NULL);
            return;
        }
        if (start_run(r, pod, ctr, c, 0, ip, out, now) != 0) {
            /* ErrImagePull turns into ImagePullBackOff at the next look */
            bool pulled_now = strcmp(out->reason, "ImagePullBackOff") != 0;
            wake_at(wake, pulled_now || c->img_retry_at <= now ? now + 1 : c->img_retry_at);
            return;
        }
        out->restart_count = 0;
    }
    struct kc_run_paths p;
    struct run_info ri;
    run_paths(r, ns, pname, uid, c, c->attempt, &p);
    read_run(&p, &ri);
    kc_fmt(out->id, sizeof out->id, "%s://%s", scheme, p.id);
    if (!ri.exists) {
        /* its directory is gone (cleaned by hand?): start over as a new run */
        c->attempt = c->attempt >= 0 ? c->attempt : 0;
        set_waiting(out, creating_reason(pod, c), NULL);
        wake_at(wake, now + 1);
        return;
    }
    if (!ri.exited && !ri.running) {
        if (ri.pid > 0) {
            /* init is gone; the shim writes the exit file right after, unless it died */
            if (!c->dead_since)
                c->dead_since = now;
            if (now - c->dead_since > 5) {
                ri.exited = true;
                ri.code = 137;
                snprintf(ri.reason, sizeof ri.reason, "ContainerStatusUnknown");
                ri.finished_at = now;
            }
        } else {
            struct stat st;
            if (stat(p.dir, &st) == 0 && now - (double)st.st_mtim.tv_sec > 60) {
                ri.exited = ri.start_error = true;
                ri.code = 128;
                snprintf(ri.reason, sizeof ri.reason, "StartError");
                ri.finished_at = now;
            }
        }
        if (!ri.exited) {
            set_waiting(out, creating_reason(pod, c), NULL);
            wake_at(wake, now + 0.03);
            return;
        }
    }
    if (ri.running) {
        out->state = KC_C_RUNNING;
        out->started_at = ri.started_at;
        const json_t *sp = json_object_get(ctr, "startupProbe");
        const json_t *lp = json_object_get(ctr, "livenessProbe");
        const json_t *rp = json_object_get(ctr, "readinessProbe");
        bool started = !sp || c->startup.ok;
        char addr[64];
        r->d->ops->probe_addr(r->d, ip, addr, sizeof addr);
        if (c->killing) {
            if (now >= c->kill_at && ri.pid > 0)
                kill(ri.pid, SIGKILL);
            wake_at(wake, now + 0.2);
            out->started = started;
            return;
        }
        if (sp && !c->startup.ok) {
            probe_tick(r, pod, ctr, sp, &c->startup, "Startup", ip, &p, ri.started_at, now, wake);
            started = c->startup.ok;
            if (!started && c->startup.fail >= kc_json_int(sp, "failureThreshold", 3)) {
                ev(r, pod, "Normal", "Killing",
                   "Container %s failed startup probe, will be restarted", c->name);
                c->killing = true;
                c->kill_at = now + (double)grace_of(pod, sp);
                term_run(r, pod, ctr, &p, ri.pid, addr, grace_of(pod, sp));
            }
        }
        if (started && lp) {
            probe_tick(r, pod, ctr, lp, &c->live, "Liveness", ip, &p, ri.started_at, now, wake);
            if (c->live.fail >= kc_json_int(lp, "failureThreshold", 3)) {
                ev(r, pod, "Normal", "Killing",
                   "Container %s failed liveness probe, will be restarted", c->name);
                c->killing = true;
                c->kill_at = now + (double)grace_of(pod, lp);
                term_run(r, pod, ctr, &p, ri.pid, addr, grace_of(pod, lp));
                wake_at(wake, now + 0.2);
            }
        }
        bool ready = started;
        if (started && rp) {
            probe_tick(r, pod, ctr, rp, &c->ready, "Readiness", ip, &p, ri.started_at, now, wake);
            ready = c->ready.ok;
        }
        out->started = started;
        out->ready = ready && !c->killing;
        wake_at(wake, now + 1); /* notice an exit within a second, like the kubelet's PLEG */
        return;
    }
    /* the run has ended */
    char tmsg[512];
    termination_message(ctr, &p, ri.code, tmsg, sizeof tmsg);
    if (ri.start_error && !tmsg[0]) {
        /* crun's complaint is the last line of the log */
        FILE *f = fopen(p.log, "r");
        char line[1024];
        while (f && fgets(line, sizeof line, f)) {
            char *text = line;
            for (int k = 0; k < 3 && text; k++)
                if ((text = strchr(text, ' ')))
                    text++;
            if (text) {
                text[strcspn(text, "\n")] = 0;
                kc_fmt(tmsg, sizeof tmsg, "%s", text);
            }
        }
        if (f)
            fclose(f);
    }
    struct kc_container_term term;
    fill_term(&term, &ri, p.id, scheme, tmsg);
    bool restart = c->init ? ri.code != 0 && strcmp(policy, "Never") != 0
                           : strcmp(policy, "Always") == 0 ||
                                 (strcmp(policy, "OnFailure") == 0 && ri.code != 0);
    if (c->seen_exit != c->attempt) {
        c->seen_exit = c->attempt;
        r->d->ops->cleanup(r->d, &p);
        if (restart) {
            if (ri.finished_at - ri.started_at >= BACKOFF_RESET_S)
                c->backoff_ms = 0;
            c->restart_at = now + (double)c->backoff_ms / 1000.0;
            c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : BACKOFF_INITIAL_MS;
            if (c->backoff_ms > BACKOFF_MAX_MS)
                c->backoff_ms = BACKOFF_MAX_MS;
        }
    }
    if (!restart) {
        out->state = KC_C_TERMINATED;
        out->term = term;
        /* an init container that succeeded is ready, as the kubelet reports it */
        out->ready = c->init && ri.code == 0;
        return;
    }
    if (now >= c->restart_at && start_run(r, pod, ctr, c, c->attempt + 1, ip, out, now) == 0) {
        out->has_last = true;
        out->last = term;
        out->restart_count = c->attempt;
        snprintf(out->id, sizeof out->id, "%s://%s_%c_%s_%d", scheme, uid, c->init ? 'i' : 'c',
                 c->name, c->attempt);
        set_waiting(out, "ContainerCreating", NULL);
        wake_at(wake, now + 0.03);
        return;
    }
    if (out->state == KC_C_WAITING && out->reason[0]) {
        /* an image or create error said why */
        wake_at(wake, strcmp(out->reason, "ImagePullBackOff") == 0 && c->img_retry_at > now
                          ? c->img_retry_at
                          : now + 1);
        return;
    }
    out->has_last = true;
    out->last = term;
    char msg[512];
    long secs = (long)((c->backoff_ms / 2) / 1000);
    snprintf(msg, sizeof msg, "back-off %lds restarting failed container=%s pod=%s_%s(%s)", secs,
             c->name, pname, ns, uid);
    set_waiting(out, "CrashLoopBackOff", msg);
    if (c->restart_at > now) {
        wake_at(wake, c->restart_at);
        static const char fmt[] = "Back-off restarting failed container %s in pod %s_%s(%s)";
        ev(r, pod, "Warning", "BackOff", fmt, c->name, pname, ns, uid);
    }
}

int kc_shim_argv(char **argv, const char *self, const char *mode, const struct kc_run_paths *p)
{
    int i = 0;
    argv[i++] = (char *)self;
    argv[i++] = "shim";
    argv[i++] = (char *)mode;
    argv[i++] = "--log";
    argv[i++] = (char *)p->log;
    argv[i++] = "--exit";
    argv[i++] = (char *)p->exit;
    argv[i++] = "--pid-file";
    argv[i++] = (char *)p->pidfile;
    return i;
}

/* ---- the runtime ---- */

static void load_pod(struct real_runtime *r, struct pod *p, const json_t *pod)
{
    char pdir[1024];
    pod_dir(r, p->uid, pdir, sizeof pdir);
    p->n = 0;
    static const char *const fields[] = {"spec.initContainers", "spec.containers"};
    for (int f = 0; f < 2; f++) {
        size_t i;
        json_t *c;
        json_array_foreach (kc_json_path(pod, fields[f]), i, c) {
            if (p->n >= MAX_CTRS)
                break;
            struct ctr *x = &p->c[p->n++];
            memset(x, 0, sizeof *x);
            snprintf(x->name, sizeof x->name, "%s", kc_json_str(c, "name") ?: "");
            x->init = f == 0;
            x->attempt = last_attempt(pdir, x);
            x->seen_exit = -1;
            if (x->attempt >= 1)
                x->backoff_ms = BACKOFF_INITIAL_MS; /* it has crashed before */
        }
    }
    p->loaded = true;
}

static int real_sync(struct kc_runtime *rt, const json_t *pod, const char *ip,
                     struct kc_container_state *out, int max, struct kc_pod_report *report)
{
    struct real_runtime *r = (struct real_runtime *)rt;
    const char *uid = kc_json_str(pod, "metadata.uid");
    if (!uid)
        return -1;
    struct pod *p = pod_get(r, uid, true);
    pthread_mutex_lock(&p->mu);
    int ret = 0;
    double now = now_s(), wake = 0;
    char pdir[1024], msg[512];
    pod_dir(r, uid, pdir, sizeof pdir);
    if (!p->loaded)
        load_pod(r, p, pod);
    if (!p->sandbox) {
        if (kc_mkdirs(pdir, 0700) != 0 ||
            r->d->ops->sandbox_up(r->d, pod, ip, pdir, msg, sizeof msg) != 0) {
            snprintf(report->event_reason, sizeof report->event_reason, "FailedCreatePodSandBox");
            kc_fmt(report->event_msg, sizeof report->event_msg, "Failed to create pod sandbox: %s",
                   msg);
            ret = -1;
            goto out;
        }
        p->sandbox = true;
    }
    report->sandbox = true;
    /* init containers one after the other, then the containers together */
    bool init_done = true;
    int k = 0;
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "spec.initContainers"), i, c) {
        if (k >= p->n || k >= max)
            break;
        sync_ctr(r, pod, c, &p->c[k], ip, init_done, &out[k], now, &wake);
        if (!(out[k].state == KC_C_TERMINATED && out[k].term.exit_code == 0))
            init_done = false;
        k++;
    }
    report->initialized = init_done;
    json_array_foreach (kc_json_path(pod, "spec.containers"), i, c) {
        if (k >= p->n || k >= max)
            break;
        sync_ctr(r, pod, c, &p->c[k], ip, init_done, &out[k], now, &wake);
        k++;
    }
    report->n = k;
    if (wake > 0) {
        long ms = (long)((wake - now) * 1000.0) + 1;
        report->requeue_ms = ms < 10 ? 10 : ms;
    }
out:
    pthread_mutex_unlock(&p->mu);
    pod_put(r, p);
    return ret;
}

/* Signals every live run of the pod (SIGTERM after the container's preStop hook, which has
 * grace seconds); true when none is left. */
static bool signal_all(struct real_runtime *r, const json_t *pod, struct pod *p, int sig,
                       long grace)
{
    const char *ns = kc_json_str(pod, "metadata.namespace") ?: "";
    const char *pname = kc_json_str(pod, "metadata.name") ?: "";
    bool none = true;
    for (int k = 0; k < p->n; k++) {
        struct ctr *c = &p->c[k];
        if (c->attempt < 0)
            continue;
        struct kc_run_paths rp;
        struct run_info ri;
        run_paths(r, ns, pname, p->uid, c, c->attempt, &rp);
        read_run(&rp, &ri);
        if (ri.running) {
            none = false;
            if (sig == SIGTERM)
                term_run(r, pod, ctr_spec(pod, c->name, c->init), &rp, ri.pid,
                         kc_json_str(pod, "status.podIP"), grace);
            else if (sig)
                kill(ri.pid, sig);
        } else if (ri.exists && !ri.exited && ri.pid <= 0) {
            none = false; /* still being created: its pid comes */
            struct stat st;
            if (stat(rp.dir, &st) == 0 && now_s() - (double)st.st_mtim.tv_sec > 60)
                none = true;
        }
    }
    return none;
}

/* Removes every run directory and the sandbox of a pod (after its runs have ended). */
static void remove_pod_files(struct real_runtime *r, const char *uid, const char *ns,
                             const char *pname, bool logs)
{
    char pdir[1024];
    pod_dir(r, uid, pdir, sizeof pdir);
    DIR *d = opendir(pdir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if ((e->d_name[0] != 'c' && e->d_name[0] != 'i') || e->d_name[1] != '-')
            continue;
        struct kc_run_paths rp;
        memset(&rp, 0, sizeof rp);
        snprintf(rp.pod_dir, sizeof rp.pod_dir, "%s", pdir);
        kc_fmt(rp.dir, sizeof rp.dir, "%s/%s", pdir, e->d_name);
        /* <kind>-<name>-<N> back to the id <uid>_<kind>_<name>_<N> */
        char name[256];
        snprintf(name, sizeof name, "%s", e->d_name + 2);
        char *dash = strrchr(name, '-');
        if (!dash)
            continue;
        *dash = 0;
        kc_fmt(rp.id, sizeof rp.id, "%s_%c_%s_%s", uid, e->d_name[0], name, dash + 1);
        r->d->ops->cleanup(r->d, &rp);
    }
    if (d)
        closedir(d);
    r->d->ops->sandbox_down(r->d, uid, pdir);
    kc_remove_tree(pdir);
    if (logs && ns && pname) {
        char ld[1024];
        logs_dir(r, ns, pname, uid, ld, sizeof ld);
        kc_remove_tree(ld);
    }
}

static int real_stop(struct kc_runtime *rt, const json_t *pod, long grace)
{
    struct real_runtime *r = (struct real_runtime *)rt;
    const char *uid = kc_json_str(pod, "metadata.uid");
    if (!uid)
        return 0;
    struct pod *p = pod_get(r, uid, true);
    pthread_mutex_lock(&p->mu);
    if (p->done) {
        /* a finished pod's runs went already; its logs stay until the pod is deleted */
        bool deleting = kc_json_path(pod, "metadata.deletionTimestamp") != NULL;
        if (deleting) {
            char ld[1024];
            logs_dir(r, kc_json_str(pod, "metadata.namespace") ?: "",
                     kc_json_str(pod, "metadata.name") ?: "", uid, ld, sizeof ld);
            kc_remove_tree(ld);
        }
        pthread_mutex_unlock(&p->mu);
        if (deleting)
            pod_drop(r, uid);
        pod_put(r, p);
        return 0;
    }
    if (!p->loaded)
        load_pod(r, p, pod);
    double now = now_s();
    if (!p->stopping) {
        p->stopping = true;
        p->stop_deadline = now + (double)(grace > 0 ? grace : 0);
    } else if (grace >= 0 && now + (double)grace < p->stop_deadline) {
        p->stop_deadline = now + (double)grace; /* shortened by a second delete */
    }
    int ret = 1;
    bool gone;
    if (!p->term_sent) {
        p->term_sent = true;
        gone = signal_all(r, pod, p, now >= p->stop_deadline ? SIGKILL : SIGTERM,
                          (long)(p->stop_deadline - now));
        if (!gone)
            ev(r, pod, "Normal", "Killing", "Stopping container%s", p->n > 1 ? "s" : "");
    } else if (now >= p->stop_deadline && !p->kill_sent) {
        p->kill_sent = true;
        gone = signal_all(r, pod, p, SIGKILL, 0);
    } else {
        gone = signal_all(r, pod, p, 0, 0);
    }
    if (gone) {
        remove_pod_files(r, uid, kc_json_str(pod, "metadata.namespace"),
                         kc_json_str(pod, "metadata.name"),
                         kc_json_path(pod, "metadata.deletionTimestamp") != NULL);
        p->done = true;
        ret = 0;
    }
    pthread_mutex_unlock(&p->mu);
    if (ret == 0 && kc_json_path(pod, "metadata.deletionTimestamp"))
        pod_drop(r, uid);
    pod_put(r, p);
    return ret;
}

static json_t *real_list(struct kc_runtime *rt)
{
    struct real_runtime *r = (struct real_runtime *)rt;
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/pods", r->root);
    json_t *out = json_array(), *seen = json_object();
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && !json_object_get(seen, e->d_name)) {
            json_object_set_new(seen, e->d_name, json_true());
            json_array_append_new(out, json_string(e->d_name));
        }
    if (d)
        closedir(d);
    /* finished pods keep only their logs: <ns>_<pod>_<uid> */
    snprintf(dir, sizeof dir, "%s/logs", r->root);
    d = opendir(dir);
    while (d && (e = readdir(d)) != NULL) {
        const char *uid = strrchr(e->d_name, '_');
        if (e->d_name[0] == '.' || !uid || !uid[1] || json_object_get(seen, uid + 1))
            continue;
        json_object_set_new(seen, uid + 1, json_true());
        json_array_append_new(out, json_string(uid + 1));
    }
    if (d)
        closedir(d);
    json_decref(seen);
    return out;
}

/* A pod the API no longer has: kill what runs (no grace: it is gone), remove everything,
 * its logs included (found by uid). */
static void real_forget(struct kc_runtime *rt, const char *uid)
{
    struct real_runtime *r = (struct real_runtime *)rt;
    char pdir[1024];
    pod_dir(r, uid, pdir, sizeof pdir);
    /* every run's pid, whatever the spec was */
    for (int round = 0; round < 50; round++) {
        bool alive = false;
        DIR *d = opendir(pdir);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            char pf[1400];
            snprintf(pf, sizeof pf, "%s/%s/pid", pdir, e->d_name);
            FILE *f = fopen(pf, "r");
            int pid = 0;
            if (f) {
                if (fscanf(f, "%d", &pid) != 1)
                    pid = 0;
                fclose(f);
            }
            if (pid > 0 && kill(pid, SIGKILL) == 0)
                alive = true;
        }
        if (d)
            closedir(d);
        if (!alive)
            break;
        usleep(100000);
    }
    /* the shims write their exit files and delete the crun state right after */
    usleep(200000);
    char ldir[1100];
    snprintf(ldir, sizeof ldir, "%s/logs", r->root);
    DIR *d = opendir(ldir);
    struct dirent *e;
    size_t ul = strlen(uid);
    while (d && (e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l > ul && strcmp(e->d_name + l - ul, uid) == 0 && e->d_name[l - ul - 1] == '_') {
            char path[1400];
            snprintf(path, sizeof path, "%s/%s", ldir, e->d_name);
            kc_remove_tree(path);
        }
    }
    if (d)
        closedir(d);
    remove_pod_files(r, uid, NULL, NULL, false);
    pod_drop(r, uid);
}

static void real_destroy(struct kc_runtime *rt)
{
    struct real_runtime *r = (struct real_runtime *)rt;
    while (r->pods) {
        struct pod *p = r->pods;
        r->pods = p->next;
        pod_free(p);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static void real_address(struct kc_runtime *rt, const char *ip, char *out, size_t outlen)
{
    struct real_runtime *r = (struct real_runtime *)rt;
    r->d->ops->probe_addr(r->d, ip, out, outlen);
}

/* A name that stays one path component. */
static bool plain_name(const char *s)
{
    return *s && *s != '.' && !strchr(s, '/') && strlen(s) < 200;
}

/* The current run of a container is the highest N of <pod dir>/<c|i>-<name>-<N>; it runs
 * while its pid lives and it has no exit file. */
static int real_exec(struct kc_runtime *rt, const char *uid, const char *ctr, char *const argv[],
                     const bool want[3], bool tty, struct kc_exec_proc *out, char *msg,
                     size_t msglen)
{
    struct real_runtime *r = (struct real_runtime *)rt;
    struct kc_run_paths p;
    memset(&p, 0, sizeof p);
    if (!plain_name(uid) || !plain_name(ctr))
        return KC_EXEC_NOT_RUNNING;
    pod_dir(r, uid, p.pod_dir, sizeof p.pod_dir);
    DIR *d = opendir(p.pod_dir);
    if (!d)
        return KC_EXEC_NOT_RUNNING;
    struct dirent *e;
    int best = -1;
    char kind = 0;
    size_t cl = strlen(ctr);
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        char *end;
        if ((n[0] != 'c' && n[0] != 'i') || n[1] != '-' || strncmp(n + 2, ctr, cl) != 0 ||
            n[2 + cl] != '-' || !isdigit((unsigned char)n[3 + cl]))
            continue;
        long v = strtol(n + 3 + cl, &end, 10);
        if (*end || v > 1000000 || v <= best)
            continue;
        best = (int)v;
        kind = n[0];
    }
    closedir(d);
    if (best < 0)
        return KC_EXEC_NOT_RUNNING;
    kc_fmt(p.dir, sizeof p.dir, "%s/%c-%s-%d", p.pod_dir, kind, ctr, best);
    snprintf(p.id, sizeof p.id, "%s_%c_%s_%d", uid, kind, ctr, best);
    kc_fmt(p.pidfile, sizeof p.pidfile, "%s/pid", p.dir);
    /* the exit file is with the logs, in <root>/logs/<ns>_<pod>_<uid> */
    char ldir[1100];
    snprintf(ldir, sizeof ldir, "%s/logs", r->root);
    size_t ul = strlen(uid);
    if ((d = opendir(ldir)) != NULL) {
        while ((e = readdir(d)) != NULL) {
            size_t l = strlen(e->d_name);
            if (l > ul && strcmp(e->d_name + l - ul, uid) == 0 && e->d_name[l - ul - 1] == '_')
                kc_fmt(p.exit, sizeof p.exit, "%s/%s/%s/%d.exit", ldir, e->d_name, ctr, best);
        }
        closedir(d);
    }
    struct run_info ri;
    read_run(&p, &ri);
    if (!ri.running)
        return KC_EXEC_NOT_RUNNING;
    if (!argv)
        return 0;
    if (!r->d->ops->exec_stream) {
        snprintf(msg, msglen, "the %s runtime cannot exec", r->d->ops->name);
        return -1;
    }
    return r->d->ops->exec_stream(r->d, &p, argv, want, tty, out, msg, msglen);
}

static const struct kc_runtime_ops real_ops = {"real",      real_sync,    real_stop,    real_list,
                                               real_forget, real_address, real_destroy, real_exec};

struct kc_runtime *kc_runtime_real_new(struct kc_driver *d, const char *root,
                                       struct kc_image_store *images, struct kc_recorder *rec)
{
    struct real_runtime *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->base.ops = &real_ops;
    r->d = d;
    snprintf(r->root, sizeof r->root, "%s", root);
    r->images = images;
    r->rec = rec;
    pthread_mutex_init(&r->mu, NULL);
    char sub[1100];
    snprintf(sub, sizeof sub, "%s/pods", root);
    kc_mkdirs(sub, 0700);
    snprintf(sub, sizeof sub, "%s/logs", root);
    kc_mkdirs(sub, 0755);
    return &r->base;
}

void kc_runtime_real_set_env(struct kc_runtime *rt, const struct kc_env_lookup *env)
{
    ((struct real_runtime *)rt)->env = env;
}
