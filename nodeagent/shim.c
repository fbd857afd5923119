/* `kubec shim`: the process that owns one run of one container, like conmon. The agent
 * starts it detached (its own session), so containers survive an agent restart; the shim
 *   - starts the container: `crun create` + `crun start` (oci) or a plain exec (process),
 *   - is the child subreaper, so the container's init becomes its child and its exit
 *     status is known whoever started it,
 *   - copies the container's stdout and stderr into the CRI log file
 *     (`<RFC3339Nano> stdout|stderr F|P <text>`),
 *   - writes the exit file (JSON, atomically) when the container has ended.
 * The agent learns everything from files: the pid file (running since its mtime), the exit
 * file (ended), the log. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int kc_shim_main(int argc, char **argv);

struct shim_opts {
    const char *mode;                      /* oci | process */
    const char *log;                       /* CRI log file */
    const char *exit;                      /* exit file */
    const char *pidf;                      /* container init pid */
    const char *crun, *root, *bundle, *id; /* oci */
    const char *cwd;                       /* process: working directory */
    const char *memcg; /* oci: the container's memory cgroup, to tell an OOM kill */
    bool hide_cgroup2; /* oci on a hybrid cgroup host: see runtime notes */
    char **argv;       /* process: the command (after --) */
    char **envp;       /* process: the environment (--env, repeated) */
    int nenv;
};

static void stamp(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

/* One output stream: bytes are cut into records at newlines; a line longer than the
 * buffer, or the stream's last text without a newline, goes out as partial (P) records. */
struct stream {
    int fd;
    const char *name;
    char buf[16384];
    size_t len;
};

static void emit(FILE *log, const char *name, const char *tag, const char *p, size_t n)
{
    char ts[64];
    stamp(ts, sizeof ts);
    fprintf(log, "%s %s %s %.*s\n", ts, name, tag, (int)n, p);
}

static void flush_lines(FILE *log, struct stream *s, bool eof)
{
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] == '\n') {
            emit(log, s->name, "F", s->buf + start, i - start);
            start = i + 1;
        }
    }
    if (start < s->len && (eof || (start == 0 && s->len == sizeof s->buf))) {
        /* partial either way: text without its newline at the end of the stream is a
         * partial line, as containerd records it (a reader adds no newline to it) */
        emit(log, s->name, "P", s->buf + start, s->len - start);
        start = s->len;
    }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    fflush(log);
}

/* True when the kernel's OOM killer ended a process of the cgroup: "oom_kill N" in
 * memory.oom_control (v1) or memory.events (v2). */
static bool oom_killed(const char *memcg)
{
    static const char *const files[] = {"memory.oom_control", "memory.events"};
    for (int i = 0; memcg && i < 2; i++) {
        char path[4200], line[128];
        snprintf(path, sizeof path, "%s/%s", memcg, files[i]);
        FILE *f = fopen(path, "r");
        long n = 0;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "oom_kill %ld", &n) == 1 && n > 0)
                break;
        if (f)
            fclose(f);
        if (n > 0)
            return true;
    }
    return false;
}

/* Runs argv with stdout/stderr on out/err; for `crun create` in a private mount namespace
 * without the cgroup2 mount (crun refuses hybrid hosts otherwise). Returns the pid. */
static pid_t spawn(char *const *argv, char *const *envp, const char *cwd, int out, int err,
                   bool private_mounts, bool own_group)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    if (own_group)
        setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0)
        dup2(devnull, 0);
    dup2(out, 1);
    dup2(err, 2);
    if (private_mounts) {
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
            _exit(120);
        umount2("/sys/fs/cgroup/unified", MNT_DETACH);
    }
    if (cwd && chdir(cwd) != 0) {
        dprintf(2, "shim: cannot enter %s: %s\n", cwd, strerror(errno));
        _exit(126);
    }
    if (envp)
        execve(argv[0], argv, envp);
    else
        execvp(argv[0], argv);
    dprintf(2, "shim: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
}

static int wait_exit(pid_t pid)
{
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return 255;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 255;
}

