/* The `oci` driver: containers run by crun through `kubec shim`.
 *
 * A pod's sandbox is three namespaces kept alive by bind mounts, with no pause process:
 * network (/run/netns/kcp-<uid>, wired by network.c), UTS (the pod's hostname) and IPC
 * (<pod dir>/uts, <pod dir>/ipc). Containers join them by path and get their own pid and
 * mount namespaces. Each run's rootfs is an overlay: the image's unpacked tree below, the
 * run's own upper directory above. cgroups: /<parent>/pod<uid>/<id> in every hierarchy,
 * with the container's limits; crun leaves the parents, so cleanup removes them. */
#include "nodeagent/lifecycle.h"

#include "lib/jsonx.h"
#include "lib/quantity.h"
#include "nodeagent/cmd.h"
#include "nodeagent/network.h"
#include "nodeagent/pod_hosts.h"
#include "nodeagent/sysctls.h"
#include "nodeagent/volumes.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

struct oci_driver {
    struct kc_driver base;
    char crun[512];
    char state[1024];  /* crun --root */
    char cgroup[256];  /* cgroup parent, e.g. kubec-node1 */
    char self[4096];   /* this executable, for the shim */
    bool hide_cgroup2; /* hybrid host whose cgroup2 has controllers: crun refuses it */
    struct kc_netnode *net;
    char dns_ip[64]; /* the cluster DNS server, "" for none */
    char dns_domain[128];
};

static void netns_name(const char *uid, char *out, size_t len)
{
    snprintf(out, len, "kcp-%s", uid);
}

static bool is_mounted_ns(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == 0x6e736673; /* NSFS_MAGIC */
}

/* Creates the pod's network, UTS and IPC namespaces and pins them to files: a child
 * unshares, names itself, and bind-mounts its /proc/self/ns entries. */
static int make_namespaces(const char *netf, const char *utsf, const char *ipcf,
                           const char *hostname)
{
    const char *files[3] = {netf, utsf, ipcf};
    for (int i = 0; i < 3; i++) {
        int fd = open(files[i], O_RDONLY | O_CREAT | O_CLOEXEC, 0444);
        if (fd < 0)
            return -1;
        close(fd);
    }
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (unshare(CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC) != 0)
            _exit(1);
        if (sethostname(hostname, strlen(hostname)) != 0)
            _exit(2);
        if (mount("/proc/self/ns/net", netf, NULL, MS_BIND, NULL) != 0 ||
            mount("/proc/self/ns/uts", utsf, NULL, MS_BIND, NULL) != 0 ||
            mount("/proc/self/ns/ipc", ipcf, NULL, MS_BIND, NULL) != 0)
            _exit(3);
        _exit(0);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static void drop_ns_file(const char *path)
{
    umount2(path, MNT_DETACH);
    unlink(path);
}

static void write_resolv_conf(struct oci_driver *o, const json_t *pod, const char *pod_dir);

static int oci_sandbox_up(struct kc_driver *d, const json_t *pod, const char *ip,
                          const char *pod_dir, char *msg, size_t msglen)
{
    struct oci_driver *o = (struct oci_driver *)d;
    const char *uid = kc_json_str(pod, "metadata.uid");
    char ns[128], netf[256], utsf[1100], ipcf[1100];
    netns_name(uid, ns, sizeof ns);
    snprintf(netf, sizeof netf, "/run/netns/%s", ns);
    snprintf(utsf, sizeof utsf, "%s/uts", pod_dir);
    snprintf(ipcf, sizeof ipcf, "%s/ipc", pod_dir);
    kc_mkdirs("/run/netns", 0755);
    if (!is_mounted_ns(netf) || !is_mounted_ns(utsf) || !is_mounted_ns(ipcf)) {
        drop_ns_file(netf);
        drop_ns_file(utsf);
        drop_ns_file(ipcf);
        char host[64];
        kc_pod_hostname(pod, host, sizeof host);
        if (make_namespaces(netf, utsf, ipcf, host) != 0) {
            snprintf(msg, msglen, "cannot create the pod's namespaces: %s", strerror(errno));
            return -1;
        }
    }
    if (o->net && kc_netpod_up(o->net, ns, uid, ip, msg, msglen) != 0)
        return -1;
    write_resolv_conf(o, pod, pod_dir);
    /* the kubelet-managed /etc/hosts */
    char hosts[1100];
    snprintf(hosts, sizeof hosts, "%s/hosts", pod_dir);
    char *content =
        kc_pod_hosts_content(pod, ip, o->dns_domain[0] ? o->dns_domain : "cluster.local");
    FILE *f = content ? fopen(hosts, "w") : NULL;
    if (f) {
        fputs(content, f);
        fclose(f);
    }
    free(content);
    return 0;
}

void kc_driver_oci_set_dns(struct kc_driver *d, const char *ip, const char *domain)
{
    struct oci_driver *o = (struct oci_driver *)d;
    snprintf(o->dns_ip, sizeof o->dns_ip, "%s", ip ? ip : "");
    snprintf(o->dns_domain, sizeof o->dns_domain, "%s", domain ? domain : "cluster.local");
}

/* Appends the strings of arr to f, each after sep. */
static void put_strings(FILE *f, const json_t *arr, const char *sep)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v)
        if (json_string_value(v))
            fprintf(f, "%s%s", sep, json_string_value(v));
}

