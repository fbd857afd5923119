/* `kubec up` and `kubec down`: one command brings up a whole cluster.
 *
 * `kubec up` is a supervisor. It starts, as children of itself (the same binary), the
 * apiserver on a data directory, the controller manager, the scheduler, N worker node
 * agents and the ingress controller, waits until every node is Ready, and prints how to
 * use the cluster. It then stays, reaping its children: on SIGINT or SIGTERM it stops them
 * in order (ingress, nodes — whose containers, namespaces and routes are removed —,
 * scheduler, controllers, apiserver); on SIGHUP it starts again any child that exited.
 * `--detach` runs the supervisor in the background and returns once the cluster is
 * Ready; `kubec down` sends it SIGTERM and waits for it to finish. `kubec up` while a
 * supervisor runs on the data directory asks it (SIGHUP) to restart what exited — a
 * killed node comes back — and waits for the nodes again.
 *
 * Every child has its own process group, so a Ctrl-C in the terminal reaches only the
 * supervisor, which then stops the children in the right order. Each child's output goes
 * to DATA/<name>.log and its pid to DATA/<name>.pid. */
#include "cmd/up.h"

#include "client/client.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UP_MAX_NODES 64
#define UP_MAX_ARGS 48

struct up_options {
    char data_dir[512];
    int nodes;
    const char *runtime; /* oci or process */
    int port, secure_port;
    int ingress_port;
    const char *fabric; /* the first three octets of the nodes' network, "10.250.0" */
    const char *bridge;
    const char *node_prefix;  /* nodes are <prefix>1..N */
    const char *cluster_cidr; /* the pods' range */
    const char *service_cidr; /* ClusterIPs */
    long node_grace_ms;       /* --node-monitor-grace-period of the controller manager */
    int eviction_seconds;     /* the default not-ready/unreachable tolerations */
    int controllers_metrics;  /* ports; 0 = off */
    int scheduler_metrics;
    bool detach;
    bool ingress;
    int ready_timeout_s;
};

struct up_proc {
    char name[32];
    char *argv[UP_MAX_ARGS]; /* owned */
    int argc;
    pid_t pid;   /* 0 when not running */
    int node;    /* 1.. for node agents */
    bool exited; /* exited on its own (not stopped by us) */
};

struct up {
    struct up_options o;
    char self[512]; /* this binary */
    struct up_proc procs[UP_MAX_NODES + 5];
    int nprocs;
    sigset_t sigs;      /* blocked, taken with sigtimedwait */
    pid_t builder;      /* the demo image's build, while it runs */
    int builder_status; /* its wait status once reaped */
    bool stopping;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void data_path(const struct up *u, char *buf, size_t len, const char *name,
                      const char *suffix)
{
    snprintf(buf, len, "%s/%s%s", u->o.data_dir, name, suffix);
}

static struct up_proc *proc_add(struct up *u, const char *name, int node)
{
    struct up_proc *p = &u->procs[u->nprocs++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->node = node;
    p->argv[p->argc++] = strdup(u->self);
    return p;
}

/* Appends arguments: each a printf format with its values, NULL ends. */
static void proc_arg(struct up_proc *p, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (p->argc < UP_MAX_ARGS - 1)
        p->argv[p->argc++] = strdup(buf);
}

/* Appends a flag and its value (a printf format with its arguments). */
static void proc_flag(struct up_proc *p, const char *flag, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    proc_arg(p, "%s", flag);
    proc_arg(p, "%s", buf);
}

static void proc_free(struct up_proc *p)
{
    for (int i = 0; i < p->argc; i++)
        free(p->argv[i]);
    p->argc = 0;
}

static void write_pidfile(const struct up *u, const char *name, pid_t pid)
{
    char path[600];
    data_path(u, path, sizeof path, name, ".pid");
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d\n", (int)pid);
        fclose(f);
    }
}

static void remove_pidfile(const struct up *u, const char *name)
{
    char path[600];
    data_path(u, path, sizeof path, name, ".pid");
    unlink(path);
}

static pid_t read_pidfile(const char *data_dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s.pid", data_dir, name);
    FILE *f = fopen(path, "r");
    int pid = 0;
    if (!f)
        return 0;
    if (fscanf(f, "%d", &pid) != 1)
        pid = 0;
    fclose(f);
    if (pid <= 0 || kill(pid, 0) != 0)
        return 0;
    /* the pid may have been reused since: it must still be a kubec */
    char exe[600], link[600];
    snprintf(exe, sizeof exe, "/proc/%d/exe", pid);
    ssize_t n = readlink(exe, link, sizeof link - 1);
    if (n <= 0)
        return 0;
    link[n] = 0;
    const char *base = strrchr(link, '/');
    return base && !strncmp(base + 1, "kubec", 5) ? pid : 0;
}

/* Starts argv in its own process group with stdio on DATA/<log>.log; returns the pid. */
static pid_t spawn_logged(const struct up *u, char *const argv[], const char *log)
{
    char path[600];
    data_path(u, path, sizeof path, log, ".log");
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    setpgid(0, 0);
    /* a supervisor killed outright takes its children along (their containers stay and
     * are adopted by the next `kubec up`) */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &u->sigs, NULL);
    int in = open("/dev/null", O_RDONLY);
    int out = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0)
        dup2(in, 0);
    if (out >= 0) {
        dup2(out, 1);
        dup2(out, 2);
    }
    execvp(argv[0], argv);
    _exit(127);
}

