/* Environment values from the API as the kubelet resolves them: service links,
 * envFrom with prefixes and invalid names, configMapKeyRef and secretKeyRef (optional or
 * not), resourceFieldRef with divisors and the node's allocatable, `$` kept literal. */
#include "check.h"

#include "lib/jsonx.h"
#include "nodeagent/env_sources.h"
#include "nodeagent/lifecycle.h"
#include "nodeagent/pod_hosts.h"

#include <jansson.h>
#include <stdlib.h>

/* The fake API: objects keyed "<resource>/<ns>/<name>". */
static json_t *store;

static json_t *fake_get(void *ctx, const struct kc_gvr *r, const char *ns, const char *name,
                        bool *not_found, char *msg, size_t msglen)
{
    (void)ctx;
    char key[512];
    snprintf(key, sizeof key, "%s/%s/%s", r->resource, ns, name);
    json_t *o = json_object_get(store, key);
    if (o)
        return json_incref(o);
    *not_found = true;
    snprintf(msg, msglen, "%s \"%s\" not found", r->resource, name);
    return NULL;
}

static json_t *fake_services(void *ctx, const char *ns)
{
    (void)ctx;
    json_t *a = json_array();
    const char *key;
    json_t *o;
    char prefix[256];
    snprintf(prefix, sizeof prefix, "services/%s/", ns);
    json_object_foreach (store, key, o)
        if (!strncmp(key, prefix, strlen(prefix)))
            json_array_append(a, o);
    return a;
}

static json_t *fake_allocatable(void *ctx)
{
    (void)ctx;
    return json_pack("{s:s,s:s}", "cpu", "2", "memory", "4Gi");
}

static char warned[1024];

static void fake_warn(void *ctx, const json_t *pod, const char *reason, const char *msg)
{
    (void)ctx;
    (void)pod;
    snprintf(warned, sizeof warned, "%s: %s", reason, msg);
}

static const struct kc_env_lookup lookup = {fake_get, fake_services, fake_allocatable, fake_warn,
                                            NULL};

static const char *env_of(const json_t *env, const char *name)
{
    size_t i, nl = strlen(name);
    json_t *v;
    const char *found = NULL;
    json_array_foreach (env, i, v) {
        const char *s = json_string_value(v);
        if (strncmp(s, name, nl) == 0 && s[nl] == '=')
            found = s + nl + 1;
    }
    return found;
}

/* Resolves ctr of pod and builds the process env; NULL when resolution fails (msg). */
static json_t *env_for(const char *pod_js, const char *ctr_js, char *msg, size_t msglen)
{
    json_t *pod = json_loads(pod_js, 0, NULL), *ctr = json_loads(ctr_js, 0, NULL);
    json_t *resolved = NULL, *args = NULL, *env = NULL;
    const char *cwd;
    if (kc_env_sources_apply(&lookup, pod, ctr, &resolved, msg, msglen) == 0) {
        kc_container_process(pod, resolved, NULL, "10.244.1.5", "10.250.0.11", &args, &env, &cwd);
        json_decref(args);
    }
    json_decref(resolved);
    json_decref(pod);
    json_decref(ctr);
    return env;
}