/* `crun delete --force`: the container's state and cgroup go once it has ended. */
static void crun_delete(const struct shim_opts *o)
{
    char *del[] = {(char *)o->crun, "--root", (char *)o->root, "delete", "--force",
                   (char *)o->id,   NULL};
    int dn = open("/dev/null", O_WRONLY | O_CLOEXEC);
    pid_t d = spawn(del, NULL, NULL, dn, dn, false, false);
    if (d > 0)
        wait_exit(d);
    if (dn >= 0)
        close(dn);
}

/* The run's bundle directory still exists (the agent removes it when it forgets the pod). */
static bool bundle_exists(const struct shim_opts *o)
{
    struct stat st;
    return stat(o->bundle, &st) == 0;
}

static void write_file_atomic(const char *path, const char *text)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fputs(text, f);
    fflush(f);
    fsync(fileno(f));
    fclose(f);
    rename(tmp, path);
}

static void write_exit(const char *path, int code, int sig, const char *reason)
{
    char ts[64], text[512];
    stamp(ts, sizeof ts);
    snprintf(text, sizeof text,
             "{\"exitCode\":%d,\"signal\":%d,\"finishedAt\":\"%s\",\"reason\":\"%s\"}\n", code, sig,
             ts, reason);
    write_file_atomic(path, text);
}

static int usage(void)
{
    fprintf(stderr, "usage: kubec shim --log F --exit F --pid-file F (--oci --crun BIN --root DIR "
                    "--bundle DIR --id ID [--hide-cgroup2] | --process [--cwd DIR] [--env K=V]... "
                    "-- CMD ARGS...)\n");
    return 2;
}