static int proc_start(struct up *u, struct up_proc *p)
{
    p->argv[p->argc] = NULL;
    p->pid = spawn_logged(u, p->argv, p->name);
    if (p->pid < 0) {
        p->pid = 0;
        fprintf(stderr, "kubec up: cannot start %s: %s\n", p->name, strerror(errno));
        return -1;
    }
    p->exited = false;
    write_pidfile(u, p->name, p->pid);
    return 0;
}

static struct up_proc *proc_by_pid(struct up *u, pid_t pid)
{
    for (int i = 0; i < u->nprocs; i++)
        if (u->procs[i].pid == pid)
            return &u->procs[i];
    return NULL;
}

/* Reaps every exited child; notes those that ended on their own. */
static void reap(struct up *u)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (pid == u->builder) {
            u->builder_status = st;
            u->builder = 0;
            continue;
        }
        struct up_proc *p = proc_by_pid(u, pid);
        if (!p)
            continue;
        p->pid = 0;
        remove_pidfile(u, p->name);
        if (!u->stopping) {
            p->exited = true;
            if (WIFSIGNALED(st))
                printf("kubec up: %s was killed by signal %d (`kubec up` starts it again)\n",
                       p->name, WTERMSIG(st));
            else
                printf("kubec up: %s exited with status %d (`kubec up` starts it again)\n", p->name,
                       WEXITSTATUS(st));
            fflush(stdout);
        }
    }
}

/* Waits up to ms for a signal. Returns the signal taken (SIGCHLD is handled here and
 * reported as 0), or 0 on timeout. A termination signal is remembered. */
static int take_signal(struct up *u, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    int sig = sigtimedwait(&u->sigs, NULL, &ts);
    if (sig == SIGCHLD) {
        reap(u);
        return 0;
    }
    if (sig == SIGINT || sig == SIGTERM)
        u->stopping = true;
    return sig < 0 ? 0 : sig;
}

/* Sends sig to the given children and waits up to ms for them to exit (then SIGKILL). */
static void stop_procs(struct up *u, bool (*which)(const struct up_proc *), int sig, long ms)
{
    for (int i = 0; i < u->nprocs; i++)
        if (u->procs[i].pid && which(&u->procs[i]))
            kill(u->procs[i].pid, sig);
    double end = now_s() + ms / 1000.0;
    for (;;) {
        bool left = false;
        for (int i = 0; i < u->nprocs; i++)
            if (u->procs[i].pid && which(&u->procs[i]))
                left = true;
        if (!left)
            return;
        if (now_s() > end)
            break;
        take_signal(u, 50);
    }
    for (int i = 0; i < u->nprocs; i++)
        if (u->procs[i].pid && which(&u->procs[i])) {
            kill(u->procs[i].pid, SIGKILL);
            waitpid(u->procs[i].pid, NULL, 0);
            remove_pidfile(u, u->procs[i].name);
            u->procs[i].pid = 0;
        }
}

static bool is_node(const struct up_proc *p)
{
    return p->node > 0;
}
/* the ingress controller and the DNS server: they start once the fabric exists */
static bool is_ingress(const struct up_proc *p)
{
    return !strcmp(p->name, "ingress") || !strcmp(p->name, "dns");
}
static bool is_scheduler(const struct up_proc *p)
{
    return !strcmp(p->name, "scheduler");
}
static bool is_controllers(const struct up_proc *p)
{
    return !strcmp(p->name, "controllers");
}
static bool is_apiserver(const struct up_proc *p)
{
    return !strcmp(p->name, "apiserver");
}
static bool is_any(const struct up_proc *p)
{
    (void)p;
    return true;
}

/* Stops everything, in order; the nodes' containers, namespaces and routes are removed
 * (their pods stay in the API and run again on the next `kubec up`). */