/* The pod's resolv.conf as the kubelet makes it: for ClusterFirst the cluster DNS server and
 * the search path <ns>.svc.<domain> svc.<domain> <domain> with ndots:5, then dnsConfig's
 * additions; for None dnsConfig alone. "" when the pod keeps the image's (Default, or no
 * cluster DNS). */
static void write_resolv_conf(struct oci_driver *o, const json_t *pod, const char *pod_dir)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/resolv.conf", pod_dir);
    const char *policy = kc_json_str(pod, "spec.dnsPolicy") ?: "ClusterFirst";
    const json_t *cfg = json_object_get(json_object_get(pod, "spec"), "dnsConfig");
    bool cluster = o->dns_ip[0] &&
                   (!strcmp(policy, "ClusterFirst") || !strcmp(policy, "ClusterFirstWithHostNet"));
    if (!cluster && strcmp(policy, "None") != 0) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    const char *ns = kc_json_str(pod, "metadata.namespace") ?: "default";
    fprintf(f, "search");
    if (cluster)
        fprintf(f, " %s.svc.%s svc.%s %s", ns, o->dns_domain, o->dns_domain, o->dns_domain);
    put_strings(f, json_object_get(cfg, "searches"), " ");
    fprintf(f, "\n");
    if (cluster)
        fprintf(f, "nameserver %s\n", o->dns_ip);
    put_strings(f, json_object_get(cfg, "nameservers"), "nameserver ");
    fprintf(f, "%s", json_array_size(json_object_get(cfg, "nameservers")) ? "\n" : "");
    fprintf(f, "options%s", cluster ? " ndots:5" : "");
    size_t i;
    json_t *opt;
    json_array_foreach (json_object_get(cfg, "options"), i, opt) {
        const char *name = kc_json_str(opt, "name");
        const char *value = kc_json_str(opt, "value");
        if (name)
            fprintf(f, " %s%s%s", name, value ? ":" : "", value ? value : "");
    }
    fprintf(f, "\n");
    fclose(f);
}

/* rmdir of path and every directory below it, deepest first: a cgroup directory goes once
 * no process and no child is left in it. */
static void rmdir_depth(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    char sub[2048];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || e->d_type != DT_DIR)
            continue;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        rmdir_depth(sub);
    }
    if (d)
        closedir(d);
    rmdir(path);
}

void kc_oci_remove_cgroups(const char *rel, int wait_ms)
{
    char path[2048];
    for (int waited = 0;; waited += 100) {
        bool left = false;
        DIR *d = opendir("/sys/fs/cgroup");
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "/sys/fs/cgroup/%s/%s", e->d_name, rel);
            rmdir_depth(path);
            left |= access(path, F_OK) == 0;
        }
        if (d)
            closedir(d);
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s", rel);
        rmdir_depth(path);
        left |= access(path, F_OK) == 0;
        /* processes of a container being killed leave their cgroup a moment later */
        if (!left || waited >= wait_ms)
            return;
        usleep(100 * 1000);
    }
}

