/* [sig-node] ConfigMap, Secrets and Pods tests of what the node puts into a container's
 * environment from the API (test/e2e/common/node/configmap.go, secrets.go, pods.go
 * upstream): configMapKeyRef, secretKeyRef, envFrom with and without a prefix, and the
 * service links. Each pod prints its environment (`env`) and its log is matched, as
 * upstream's container output check does. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

#define POD_START_MS 180000 /* generous: CI runs under sanitizers */

/* Creates a ConfigMap (or a Secret) named name with data-1..3 = value-1..3. */
static bool make_source(struct kc_conf *t, bool secret, const char *name)
{
    /* base64 of value-1, value-2, value-3 for the Secret */
    json_t *obj =
        secret
            ? kc_conf_json(t,
                           "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"data-1\":\"dmFsdWUtMQ==\","
                           "\"data-2\":\"dmFsdWUtMg==\",\"data-3\":\"dmFsdWUtMw==\"}}",
                           name)
            : kc_conf_json(t,
                           "{\"metadata\":{\"name\":\"%s\"},\"data\":{\"data-1\":\"value-1\","
                           "\"data-2\":\"value-2\",\"data-3\":\"value-3\"}}",
                           name);
    if (!obj)
        return false;
    int code = kc_conf_call(t, "POST", obj, NULL, NULL, "/api/v1/namespaces/%s/%s", kc_conf_ns(t),
                            secret ? "secrets" : "configmaps");
    json_decref(obj);
    if (code != 201)
        kc_conf_fail_at(t, __FILE__, __LINE__, "unable to create test %s %s: HTTP %d",
                        secret ? "secret" : "configMap", name, code);
    return code == 201;
}

/* Runs a pod whose one container (ctr) prints its environment, with the JSON members
 * env_members ("\"env\":[...]" or "\"envFrom\":[...]") added to the container, and
 * matches its log against expect. Upstream runs `sh -c env`; the container runs `env`
 * itself here, as some busybox shells drop variables whose names are not shell
 * identifiers (data-1) from what they pass on, which would hide what the node set. */
static void env_pod(struct kc_conf *t, const char *prefix, const char *ctr, const char *env_members,
                    const char *const *expect)
{
    char name[96];
    json_t *pod = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":"
                               "\"Never\",\"containers\":[{\"name\":\"%s\",\"image\":\"%s\","
                               "\"command\":[\"env\"],%s}]}}",
                               kc_conf_unique(t, prefix, name, sizeof name), ctr, kc_conf_image(t),
                               env_members);
    if (!pod)
        return;
    kc_conf_pod_output(t, pod, ctr, expect);
    json_decref(pod);
}

/* A ConfigMap's (or Secret's, decoded) value MUST be in the container's environment through
 * configMapKeyRef (secretKeyRef). */
static void source_env_var(struct kc_conf *t, bool secret)
{
    char src[96], env[256];
    if (!make_source(t, secret,
                     kc_conf_unique(t, secret ? "secret-test" : "configmap-test", src, sizeof src)))
        return;
    const char *var = secret ? "SECRET_DATA" : "CONFIG_DATA_1";
    snprintf(env, sizeof env,
             "\"env\":[{\"name\":\"%s\",\"valueFrom\":{\"%s\":{\"name\":\"%s\",\"key\":"
             "\"data-1\"}}}]",
             var, secret ? "secretKeyRef" : "configMapKeyRef", src);
    char want[64];
    snprintf(want, sizeof want, "%s=value-1", var);
    const char *const expect[] = {want, NULL};
    env_pod(t, secret ? "pod-secrets" : "pod-configmaps", secret ? "secret-env-test" : "env-test",
            env, expect);
}

/* Every key of a ConfigMap (Secret) MUST be in the environment through envFrom, as is and
 * after a prefix. */
static void source_env_from(struct kc_conf *t, bool secret)
{
    char src[96], env[256];
    if (!make_source(t, secret,
                     kc_conf_unique(t, secret ? "secret-test" : "configmap-test", src, sizeof src)))
        return;
    const char *ref = secret ? "secretRef" : "configMapRef";
    snprintf(env, sizeof env,
             "\"envFrom\":[{\"%s\":{\"name\":\"%s\"}},{\"prefix\":\"p-\",\"%s\":{\"name\":"
             "\"%s\"}}]",
             ref, src, ref, src);
    const char *const expect[] = {"data-1=value-1",
                                  "data-2=value-2",
                                  "data-3=value-3",
                                  "p-data-1=value-1",
                                  "p-data-2=value-2",
                                  "p-data-3=value-3",
                                  NULL};
    env_pod(t, "pod-configmaps", "env-test", env, expect);
}

