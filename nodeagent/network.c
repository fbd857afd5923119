/* See network.h. */
#include "nodeagent/network.h"

#include "nodeagent/cmd.h"

#include "nodeagent/logserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long hash(const char *s)
{
    unsigned long h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

void kc_netnode_init(struct kc_netnode *n, const char *netns, const char *bridge,
                     const char *gateway, const char *node_ip)
{
    memset(n, 0, sizeof *n);
    snprintf(n->netns, sizeof n->netns, "%s", netns);
    snprintf(n->bridge, sizeof n->bridge, "%s", bridge);
    snprintf(n->gateway, sizeof n->gateway, "%s", gateway);
    snprintf(n->node_ip, sizeof n->node_ip, "%s", node_ip);
    /* interface names have at most 15 characters */
    snprintf(n->host_veth, sizeof n->host_veth, "kcn%08lx", hash(netns) & 0xffffffffUL);
}

/* Runs `ip [-n ns] -batch -` with the given lines. */
static int ip_batch(const char *ns, const char *lines, char *err, size_t errlen)
{
    char *argv[8];
    int i = 0;
    argv[i++] = "ip";
    if (ns) {
        argv[i++] = "-n";
        argv[i++] = (char *)ns;
    }
    argv[i++] = "-batch";
    argv[i++] = "-";
    argv[i] = NULL;
    char out[1024];
    int rc = kc_cmd_run(argv, lines, out, sizeof out, 10000);
    if (rc != 0 && err)
        snprintf(err, errlen, "ip: %s", out[0] ? out : "failed");
    return rc == 0 ? 0 : -1;
}

static int ip1(char *const argv[])
{
    return kc_cmd_run(argv, NULL, NULL, 0, 10000);
}

static int link_exists(const char *ns, const char *dev)
{
    char *argv[] = {"ip", "-n", (char *)ns, "link", "show", (char *)dev, NULL};
    char *argv_host[] = {"ip", "link", "show", (char *)dev, NULL};
    return ip1(ns ? argv : argv_host) == 0;
}

/* Writes a sysctl inside namespace ns (ip netns exec's remount of /sys only concerns
 * that short-lived child). */
static int ns_sysctl(const char *ns, const char *path, const char *value)
{
    char script[256];
    snprintf(script, sizeof script, "echo %s > %s", value, path);
    char *argv[] = {"ip", "netns", "exec", (char *)ns, "sh", "-c", script, NULL};
    return ip1(argv);
}

int kc_netnode_up(struct kc_netnode *n, char *err, size_t errlen)
{
    char path[128];
    struct stat st;
    snprintf(path, sizeof path, "/run/netns/%s", n->netns);
    if (stat(path, &st) != 0) {
        char *add[] = {"ip", "netns", "add", n->netns, NULL};
        if (ip1(add) != 0) {
            snprintf(err, errlen, "cannot create network namespace %s", n->netns);
            return -1;
        }
    }
    char lines[1024];
    if (!link_exists(NULL, n->bridge)) {
        snprintf(lines, sizeof lines,
                 "link add %s type bridge\naddr add %s dev %s\nlink set %s up\n", n->bridge,
                 n->gateway, n->bridge, n->bridge);
        if (ip_batch(NULL, lines, err, errlen) != 0 && !link_exists(NULL, n->bridge))
            return -1; /* another agent may have made it at the same time */
    }
    if (!link_exists(NULL, n->host_veth)) {
        const char *slash = strchr(n->gateway, '/');
        snprintf(lines, sizeof lines,
                 "link add %s type veth peer name eth0 netns %s\n"
                 "link set %s master %s\nlink set %s up\n",
                 n->host_veth, n->netns, n->host_veth, n->bridge, n->host_veth);
        if (ip_batch(NULL, lines, err, errlen) != 0)
            return -1;
        snprintf(lines, sizeof lines, "addr add %s%s dev eth0\nlink set eth0 up\nlink set lo up\n",
                 n->node_ip, slash ? slash : "/24");
        if (ip_batch(n->netns, lines, err, errlen) != 0)
            return -1;
    }
    ns_sysctl(n->netns, "/proc/sys/net/ipv4/ip_forward", "1");
    return 0;
}

int kc_netnode_set_pod_cidr(struct kc_netnode *n, const char *cidr, char *err, size_t errlen)
{
    if (!cidr || strcmp(cidr, n->pod_cidr) == 0)
        return 0;
    char net[48];
    int prefix = 24;
    if (sscanf(cidr, "%47[0-9.]/%d", net, &prefix) != 2) {
        snprintf(err, errlen, "bad pod CIDR %s", cidr);
        return -1;
    }
    struct in_addr a;
    if (inet_pton(AF_INET, net, &a) != 1) {
        snprintf(err, errlen, "bad pod CIDR %s", cidr);
        return -1;
    }
    a.s_addr = htonl(ntohl(a.s_addr) + 1);
    char gw[48];
    inet_ntop(AF_INET, &a, gw, sizeof gw);
    char lines[512];
    if (!link_exists(n->netns, "cni0")) {
        snprintf(lines, sizeof lines,
                 "link add cni0 type bridge\naddr add %s/%d dev cni0\nlink set cni0 up\n", gw,
                 prefix);
        if (ip_batch(n->netns, lines, err, errlen) != 0)
            return -1;
    }
    char *route[] = {"ip", "route", "replace", (char *)cidr, "via", n->node_ip, NULL};
    if (ip1(route) != 0) {
        snprintf(err, errlen, "cannot route %s via %s", cidr, n->node_ip);
        return -1;
    }
    snprintf(n->pod_cidr, sizeof n->pod_cidr, "%s", cidr);
    return 0;
}

int kc_netnode_route(struct kc_netnode *n, const char *cidr, const char *via)
{
    char *argv[] = {"ip",         "-n",  n->netns,    "route", "replace",
                    (char *)cidr, "via", (char *)via, NULL};
    return ip1(argv);
}

int kc_netnode_run(struct kc_netnode *n, char *const argv[], const char *input, char *out,
                   size_t outlen, int timeout_ms)
{
    char nsarg[128];
    char *full[40];
    int k = 0;
    snprintf(nsarg, sizeof nsarg, "--net=/run/netns/%s", n->netns);
    full[k++] = "nsenter";
    full[k++] = nsarg;
    full[k++] = "--";
    for (int i = 0; argv[i] && k < 39; i++)
        full[k++] = argv[i];
    full[k] = NULL;
    return kc_cmd_run(full, input, out, outlen, timeout_ms);
}

int kc_netnode_service_prereq(struct kc_netnode *n, const char *service_cidr, char *err,
                              size_t errlen)
{
    struct stat st;
    if (stat("/proc/sys/net/bridge", &st) != 0) {
        /* built in on some kernels, a module on others */
        char *mp[] = {"modprobe", "br_netfilter", NULL};
        kc_cmd_run(mp, NULL, NULL, 0, 10000);
        if (stat("/proc/sys/net/bridge", &st) != 0) {
            snprintf(err, errlen,
                     "no /proc/sys/net/bridge (br_netfilter not loaded, and `modprobe "
                     "br_netfilter` failed): a pod reaching another pod of its node through "
                     "a ClusterIP will fail");
            return -1;
        }
    }
    /* /proc/sys/net is the namespace of the process that opens it */
    char *nf[] = {"sh", "-c", "echo 1 > /proc/sys/net/bridge/bridge-nf-call-iptables", NULL};
    if (kc_netnode_run(n, nf, NULL, NULL, 0, 10000) != 0) {
        snprintf(err, errlen, "cannot set net.bridge.bridge-nf-call-iptables in %s", n->netns);
        return -1;
    }
    if (!link_exists(n->netns, "cni0"))
        return 1;
    char *rt[] = {"ip",  "-n",   n->netns, "route", "replace", (char *)service_cidr,
                  "dev", "cni0", NULL};
    if (ip1(rt) != 0) {
        snprintf(err, errlen, "cannot route %s on cni0 in %s", service_cidr, n->netns);
        return -1;
    }
    char out[512];
    char *show[] = {"ip", "route", "show", "exact", (char *)service_cidr, NULL};
    if (kc_cmd_run(show, NULL, out, sizeof out, 10000) == 0 && !out[0]) {
        /* fails harmlessly when another node's agent got there first */
        char *add[] = {"ip", "route", "add", (char *)service_cidr, "via", n->node_ip, NULL};
        ip1(add);
    }
    return 0;
}

void kc_netnode_service_route_down(struct kc_netnode *n, const char *service_cidr)
{
    /* only matches (and so only removes) a route via this node */
    char *del[] = {"ip", "route", "del", (char *)service_cidr, "via", n->node_ip, NULL};
    ip1(del);
}

void kc_netnode_down(struct kc_netnode *n)
{
    /* host routes through the node go first: `ip route show` lists them */
    char out[8192];
    char *show[] = {"ip", "route", "show", NULL};
    if (kc_cmd_run(show, NULL, out, sizeof out, 10000) == 0) {
        char needle[64];
        snprintf(needle, sizeof needle, " via %s ", n->node_ip);
        for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
            if (!strstr(line, needle))
                continue;
            char dst[64];
            if (sscanf(line, "%63s", dst) == 1) {
                char *del[] = {"ip", "route", "del", dst, "via", n->node_ip, NULL};
                ip1(del);
            }
        }
    }
    char *dl[] = {"ip", "link", "del", n->host_veth, NULL};
    ip1(dl);
    char *dn[] = {"ip", "netns", "del", n->netns, NULL};
    ip1(dn);
}