static void rmdir_cgroups(const char *rel)
{
    /* every v1 hierarchy under /sys/fs/cgroup, and the unified one */
    DIR *d = opendir("/sys/fs/cgroup");
    struct dirent *e;
    char path[2048];
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/sys/fs/cgroup/%s/%s", e->d_name, rel);
        rmdir(path);
    }
    if (d)
        closedir(d);
    snprintf(path, sizeof path, "/sys/fs/cgroup/%s", rel);
    rmdir(path);
}

static void oci_sandbox_down(struct kc_driver *d, const char *uid, const char *pod_dir)
{
    struct oci_driver *o = (struct oci_driver *)d;
    char ns[128], netf[256], f[1100];
    netns_name(uid, ns, sizeof ns);
    if (o->net)
        kc_netpod_down(o->net, uid);
    snprintf(netf, sizeof netf, "/run/netns/%s", ns);
    drop_ns_file(netf);
    snprintf(f, sizeof f, "%s/uts", pod_dir);
    drop_ns_file(f);
    snprintf(f, sizeof f, "%s/ipc", pod_dir);
    drop_ns_file(f);
    char rel[512];
    snprintf(rel, sizeof rel, "%s/pod%s", o->cgroup, uid);
    rmdir_cgroups(rel);
}

/* The docker/containerd default capability set. */
static json_t *default_caps(void)
{
    static const char *const caps[] = {
        "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
        "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
        "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
        "CAP_KILL",    "CAP_AUDIT_WRITE"};
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++)
        json_array_append_new(a, json_string(caps[i]));
    return a;
}

static json_t *mount_entry(const char *dst, const char *type, const char *src, const char *opts)
{
    json_t *o = json_array();
    char buf[256];
    snprintf(buf, sizeof buf, "%s", opts);
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ","))
        json_array_append_new(o, json_string(t));
    return json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type", type, "source", src,
                     "options", o);
}

/* Resources from the container's limits and requests, for the v1 controllers. */
static json_t *resources(const json_t *ctr)
{
    json_t *res = json_pack("{s:[{s:b,s:s}]}", "devices", "allow", 0, "access", "rwm");
    int64_t v;
    if (kc_quantity_json_value(kc_json_path(ctr, "resources.limits.memory"), &v) == 0 && v > 0)
        json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)v));
    json_t *cpu = json_object();
    if (kc_quantity_json_milli(kc_json_path(ctr, "resources.limits.cpu"), &v) == 0 && v > 0) {
        json_object_set_new(cpu, "quota", json_integer((json_int_t)(v * 100)));
        json_object_set_new(cpu, "period", json_integer(100000));
    }
    if (kc_quantity_json_milli(kc_json_path(ctr, "resources.requests.cpu"), &v) == 0 && v > 0)
        json_object_set_new(cpu, "shares",
                            json_integer((json_int_t)(v * 1024 / 1000 > 2 ? v * 1024 / 1000 : 2)));
    if (json_object_size(cpu))
        json_object_set_new(res, "cpu", cpu);
    else
        json_decref(cpu);
    return res;
}