static void configmap_env_var(struct kc_conf *t)
{
    source_env_var(t, false);
}

static void configmap_env_from(struct kc_conf *t)
{
    source_env_from(t, false);
}

static void secret_env_var(struct kc_conf *t)
{
    source_env_var(t, true);
}

static void secret_env_from(struct kc_conf *t)
{
    source_env_from(t, true);
}

/* A pod started after a Service exists MUST see the Service's variables (Docker link
 * style): FOOSERVICE_SERVICE_HOST and _PORT, FOOSERVICE_PORT and the
 * FOOSERVICE_PORT_8765_TCP family. Upstream first runs a server pod behind the Service;
 * so does this. */
static void service_env(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char server[96], client[96];
    kc_conf_unique(t, "server-envvars", server, sizeof server);
    json_t *srv = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"%s\"}},\"spec\":{"
        "\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":\"srv\",\"image\":\"%s\","
        "\"env\":[{\"name\":\"PORT\",\"value\":\"8080\"}],\"ports\":[{\"containerPort\":8080}]}]}}",
        server, server, kc_conf_image(t));
    json_t *svc = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"fooservice\",\"labels\":{\"name\":"
                               "\"fooservice\"}},\"spec\":{\"selector\":{\"name\":\"%s\"},"
                               "\"ports\":[{\"port\":8765,\"targetPort\":8080}]}}",
                               server);
    json_t *svc_out = NULL, *pod = NULL; /* owned */
    if (!srv || !svc)
        goto out;
    int code = kc_conf_pod_create(t, srv);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating server pod %s: HTTP %d", server, code);
        goto out;
    }
    if (!kc_conf_pod_wait_phase(t, server, "Running", POD_START_MS))
        goto out;
    code = kc_conf_call(t, "POST", svc, NULL, &svc_out, "/api/v1/namespaces/%s/services", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating service fooservice: HTTP %d", code);
        goto out;
    }
    /* the variables name the Service's ClusterIP */
    char host[128];
    snprintf(host, sizeof host, "FOOSERVICE_SERVICE_HOST=%s",
             kc_json_str(svc_out, "spec.clusterIP") ?: "");
    pod =
        kc_conf_json(t,
                     "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"Never\","
                     "\"containers\":[{\"name\":\"env3cont\",\"image\":\"%s\",\"command\":["
                     "\"sh\",\"-c\",\"env\"]}]}}",
                     kc_conf_unique(t, "client-envvars", client, sizeof client), kc_conf_image(t));
    if (!pod)
        goto out;
    const char *const expect[] = {"FOOSERVICE_SERVICE_HOST=",
                                  host,
                                  "FOOSERVICE_SERVICE_PORT=8765",
                                  "FOOSERVICE_PORT=tcp://",
                                  "FOOSERVICE_PORT_8765_TCP_PORT=8765",
                                  "FOOSERVICE_PORT_8765_TCP_PROTO=tcp",
                                  "FOOSERVICE_PORT_8765_TCP=tcp://",
                                  "FOOSERVICE_PORT_8765_TCP_ADDR=",
                                  NULL};
    kc_conf_pod_output(t, pod, "env3cont", expect);
out:
    kc_conf_pod_delete(t, server, 0);
    json_decref(srv);
    json_decref(svc);
    json_decref(svc_out);
    json_decref(pod);
}

const struct kc_conf_test kc_conf_tests_env[] = {
    {"[sig-node] ConfigMap should be consumable via environment variable [NodeConformance] "
     "[Conformance]",
     configmap_env_var, KC_CONF_CONTAINERS},
    {"[sig-node] ConfigMap should be consumable via the environment [NodeConformance] "
     "[Conformance]",
     configmap_env_from, KC_CONF_CONTAINERS},
    {"[sig-node] Secrets should be consumable from pods in env vars [NodeConformance] "
     "[Conformance]",
     secret_env_var, KC_CONF_CONTAINERS},
    {"[sig-node] Secrets should be consumable via the environment [NodeConformance] "
     "[Conformance]",
     secret_env_from, KC_CONF_CONTAINERS},
    {"[sig-node] Pods should contain environment variables for services [NodeConformance] "
     "[Conformance]",
     service_env, KC_CONF_CONTAINERS},
    {NULL, NULL, 0},
};