static void shutdown_cluster(struct up *u)
{
    u->stopping = true;
    double t0 = now_s();
    stop_procs(u, is_ingress, SIGTERM, 5000);
    double t1 = now_s();
    stop_procs(u, is_node, SIGTERM, 10000);
    double t2 = now_s();
    /* every node's cleanup at once: each stops its containers within their grace */
    pid_t cleaners[UP_MAX_NODES];
    int n = 0;
    for (int i = 0; i < u->nprocs; i++) {
        struct up_proc *p = &u->procs[i];
        if (!is_node(p))
            continue;
        char *argv[UP_MAX_ARGS + 2];
        int k;
        for (k = 0; k < p->argc; k++)
            argv[k] = p->argv[k];
        argv[k++] = "--cleanup";
        argv[k] = NULL;
        cleaners[n] = spawn_logged(u, argv, p->name);
        if (cleaners[n] > 0)
            n++;
    }
    for (int i = 0; i < n; i++)
        waitpid(cleaners[i], NULL, 0);
    if (!strcmp(u->o.runtime, "oci")) {
        char *argv[] = {"ip", "link", "del", (char *)u->o.bridge, NULL};
        pid_t pid = spawn_logged(u, argv, "up");
        if (pid > 0)
            waitpid(pid, NULL, 0);
    }
    double t3 = now_s();
    stop_procs(u, is_scheduler, SIGTERM, 5000);
    stop_procs(u, is_controllers, SIGTERM, 5000);
    stop_procs(u, is_apiserver, SIGTERM, 10000);
    stop_procs(u, is_any, SIGKILL, 1000);
    printf("kubec up: stopped in %.2f s (ingress and dns %.2f s, node agents %.2f s, their "
           "cleanup %.2f s, control plane %.2f s)\n",
           now_s() - t0, t1 - t0, t2 - t1, t3 - t2, now_s() - t3);
    fflush(stdout);
}

/* GET /healthz on the plain-HTTP port answers 200. */
static bool apiserver_healthy(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char buf[64] = "";
    bool ok = false;
    if (fd < 0)
        return false;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if (write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1)) {
            ssize_t r = read(fd, buf, sizeof buf - 1);
            if (r > 0) {
                buf[r] = 0;
                ok = strncmp(buf, "HTTP/1.1 200", 12) == 0;
            }
        }
    }
    close(fd);
    return ok;
}

/* Is name one of our nodes? */
static bool our_node(const struct up *u, const char *name)
{
    for (int k = 0; k < u->nprocs && name; k++)
        if (u->procs[k].node && !strcmp(u->procs[k].name, name))
            return true;
    return false;
}

/* How many nodes of ours are Ready with a pod CIDR and renewed their Lease since since (wall
 * clock seconds): a resumed cluster's nodes are still Ready in storage from the last run,
 * the Lease says their agent is back. */
static int nodes_ready(struct kc_client *c, const struct up *u, double since)
{
    json_t *list = NULL, *leases = NULL; /* owned */
    int ready = 0;
    size_t i;
    json_t *n;
    if (kc_list(c, &KC_GVR_NODES, NULL, NULL, &list) != 200 ||
        kc_list(c, &KC_GVR_LEASES, "kube-node-lease", NULL, &leases) != 200)
        goto out;
    json_array_foreach (json_object_get(list, "items"), i, n) {
        const char *name = kc_json_str(n, "metadata.name");
        if (!our_node(u, name) || !json_object_get(json_object_get(n, "spec"), "podCIDR"))
            continue;
        bool is_ready = false, renewed = false;
        size_t j;
        json_t *x;
        json_array_foreach (json_object_get(json_object_get(n, "status"), "conditions"), j, x)
            if (!strcmp(kc_json_str(x, "type") ?: "", "Ready") &&
                !strcmp(kc_json_str(x, "status") ?: "", "True"))
                is_ready = true;
        json_array_foreach (json_object_get(leases, "items"), j, x) {
            double t;
            if (!strcmp(kc_json_str(x, "metadata.name") ?: "", name) &&
                kc_time_parse_frac(kc_json_str(x, "spec.renewTime") ?: "", &t) == 0 && t >= since)
                renewed = true;
        }
        ready += is_ready && renewed;
    }
out:
    json_decref(list);
    json_decref(leases);
    return ready;
}

/* Waits until every node is Ready; -1 on timeout or when told to stop. */
static int wait_nodes(struct up *u, struct kc_client *c, int *ready)
{
    double end = now_s() + u->o.ready_timeout_s;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    /* Lease times have microseconds; allow for clocks read a little apart */
    double since = wall.tv_sec + wall.tv_nsec / 1e9 - 0.5;
    for (;;) {
        *ready = nodes_ready(c, u, since);
        if (*ready >= u->o.nodes)
            return 0;
        if (u->stopping || now_s() > end)
            return -1;
        take_signal(u, 50);
    }
}

/* The cluster DNS Service's address: the tenth of the service range, as kubeadm's 10.96.0.10.
 * "" when the range is not an IPv4 CIDR. */
static void dns_service_ip(const char *cidr, char *out, size_t len)
{
    char net[64];
    struct in_addr a;
    out[0] = 0;
    snprintf(net, sizeof net, "%s", cidr);
    char *slash = strchr(net, '/');
    if (slash)
        *slash = 0;
    if (inet_pton(AF_INET, net, &a) != 1)
        return;
    a.s_addr = htonl(ntohl(a.s_addr) + 10);
    inet_ntop(AF_INET, &a, out, (socklen_t)len);
}