static json_t *oci_config(struct oci_driver *o, const json_t *pod, const json_t *ctr,
                          const struct kc_image *img, const char *ip, const struct kc_run_paths *p,
                          char *msg, size_t msglen)
{
    json_t *args, *env;
    const char *cwd;
    const char *uid = kc_json_str(pod, "metadata.uid");
    kc_container_process(pod, ctr, img->config, ip, o->net ? o->net->node_ip : "", &args, &env,
                         &cwd);
    long long run_as = kc_json_int(ctr, "securityContext.runAsUser",
                                   kc_json_int(pod, "spec.securityContext.runAsUser", 0));
    long long run_gid = kc_json_int(ctr, "securityContext.runAsGroup",
                                    kc_json_int(pod, "spec.securityContext.runAsGroup", 0));
    json_t *caps = default_caps();
    /* as many open files as the agent may have (containerd asks for 1048576; a machine
     * that does not allow that would refuse every container) */
    struct rlimit rl = {1048576, 1048576};
    getrlimit(RLIMIT_NOFILE, &rl);
    json_int_t nofile = rl.rlim_max < 1048576 ? (json_int_t)rl.rlim_max : 1048576;
    json_t *process =
        json_pack("{s:b,s:{s:I,s:I},s:o,s:o,s:s,s:{s:o,s:O,s:O,s:[]},s:[{s:s,s:I,s:I}],s:b}",
                  "terminal", 0, "user", "uid", (json_int_t)run_as, "gid", (json_int_t)run_gid,
                  "args", args, "env", env, "cwd", cwd, "capabilities", "bounding", caps,
                  "effective", caps, "permitted", caps, "inheritable", "rlimits", "type",
                  "RLIMIT_NOFILE", "hard", nofile, "soft", nofile, "noNewPrivileges",
                  kc_json_path(ctr, "securityContext.allowPrivilegeEscalation") &&
                      json_is_false(kc_json_path(ctr, "securityContext.allowPrivilegeEscalation")));
    json_t *mounts = json_array();
    json_array_append_new(mounts, mount_entry("/proc", "proc", "proc", "nosuid,noexec,nodev"));
    json_array_append_new(
        mounts, mount_entry("/dev", "tmpfs", "tmpfs", "nosuid,strictatime,mode=755,size=65536k"));
    json_array_append_new(mounts,
                          mount_entry("/dev/pts", "devpts", "devpts",
                                      "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5"));
    json_array_append_new(mounts, mount_entry("/dev/shm", "tmpfs", "shm",
                                              "nosuid,noexec,nodev,mode=1777,size=65536k"));
    json_array_append_new(mounts,
                          mount_entry("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
    json_array_append_new(mounts, mount_entry("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
    char hosts[1100], tlog[1100];
    snprintf(hosts, sizeof hosts, "%s/hosts", p->pod_dir);
    snprintf(tlog, sizeof tlog, "%s/termination-log", p->dir);
    json_t *m = mount_entry("/etc/hosts", "bind", hosts, "rbind,rw");
    json_object_set_new(m, "source", json_string(hosts));
    json_array_append_new(mounts, m);
    char resolv[1100];
    snprintf(resolv, sizeof resolv, "%s/resolv.conf", p->pod_dir);
    if (access(resolv, F_OK) == 0)
        json_array_append_new(mounts, mount_entry("/etc/resolv.conf", "bind", resolv, "rbind,ro"));
    const char *tpath = kc_json_str(ctr, "terminationMessagePath") ?: "/dev/termination-log";
    json_array_append_new(mounts, mount_entry(tpath, "bind", tlog, "rbind,rw"));
    if (kc_volume_mounts(pod, ctr, p->pod_dir, mounts, msg, msglen) != 0) {
        json_decref(process);
        json_decref(mounts);
        return NULL;
    }
    char netf[256], utsf[1100], ipcf[1100], ns[128], cg[1024];
    netns_name(uid, ns, sizeof ns);
    snprintf(netf, sizeof netf, "/run/netns/%s", ns);
    snprintf(utsf, sizeof utsf, "%s/uts", p->pod_dir);
    snprintf(ipcf, sizeof ipcf, "%s/ipc", p->pod_dir);
    snprintf(cg, sizeof cg, "/%s/pod%s/%s", o->cgroup, uid, p->id);
    json_t *linux_ =
        json_pack("{s:o,s:[{s:s},{s:s},{s:s,s:s},{s:s,s:s},{s:s,s:s}],s:s,s:[s,s,s,s,s,s,s,s,s,s],"
                  "s:[s,s,s,s,s]}",
                  "resources", resources(ctr), "namespaces", "type", "pid", "type", "mount", "type",
                  "network", "path", netf, "type", "uts", "path", utsf, "type", "ipc", "path", ipcf,
                  "cgroupsPath", cg, "maskedPaths", "/proc/acpi", "/proc/asound", "/proc/kcore",
                  "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                  "/proc/sched_debug", "/sys/firmware", "/proc/scsi", "readonlyPaths", "/proc/bus",
                  "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger");
    json_object_set_new(linux_, "sysctl", kc_pod_sysctls(pod));
    char rootfs[1100];
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", p->dir);
    bool ro = json_is_true(kc_json_path(ctr, "securityContext.readOnlyRootFilesystem"));
    return json_pack("{s:s,s:o,s:{s:s,s:b},s:o,s:o}", "ociVersion", "1.0.2", "process", process,
                     "root", "path", rootfs, "readonly", ro, "mounts", mounts, "linux", linux_);
}

static int oci_start(struct kc_driver *d, const json_t *pod, const json_t *ctr,
                     const struct kc_image *img, const char *ip, const struct kc_run_paths *p,
                     char *msg, size_t msglen)
{
    struct oci_driver *o = (struct oci_driver *)d;
    char rootfs[1100], upper[1100], work[1100], tlog[1100], opts[8192], cfg[1100];
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", p->dir);
    snprintf(upper, sizeof upper, "%s/upper", p->dir);
    snprintf(work, sizeof work, "%s/work", p->dir);
    snprintf(tlog, sizeof tlog, "%s/termination-log", p->dir);
    snprintf(cfg, sizeof cfg, "%s/config.json", p->dir);
    if (kc_mkdirs(rootfs, 0755) || kc_mkdirs(upper, 0755) || kc_mkdirs(work, 0700)) {
        snprintf(msg, msglen, "cannot create the container's directories");
        return -1;
    }
    int fd = open(tlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd >= 0) {
        /* writable whatever user the container runs as (the kubelet chmods it 0666 too) */
        fchmod(fd, 0666);
        close(fd);
    }
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=%s,workdir=%s", img->rootfs, upper, work);
    if (mount("overlay", rootfs, "overlay", 0, opts) != 0 && errno != EBUSY) {
        snprintf(msg, msglen, "cannot mount the container's root file system: %s", strerror(errno));
        return -1;
    }
    json_t *config = oci_config(o, pod, ctr, img, ip, p, msg, msglen);
    if (!config)
        return -1;
    int rc = json_dump_file(config, cfg, JSON_COMPACT);
    json_decref(config);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot write %s", cfg);
        return -1;
    }
    char *argv[28];
    int i = 0;
    i = kc_shim_argv(argv, o->self, "--oci", p);
    argv[i++] = "--crun";
    argv[i++] = o->crun;
    argv[i++] = "--root";
    argv[i++] = o->state;
    argv[i++] = "--bundle";
    argv[i++] = (char *)p->dir;
    argv[i++] = "--id";
    argv[i++] = (char *)p->id;
    if (o->hide_cgroup2)
        argv[i++] = "--hide-cgroup2";
    /* where crun puts the memory controller's cgroup (v1, or the unified tree) */
    char memcg[2048];
    struct stat st;
    const char *uid = kc_json_str(pod, "metadata.uid");
    if (stat("/sys/fs/cgroup/memory", &st) == 0)
        kc_fmt(memcg, sizeof memcg, "/sys/fs/cgroup/memory/%s/pod%s/%s", o->cgroup, uid, p->id);
    else
        kc_fmt(memcg, sizeof memcg, "/sys/fs/cgroup/%s/pod%s/%s", o->cgroup, uid, p->id);
    argv[i++] = "--memory-cgroup";
    argv[i++] = memcg;
    argv[i] = NULL;
    if (kc_cmd_detach(argv) != 0) {
        snprintf(msg, msglen, "cannot start the container's shim");
        return -1;
    }
    return 0;
}

static int oci_exec(struct kc_driver *d, const struct kc_run_paths *p, char *const argv[],
                    int timeout_ms, char *out, size_t outlen)
{
    struct oci_driver *o = (struct oci_driver *)d;
    char *full[72];
    int i = 0;
    full[i++] = o->crun;
    full[i++] = "--root";
    full[i++] = o->state;
    full[i++] = "exec";
    full[i++] = (char *)p->id;
    for (int k = 0; argv[k] && i < 70; k++)
        full[i++] = argv[k];
    full[i] = NULL;
    return kc_cmd_run(full, NULL, out, outlen, timeout_ms);
}

/* A unix socket listening at a fresh short path (sun_path is short), for crun's
 * --console-socket; the path into path. -1 on failure. */
static int console_socket(char *path, size_t len)
{
    char dir[] = "/tmp/kubec-tty-XXXXXX";
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, len, "%s/s", dir);
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1) != 0) {
        if (fd >= 0)
            close(fd);
        unlink(path);
        rmdir(dir);
        return -1;
    }
    return fd;
}

