/* kubec-svcbench: figures for the Service dataplane (bench/services.sh drives it).
 *
 * `kubec-svcbench nft SERVICES ENDPOINTS NETNS [AFFINITY_EVERY]` builds SERVICES v1
 * Services of ENDPOINTS ready endpoints each (every third a NodePort; every
 * AFFINITY_EVERY-th with ClientIP affinity, none by default) as JSON, turns them into the
 * table through the node agent's generator (kc_nft_model_add_service, as the agent does),
 * and loads it with `nft -f -` in network namespace NETNS: as a new table, then the update
 * in place the agent makes when an endpoint goes, then as a full replace.
 *
 * `kubec-svcbench conn IP PORT N` opens N sequential TCP connections to IP:PORT and times
 * connect() and a whole HTTP/1.0 GET (connect, request, response to EOF): p50/p99 in
 * microseconds. */
#include "nodeagent/proxy_nft.h"

#include "nodeagent/cmd.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int load(const char *netns, const char *text, double *ms)
{
    char nsarg[200], out[2048];
    snprintf(nsarg, sizeof nsarg, "--net=/run/netns/%s", netns);
    char *argv[] = {"nsenter", nsarg, "--", "nft", "-f", "-", NULL};
    double t0 = now_us();
    int rc = kc_cmd_run(argv, text, out, sizeof out, 60000);
    *ms = (now_us() - t0) / 1000;
    if (rc != 0)
        fprintf(stderr, "svcbench: nft -f failed (%d): %.500s\n", rc, out);
    return rc;
}

static int bench_nft(int nsvc, int neps, const char *netns, int aff_every)
{
    /* the objects the informers would hold (new references, freed at the end) */
    json_t *svcs = json_array(), *eps = json_array();
    for (int s = 0; s < nsvc; s++) {
        char name[32], vip[32];
        snprintf(name, sizeof name, "svc-%d", s);
        snprintf(vip, sizeof vip, "10.%d.%d.%d", 96 + s / 62500, s / 250 % 250, s % 250 + 1);
        json_t *port = json_pack("{s:s,s:i,s:s,s:s}", "name", "http", "port", 80, "protocol", "TCP",
                                 "targetPort", "web");
        if (s % 3 == 0)
            json_object_set_new(port, "nodePort", json_integer(30000 + s));
        json_t *svc = json_pack("{s:{s:s,s:s},s:{s:s,s:s,s:[o]}}", "metadata", "namespace", "bench",
                                "name", name, "spec", "type", s % 3 == 0 ? "NodePort" : "ClusterIP",
                                "clusterIP", vip, "ports", port);
        if (aff_every > 0 && s % aff_every == 0)
            json_object_set_new(json_object_get(svc, "spec"), "sessionAffinity",
                                json_string("ClientIP"));
        json_t *addrs = json_array();
        for (int e = 0; e < neps; e++) {
            char ip[32];
            snprintf(ip, sizeof ip, "10.244.%d.%d", (s * neps + e) / 250 % 256,
                     (s * neps + e) % 250 + 2);
            json_array_append_new(addrs, json_pack("{s:s}", "ip", ip));
        }
        json_array_append_new(svcs, svc);
        json_array_append_new(eps, json_pack("{s:[{s:o,s:[{s:s,s:i,s:s}]}]}", "subsets",
                                             "addresses", addrs, "ports", "name", "http", "port",
                                             5005, "protocol", "TCP"));
    }
    double t0 = now_us();
    struct kc_nft_model *m = kc_nft_model_new("kubec", "10.244.0.0/16");
    for (int s = 0; s < nsvc; s++)
        kc_nft_model_add_service(m, json_array_get(svcs, (size_t)s),
                                 json_array_get(eps, (size_t)s));
    char *text = kc_nft_model_render(m);
    double gen_ms = (now_us() - t0) / 1000;
    size_t np = kc_nft_model_ports(m), ne = kc_nft_model_endpoints(m);
    /* the next state: the first service lost an endpoint (a pod went away) */
    json_array_remove(
        json_object_get(json_array_get(json_object_get(json_array_get(eps, 0), "subsets"), 0),
                        "addresses"),
        0);
    struct kc_nft_model *m2 = kc_nft_model_new("kubec", "10.244.0.0/16");
    for (int s = 0; s < nsvc; s++)
        kc_nft_model_add_service(m2, json_array_get(svcs, (size_t)s),
                                 json_array_get(eps, (size_t)s));
    char *update = kc_nft_model_render_update(m2, m), *text2 = kc_nft_model_render(m2);
    json_decref(svcs);
    json_decref(eps);
    const char *dump = getenv("SVCBENCH_DUMP"); /* keep the text, to try variants by hand */
    FILE *f = dump ? fopen(dump, "w") : NULL;
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    /* a new table; the update the agent makes for the next state; a full replace */
    double first = 0, upd = 0, again = 0;
    int rc = load(netns, text, &first);
    if (rc == 0)
        rc = load(netns, update, &upd);
    if (rc == 0)
        rc = load(netns, text2, &again);
    if (rc == 0)
        printf("nft %dx%d%s: %zu service ports, %zu endpoints, %zu KiB: generate %.1f ms, load "
               "%.1f ms (new table), %.1f ms (update: an endpoint gone), %.1f ms (replace)\n",
               nsvc, neps, aff_every > 0 ? " (affinity)" : "", np, ne, strlen(text) / 1024, gen_ms,
               first, upd, again);
    free(text);
    free(text2);
    free(update);
    kc_nft_model_free(m);
    kc_nft_model_free(m2);
    return rc == 0 ? 0 : 1;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench_conn(const char *ip, int port, int n)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, ip, &sa.sin_addr) != 1 || n < 1)
        return 2;
    double *conn = calloc((size_t)n, sizeof *conn), *get = calloc((size_t)n, sizeof *get);
    int ok = 0, ret = 1;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            goto out;
        double t0 = now_us();
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            close(fd);
            continue;
        }
        double t1 = now_us();
        static const char req[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";
        char buf[4096];
        ssize_t r = write(fd, req, sizeof req - 1);
        while (r > 0 && (r = read(fd, buf, sizeof buf)) > 0)
            ;
        double t2 = now_us();
        close(fd);
        if (r < 0)
            continue;
        conn[ok] = t1 - t0;
        get[ok] = t2 - t0;
        ok++;
    }
    if (ok == 0)
        goto out;
    qsort(conn, (size_t)ok, sizeof *conn, cmp_double);
    qsort(get, (size_t)ok, sizeof *get, cmp_double);
    size_t p99 = (size_t)(ok * 0.99);
    if (p99 >= (size_t)ok)
        p99 = (size_t)ok - 1;
    printf("%d/%d ok connect p50 %.0f p99 %.0f us  GET p50 %.0f p99 %.0f us\n", ok, n, conn[ok / 2],
           conn[p99], get[ok / 2], get[p99]);
    ret = 0;
out:
    free(conn);
    free(get);
    return ret;
}

int main(int argc, char **argv)
{
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "nft") == 0)
        return bench_nft(atoi(argv[2]), atoi(argv[3]), argv[4], argc == 6 ? atoi(argv[5]) : 0);
    if (argc == 5 && strcmp(argv[1], "conn") == 0)
        return bench_conn(argv[2], atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: kubec-svcbench nft SERVICES ENDPOINTS NETNS [AFFINITY_EVERY]\n"
                    "       kubec-svcbench conn IP PORT N\n");
    return 2;
}