/* The commands of the cluster, from the options. */
static void plan(struct up *u)
{
    const struct up_options *o = &u->o;
    const char *d = o->data_dir;
    bool oci = !strcmp(o->runtime, "oci");
    char dns_ip[64];
    dns_service_ip(o->service_cidr, dns_ip, sizeof dns_ip);
    struct up_proc *p = proc_add(u, "apiserver", 0);
    proc_arg(p, "apiserver");
    proc_flag(p, "--data-dir", "%s", d);
    proc_flag(p, "--insecure-port", "%d", o->port);
    proc_flag(p, "--secure-port", "%d", o->secure_port);
    proc_flag(p, "--namespace-finalizer", "controller");
    proc_flag(p, "--default-not-ready-toleration-seconds", "%d", o->eviction_seconds);
    proc_flag(p, "--default-unreachable-toleration-seconds", "%d", o->eviction_seconds);
    proc_flag(p, "--service-cluster-ip-range", "%s", o->service_cidr);
    if (oci) {
        /* pods reach the apiserver through the `kubernetes` Service: its endpoints name the
         * fabric's host address, which exists only once a node made the bridge, so the
         * secure port listens on every address */
        proc_flag(p, "--bind-address", "0.0.0.0");
        proc_flag(p, "--advertise-address", "%s.1", o->fabric);
    }

    p = proc_add(u, "controllers", 0);
    proc_arg(p, "controllers");
    proc_flag(p, "--kubeconfig", "%s/controller-manager.kubeconfig", d);
    proc_flag(p, "--node-monitor-grace-period", "%ldms", o->node_grace_ms);
    proc_flag(p, "--node-monitor-period", "%ldms",
              o->node_grace_ms / 8 > 100 ? o->node_grace_ms / 8 : 100);
    proc_flag(p, "--metrics-port", "%d", o->controllers_metrics);
    proc_flag(p, "--cluster-cidr", "%s", o->cluster_cidr);

    p = proc_add(u, "scheduler", 0);
    proc_arg(p, "scheduler");
    proc_flag(p, "--kubeconfig", "%s/scheduler.kubeconfig", d);
    proc_flag(p, "--metrics-port", "%d", o->scheduler_metrics);

    for (int i = 1; i <= o->nodes; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s%d", o->node_prefix, i);
        p = proc_add(u, name, i);
        proc_arg(p, "nodeagent");
        proc_flag(p, "--master", "http://127.0.0.1:%d", o->port);
        proc_flag(p, "--runtime", "%s", o->runtime);
        proc_flag(p, "--node-name", "%s", name);
        proc_flag(p, "--root-dir", "%s/nodes/%s", d, name);
        proc_flag(p, "--image-dir", "%s/images", d);
        proc_flag(p, "--image-layouts", "%s/layouts", d);
        /* heartbeats well inside the grace period the controller manager allows */
        proc_flag(p, "--node-lease-renew-interval", "%ldms", o->node_grace_ms / 4);
        if (!strcmp(o->runtime, "oci")) {
            proc_flag(p, "--node-ip", "%s.%d", o->fabric, 10 + i);
            proc_flag(p, "--node-netns", "kubec-%s", name);
            proc_flag(p, "--fabric-bridge", "%s", o->bridge);
            proc_flag(p, "--fabric-gateway", "%s.1/24", o->fabric);
            /* the node's Service rules */
            proc_flag(p, "--service-cidr", "%s", o->service_cidr);
            proc_flag(p, "--cluster-cidr", "%s", o->cluster_cidr);
            if (dns_ip[0]) {
                proc_flag(p, "--cluster-dns", "%s", dns_ip);
            }
        } else {
            proc_flag(p, "--kubelet-port", "%d", 10250 + i);
        }
    }

    /* the cluster DNS server on the fabric's address, behind the kube-dns Service (pods
     * reach it through their node's Service rules) */
    if (oci && dns_ip[0]) {
        p = proc_add(u, "dns", 0);
        proc_arg(p, "dns");
        proc_flag(p, "--master", "http://127.0.0.1:%d", o->port);
        proc_flag(p, "--listen", "%s.1:53", o->fabric);
        proc_flag(p, "--service-ip", "%s", dns_ip);
    }

    if (o->ingress) {
        p = proc_add(u, "ingress", 0);
        proc_arg(p, "ingress");
        proc_flag(p, "--master", "http://127.0.0.1:%d", o->port);
        if (!strcmp(o->runtime, "oci")) {
            proc_flag(p, "--listen", "%s.1:%d", o->fabric, o->ingress_port);
            proc_flag(p, "--publish-address", "%s.1", o->fabric);
        } else {
            proc_flag(p, "--listen", "127.0.0.1:%d", o->ingress_port);
            proc_flag(p, "--publish-address", "127.0.0.1");
        }
    }
}