static void console_socket_remove(const char *path)
{
    char dir[64];
    snprintf(dir, sizeof dir, "%s", path);
    unlink(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = 0;
        rmdir(dir);
    }
}

/* The terminal's master that crun sends over the console socket, within 10 s; -1 when crun
 * ended first (its stderr, crun_err, hung up: what it said is in msg) or on timeout. */
static int receive_master(int lfd, int crun_err, char *msg, size_t msglen)
{
    size_t said = 0;
    msg[0] = 0;
    for (int waited = 0; waited < 10000; waited += 100) {
        struct pollfd p[2] = {{.fd = lfd, .events = POLLIN}, {.fd = crun_err, .events = POLLIN}};
        if (poll(p, 2, 100) < 0 && errno != EINTR)
            break;
        /* a quick command may end (and crun with it) right after crun sent the master:
         * the connection is looked at first */
        if (p[1].revents && !p[0].revents) {
            ssize_t n = read(crun_err, msg + said, msglen - 1 - said);
            if (n > 0) {
                said += (size_t)n;
                msg[said] = 0;
            } else if (n == 0) {
                while (said && (msg[said - 1] == '\n' || msg[said - 1] == ' '))
                    msg[--said] = 0;
                if (!said)
                    snprintf(msg, msglen, "crun exec ended before it sent the terminal");
                return -1;
            }
        }
        if (!p[0].revents)
            continue;
        int c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        char data[256];
        union {
            char buf[CMSG_SPACE(sizeof(int))];
            struct cmsghdr align;
        } ctl;
        struct iovec iov = {data, sizeof data};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof ctl.buf};
        struct timeval tv = {10, 0};
        setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        int fd = -1;
        if (recvmsg(c, &mh, MSG_CMSG_CLOEXEC) >= 0) {
            struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
            if (cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS)
                memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        }
        close(c);
        return fd;
    }
    snprintf(msg + said, msglen - said, "%stimeout waiting for crun's terminal", said ? ": " : "");
    return -1;
}

