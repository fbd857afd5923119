/* `kubec dns`: the cluster DNS server (kube-dns/CoreDNS's role for the names the Kubernetes
 * DNS specification defines). It answers over UDP and TCP from the informers' caches of
 * Services and Endpoints, and with --service-ip it registers itself as the Service
 * kube-system/kube-dns (that ClusterIP, no selector) with Endpoints naming its own address,
 * so pods whose resolv.conf names the ClusterIP reach it through the Service rules. */
#include "dns/dns_msg.h"
#include "dns/dns_zone.h"

#include "client/client.h"
#include "client/component.h"
#include "client/informer.h"
#include "lib/jsonx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int kc_dns_main(int argc, char **argv);

#define DNS_TTL 5 /* seconds, CoreDNS's kubernetes plugin default */
#define MAX_TCP 64

struct dns {
    struct kc_informer *services, *endpoints;
    const char *domain;
    int udp, tcp;
    atomic_bool stop;
    unsigned long queries;
};

struct tcp_conn {
    int fd;
    uint8_t buf[2 + 65535];
    size_t have;
    double last;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static json_t *get_service(void *ctx, const char *ns, const char *name)
{
    return kc_informer_get_ns(((struct dns *)ctx)->services, ns, name);
}

static json_t *get_endpoints(void *ctx, const char *ns, const char *name)
{
    return kc_informer_get_ns(((struct dns *)ctx)->endpoints, ns, name);
}

/* The answer to one message; its length (0: none). */
static size_t answer(struct dns *d, const uint8_t *in, size_t len, uint8_t *out, size_t outlen)
{
    struct kc_dns_query q;
    int rc = kc_dns_parse_query(in, len, &q);
    uint32_t ips[64];
    size_t n = 0;
    if (rc < 0)
        return 0;
    d->queries++;
    if (rc == 0) {
        if (q.qclass != KC_DNS_CLASS_IN && q.qclass != 255)
            rc = KC_DNS_REFUSED;
        else {
            struct kc_dns_source src = {get_service, get_endpoints, d};
            rc = kc_dns_resolve(&src, d->domain, q.name, q.qtype, ips, 64, &n);
        }
    }
    return kc_dns_build_answer(&q, rc, ips, n, DNS_TTL, out, outlen);
}

static int listen_on(const char *addr, int port, int type)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;
    if (inet_pton(AF_INET, addr, &a.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    /* the address may appear a little later (a bridge being made) */
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        (type == SOCK_STREAM && listen(fd, 64) != 0)) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Reads what a TCP client sent; answers each complete message. -1: close it. */
static int tcp_read(struct dns *d, struct tcp_conn *c)
{
    ssize_t r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
        return -1;
    if (r < 0)
        return 0;
    c->have += (size_t)r;
    c->last = now_s();
    while (c->have >= 2) {
        size_t mlen = (size_t)c->buf[0] << 8 | c->buf[1];
        if (c->have < 2 + mlen)
            break;
        uint8_t out[2 + 4096];
        size_t n = answer(d, c->buf + 2, mlen, out + 2, sizeof out - 2);
        if (n) {
            out[0] = (uint8_t)(n >> 8);
            out[1] = (uint8_t)n;
            /* answers are small: one blocking-free write, or the client is too slow */
            if (write(c->fd, out, n + 2) != (ssize_t)(n + 2))
                return -1;
        }
        memmove(c->buf, c->buf + 2 + mlen, c->have - 2 - mlen);
        c->have -= 2 + mlen;
    }
    return 0;
}

static void *serve(void *arg)
{
    struct dns *d = arg;
    static struct tcp_conn conns[MAX_TCP]; /* one server per process */
    int nconn = 0;
    while (!atomic_load(&d->stop)) {
        struct pollfd pf[2 + MAX_TCP];
        pf[0] = (struct pollfd){d->udp, POLLIN, 0};
        pf[1] = (struct pollfd){d->tcp, POLLIN, 0};
        for (int i = 0; i < nconn; i++)
            pf[2 + i] = (struct pollfd){conns[i].fd, POLLIN, 0};
        if (poll(pf, (nfds_t)(2 + nconn), 200) < 0 && errno != EINTR)
            break;
        if (pf[0].revents & POLLIN) {
            for (int k = 0; k < 64; k++) { /* a burst at a time */
                uint8_t in[4096], out[512];
                struct sockaddr_storage from;
                socklen_t fl = sizeof from;
                ssize_t r = recvfrom(d->udp, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
                if (r < 0)
                    break;
                /* a plain UDP answer is at most 512 bytes; beyond, TC sends it to TCP */
                size_t n = answer(d, in, (size_t)r, out, sizeof out);
                if (n)
                    sendto(d->udp, out, n, 0, (struct sockaddr *)&from, fl);
            }
        }
        if ((pf[1].revents & POLLIN) && nconn < MAX_TCP) {
            int fd = accept4(d->tcp, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd >= 0) {
                conns[nconn].fd = fd;
                conns[nconn].have = 0;
                conns[nconn].last = now_s();
                nconn++;
            }
        }
        double now = now_s();
        for (int i = 0; i < nconn; i++) {
            bool drop = now - conns[i].last > 10; /* idle TCP clients go */
            if (!drop && pf[2 + i].revents & (POLLIN | POLLHUP | POLLERR))
                drop = tcp_read(d, &conns[i]) != 0;
            if (drop) {
                close(conns[i].fd);
                conns[i] = conns[--nconn];
                i--;
            }
        }
    }
    for (int i = 0; i < nconn; i++)
        close(conns[i].fd);
    return NULL;
}

/* Creates or updates obj (a Service or Endpoints of kube-system) so it says what we want;
 * spec/subsets are ours, the rest (clusterIP once set) is the server's. */
static int ensure(struct kc_client *c, const struct kc_gvr *r, json_t *obj, const char *field)
{
    json_t *out = NULL; /* owned */
    /* an existing object first: creating a Service again is refused for its ClusterIP
     * (422, the address is allocated) before the name is found taken (409) */
    int code = kc_get(c, r, "kube-system", kc_json_str(obj, "metadata.name"), &out);
    if (code == 200)
        code = 409;
    else {
        json_decref(out);
        out = NULL;
        code = kc_create(c, r, "kube-system", obj, &out);
    }
    int ret = 0;
    if (code == 409) {
        json_decref(out);
        out = NULL;
        if (kc_get(c, r, "kube-system", kc_json_str(obj, "metadata.name"), &out) != 200) {
            ret = -1;
            goto done;
        }
        json_t *want = json_object_get(obj, field);
        if (!json_equal(want, json_object_get(out, field))) {
            json_object_set(out, field, want);
            json_t *res = NULL;
            ret = kc_update(c, r, "kube-system", out, NULL, &res) == 200 ? 0 : -1;
            json_decref(res);
        }
    } else if (code != 201) {
        ret = -1;
    }
done:
    if (ret != 0)
        fprintf(stderr, "dns: cannot register %s kube-system/%s\n", r->resource,
                kc_json_str(obj, "metadata.name"));
    json_decref(out);
    return ret;
}

static int register_service(struct kc_client *c, const char *service_ip, const char *advertise,
                            int port)
{
    json_t *svc = json_pack(
        "{s:s, s:s, s:{s:s, s:s, s:{s:s, s:s}}, s:{s:s, s:s, s:[{s:s, s:i, s:s, s:i}, {s:s, "
        "s:i, s:s, s:i}]}}",
        "apiVersion", "v1", "kind", "Service", "metadata", "name", "kube-dns", "namespace",
        "kube-system", "labels", "k8s-app", "kube-dns", "kubernetes.io/name", "KubeDNS", "spec",
        "type", "ClusterIP", "clusterIP", service_ip, "ports", "name", "dns", "port", 53,
        "protocol", "UDP", "targetPort", port, "name", "dns-tcp", "port", 53, "protocol", "TCP",
        "targetPort", port); /* owned */
    json_t *ep =
        json_pack("{s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:[{s:[{s:s}], s:[{s:s, s:i, s:s}, "
                  "{s:s, s:i, s:s}]}]}",
                  "apiVersion", "v1", "kind", "Endpoints", "metadata", "name", "kube-dns",
                  "namespace", "kube-system", "labels", "k8s-app", "kube-dns", "subsets",
                  "addresses", "ip", advertise, "ports", "name", "dns", "port", port, "protocol",
                  "UDP", "name", "dns-tcp", "port", port, "protocol", "TCP"); /* owned */
    int rc = svc && ep ? 0 : -1;
    /* the Service first: its spec is the port list only (the ClusterIP is immutable) */
    if (rc == 0 && ensure(c, &KC_GVR_SERVICES, svc, "spec") != 0)
        rc = -1;
    if (rc == 0 && ensure(c, &KC_GVR_ENDPOINTS, ep, "subsets") != 0)
        rc = -1;
    json_decref(svc);
    json_decref(ep);
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kubec dns (--kubeconfig FILE | --master URL) [flags]\n\n"
            "The cluster DNS server: <service>.<ns>.svc.<domain> and <a-b-c-d>.<ns>.pod.<domain>\n"
            "over UDP and TCP, from the Services and Endpoints of the cluster.\n\n"
            "  --listen ADDR:PORT              where to answer (0.0.0.0:53)\n"
            "  --cluster-domain DOMAIN         (cluster.local)\n"
            "  --service-ip IP                 register Service kube-system/kube-dns with\n"
            "                                  this ClusterIP and Endpoints naming\n"
            "  --advertise-address IP          this address (default: the listen address)\n");
    kc_component_usage(f, "kubec-dns");
}

int kc_dns_main(int argc, char **argv)
{
    struct kc_component_flags cf;
    kc_component_flags_init(&cf, "kubec-dns");
    cf.leader_elect = false;
    const char *listen_spec = "0.0.0.0:53", *service_ip = NULL, *advertise = NULL;
    static struct dns d; /* one per process */
    struct kc_client *c = NULL;
    pthread_t thread;
    bool serving = false;
    int rc = 1;
    d.domain = "cluster.local";
    d.udp = d.tcp = -1;
    for (int i = 1; i < argc; i++) {
        char name[64];
        const char *val;
        int r = kc_flag_next("dns", argc, argv, &i, name, sizeof name, &val);
        if (r == 1) {
            usage(stdout);
            return 0;
        }
        if (r < 0)
            return 2;
        r = kc_component_flag("dns", &cf, name, val);
        if (r < 0)
            return 2;
        if (r == 1)
            continue;
        if (!strcmp(name, "listen"))
            listen_spec = val;
        else if (!strcmp(name, "cluster-domain"))
            d.domain = val;
        else if (!strcmp(name, "service-ip"))
            service_ip = val;
        else if (!strcmp(name, "advertise-address"))
            advertise = val;
        else {
            fprintf(stderr, "dns: unknown flag --%s (see --help)\n", name);
            return 2;
        }
    }
    char addr[64];
    const char *colon = strrchr(listen_spec, ':');
    int port = colon ? atoi(colon + 1) : 0;
    if (!colon || port <= 0 || port > 65535 || (size_t)(colon - listen_spec) >= sizeof addr) {
        fprintf(stderr, "dns: --listen wants ADDR:PORT\n");
        return 2;
    }
    snprintf(addr, sizeof addr, "%.*s", (int)(colon - listen_spec), listen_spec);
    if (!advertise)
        advertise = addr;
    kc_component_block_signals();
    d.udp = listen_on(addr, port, SOCK_DGRAM);
    d.tcp = listen_on(addr, port, SOCK_STREAM);
    if (d.udp < 0 || d.tcp < 0) {
        fprintf(stderr, "dns: cannot listen on %s: %s\n", listen_spec, strerror(errno));
        goto out;
    }
    if (kc_component_connect("dns", &cf, "kubec-dns/0.1", &c) != 0)
        goto out;
    d.services = kc_informer_new(c, &KC_GVR_SERVICES, NULL, NULL, NULL);
    d.endpoints = kc_informer_new(c, &KC_GVR_ENDPOINTS, NULL, NULL, NULL);
    if (!d.services || !d.endpoints || kc_informer_start(d.services) != 0 ||
        kc_informer_start(d.endpoints) != 0)
        goto out;
    if (service_ip && register_service(c, service_ip, advertise, port) != 0)
        goto out;
    while (!kc_informer_wait_synced(d.services, 1000) ||
           !kc_informer_wait_synced(d.endpoints, 1000))
        ;
    if (pthread_create(&thread, NULL, serve, &d) != 0)
        goto out;
    serving = true;
    fprintf(stderr, "dns: serving %s on %s (udp, tcp)%s%s\n", d.domain, listen_spec,
            service_ip ? " as kube-system/kube-dns " : "", service_ip ? service_ip : "");
    int sig = kc_component_wait_signal();
    fprintf(stderr, "dns: signal %d, stopping after %lu queries\n", sig, d.queries);
    rc = 0;
out:
    atomic_store(&d.stop, true);
    if (serving)
        pthread_join(thread, NULL);
    if (c)
        kc_client_shutdown(c); /* ends the informers' watches at once */
    kc_informer_free(d.services);
    kc_informer_free(d.endpoints);
    if (c)
        kc_client_free(c);
    if (d.udp >= 0)
        close(d.udp);
    if (d.tcp >= 0)
        close(d.tcp);
    return rc;
}