static struct up_proc *proc_named(struct up *u, const char *name)
{
    for (int i = 0; i < u->nprocs; i++)
        if (!strcmp(u->procs[i].name, name))
            return &u->procs[i];
    return NULL;
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* The text printed once the cluster is up. */
static void summary(const struct up *u, FILE *f, int ready, double secs)
{
    const struct up_options *o = &u->o;
    fprintf(f, "kubec is up: %d of %d worker nodes Ready in %.2f s (%s runtime)\n", ready, o->nodes,
            secs, o->runtime);
    fprintf(f,
            "  apiserver   https://127.0.0.1:%d (HTTP/2, client certificates), plain HTTP on "
            "127.0.0.1:%d\n",
            o->secure_port, o->port);
    if (o->ingress) {
        if (!strcmp(o->runtime, "oci"))
            fprintf(f, "  ingress     http://%s.1%s%.0d (the ADDRESS of `kubectl get ingress`)\n",
                    o->fabric, o->ingress_port == 80 ? "" : ":",
                    o->ingress_port == 80 ? 0 : o->ingress_port);
        else
            fprintf(f, "  ingress     http://127.0.0.1:%d\n", o->ingress_port);
    }
    char dns_ip[64];
    dns_service_ip(o->service_cidr, dns_ip, sizeof dns_ip);
    if (!strcmp(o->runtime, "oci") && dns_ip[0])
        fprintf(f, "  dns         %s (kube-system/kube-dns; the server on %s.1:53)\n", dns_ip,
                o->fabric);
    if (!strcmp(o->runtime, "oci"))
        fprintf(f, "  nodes       %s1..%s%d at %s.11..%s.%d (network namespaces kubec-%sN)\n",
                o->node_prefix, o->node_prefix, o->nodes, o->fabric, o->fabric, 10 + o->nodes,
                o->node_prefix);
    fprintf(f, "  logs        %s/<component>.log\n", o->data_dir);
    fprintf(f, "\n  export KUBECONFIG=%s/kubeconfig\n  kubectl get nodes\n\n", o->data_dir);
    if (o->detach)
        fprintf(f, "Stop it with `%s down --data-dir %s` (`make down` in a checkout).\n", u->self,
                o->data_dir);
    else
        fprintf(f, "Ctrl-C stops the cluster; `kubec up` again resumes it.\n");
}

/* Runs the cluster. notify: where to say "ok\n<summary>" or "error\n<why>" once up (-1:
 * stdout). Returns the exit status. */
static int supervise(struct up *u, int notify)
{
    char path[600], err[256] = "";
    int ret = 1, ready = 0;
    struct kc_client *c = NULL;
    double t0 = now_s();

    data_path(u, path, sizeof path, "up", ".pid");
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
    }
    plan(u);
    /* what a later `kubec up` on this directory needs to wait for the same nodes */
    data_path(u, path, sizeof path, "up", ".json");
    json_t *saved = json_pack("{s:i, s:i, s:s}", "port", u->o.port, "nodes", u->o.nodes,
                              "nodePrefix", u->o.node_prefix); /* owned */
    if (saved)
        json_dump_file(saved, path, 0);
    json_decref(saved);

    /* the demo image, built once into the data directory while the rest starts */
    snprintf(path, sizeof path, "%s/layouts/demo/index.json", u->o.data_dir);
    if (!file_exists(path)) {
        char layout[600];
        snprintf(layout, sizeof layout, "%s/layouts/demo", u->o.data_dir);
        char *argv[] = {u->self, "image", "build-demo", "--layout", layout, NULL};
        u->builder = spawn_logged(u, argv, "image");
        if (u->builder < 0)
            u->builder = 0;
    }