/* `crun exec`: crun joins the container's namespaces and cgroup, and runs argv with the
 * container's environment, user and working directory; its stdio are ours (pipes), or with
 * tty a terminal that crun makes and sends back over --console-socket. */
static int oci_exec_stream(struct kc_driver *d, const struct kc_run_paths *p, char *const argv[],
                           const bool want[3], bool tty, struct kc_exec_proc *out, char *msg,
                           size_t msglen)
{
    struct oci_driver *o = (struct oci_driver *)d;
    char sock[64] = "";
    int lfd = -1, fds[3], rc = -1;
    size_t n = 0;
    while (argv[n])
        n++;
    char **full = calloc(n + 9, sizeof *full);
    if (!full)
        abort();
    int i = 0;
    full[i++] = o->crun;
    full[i++] = "--root";
    full[i++] = o->state;
    full[i++] = "exec";
    if (tty) {
        if ((lfd = console_socket(sock, sizeof sock)) < 0) {
            snprintf(msg, msglen, "cannot make a console socket: %s", strerror(errno));
            goto out;
        }
        full[i++] = "--tty";
        full[i++] = "--console-socket";
        full[i++] = sock;
    }
    full[i++] = (char *)p->id;
    for (size_t k = 0; k < n; k++)
        full[i++] = argv[k];
    full[i] = NULL;
    /* with a terminal, crun's own stdio is only for what crun says */
    static const bool crun_says[3] = {false, false, true};
    if (kc_cmd_spawn(full, NULL, NULL, tty ? crun_says : want, false, &out->pid, fds) != 0) {
        snprintf(msg, msglen, "cannot start %s: %s", o->crun, strerror(errno));
        goto out;
    }
    out->in = fds[0];
    out->out = fds[1];
    out->err = fds[2];
    if (tty) {
        int master = receive_master(lfd, fds[2], msg, msglen);
        int master2 = master >= 0 ? fcntl(master, F_DUPFD_CLOEXEC, 0) : -1;
        if (master2 < 0) {
            if (master >= 0)
                close(master);
            close(fds[2]);
            kill(out->pid, SIGKILL);
            waitpid(out->pid, NULL, 0);
            goto out;
        }
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
        out->in = master2;
        out->out = master;
    }
    rc = 0;
out:
    if (lfd >= 0) {
        close(lfd);
        console_socket_remove(sock);
    }
    free(full);
    return rc;
}