static void pod_veth(const char *uid, char *out, size_t len)
{
    snprintf(out, len, "kp%010lx", hash(uid) & 0xffffffffffUL);
}

int kc_netpod_up(struct kc_netnode *n, const char *netns, const char *uid, const char *ip,
                 char *err, size_t errlen)
{
    if (!n->pod_cidr[0]) {
        snprintf(err, errlen, "the node has no pod CIDR yet");
        return -1;
    }
    char veth[16];
    pod_veth(uid, veth, sizeof veth);
    int prefix = 24;
    const char *slash = strchr(n->pod_cidr, '/');
    if (slash)
        prefix = atoi(slash + 1);
    char net[48];
    snprintf(net, sizeof net, "%.*s", (int)(slash ? slash - n->pod_cidr : 0), n->pod_cidr);
    struct in_addr a;
    inet_pton(AF_INET, net, &a);
    a.s_addr = htonl(ntohl(a.s_addr) + 1);
    char gw[48];
    inet_ntop(AF_INET, &a, gw, sizeof gw);
    char lines[1024];
    if (!link_exists(n->netns, veth)) {
        snprintf(lines, sizeof lines,
                 "link add %s type veth peer name eth0 netns %s\n"
                 "link set %s master cni0\nlink set %s type bridge_slave hairpin on\n"
                 "link set %s up\n",
                 veth, netns, veth, veth, veth);
        if (ip_batch(n->netns, lines, err, errlen) != 0)
            return -1;
    }
    /* The MAC follows from the IP (0a:58 and the address, as OVN-Kubernetes does): a pod
     * that gets the address of a deleted one gets its MAC too, so the node's neighbour
     * entry for that IP stays right. With a random MAC, traffic to the reused address went
     * to the old MAC until the entry was probed again, seconds later. */
    struct in_addr pa;
    unsigned char *b = (unsigned char *)&pa.s_addr;
    if (inet_pton(AF_INET, ip, &pa) != 1) {
        snprintf(err, errlen, "bad pod IP %s", ip);
        return -1;
    }
    snprintf(lines, sizeof lines,
             "link set eth0 address 0a:58:%02x:%02x:%02x:%02x\n"
             "addr replace %s/%d dev eth0\nlink set eth0 up\nlink set lo up\n"
             "route replace default via %s\n",
             b[0], b[1], b[2], b[3], ip, prefix, gw);
    return ip_batch(netns, lines, err, errlen);
}

void kc_netpod_down(struct kc_netnode *n, const char *uid)
{
    char veth[16];
    pod_veth(uid, veth, sizeof veth);
    char *argv[] = {"ip", "-n", n->netns, "link", "del", veth, NULL};
    ip1(argv);
}

struct listen_job {
    const char *path, *addr;
    int port, fd, err;
};

/* On a thread of its own: setns changes only the calling thread, which then ends. */
static void *listen_in_ns(void *arg)
{
    struct listen_job *j = arg;
    int ns = open(j->path, O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
        j->err = errno;
        if (ns >= 0)
            close(ns);
        return NULL;
    }
    close(ns);
    j->fd = kc_logserver_listen(j->addr, j->port);
    j->err = errno;
    return NULL;
}

int kc_netnode_listen(struct kc_netnode *n, const char *addr, int port)
{
    char path[128];
    snprintf(path, sizeof path, "/run/netns/%s", n->netns);
    struct listen_job j = {path, addr, port, -1, 0};
    pthread_t t;
    if (pthread_create(&t, NULL, listen_in_ns, &j) != 0)
        return -1;
    pthread_join(t, NULL);
    if (j.fd < 0)
        errno = j.err;
    return j.fd;
}
