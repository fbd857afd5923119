/* The `process` driver: a container is its entrypoint run as a plain child of a shim, for
 * machines without root or namespaces. What is lost compared with `oci`:
 *   - isolation: no pid/mount/ipc/uts/network namespaces, no cgroup limits, no chroot;
 *   - the hostname: only $HOSTNAME carries the pod name;
 *   - the image's absolute paths: the command is looked up in the image's rootfs first
 *     (so /bin/serve-hostname works), and the rootfs's bin directories lead PATH, but a
 *     script's interpreter (#!/bin/sh) is the host's;
 *   - the pod IP: each pod gets a loopback address 127.A.B.C built from its IP's last
 *     three bytes (POD_IP is set to it), so servers must bind $POD_IP, not 0.0.0.0;
 *   - ports below 1024 without root; exec probes run on the host in the working dir;
 *     `kubectl exec` runs a host process in the container's working directory with its
 *     environment (so `hostname` is the machine's; $HOSTNAME is the pod's).
 * The demo image's server honours POD_IP and HOSTNAME, so it works here. */
#include "nodeagent/lifecycle.h"

#include "lib/jsonx.h"
#include "nodeagent/cmd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct proc_driver {
    struct kc_driver base;
    char self[4096];
};

static void proc_addr(struct kc_driver *d, const char *ip, char *out, size_t outlen)
{
    (void)d;
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1) {
        snprintf(out, outlen, "127.0.0.1");
        return;
    }
    uint32_t h = ntohl(a.s_addr);
    snprintf(out, outlen, "127.%u.%u.%u", (h >> 16) & 255, (h >> 8) & 255, h & 255);
}

static int proc_sandbox_up(struct kc_driver *d, const json_t *pod, const char *ip,
                           const char *pod_dir, char *msg, size_t msglen)
{
    (void)d, (void)pod, (void)ip, (void)pod_dir, (void)msg, (void)msglen;
    return 0;
}

static void proc_sandbox_down(struct kc_driver *d, const char *uid, const char *pod_dir)
{
    (void)d, (void)uid, (void)pod_dir;
}

static int proc_start(struct kc_driver *d, const json_t *pod, const json_t *ctr,
                      const struct kc_image *img, const char *ip, const struct kc_run_paths *p,
                      char *msg, size_t msglen)
{
    struct proc_driver *pd = (struct proc_driver *)d;
    char addr[64];
    proc_addr(d, ip, addr, sizeof addr);
    json_t *args, *env;
    const char *cwd;
    kc_container_process(pod, ctr, img->config, addr, "127.0.0.1", &args, &env, &cwd);
    int ret = -1;
    if (json_array_size(args) == 0 || json_array_size(args) > 200) {
        snprintf(msg, msglen, "no command specified");
        goto out;
    }
    /* PATH: the image's bin directories first, then the host's */
    char path_env[24576];
    snprintf(path_env, sizeof path_env,
             "PATH=%s/usr/local/bin:%s/usr/bin:%s/bin:%s/usr/sbin:%s/sbin:/usr/local/sbin:"
             "/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             img->rootfs, img->rootfs, img->rootfs, img->rootfs, img->rootfs);
    char tmp[1100], pod_ip[80];
    snprintf(tmp, sizeof tmp, "%s/tmp", p->dir);
    kc_mkdirs(tmp, 01777);
    snprintf(pod_ip, sizeof pod_ip, "POD_IP=%s", addr);
    char tmpdir[1200];
    snprintf(tmpdir, sizeof tmpdir, "TMPDIR=%s", tmp);
    /* the command: in the image when it is there */
    const char *cmd0 = json_string_value(json_array_get(args, 0));
    char resolved[8192];
    struct stat st;
    snprintf(resolved, sizeof resolved, "%s%s", img->rootfs, cmd0);
    if (cmd0[0] != '/' || stat(resolved, &st) != 0)
        snprintf(resolved, sizeof resolved, "%s", cmd0);
    char cwd_full[8192];
    snprintf(cwd_full, sizeof cwd_full, "%s%s", img->rootfs, cwd);
    if (stat(cwd_full, &st) != 0)
        snprintf(cwd_full, sizeof cwd_full, "%s", tmp);

    size_t na = json_array_size(args), ne = json_array_size(env);
    char **argv = calloc(24 + na + 2 * (ne + 3), sizeof *argv);
    int i = kc_shim_argv(argv, pd->self, "--process", p);
    argv[i++] = "--cwd";
    argv[i++] = cwd_full;
    size_t k;
    json_t *v;
    json_array_foreach (env, k, v) {
        if (strncmp(json_string_value(v), "PATH=", 5) == 0)
            continue;
        argv[i++] = "--env";
        argv[i++] = (char *)json_string_value(v);
    }
    argv[i++] = "--env";
    argv[i++] = path_env;
    argv[i++] = "--env";
    argv[i++] = pod_ip;
    argv[i++] = "--env";
    argv[i++] = tmpdir;
    argv[i++] = "--";
    /* execve needs a path: a bare name is searched in the image's PATH by /usr/bin/env */
    if (!strchr(resolved, '/')) {
        argv[i++] = "/usr/bin/env";
        argv[i++] = path_env;
    }
    argv[i++] = resolved;
    for (k = 1; k < na; k++)
        argv[i++] = (char *)json_string_value(json_array_get(args, k));
    argv[i] = NULL;
    ret = kc_cmd_detach(argv);
    free(argv);
    if (ret != 0)
        snprintf(msg, msglen, "cannot start the container's shim");
out:
    json_decref(args);
    json_decref(env);
    return ret;
}

static int proc_exec(struct kc_driver *d, const struct kc_run_paths *p, char *const argv[],
                     int timeout_ms, char *out, size_t outlen)
{
    (void)d, (void)p;
    return kc_cmd_run(argv, NULL, out, outlen, timeout_ms);
}

/* The environment of a running process, from /proc: a malloc'd block of NUL-separated
 * entries in *block and a NULL-terminated array pointing into it; NULL when unreadable. */
static char **read_environ(int pid, char **block)
{
    char path[64], *buf = NULL;
    size_t len = 0, cap = 0;
    snprintf(path, sizeof path, "/proc/%d/environ", pid);
    FILE *f = fopen(path, "re");
    *block = NULL;
    if (!f)
        return NULL;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 16384;
            buf = realloc(buf, cap);
            if (!buf)
                abort();
        }
        size_t n = fread(buf + len, 1, 4096, f);
        if (n == 0)
            break;
        len += n;
    }
    fclose(f);
    if (!buf || len == 0) {
        free(buf);
        return NULL;
    }
    buf[len] = 0;
    size_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += buf[i] == 0;
    char **env = calloc(count + 2, sizeof *env);
    if (!env)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
        if (buf[i])
            env[k++] = buf + i;
    *block = buf;
    return env;
}

