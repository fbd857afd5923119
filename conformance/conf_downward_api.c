/* [sig-node] Downward API tests of environment variables (test/e2e/common/node/
 * downwardapi.go upstream): fieldRefs (name, namespace, pod IP, host IP, UID) and
 * resourceFieldRefs (the container's requests and limits, limits defaulting to the node's
 * allocatable). The pod prints its environment; its log is matched against upstream's
 * patterns. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

/* upstream's e2enetwork.RegexIPv4 and RegexIPv6, after "NAME=" */
#define IPV4 "(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)(\\.(25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)){3}"
#define IPV6 "[0-9a-fA-F]{0,4}(:[0-9a-fA-F]{0,4}){2,7}"

/* A fieldRef variable, as JSON. */
#define FIELD(name, path)                                                                          \
    "{\"name\":\"" name                                                                            \
    "\",\"valueFrom\":{\"fieldRef\":{\"apiVersion\":\"v1\",\"fieldPath\":\"" path "\"}}}"
/* A resourceFieldRef variable, as JSON. */
#define RESOURCE(name, res)                                                                        \
    "{\"name\":\"" name "\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"" res "\"}}}"

/* upstream's testDownwardAPI: container dapi-container runs `env` with env (a JSON array),
 * with requests cpu 250m memory 32Mi and limits cpu 1250m memory 64Mi unless bare. The
 * pod's name is written to name. */
static void dapi_pod(struct kc_conf *t, const char *env, bool bare, char *name, size_t len,
                     const char *const *expect)
{
    kc_conf_unique(t, "downward-api", name, len);
    const char *resources = bare ? ""
                                 : ",\"resources\":{\"requests\":{\"cpu\":\"250m\",\"memory\":"
                                   "\"32Mi\"},\"limits\":{\"cpu\":\"1250m\",\"memory\":\"64Mi\"}}";
    json_t *pod = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"%s\"}},"
                               "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":"
                               "\"dapi-container\",\"image\":\"%s\",\"command\":[\"sh\",\"-c\","
                               "\"env\"],\"env\":%s%s}]}}",
                               name, name, kc_conf_image(t), env, resources);
    if (!pod)
        return;
    kc_conf_pod_output(t, pod, "dapi-container", expect);
    json_decref(pod);
}

static void name_namespace_ip(struct kc_conf *t)
{
    char name[96], want_name[128], want_ns[160];
    kc_conf_unique(t, "downward-api", name, sizeof name);
    snprintf(want_name, sizeof want_name, "POD_NAME=%s", name);
    snprintf(want_ns, sizeof want_ns, "POD_NAMESPACE=%s", kc_conf_ns(t));
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"%s\"}},\"spec\":{"
        "\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"dapi-container\",\"image\":"
        "\"%s\",\"command\":[\"sh\",\"-c\",\"env\"],\"env\":[" FIELD(
            "POD_NAME",
            "metadata.name") "," FIELD("POD_NAMESPACE",
                                       "metadata.namespace") "," FIELD("POD_IP",
                                                                       "status.podIP") "]}]}}",
        name, name, kc_conf_image(t));
    const char *const expect[] = {want_name, want_ns, "POD_IP=(" IPV4 "|" IPV6 ")", NULL};
    if (pod)
        kc_conf_pod_output(t, pod, "dapi-container", expect);
    json_decref(pod);
}

static void host_ip(struct kc_conf *t)
{
    char name[96];
    const char *const expect[] = {"HOST_IP=(" IPV4 "|" IPV6 ")", NULL};
    dapi_pod(t, "[" FIELD("HOST_IP", "status.hostIP") "]", false, name, sizeof name, expect);
}

static void pod_uid(struct kc_conf *t)
{
    char name[96];
    const char *const expect[] = {
        "POD_UID=[a-z0-9]{8}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{12}", NULL};
    dapi_pod(t, "[" FIELD("POD_UID", "metadata.uid") "]", false, name, sizeof name, expect);
}

/* requests and limits over the default divisor 1, rounded up: 1250m is 2 CPUs, 250m 1 */
static void limits_requests(struct kc_conf *t)
{
    char name[96];
    const char *const expect[] = {"CPU_LIMIT=2", "MEMORY_LIMIT=67108864", "CPU_REQUEST=1",
                                  "MEMORY_REQUEST=33554432", NULL};
    dapi_pod(t,
             "[" RESOURCE("CPU_LIMIT", "limits.cpu") "," RESOURCE(
                 "MEMORY_LIMIT",
                 "limits.memory") "," RESOURCE("CPU_REQUEST",
                                               "requests.cpu") "," RESOURCE("MEMORY_REQUEST",
                                                                            "requests.memory") "]",
             false, name, sizeof name, expect);
}

/* no limits: the node's allocatable, some positive number */
static void default_limits(struct kc_conf *t)
{
    char name[96];
    const char *const expect[] = {"CPU_LIMIT=[1-9]", "MEMORY_LIMIT=[1-9]", NULL};
    dapi_pod(
        t,
        "[" RESOURCE("CPU_LIMIT", "limits.cpu") "," RESOURCE("MEMORY_LIMIT", "limits.memory") "]",
        true, name, sizeof name, expect);
}

const struct kc_conf_test kc_conf_tests_downward_api[] = {
    {"[sig-node] Downward API should provide container's limits.cpu/memory and "
     "requests.cpu/memory as env vars [NodeConformance] [Conformance]",
     limits_requests, 0},
    {"[sig-node] Downward API should provide default limits.cpu/memory from node allocatable "
     "[NodeConformance] [Conformance]",
     default_limits, 0},
    {"[sig-node] Downward API should provide host IP as an env var [NodeConformance] "
     "[Conformance]",
     host_ip, 0},
    {"[sig-node] Downward API should provide pod UID as env vars [NodeConformance] [Conformance]",
     pod_uid, 0},
    {"[sig-node] Downward API should provide pod name, namespace and IP address as env vars "
     "[NodeConformance] [Conformance]",
     name_namespace_ip, 0},
    {NULL, NULL, 0},
};
