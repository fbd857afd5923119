/* [sig-network] HostPort (test/e2e/network/hostport.go upstream): three pods on one node with
 * the same hostPort, told apart by hostIP and protocol, MUST all be scheduled, run, and each
 * be reached at its own hostIP and protocol from the node.
 *
 * Upstream's pods are agnhost netexec (HTTP and UDP on 8080 answering their hostname) and
 * the checks are curl and `nc -u` exec'd in a hostNetwork pod. Here the pods run the
 * image's serve-hostname on 8080 (and its `nc -u -l` for UDP), and a hostNetwork client pod on
 * the same node loops over the three checks printing what answered. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

#define START_MS 180000 /* generous: CI runs under sanitizers on 2 shared cores */
#define HOST_PORT 54323 /* upstream's port */

static bool pod_running(struct kc_conf *t, void *name)
{
    json_t *pod = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                            kc_conf_ns(t), (const char *)name);
    bool ok = code == 200 && !strcmp(kc_json_str(pod, "status.phase") ?: "", "Running");
    json_decref(pod);
    return ok;
}

/* Upstream's createHostPortPodOnNode. */
static bool hostport_pod(struct kc_conf *t, const char *name, const char *host_ip,
                         const char *proto, const char *node)
{
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"terminationGracePeriodSeconds\":0,"
        "\"nodeSelector\":{\"kubernetes.io/hostname\":\"%s\"},\"containers\":[{\"name\":"
        "\"agnhost\",\"image\":\"%s\",\"command\":[\"sh\",\"-c\",\"(while :; do hostname | nc -u "
        "-l -p 8080 || sleep 1; done) & PORT=8080 exec serve-hostname\"],\"ports\":[{"
        "\"containerPort\":8080,\"hostPort\":%d,\"hostIP\":\"%s\",\"protocol\":\"%s\"}]}]}}",
        name, node, kc_conf_image(t), HOST_PORT, host_ip, proto);
    int code = pod ? kc_conf_pod_create(t, pod) : -1;
    json_decref(pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating %s: HTTP %d", name, code);
        return false;
    }
    if (!kc_conf_wait(t, START_MS, pod_running, (void *)name)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s (hostIP %s, %s) not running after %d s",
                        name, host_ip, proto, START_MS / 1000);
        return false;
    }
    return true;
}

static void no_conflict(struct kc_conf *t)
{
    /* a ready node and its InternalIP */
    json_t *nodes = NULL; /* owned */
    char node[128] = "", ip[64] = "";
    kc_conf_call(t, "GET", NULL, NULL, &nodes, "/api/v1/nodes");
    size_t i, j;
    json_t *n, *a;
    json_array_foreach (json_object_get(nodes, "items"), i, n) {
        if (*node)
            break;
        json_array_foreach (kc_json_path(n, "status.addresses"), j, a)
            if (!strcmp(kc_json_str(a, "type") ?: "", "InternalIP")) {
                snprintf(node, sizeof node, "%s", kc_json_str(n, "metadata.name") ?: "");
                snprintf(ip, sizeof ip, "%s", kc_json_str(a, "address") ?: "");
            }
    }
    json_decref(nodes);
    REQUIRE(t, *node && *ip, "no node with an InternalIP");
    REQUIRE(t, hostport_pod(t, "pod1", "127.0.0.1", "TCP", node), "pod1");
    REQUIRE(t, hostport_pod(t, "pod2", ip, "TCP", node), "pod2");
    REQUIRE(t, hostport_pod(t, "pod3", ip, "UDP", node), "pod3");
    /* upstream: curl 127.0.0.1:port (from the node's address), curl hostIP:port, and
     * `echo hostname | nc -u -w 5 hostIP port`, each expected to answer */
    char script[1024], extra[256];
    snprintf(script, sizeof script,
             "while :; do echo \"pod1 $(get 127.0.0.1 %d)\"; echo \"pod2 $(get %s %d)\"; "
             "echo \"pod3 $(echo hostname | nc -u -w 5 %s %d 2>/dev/null | head -n 1)\"; sleep 1; "
             "done",
             HOST_PORT, ip, HOST_PORT, ip, HOST_PORT);
    snprintf(extra, sizeof extra,
             "\"hostNetwork\":true,\"nodeSelector\":{\"kubernetes.io/hostname\":\"%s\"}", node);
    REQUIRE(t, kc_conf_pod_script(t, "e2e-host-exec", NULL, extra, script), "no client pod");
    EXPECT(t, kc_conf_pod_log_wait(t, "e2e-host-exec", 0, "^pod1 pod1$", START_MS, NULL, NULL, 0),
           "127.0.0.1:%d did not answer pod1 over TCP", HOST_PORT);
    EXPECT(t, kc_conf_pod_log_wait(t, "e2e-host-exec", 0, "^pod2 pod2$", 30000, NULL, NULL, 0),
           "%s:%d did not answer pod2 over TCP", ip, HOST_PORT);
    EXPECT(t, kc_conf_pod_log_wait(t, "e2e-host-exec", 0, "^pod3 pod3$", 30000, NULL, NULL, 0),
           "%s:%d did not answer pod3 over UDP", ip, HOST_PORT);
    kc_conf_pod_delete(t, "e2e-host-exec", 0);
}

const struct kc_conf_test kc_conf_tests_hostport[] = {
    {"[sig-network] HostPort validates that there is no conflict between pods with same hostPort "
     "but different hostIP and protocol [LinuxOnly] [Conformance]",
     no_conflict, KC_CONF_CONTAINERS},
    {NULL, NULL, 0},
};