int kc_shim_main(int argc, char **argv)
{
    struct shim_opts o = {0};
    o.envp = calloc((size_t)argc + 1, sizeof *o.envp);
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            o.argv = argv + i + 1;
            break;
        } else if (strcmp(a, "--oci") == 0 || strcmp(a, "--process") == 0) {
            o.mode = a + 2;
            continue;
        } else if (strcmp(a, "--hide-cgroup2") == 0) {
            o.hide_cgroup2 = true;
            continue;
        }
        if (!v) {
            free(o.envp);
            return usage();
        }
        if (strcmp(a, "--log") == 0)
            o.log = v;
        else if (strcmp(a, "--exit") == 0)
            o.exit = v;
        else if (strcmp(a, "--pid-file") == 0)
            o.pidf = v;
        else if (strcmp(a, "--crun") == 0)
            o.crun = v;
        else if (strcmp(a, "--root") == 0)
            o.root = v;
        else if (strcmp(a, "--bundle") == 0)
            o.bundle = v;
        else if (strcmp(a, "--id") == 0)
            o.id = v;
        else if (strcmp(a, "--cwd") == 0)
            o.cwd = v;
        else if (strcmp(a, "--memory-cgroup") == 0)
            o.memcg = v;
        else if (strcmp(a, "--env") == 0)
            o.envp[o.nenv++] = (char *)v;
        else {
            free(o.envp);
            return usage();
        }
        i++;
    }
    bool oci = o.mode && strcmp(o.mode, "oci") == 0;
    if (!o.mode || !o.log || !o.exit || !o.pidf ||
        (oci ? !o.crun || !o.root || !o.bundle || !o.id : !o.argv || !o.argv[0])) {
        free(o.envp);
        return usage();
    }

    /* the container's init is re-parented here when crun exits */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGPIPE, SIG_IGN);
    FILE *log = fopen(o.log, "a");
    int outp[2], errp[2];
    if (!log || pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        free(o.envp);
        return 1;
    }
    struct stream so = {.fd = outp[0], .name = "stdout"}, se = {.fd = errp[0], .name = "stderr"};

    pid_t init = -1;
    if (oci) {
        char *create[] = {(char *)o.crun,   "--root",     (char *)o.root, "create",     "--bundle",
                          (char *)o.bundle, "--pid-file", (char *)o.pidf, (char *)o.id, NULL};
        pid_t c = spawn(create, NULL, NULL, outp[1], errp[1], o.hide_cgroup2, false);
        int rc = c > 0 ? wait_exit(c) : 255;
        FILE *pf = rc == 0 ? fopen(o.pidf, "r") : NULL;
        if (pf) {
            if (fscanf(pf, "%d", &init) != 1)
                init = -1;
            fclose(pf);
        }
        if (init > 0) {
            char *start[] = {(char *)o.crun, "--root", (char *)o.root, "start", (char *)o.id, NULL};
            pid_t s = spawn(start, NULL, NULL, outp[1], errp[1], false, false);
            if (s <= 0 || wait_exit(s) != 0 || !bundle_exists(&o)) {
                /* a bundle gone meanwhile: the agent forgot the pod while this run was
                 * being created, before there was a pid to kill */
                kill(init, SIGKILL);
                init = -1;
            }
        }
        if (init <= 0) {
            /* A created container (its init waiting for `crun start`, holding the pipes'
             * write ends) goes first, so that the pipes end. */
            crun_delete(&o);
            close(outp[1]);
            close(errp[1]);
            /* crun said why on stderr, which is in the log; bounded, should anything of the
             * container still hold the pipes */
            struct stream *ss[2] = {&so, &se};
            for (int k = 0; k < 2; k++) {
                struct pollfd pp = {ss[k]->fd, POLLIN, 0};
                ssize_t r = 1;
                while (r > 0 && poll(&pp, 1, 1000) > 0 &&
                       (r = read(ss[k]->fd, ss[k]->buf + ss[k]->len,
                                 sizeof ss[k]->buf - ss[k]->len)) > 0) {
                    ss[k]->len += (size_t)r;
                    flush_lines(log, ss[k], false);
                }
                flush_lines(log, ss[k], true);
            }
            unlink(o.pidf);
            write_exit(o.exit, 128, 0, "StartError");
            free(o.envp);
            return 0;
        }
    } else {
        o.envp[o.nenv] = NULL;
        /* its own process group: what it starts ends with it (below), as a pid namespace
         * would end it */
        init = spawn(o.argv, o.envp, o.cwd, outp[1], errp[1], false, true);
        char text[32];
        snprintf(text, sizeof text, "%d\n", (int)init);
        write_file_atomic(o.pidf, text);
    }
    close(outp[1]);
    close(errp[1]);

    /* copy output until the container's init has exited and the pipes are drained */
    int code = -1, sig = 0;
    bool open_out = true, open_err = true;
    while (open_out || open_err || code < 0) {
        struct pollfd pf[2] = {{so.fd, POLLIN, 0}, {se.fd, POLLIN, 0}};
        if (!open_out)
            pf[0].fd = -1;
        if (!open_err)
            pf[1].fd = -1;
        poll(pf, 2, code < 0 ? 200 : 1000);
        struct stream *ss[2] = {&so, &se};
        bool *open_flags[2] = {&open_out, &open_err};
        int activity = 0;
        for (int k = 0; k < 2; k++) {
            if (pf[k].fd < 0 || !(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(ss[k]->fd, ss[k]->buf + ss[k]->len, sizeof ss[k]->buf - ss[k]->len);
            if (r > 0) {
                ss[k]->len += (size_t)r;
                flush_lines(log, ss[k], false);
                activity++;
            } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
                flush_lines(log, ss[k], true);
                *open_flags[k] = false;
            }
        }
        int st;
        pid_t w;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
            if (w != init)
                continue; /* an orphan of the container: reaped */
            code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
            if (!oci)
                kill(-init, SIGKILL); /* the rest of the container's process group */
        }
        if (w < 0 && errno == ECHILD && code < 0)
            code = 255; /* lost (should not happen: we are its subreaper) */
        /* init gone but something of the container still holds the pipes: don't wait
         * forever for descendants that escaped (the pid namespace kills them in oci) */
        if (code >= 0 && !activity && (open_out || open_err)) {
            static int idle;
            if (++idle > 3)
                break;
        }
    }
    flush_lines(log, &so, true);
    flush_lines(log, &se, true);
    fclose(log);
    /* before crun deletes the cgroup */
    bool oom = code == 128 + SIGKILL && oom_killed(o.memcg);
    if (oci)
        crun_delete(&o);
    write_exit(o.exit, code, sig, oom ? "OOMKilled" : code == 0 ? "Completed" : "Error");
    free(o.envp);
    return 0;
}