static void oci_cleanup(struct kc_driver *d, const struct kc_run_paths *p)
{
    struct oci_driver *o = (struct oci_driver *)d;
    char state[2048];
    snprintf(state, sizeof state, "%s/%s", o->state, p->id);
    struct stat st;
    if (stat(state, &st) == 0) {
        char *argv[] = {o->crun, "--root", o->state, "delete", "--force", (char *)p->id, NULL};
        kc_cmd_run(argv, NULL, NULL, 0, 10000);
    }
    char rootfs[1100];
    snprintf(rootfs, sizeof rootfs, "%s/rootfs", p->dir);
    umount2(rootfs, MNT_DETACH);
    const char *under = strrchr(p->pod_dir, '/');
    char rel[1600];
    snprintf(rel, sizeof rel, "%s/pod%s/%s", o->cgroup, under ? under + 1 : "", p->id);
    rmdir_cgroups(rel);
}

static void oci_probe_addr(struct kc_driver *d, const char *ip, char *out, size_t outlen)
{
    (void)d;
    snprintf(out, outlen, "%s", ip);
}

static const struct kc_driver_ops oci_ops = {"crun",         oci_sandbox_up, oci_sandbox_down,
                                             oci_start,      oci_exec,       oci_cleanup,
                                             oci_probe_addr, oci_exec_stream};

/* crun 1.8 refuses a hybrid host whose cgroup2 mount has controllers; hiding that mount
 * from crun (in its own mount namespace) makes it a plain v1 host. */
static bool needs_cgroup2_hidden(void)
{
    struct statfs sf;
    if (statfs("/sys/fs/cgroup", &sf) != 0 || sf.f_type == CGROUP2_SUPER_MAGIC)
        return false;
    FILE *f = fopen("/sys/fs/cgroup/unified/cgroup.controllers", "r");
    if (!f)
        return false;
    char buf[256] = "";
    bool any = fgets(buf, sizeof buf, f) && buf[0] && buf[0] != '\n';
    fclose(f);
    return any;
}

struct kc_driver *kc_driver_oci_new(const char *crun, const char *state_root,
                                    const char *cgroup_parent, struct kc_netnode *net)
{
    struct oci_driver *o = calloc(1, sizeof *o);
    if (!o)
        return NULL;
    o->base.ops = &oci_ops;
    snprintf(o->crun, sizeof o->crun, "%s", crun);
    snprintf(o->state, sizeof o->state, "%s", state_root);
    snprintf(o->cgroup, sizeof o->cgroup, "%s", cgroup_parent);
    ssize_t n = readlink("/proc/self/exe", o->self, sizeof o->self - 1);
    if (n <= 0) {
        free(o);
        return NULL;
    }
    o->self[n] = 0;
    o->hide_cgroup2 = needs_cgroup2_hidden();
    o->net = net;
    kc_mkdirs(state_root, 0700);
    return &o->base;
}