int main(void)
{
    store = json_loads(
        "{\"configmaps/prod/cm\":{\"data\":{\"data-1\":\"value-1\",\"two\":\"$(data-1)\","
        "\"1bad\":\"x\",\"2bad\":\"y\"}},"
        "\"secrets/prod/s\":{\"data\":{\"pw\":\"czNjcjN0\"}},"
        "\"services/default/kubernetes\":{\"metadata\":{\"name\":\"kubernetes\"},\"spec\":{"
        "\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"name\":\"https\",\"port\":443}]}},"
        "\"services/prod/foo-svc\":{\"metadata\":{\"name\":\"foo-svc\"},\"spec\":{"
        "\"clusterIP\":\"10.96.0.7\",\"ports\":[{\"port\":8765},{\"name\":\"dns\",\"port\":53,"
        "\"protocol\":\"UDP\"}]}},"
        "\"services/prod/headless\":{\"metadata\":{\"name\":\"headless\"},\"spec\":{"
        "\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}}}",
        0, NULL);
    const char *pod = "{\"metadata\":{\"name\":\"p\",\"namespace\":\"prod\"},\"spec\":{"
                      "\"containers\":[{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":"
                      "\"1250m\",\"memory\":\"64Mi\"}}},{\"name\":\"side\"}]}}";
    char msg[256] = "";

    /* service links: the namespace's and the master service */
    json_t *env = env_for(pod, "{\"name\":\"c\"}", msg, sizeof msg);
    CHECK(env != NULL);
    CHECK_STR(env_of(env, "FOO_SVC_SERVICE_HOST"), "10.96.0.7");
    CHECK_STR(env_of(env, "FOO_SVC_SERVICE_PORT"), "8765");
    CHECK_STR(env_of(env, "FOO_SVC_SERVICE_PORT_DNS"), "53");
    CHECK_STR(env_of(env, "FOO_SVC_PORT"), "tcp://10.96.0.7:8765");
    CHECK_STR(env_of(env, "FOO_SVC_PORT_8765_TCP"), "tcp://10.96.0.7:8765");
    CHECK_STR(env_of(env, "FOO_SVC_PORT_8765_TCP_PROTO"), "tcp");
    CHECK_STR(env_of(env, "FOO_SVC_PORT_8765_TCP_PORT"), "8765");
    CHECK_STR(env_of(env, "FOO_SVC_PORT_8765_TCP_ADDR"), "10.96.0.7");
    CHECK_STR(env_of(env, "FOO_SVC_PORT_53_UDP"), "udp://10.96.0.7:53");
    CHECK_STR(env_of(env, "KUBERNETES_SERVICE_HOST"), "10.96.0.1");
    CHECK_STR(env_of(env, "KUBERNETES_SERVICE_PORT_HTTPS"), "443");
    CHECK(env_of(env, "HEADLESS_SERVICE_HOST") == NULL);
    json_decref(env);

    /* enableServiceLinks false: only the master service */
    env = env_for("{\"metadata\":{\"name\":\"p\",\"namespace\":\"prod\"},\"spec\":{"
                  "\"enableServiceLinks\":false}}",
                  "{\"name\":\"c\"}", msg, sizeof msg);
    CHECK(env_of(env, "FOO_SVC_SERVICE_HOST") == NULL);
    CHECK_STR(env_of(env, "KUBERNETES_SERVICE_HOST"), "10.96.0.1");
    json_decref(env);

    /* envFrom with a prefix, invalid names skipped, values not expanded; env wins over
     * envFrom and may refer to it; keyRefs; a service variable overridden */
    env =
        env_for(pod,
                "{\"name\":\"c\",\"envFrom\":[{\"configMapRef\":{\"name\":\"cm\"}},{\"prefix\":"
                "\"p-\",\"configMapRef\":{\"name\":\"cm\"}},{\"secretRef\":{\"name\":\"s\"}},"
                "{\"secretRef\":{\"name\":\"nope\",\"optional\":true}}],\"env\":[{\"name\":"
                "\"data-1\",\"value\":\"mine\"},{\"name\":\"REF\",\"value\":\"$(p-data-1)/$(pw)\"},"
                "{\"name\":\"FOO_SVC_SERVICE_HOST\",\"value\":\"x\"},{\"name\":\"K\",\"valueFrom\":"
                "{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"two\"}}},{\"name\":\"S\","
                "\"valueFrom\":{\"secretKeyRef\":{\"name\":\"s\",\"key\":\"pw\"}}},{\"name\":"
                "\"GONE\",\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"cm\",\"key\":\"no\","
                "\"optional\":true}}}]}",
                msg, sizeof msg);
    CHECK(env != NULL);
    CHECK_STR(env_of(env, "data-1"), "mine");
    CHECK_STR(env_of(env, "p-data-1"), "value-1");
    CHECK_STR(env_of(env, "two"), "$(data-1)");
    CHECK_STR(env_of(env, "p-two"), "$(data-1)");
    CHECK(env_of(env, "1bad") == NULL);
    CHECK_STR(warned, "InvalidEnvironmentVariableNames: Keys [1bad, 2bad] from the EnvFrom "
                      "configMap prod/cm were skipped since they are considered invalid "
                      "environment variable names.");
    CHECK_STR(env_of(env, "p-1bad"), "x");
    CHECK_STR(env_of(env, "pw"), "s3cr3t");
    CHECK_STR(env_of(env, "REF"), "value-1/s3cr3t");
    CHECK_STR(env_of(env, "FOO_SVC_SERVICE_HOST"), "x");
    CHECK_STR(env_of(env, "K"), "$(data-1)");
    CHECK_STR(env_of(env, "S"), "s3cr3t");
    CHECK(env_of(env, "GONE") == NULL);
    json_decref(env);

    /* missing sources that are not optional: the container cannot start */
    env = env_for(pod,
                  "{\"name\":\"c\",\"env\":[{\"name\":\"K\",\"valueFrom\":{\"configMapKeyRef\":{"
                  "\"name\":\"cm\",\"key\":\"no\"}}}]}",
                  msg, sizeof msg);
    CHECK(env == NULL);
    CHECK_STR(msg, "couldn't find key no in ConfigMap prod/cm");
    env = env_for(pod, "{\"name\":\"c\",\"envFrom\":[{\"secretRef\":{\"name\":\"nope\"}}]}", msg,
                  sizeof msg);
    CHECK(env == NULL);

    /* resourceFieldRef: rounded up over the divisor, limits from the node when unset */
    env = env_for(
        pod,
        "{\"name\":\"c\",\"resources\":{\"limits\":{\"cpu\":\"1250m\",\"memory\":\"64Mi\"},"
        "\"requests\":{\"cpu\":\"250m\"}},\"env\":[{\"name\":\"CL\",\"valueFrom\":{"
        "\"resourceFieldRef\":{\"resource\":\"limits.cpu\"}}},{\"name\":\"CLM\",\"valueFrom\":{"
        "\"resourceFieldRef\":{\"resource\":\"limits.cpu\",\"divisor\":\"1m\"}}},{\"name\":\"ML\","
        "\"valueFrom\":{\"resourceFieldRef\":{\"resource\":\"limits.memory\",\"divisor\":"
        "\"1Mi\"}}},{\"name\":\"CR\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":"
        "\"requests.cpu\"}}},{\"name\":\"MR\",\"valueFrom\":{\"resourceFieldRef\":{\"resource\":"
        "\"requests.memory\"}}},{\"name\":\"SIDE\",\"valueFrom\":{\"resourceFieldRef\":{"
        "\"containerName\":\"side\",\"resource\":\"limits.memory\"}}}]}",
        msg, sizeof msg);
    CHECK_STR(env_of(env, "CL"), "2");
    CHECK_STR(env_of(env, "CLM"), "1250");
    CHECK_STR(env_of(env, "ML"), "64");
    CHECK_STR(env_of(env, "CR"), "1");
    CHECK_STR(env_of(env, "MR"), "0");
    CHECK_STR(env_of(env, "SIDE"), "4294967296");
    json_decref(env);

    /* the hosts file: hostname, FQDN under a subdomain, host aliases */
    json_t *p = json_loads("{\"metadata\":{\"name\":\"web-0\",\"namespace\":\"prod\"},\"spec\":{"
                           "\"hostname\":\"h1\",\"subdomain\":\"sub\",\"hostAliases\":[{\"ip\":"
                           "\"1.2.3.4\",\"hostnames\":[\"foo\",\"bar\"]}]}}",
                           0, NULL);
    char host[64];
    kc_pod_hostname(p, host, sizeof host);
    CHECK_STR(host, "h1");
    json_t *args, *env2;
    const char *cwd;
    json_t *bare = json_object();
    kc_container_process(p, bare, NULL, "10.0.0.9", "10.250.0.1", &args, &env2, &cwd);
    json_decref(bare);
    CHECK_STR(env_of(env2, "HOSTNAME"), "h1"); /* the container runtime's: the hostname */
    json_decref(args);
    json_decref(env2);
    char *hosts = kc_pod_hosts_content(p, "10.0.0.9", "cluster.local");
    CHECK(strstr(hosts, "\n10.0.0.9\th1.sub.prod.svc.cluster.local\th1\n") != NULL);
    CHECK(strstr(hosts, "\n\n# Entries added by HostAliases.\n1.2.3.4\tfoo\tbar\n") != NULL);
    free(hosts);
    json_decref(p);
    p = json_loads("{\"metadata\":{\"name\":\"a-very-long-pod-name-that-goes-on-and-on-for-more-"
                   "than-sixty-three.x\"}}",
                   0, NULL);
    kc_pod_hostname(p, host, sizeof host);
    CHECK_STR(host, "a-very-long-pod-name-that-goes-on-and-on-for-more-than-sixty-th");
    hosts = kc_pod_hosts_content(p, "10.0.0.9", "cluster.local");
    CHECK(strstr(hosts, "\n10.0.0.9\ta-very-long-pod-name-that-goes-on-and-on-for-more-than-"
                        "sixty-th\n") != NULL);
    CHECK(strstr(hosts, "HostAliases") == NULL);
    free(hosts);
    json_decref(p);

    json_decref(store);
    CHECK_DONE();
}
