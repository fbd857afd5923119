/* See cmd.h. */
#include "nodeagent/cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int kc_cmd_run(char *const argv[], const char *input, char *out, size_t outlen, int timeout_ms)
{
    int inp[2] = {-1, -1}, outp[2];
    if (out && outlen)
        out[0] = 0;
    if (pipe2(outp, O_CLOEXEC) != 0)
        return -1;
    if (input && pipe2(inp, O_CLOEXEC) != 0) {
        close(outp[0]);
        close(outp[1]);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(outp[0]);
        close(outp[1]);
        if (input) {
            close(inp[0]);
            close(inp[1]);
        }
        return -1;
    }
    if (pid == 0) {
        int in = input ? inp[0] : open("/dev/null", O_RDONLY);
        dup2(in, 0);
        dup2(outp[1], 1);
        dup2(outp[1], 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(outp[1]);
    if (input) {
        close(inp[0]);
        size_t len = strlen(input), off = 0;
        while (off < len) {
            ssize_t w = write(inp[1], input + off, len - off);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        close(inp[1]);
    }
    size_t used = 0;
    long deadline = timeout_ms > 0 ? now_ms() + timeout_ms : 0;
    int killed = 0;
    for (;;) {
        struct pollfd pf = {outp[0], POLLIN, 0};
        int wait = deadline ? (int)(deadline - now_ms()) : -1;
        if (deadline && wait <= 0) {
            kill(pid, SIGKILL);
            killed = 1;
            break;
        }
        if (poll(&pf, 1, wait) < 0 && errno != EINTR)
            break;
        if (!(pf.revents & (POLLIN | POLLHUP)))
            continue;
        char buf[4096];
        ssize_t r = read(outp[0], buf, sizeof buf);
        if (r <= 0)
            break;
        if (out && used + 1 < outlen) {
            size_t take = (size_t)r < outlen - 1 - used ? (size_t)r : outlen - 1 - used;
            memcpy(out + used, buf, take);
            used += take;
            out[used] = 0;
        }
    }
    close(outp[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (killed)
        return 128 + SIGKILL;
    if (WIFEXITED(st))
        return WEXITSTATUS(st) == 127 && out && !out[0] ? -1 : WEXITSTATUS(st);
    return 128 + WTERMSIG(st);
}

int kc_cmd_detach(char *const argv[])
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        /* the middle child exits at once: the grandchild is nobody's child of ours */
        if (fork() != 0)
            _exit(0);
        setsid();
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        for (int i = 3; i < 1024; i++)
            close(i);
        execvp(argv[0], argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int kc_cmd_spawn(char *const argv[], char *const envp[], const char *cwd, const bool want[3],
                 bool tty, int *pid, int fds[3])
{
    int pipes[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), master = -1, master2 = -1;
    int saved = 0;
    char slave[128] = "";
    if (devnull < 0)
        return -1;
    if (tty) {
        master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
            ptsname_r(master, slave, sizeof slave) != 0 ||
            (master2 = fcntl(master, F_DUPFD_CLOEXEC, 0)) < 0)
            goto fail;
    }
    for (int i = 0; i < 3 && !tty; i++)
        if (want[i] && pipe2(pipes[i], O_CLOEXEC) != 0)
            goto fail;
    /* the child's complaint when the command cannot run, written out before fork */
    char cannot[600];
    int cannot_len = snprintf(cannot, sizeof cannot,
                              "exec: \"%.500s\": cannot run: no such executable file, "
                              "or not executable\n",
                              argv[0]);
    if (cannot_len < 0 || cannot_len >= (int)sizeof cannot)
        cannot_len = (int)strlen(cannot);
    pid_t child = fork();
    if (child < 0)
        goto fail;
    if (child == 0) {
        /* only async-signal-safe calls from here to exec */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        sigaction(SIGPIPE, &dfl, NULL); /* the agent ignores it; the command must not */
        if (tty) {
            /* a session whose controlling terminal is the new one */
            setsid();
            int sl = open(slave, O_RDWR);
            if (sl < 0 || ioctl(sl, TIOCSCTTY, 0) != 0)
                _exit(127);
            for (int i = 0; i < 3; i++)
                dup2(sl, i);
        } else {
            setpgid(0, 0);
            for (int i = 0; i < 3; i++) {
                /* the child reads stdin from the pipe's read end, writes to the write ends */
                int fd = !want[i] ? devnull : i == 0 ? pipes[i][0] : pipes[i][1];
                dup2(fd, i);
            }
        }
        if (close_range(3, ~0U, 0) != 0)
            for (int i = 3; i < 1024; i++)
                close(i);
        if (cwd && chdir(cwd) != 0)
            _exit(127);
        if (envp)
            execve(argv[0], argv, envp);
        else
            execvp(argv[0], argv);
        if (write(2, cannot, (size_t)cannot_len) < 0)
            _exit(127);
        _exit(127);
    }
    if (!tty) /* also here, so that a kill of the group right after this cannot miss it */
        setpgid(child, child);
    for (int i = 0; i < 3; i++) {
        fds[i] = -1;
        if (!want[i] || tty)
            continue;
        int mine = i == 0 ? pipes[i][1] : pipes[i][0];
        close(i == 0 ? pipes[i][0] : pipes[i][1]);
        fcntl(mine, F_SETFL, fcntl(mine, F_GETFL) | O_NONBLOCK);
        fds[i] = mine;
    }
    if (tty) {
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK); /* both: one description */
        fds[0] = master2;
        fds[1] = master;
    }
    close(devnull);
    *pid = child;
    return 0;
fail:
    saved = errno;
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 2; k++)
            if (pipes[i][k] >= 0)
                close(pipes[i][k]);
    if (master >= 0)
        close(master);
    if (master2 >= 0)
        close(master2);
    close(devnull);
    errno = saved;
    return -1;
}

static void kill_below(int pid, int depth)
{
    char path[64];
    kill(pid, SIGSTOP); /* no new children while they are collected */
    snprintf(path, sizeof path, "/proc/%d/task", pid);
    DIR *d = opendir(path);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char cpath[128];
        snprintf(cpath, sizeof cpath, "/proc/%d/task/%.20s/children", pid, e->d_name);
        FILE *f = fopen(cpath, "re");
        int child;
        while (f && fscanf(f, "%d", &child) == 1)
            if (depth < 32)
                kill_below(child, depth + 1);
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    kill(pid, SIGKILL);
}

void kc_cmd_kill_tree(int pid)
{
    if (pid > 0)
        kill_below(pid, 0);
}

int kc_mkdirs(const char *path, int mode)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, (mode_t)mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int remove_at(int dirfd, const char *name, dev_t dev)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
    if (st.st_dev != dev)
        return -1; /* a mount point: leave it (and say so) */
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int ret = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (remove_at(fd, e->d_name, dev) != 0)
            ret = -1;
    }
    closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        ret = -1;
    return ret;
}

int kc_remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return remove_at(AT_FDCWD, path, st.st_dev);
}