    if (proc_start(u, proc_named(u, "apiserver")) != 0)
        goto fail;
    double end = now_s() + 20;
    snprintf(path, sizeof path, "%s/controller-manager.kubeconfig", u->o.data_dir);
    while (!apiserver_healthy(u->o.port) || !file_exists(path)) {
        if (u->stopping || now_s() > end || !proc_named(u, "apiserver")->pid) {
            snprintf(err, sizeof err, "the apiserver did not come up (see %s/apiserver.log)",
                     u->o.data_dir);
            goto fail;
        }
        take_signal(u, 10);
    }
    for (int i = 0; i < u->nprocs; i++)
        if (!is_apiserver(&u->procs[i]) && !is_ingress(&u->procs[i]) &&
            proc_start(u, &u->procs[i]) != 0)
            goto fail;

    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", u->o.port);
    if (kc_client_new_url(url, &c, err, sizeof err) != 0)
        goto fail;
    kc_client_set_user_agent(c, "kubec-up/0.1");
    if (wait_nodes(u, c, &ready) != 0) {
        snprintf(err, sizeof err, "%d of %d nodes Ready after %d s (see %s/nodeN.log)", ready,
                 u->o.nodes, u->o.ready_timeout_s, u->o.data_dir);
        goto fail;
    }
    double secs = now_s() - t0;
    /* the fabric's address exists once a node made the bridge */
    for (int i = 0; i < u->nprocs; i++)
        if (is_ingress(&u->procs[i]) && proc_start(u, &u->procs[i]) != 0)
            goto fail;
    while (u->builder && !u->stopping)
        take_signal(u, 50); /* reap() takes its status */
    if (u->stopping)
        goto fail;
    {
        int st = u->builder_status;
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            snprintf(err, sizeof err, "building the demo image failed (see %s/image.log)",
                     u->o.data_dir);
            goto fail;
        }
    }

    if (notify >= 0) {
        FILE *nf = fdopen(dup(notify), "w");
        if (nf) {
            fprintf(nf, "ok\n");
            summary(u, nf, ready, secs);
            fclose(nf);
        }
        close(notify);
        notify = -1;
    } else {
        summary(u, stdout, ready, secs);
        fflush(stdout);
    }

    /* supervise until told to stop */
    while (!u->stopping) {
        int sig = take_signal(u, 1000);
        if (sig == SIGHUP) {
            for (int i = 0; i < u->nprocs; i++)
                if (!u->procs[i].pid) {
                    printf("kubec up: starting %s again\n", u->procs[i].name);
                    proc_start(u, &u->procs[i]);
                }
            fflush(stdout);
        }
    }
    printf("kubec up: stopping the cluster\n");
    fflush(stdout);
    shutdown_cluster(u);
    ret = 0;
    goto out;

fail:
    if (notify >= 0) {
        FILE *nf = fdopen(dup(notify), "w");
        if (nf) {
            fprintf(nf, "error\n%s\n", err[0] ? err : "stopped");
            fclose(nf);
        }
        close(notify);
    } else {
        fprintf(stderr, "kubec up: %s\n", err[0] ? err : "stopped");
    }
    shutdown_cluster(u);
    if (u->builder) {
        kill(u->builder, SIGKILL);
        waitpid(u->builder, NULL, 0);
    }
out:
    if (c)
        kc_client_free(c);
    data_path(u, path, sizeof path, "up", ".pid");
    unlink(path);
    for (int i = 0; i < u->nprocs; i++)
        proc_free(&u->procs[i]);
    return ret;
}

static void up_usage(FILE *f)
{
    fprintf(f,
            "usage: kubec up [flags]\n\n"
            "Starts a whole cluster: the apiserver (LMDB in the data directory), the controller\n"
            "manager, the scheduler, worker node agents and the ingress controller. A second\n"
            "`kubec up` on the same data directory resumes the same cluster (or, while it runs,\n"
            "starts again what exited).\n\n"
            "flags:\n"
            "  --data-dir DIR                      (./kubec-data)\n"
            "  --nodes N                           worker nodes (5)\n"
            "  --runtime oci|process               oci (crun, each node a network namespace)\n"
            "                                      as root with crun; process otherwise\n"
            "  -d, --detach                        run in the background; `kubec down` stops it\n"
            "  --port N                            plain HTTP on 127.0.0.1 (8080)\n"
            "  --secure-port N                     HTTPS with HTTP/2 (6443)\n"
            "  --ingress-port N                    the ingress controller's port (80 as root\n"
            "                                      with oci, on the fabric's address; else 8081\n"
            "                                      on 127.0.0.1); 0: no ingress controller\n"
            "  --fabric A.B.C                      the nodes' /24 (10.250.0: host .1, nodeN .1N)\n"
            "  --bridge NAME                       the host bridge joining the nodes (kubec0)\n"
            "  --node-prefix P                     node names P1..PN (node)\n"
            "  --cluster-cidr CIDR                 the pods' addresses (10.244.0.0/16)\n"
            "  --service-cidr CIDR                 ClusterIPs (10.96.0.0/12)\n"
            "  --node-monitor-grace-period D       a silent node is NotReady after D (10s)\n"
            "  --pod-eviction-timeout N            then its pods move after N seconds (5)\n"
            "  --controllers-metrics-port N        (10257; 0: off)\n"
            "  --scheduler-metrics-port N          (10259; 0: off)\n"
            "  --ready-timeout N                   seconds to wait for the nodes (60)\n");
}

static const char *default_data_dir(char *buf, size_t len)
{
    char cwd[400];
    if (!getcwd(cwd, sizeof cwd))
        snprintf(cwd, sizeof cwd, ".");
    snprintf(buf, len, "%s/kubec-data", cwd);
    return buf;
}

/* Makes dir absolute (children run with other working directories in mind). */
static void absolute(char *dir, size_t len)
{
    if (dir[0] == '/')
        return;
    char cwd[400], tmp[512];
    if (!getcwd(cwd, sizeof cwd))
        return;
    snprintf(tmp, sizeof tmp, "%s/%s", cwd, dir);
    snprintf(dir, len, "%s", tmp);
}

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    char *e;
    long n = strtol(v, &e, 10);
    if (!*v || *e || n < lo || n > hi) {
        fprintf(stderr, "kubec up: bad value %s for %s\n", v, flag);
        return -1;
    }
    *out = (int)n;
    return 0;
}

