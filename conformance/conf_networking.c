/* [sig-network] Networking Granular Checks: Pods (test/e2e/common/network/networking.go
 * upstream): a pod, and a hostNetwork pod (the node), reach a server pod on every node by
 * its pod IP, over HTTP and UDP.
 *
 * Upstream's servers are agnhost netexec pods (HTTP on 8083, UDP on 8081) answering their
 * hostname, one per node, and the checks are commands exec'd in a client pod. Here the
 * servers run the image's serve-hostname on 8083 (HTTP) and its `nc -u -l` on 8081 (UDP); a
 * client pod loops over the servers printing who answered, and its log is read. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

#define START_MS 180000 /* generous: CI runs under sanitizers on 2 shared cores */
#define HTTP_PORT 8083  /* upstream's EndpointHTTPPort */
#define UDP_PORT 8081   /* upstream's EndpointUDPPort */
#define MAX_NODES 8

struct server {
    char name[64], ip[64];
};

static bool pod_running(struct kc_conf *t, void *arg)
{
    struct server *s = arg;
    json_t *pod = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                            kc_conf_ns(t), s->name);
    bool ok = code == 200 && !strcmp(kc_json_str(pod, "status.phase") ?: "", "Running") &&
              kc_json_str(pod, "status.podIP");
    if (ok)
        snprintf(s->ip, sizeof s->ip, "%s", kc_json_str(pod, "status.podIP"));
    json_decref(pod);
    return ok;
}

/* Upstream's NewCoreNetworkingTestConfig: a server pod on each Ready node (by its hostname
 * label); returns how many run, with their names and IPs. */
static int start_servers(struct kc_conf *t, struct server *s)
{
    json_t *nodes = NULL; /* owned */
    int n = 0;
    kc_conf_call(t, "GET", NULL, NULL, &nodes, "/api/v1/nodes");
    size_t i, j;
    json_t *node, *c;
    json_array_foreach (json_object_get(nodes, "items"), i, node) {
        bool ready = false;
        json_array_foreach (kc_json_path(node, "status.conditions"), j, c)
            if (!strcmp(kc_json_str(c, "type") ?: "", "Ready") &&
                !strcmp(kc_json_str(c, "status") ?: "", "True"))
                ready = true;
        if (!ready || n == MAX_NODES)
            continue;
        snprintf(s[n].name, sizeof s[n].name, "netserver-%d", n);
        json_t *pod = kc_conf_json(
            t,
            "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"selector-netserver\":\"true\"}},"
            "\"spec\":{\"terminationGracePeriodSeconds\":0,\"nodeSelector\":{"
            "\"kubernetes.io/hostname\":\"%s\"},\"containers\":[{\"name\":\"webserver\","
            "\"image\":\"%s\",\"command\":[\"sh\",\"-c\",\"(while :; do hostname | nc -u -l -p "
            "%d || sleep 1; done) & PORT=%d exec serve-hostname\"],\"ports\":[{\"name\":\"http\","
            "\"containerPort\":%d},{\"name\":\"udp\",\"containerPort\":%d,\"protocol\":\"UDP\"}],"
            "\"readinessProbe\":{\"tcpSocket\":{\"port\":%d},\"periodSeconds\":1}}]}}",
            s[n].name, kc_json_str(node, "metadata.name") ?: "", kc_conf_image(t), UDP_PORT,
            HTTP_PORT, HTTP_PORT, UDP_PORT, HTTP_PORT);
        int code = pod ? kc_conf_pod_create(t, pod) : -1;
        json_decref(pod);
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "creating %s: HTTP %d", s[n].name, code);
            break;
        }
        n++;
    }
    json_decref(nodes);
    for (int k = 0; k < n; k++)
        if (!kc_conf_wait(t, START_MS, pod_running, &s[k])) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s not running after %d s", s[k].name,
                            START_MS / 1000);
            return 0;
        }
    return n;
}

/* From a client pod (hostNetwork: from the node), every server MUST answer with its name
 * over proto at its pod IP. */
static void check(struct kc_conf *t, bool udp, bool host_network)
{
    struct server s[MAX_NODES];
    int n = start_servers(t, s);
    REQUIRE(t, n > 0, "no server pods");
    char script[2048] = "while :; do for ip in";
    for (int i = 0; i < n; i++)
        snprintf(script + strlen(script), sizeof script - strlen(script), " %s", s[i].ip);
    if (udp) /* upstream: echo hostName | nc -u -w 1 IP 8081 */
        snprintf(script + strlen(script), sizeof script - strlen(script),
                 "; do h=$(echo hostName | nc -u -w 1 $ip %d 2>/dev/null | head -n 1); ", UDP_PORT);
    else /* upstream: curl http://IP:8083/hostName (netexec); serve-hostname answers on / */
        snprintf(script + strlen(script), sizeof script - strlen(script), "; do h=$(get $ip %d); ",
                 HTTP_PORT);
    snprintf(script + strlen(script), sizeof script - strlen(script),
             "echo \"from $ip: ${h:-nothing}\"; done; sleep 1; done");
    const char *client = host_network ? "host-test-container-pod" : "test-container-pod";
    REQUIRE(
        t,
        kc_conf_pod_script(t, client, NULL, host_network ? "\"hostNetwork\":true" : NULL, script),
        "no client pod");
    for (int i = 0; i < n; i++) {
        char pattern[160];
        snprintf(pattern, sizeof pattern, "^from %s: %s$", s[i].ip, s[i].name);
        /* the client tries every server each second: once it runs, the rest is quick */
        EXPECT(t, kc_conf_pod_log_wait(t, client, 0, pattern, i ? 60000 : START_MS, NULL, NULL, 0),
               "failed to find expected endpoints: %s did not answer %s (%s) over %s", s[i].ip,
               client, s[i].name, udp ? "udp" : "http");
    }
    kc_conf_pod_delete(t, client, 0);
}

static void intra_pod_http(struct kc_conf *t)
{
    check(t, false, false);
}

static void intra_pod_udp(struct kc_conf *t)
{
    check(t, true, false);
}

static void node_pod_http(struct kc_conf *t)
{
    check(t, false, true);
}

static void node_pod_udp(struct kc_conf *t)
{
    check(t, true, true);
}

const struct kc_conf_test kc_conf_tests_networking[] = {
    {"[sig-network] Networking Granular Checks: Pods should function for intra-pod "
     "communication: http [NodeConformance] [Conformance]",
     intra_pod_http, KC_CONF_CONTAINERS},
    {"[sig-network] Networking Granular Checks: Pods should function for node-pod "
     "communication: http [LinuxOnly] [NodeConformance] [Conformance]",
     node_pod_http, KC_CONF_CONTAINERS},
    {"[sig-network] Networking Granular Checks: Pods should function for intra-pod "
     "communication: udp [NodeConformance] [Conformance]",
     intra_pod_udp, KC_CONF_CONTAINERS},
    {"[sig-network] Networking Granular Checks: Pods should function for node-pod "
     "communication: udp [LinuxOnly] [NodeConformance] [Conformance]",
     node_pod_udp, KC_CONF_CONTAINERS},
    {NULL, NULL, 0},
};