/* A bare command name searched in the PATH of env (the image's bin directories come first
 * there), then in ours; a name with a slash is used as it is. */
static void resolve_command(const char *name, char *const env[], char *out, size_t outlen)
{
    snprintf(out, outlen, "%s", name);
    if (strchr(name, '/'))
        return;
    const char *paths[2] = {NULL, getenv("PATH")};
    for (size_t i = 0; env && env[i]; i++)
        if (strncmp(env[i], "PATH=", 5) == 0)
            paths[0] = env[i] + 5;
    for (int k = 0; k < 2; k++) {
        const char *p = paths[k];
        while (p && *p) {
            const char *colon = strchr(p, ':');
            size_t n = colon ? (size_t)(colon - p) : strlen(p);
            char cand[4096];
            struct stat st;
            if (n &&
                (size_t)snprintf(cand, sizeof cand, "%.*s/%s", (int)n, p, name) < sizeof cand &&
                stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0) {
                snprintf(out, outlen, "%s", cand);
                return;
            }
            p = colon ? colon + 1 : NULL;
        }
    }
}

/* exec in the process runtime: a host process in the container's working directory with
 * the container's environment (both read from /proc of its process). */
static int proc_exec_stream(struct kc_driver *d, const struct kc_run_paths *p, char *const argv[],
                            const bool want[3], bool tty, struct kc_exec_proc *out, char *msg,
                            size_t msglen)
{
    (void)d;
    int pid = 0, fds[3], rc = -1;
    char *block = NULL, **env = NULL, **full = NULL;
    FILE *f = fopen(p->pidfile, "re");
    if (!f || fscanf(f, "%d", &pid) != 1 || pid <= 0) {
        snprintf(msg, msglen, "the container's process is unknown");
        goto out;
    }
    env = read_environ(pid, &block);
    size_t n = 0;
    while (argv[n])
        n++;
    full = calloc(n + 1, sizeof *full);
    if (!full)
        abort();
    char cmd[4096], cwd[64];
    resolve_command(argv[0], env, cmd, sizeof cmd);
    full[0] = cmd;
    for (size_t k = 1; k < n; k++)
        full[k] = argv[k];
    snprintf(cwd, sizeof cwd, "/proc/%d/cwd", pid);
    if (kc_cmd_spawn(full, env, cwd, want, tty, &out->pid, fds) != 0) {
        snprintf(msg, msglen, "cannot start the command: %s", strerror(errno));
        goto out;
    }
    out->in = fds[0];
    out->out = fds[1];
    out->err = fds[2];
    rc = 0;
out:
    if (f)
        fclose(f);
    free(full);
    free(env);
    free(block);
    return rc;
}

static void proc_cleanup(struct kc_driver *d, const struct kc_run_paths *p)
{
    (void)d, (void)p;
}

static const struct kc_driver_ops proc_ops = {"process",  proc_sandbox_up, proc_sandbox_down,
                                              proc_start, proc_exec,       proc_cleanup,
                                              proc_addr,  proc_exec_stream};

struct kc_driver *kc_driver_process_new(void)
{
    struct proc_driver *pd = calloc(1, sizeof *pd);
    if (!pd)
        return NULL;
    pd->base.ops = &proc_ops;
    ssize_t n = readlink("/proc/self/exe", pd->self, sizeof pd->self - 1);
    if (n <= 0) {
        free(pd);
        return NULL;
    }
    pd->self[n] = 0;
    return &pd->base;
}