static bool have_crun(void)
{
    const char *path = getenv("PATH");
    char buf[1024], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path ? path : "/usr/bin:/bin");
    for (char *d = strtok_r(buf, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char p[1100];
        snprintf(p, sizeof p, "%s/crun", d);
        if (access(p, X_OK) == 0)
            return true;
    }
    return false;
}

int kc_up_main(int argc, char **argv)
{
    static struct up u; /* large; one per process */
    struct up_options *o = &u.o;
    memset(&u, 0, sizeof u);
    default_data_dir(o->data_dir, sizeof o->data_dir);
    o->nodes = 5;
    o->port = 8080;
    o->secure_port = 6443;
    o->ingress_port = -1;
    o->fabric = "10.250.0";
    o->bridge = "kubec0";
    o->node_prefix = "node";
    o->cluster_cidr = "10.244.0.0/16";
    o->service_cidr = "10.96.0.0/12";
    o->node_grace_ms = 10000;
    o->eviction_seconds = 5;
    o->controllers_metrics = 10257;
    o->scheduler_metrics = 10259;
    o->ingress = true;
    o->ready_timeout_s = 60;

    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *a = argv[i], *v = NULL, *eq;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            up_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "-d") || !strcmp(a, "--detach")) {
            o->detach = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            fprintf(stderr, "kubec up: unexpected argument %s\n", a);
            return 2;
        }
        if ((eq = strchr(a, '='))) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            v = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
            if (i + 1 >= argc) {
                fprintf(stderr, "kubec up: flag %s needs a value\n", a);
                return 2;
            }
            v = argv[++i];
        }
        int rc = 0;
        if (!strcmp(name, "--data-dir"))
            snprintf(o->data_dir, sizeof o->data_dir, "%s", v);
        else if (!strcmp(name, "--nodes"))
            rc = parse_int(name, v, 0, UP_MAX_NODES, &o->nodes);
        else if (!strcmp(name, "--runtime")) {
            o->runtime = v;
            if (strcmp(v, "oci") && strcmp(v, "process")) {
                fprintf(stderr, "kubec up: --runtime is oci or process\n");
                rc = -1;
            }
        } else if (!strcmp(name, "--port"))
            rc = parse_int(name, v, 1, 65535, &o->port);
        else if (!strcmp(name, "--secure-port"))
            rc = parse_int(name, v, 1, 65535, &o->secure_port);
        else if (!strcmp(name, "--ingress-port"))
            rc = parse_int(name, v, 0, 65535, &o->ingress_port);
        else if (!strcmp(name, "--fabric"))
            o->fabric = v;
        else if (!strcmp(name, "--bridge"))
            o->bridge = v;
        else if (!strcmp(name, "--node-prefix"))
            o->node_prefix = v;
        else if (!strcmp(name, "--cluster-cidr"))
            o->cluster_cidr = v;
        else if (!strcmp(name, "--service-cidr"))
            o->service_cidr = v;
        else if (!strcmp(name, "--node-monitor-grace-period")) {
            o->node_grace_ms = kc_duration_parse_ms(v);
            if (o->node_grace_ms < 1000) {
                fprintf(stderr, "kubec up: --node-monitor-grace-period must be at least 1s\n");
                rc = -1;
            }
        } else if (!strcmp(name, "--pod-eviction-timeout"))
            rc = parse_int(name, v, 0, 86400, &o->eviction_seconds);
        else if (!strcmp(name, "--controllers-metrics-port"))
            rc = parse_int(name, v, 0, 65535, &o->controllers_metrics);
        else if (!strcmp(name, "--scheduler-metrics-port"))
            rc = parse_int(name, v, 0, 65535, &o->scheduler_metrics);
        else if (!strcmp(name, "--ready-timeout"))
            rc = parse_int(name, v, 1, 3600, &o->ready_timeout_s);
        else {
            fprintf(stderr, "kubec up: unknown flag %s\n\n", name);
            up_usage(stderr);
            return 2;
        }
        if (rc != 0)
            return 2;
    }
    absolute(o->data_dir, sizeof o->data_dir);
    if (!o->runtime)
        o->runtime = geteuid() == 0 && have_crun() ? "oci" : "process";
    if (!strcmp(o->runtime, "oci") && geteuid() != 0) {
        fprintf(stderr, "kubec up: the oci runtime needs root (--runtime process runs without)\n");
        return 2;
    }
    if (o->ingress_port < 0)
        o->ingress_port = !strcmp(o->runtime, "oci") ? 80 : 8081;
    o->ingress = o->ingress_port > 0;
    ssize_t n = readlink("/proc/self/exe", u.self, sizeof u.self - 1);
    if (n <= 0) {
        fprintf(stderr, "kubec up: cannot find its own binary\n");
        return 1;
    }
    u.self[n] = 0;
    if (mkdir(o->data_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "kubec up: %s: %s\n", o->data_dir, strerror(errno));
        return 1;
    }

    /* a supervisor already runs on this data directory: it starts what exited */
    pid_t running = read_pidfile(o->data_dir, "up");
    if (running) {
        printf("kubec up: already running (pid %d); starting what exited\n", (int)running);
        char path[600];
        data_path(&u, path, sizeof path, "up", ".json");
        json_t *saved = json_load_file(path, 0, NULL); /* owned; its strings outlive plan() */
        if (saved) {
            o->port = (int)json_integer_value(json_object_get(saved, "port")) ?: o->port;
            o->nodes = (int)json_integer_value(json_object_get(saved, "nodes"));
            o->node_prefix = kc_json_str(saved, "nodePrefix") ?: o->node_prefix;
        }
        fflush(stdout);
        kill(running, SIGHUP);
        struct kc_client *c = NULL;
        char url[64], err[256];
        int ready = 0;
        snprintf(url, sizeof url, "http://127.0.0.1:%d", o->port);
        if (kc_client_new_url(url, &c, err, sizeof err) != 0) {
            fprintf(stderr, "kubec up: %s\n", err);
            return 1;
        }
        sigemptyset(&u.sigs);
        sigaddset(&u.sigs, SIGINT);
        sigaddset(&u.sigs, SIGTERM);
        sigprocmask(SIG_BLOCK, &u.sigs, NULL);
        plan(&u);
        double t0 = now_s();
        int rc = wait_nodes(&u, c, &ready);
        printf("kubec up: %d of %d worker nodes Ready (%.2f s)\n", ready, o->nodes, now_s() - t0);
        kc_client_free(c);
        for (int i = 0; i < u.nprocs; i++)
            proc_free(&u.procs[i]);
        json_decref(saved);
        return rc == 0 ? 0 : 1;
    }

    sigemptyset(&u.sigs);
    sigaddset(&u.sigs, SIGINT);
    sigaddset(&u.sigs, SIGTERM);
    sigaddset(&u.sigs, SIGHUP);
    sigaddset(&u.sigs, SIGCHLD);
    sigprocmask(SIG_BLOCK, &u.sigs, NULL);

    if (!o->detach)
        return supervise(&u, -1);

    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) /* the children must not hold it open */
        return 1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        close(p[0]);
        setsid();
        char log[600];
        data_path(&u, log, sizeof log, "up", ".log");
        int in = open("/dev/null", O_RDONLY);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (in >= 0)
            dup2(in, 0);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        _exit(supervise(&u, p[1]));
    }
    close(p[1]);
    /* the background supervisor says how the start went */
    FILE *f = fdopen(p[0], "r");
    char line[1024];
    int ret = 1;
    if (f && fgets(line, sizeof line, f)) {
        bool ok = !strcmp(line, "ok\n");
        while (fgets(line, sizeof line, f))
            fputs(line, ok ? stdout : stderr);
        ret = ok ? 0 : 1;
        if (!ok)
            fprintf(stderr, "kubec up: failed (see %s/up.log)\n", o->data_dir);
    } else {
        fprintf(stderr, "kubec up: the supervisor ended early (see %s/up.log)\n", o->data_dir);
    }
    if (f)
        fclose(f);
    return ret;
}

int kc_down_main(int argc, char **argv)
{
    char dir[512];
    default_data_dir(dir, sizeof dir);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: kubec down [--data-dir DIR]\n\nStops the cluster `kubec up --detach` "
                   "started on DIR (./kubec-data): the\nnodes' containers, namespaces and routes "
                   "are removed; the data stays, and the\nnext `kubec up` resumes the cluster.\n");
            return 0;
        }
        if (!strcmp(argv[i], "--data-dir") && i + 1 < argc)
            snprintf(dir, sizeof dir, "%s", argv[++i]);
        else if (!strncmp(argv[i], "--data-dir=", 11))
            snprintf(dir, sizeof dir, "%s", argv[i] + 11);
        else {
            fprintf(stderr, "kubec down: unexpected argument %s\n", argv[i]);
            return 2;
        }
    }
    absolute(dir, sizeof dir);
    pid_t pid = read_pidfile(dir, "up");
    if (!pid) {
        printf("kubec is not running on %s\n", dir);
        return 0;
    }
    kill(pid, SIGTERM);
    double end = now_s() + 120;
    while (kill(pid, 0) == 0) {
        if (now_s() > end) {
            fprintf(stderr, "kubec down: pid %d still runs after 120 s\n", (int)pid);
            return 1;
        }
        usleep(50000);
    }
    printf("kubec stopped (data kept in %s)\n", dir);
    return 0;
}
