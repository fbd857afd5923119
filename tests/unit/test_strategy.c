/* Defaulting of the bodies kubectl sends, and validation messages as upstream words them. */
#include "apiserver/strategy/strategy.h"
#include "check.h"
#include "lib/jsonx.h"

#include <stdlib.h>

static char *errors_of(void (*v)(const json_t *, struct kc_errlist *), const char *obj)
{
    json_t *o = json_loads(obj, 0, NULL);
    struct kc_errlist *l = kc_errlist_new();
    v(o, l);
    size_t cap = 4096, len = 0;
    char *out = calloc(1, cap);
    for (size_t i = 0; i < kc_errlist_len(l); i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s: %s", i ? "\n" : "",
                                kc_errlist_field(l, i), kc_errlist_message(l, i));
    kc_errlist_free(l);
    json_decref(o);
    return out;
}

static void meta_subdomain(const json_t *o, struct kc_errlist *l)
{
    kc_validate_object_meta(o, true, KC_NAME_DNS1123_SUBDOMAIN, l);
}

#define ERRS(fn, obj, want)                                                                        \
    do {                                                                                           \
        char *e_ = errors_of(fn, obj);                                                             \
        CHECK_STR(e_, want);                                                                       \
        free(e_);                                                                                  \
    } while (0)

int main(void)
{
    /* kubectl create deployment (1.27 JSON body) */
    json_t *d = json_loads(
        "{\"kind\":\"Deployment\",\"apiVersion\":\"apps/v1\",\"metadata\":{\"name\":\"demo\","
        "\"creationTimestamp\":null,\"labels\":{\"app\":\"demo\"}},\"spec\":{\"replicas\":1,"
        "\"selector\":{\"matchLabels\":{\"app\":\"demo\"}},\"template\":{\"metadata\":{"
        "\"creationTimestamp\":null,\"labels\":{\"app\":\"demo\"}},\"spec\":{\"containers\":[{"
        "\"name\":\"nginx\",\"image\":\"nginx\",\"ports\":[{\"containerPort\":5005}],"
        "\"resources\":{}}]}},\"strategy\":{}},\"status\":{}}",
        0, NULL);
    kc_default_deployment(d);
    CHECK_STR(kc_json_str(d, "spec.strategy.type"), "RollingUpdate");
    CHECK_STR(kc_json_str(d, "spec.strategy.rollingUpdate.maxSurge"), "25%");
    CHECK_STR(kc_json_str(d, "spec.strategy.rollingUpdate.maxUnavailable"), "25%");
    CHECK_INT(kc_json_int(d, "spec.revisionHistoryLimit", -1), 10);
    CHECK_INT(kc_json_int(d, "spec.progressDeadlineSeconds", -1), 600);
    json_t *c = json_array_get(kc_json_path(d, "spec.template.spec.containers"), 0);
    CHECK_STR(kc_json_str(c, "imagePullPolicy"), "Always");
    CHECK_STR(kc_json_str(c, "terminationMessagePath"), "/dev/termination-log");
    CHECK_STR(kc_json_str(c, "terminationMessagePolicy"), "File");
    CHECK_STR(kc_json_str(json_array_get(json_object_get(c, "ports"), 0), "protocol"), "TCP");
    CHECK_STR(kc_json_str(d, "spec.template.spec.restartPolicy"), "Always");
    CHECK_STR(kc_json_str(d, "spec.template.spec.dnsPolicy"), "ClusterFirst");
    CHECK_STR(kc_json_str(d, "spec.template.spec.schedulerName"), "default-scheduler");
    CHECK_INT(kc_json_int(d, "spec.template.spec.terminationGracePeriodSeconds", -1), 30);
    struct kc_errlist *l = kc_errlist_new();
    kc_validate_deployment(d, l);
    CHECK_INT(kc_errlist_len(l), 0);
    kc_errlist_free(l);
    json_decref(d);

    /* image pull policy rules */
    json_t *p = json_loads(
        "{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx:1.27\"},"
        "{\"name\":\"b\",\"image\":\"reg:5000/x\"},{\"name\":\"c\",\"image\":\"x:latest\"},"
        "{\"name\":\"d\",\"image\":\"x@sha256:abc\",\"resources\":{\"limits\":{\"cpu\":"
        "\"1\",\"memory\":\"1Gi\"},\"requests\":{\"cpu\":\"100m\"}}}]}}",
        0, NULL);
    kc_default_pod(p);
    /* a limit without a request is the request */
    json_t *c3 = json_array_get(kc_json_path(p, "spec.containers"), 3);
    CHECK_STR(kc_json_str(c3, "resources.requests.memory"), "1Gi");
    CHECK_STR(kc_json_str(c3, "resources.requests.cpu"), "100m");
    CHECK(kc_json_path(json_array_get(kc_json_path(p, "spec.containers"), 0),
                       "resources.requests") == NULL);
    json_t *cs = kc_json_path(p, "spec.containers");
    CHECK_STR(kc_json_str(json_array_get(cs, 0), "imagePullPolicy"), "IfNotPresent");
    CHECK_STR(kc_json_str(json_array_get(cs, 1), "imagePullPolicy"), "Always");
    CHECK_STR(kc_json_str(json_array_get(cs, 2), "imagePullPolicy"), "Always");
    CHECK_STR(kc_json_str(json_array_get(cs, 3), "imagePullPolicy"), "IfNotPresent");
    CHECK_INT(json_array_size(kc_json_path(p, "spec.tolerations")), 2);
    CHECK(kc_json_bool(p, "spec.enableServiceLinks", false));
    json_decref(p);

    /* kubectl expose body */
    json_t *s =
        json_loads("{\"metadata\":{\"name\":\"demo\"},\"spec\":{\"ports\":[{\"port\":5005,"
                   "\"protocol\":\"TCP\",\"targetPort\":5005}],\"selector\":{\"app\":\"demo\"},"
                   "\"type\":\"NodePort\"}}",
                   0, NULL);
    kc_default_service(s);
    CHECK_STR(kc_json_str(s, "spec.sessionAffinity"), "None");
    CHECK_STR(kc_json_str(s, "spec.externalTrafficPolicy"), "Cluster");
    CHECK_STR(kc_json_str(s, "spec.internalTrafficPolicy"), "Cluster");
    CHECK_STR(kc_json_str(s, "spec.ipFamilyPolicy"), "SingleStack");
    json_decref(s);
    s = json_loads("{\"spec\":{\"ports\":[{\"port\":80}]}}", 0, NULL);
    kc_default_service(s);
    CHECK_INT(kc_json_int(json_array_get(kc_json_path(s, "spec.ports"), 0), "targetPort", 0), 80);
    CHECK_STR(kc_json_str(s, "spec.type"), "ClusterIP");
    json_decref(s);

    json_t *ns = json_loads("{\"metadata\":{\"name\":\"ns1\"}}", 0, NULL);
    kc_default_namespace(ns);
    CHECK_STR(json_string_value(json_object_get(kc_json_path(ns, "metadata.labels"),
                                                "kubernetes.io/metadata.name")),
              "ns1");
    CHECK_STR(json_string_value(json_array_get(kc_json_path(ns, "spec.finalizers"), 0)),
              "kubernetes");
    json_decref(ns);

    json_t *sec = json_loads("{\"stringData\":{\"k\":\"v\"}}", 0, NULL);
    kc_default_secret(sec);
    CHECK_STR(kc_json_str(sec, "data.k"), "dg==");
    CHECK_STR(kc_json_str(sec, "type"), "Opaque");
    CHECK(json_object_get(sec, "stringData") == NULL);
    json_decref(sec);

    /* metadata */
    ERRS(meta_subdomain, "{\"metadata\":{\"namespace\":\"default\"}}",
         "metadata.name: Required value: name or generateName is required");
    ERRS(meta_subdomain, "{\"metadata\":{\"name\":\"Bad_Name\",\"namespace\":\"default\"}}",
         "metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist "
         "of lower case alphanumeric characters, '-' or '.', and must start and end with an "
         "alphanumeric character (e.g. 'example.com', regex used for validation is "
         "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')");
    ERRS(meta_subdomain, "{\"metadata\":{\"generateName\":\"web-\",\"namespace\":\"default\"}}",
         "");
    ERRS(meta_subdomain,
         "{\"metadata\":{\"name\":\"x\",\"namespace\":\"default\",\"labels\":{\"a\":\"b c\"}}}",
         "metadata.labels: Invalid value: \"b c\": a valid label must be an empty string or "
         "consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
         "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
         "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");

    /* deployments */
    ERRS(kc_validate_deployment,
         "{\"spec\":{\"replicas\":-1,\"selector\":{\"matchLabels\":{\"app\":\"x\"}},\"template\":"
         "{\"metadata\":{\"labels\":{\"app\":\"y\"}},\"spec\":{\"restartPolicy\":\"Never\","
         "\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}}}",
         "spec.replicas: Invalid value: -1: must be greater than or equal to 0\n"
         "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"y\"}: "
         "`selector` does not match template `labels`\n"
         "spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: "
         "\"Always\"");
    ERRS(kc_validate_deployment,
         "{\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"b\"}},\"template\":{\"metadata\":"
         "{\"labels\":{\"a\":\"b\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}},"
         "\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":0,"
         "\"maxUnavailable\":\"0%\"}}}}",
         "spec.strategy.rollingUpdate.maxUnavailable: Invalid value: \"0%\": may not be 0 when "
         "`maxSurge` is 0");

    /* pods */
    ERRS(kc_validate_pod, "{\"spec\":{}}", "spec.containers: Required value");
    ERRS(kc_validate_pod,
         "{\"spec\":{\"restartPolicy\":\"Sometimes\",\"containers\":[{\"name\":\"c\",\"ports\":"
         "[{\"containerPort\":70000,\"protocol\":\"TCP\"}]},{\"name\":\"c\",\"image\":\"i\"}]}}",
         "spec.containers[0].image: Required value\n"
         "spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and "
         "65535, inclusive\n"
         "spec.containers[1].name: Duplicate value: \"c\"\n"
         "spec.restartPolicy: Unsupported value: \"Sometimes\": supported values: \"Always\", "
         "\"OnFailure\", \"Never\"");

    /* sysctl names (upstream's e2e "should reject invalid sysctls") */
    ERRS(kc_validate_pod,
         "{\"spec\":{\"securityContext\":{\"sysctls\":[{\"name\":\"foo-\",\"value\":\"bar\"},"
         "{\"name\":\"kernel.shmmax\",\"value\":\"1\"},{\"name\":\"safe-and-unsafe\",\"value\":"
         "\"1\"},{\"name\":\"bar..\",\"value\":\"42\"},{\"name\":\"net/ipv4/ip_forward\"},"
         "{\"name\":\"kernel.shmmax\"}]},\"containers\":[{\"name\":\"c\",\"image\":\"i\"}]}}",
         "spec.securityContext.sysctls[0].name: Invalid value: \"foo-\": must have at most 253 "
         "characters and match regex "
         "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$\n"
         "spec.securityContext.sysctls[3].name: Invalid value: \"bar..\": must have at most 253 "
         "characters and match regex "
         "^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$\n"
         "spec.securityContext.sysctls[5].name: Duplicate value: \"kernel.shmmax\"");

    /* immutable ConfigMaps and Secrets */
    json_t *cm_old = json_loads("{\"immutable\":true,\"data\":{\"a\":\"1\"}}", 0, NULL);
    json_t *cm_new = json_loads("{\"immutable\":false,\"data\":{\"a\":\"2\"}}", 0, NULL);
    struct kc_errlist *el = kc_errlist_new();
    kc_validate_configmap_update(cm_new, cm_old, el);
    CHECK_INT((long long)kc_errlist_len(el), 2);
    CHECK_STR(kc_errlist_field(el, 0), "immutable");
    CHECK_STR(kc_errlist_field(el, 1), "data");
    kc_errlist_free(el);
    el = kc_errlist_new();
    json_object_set_new(cm_new, "immutable", json_true());
    json_object_set_new(cm_new, "data", json_pack("{s:s}", "a", "1"));
    kc_validate_secret_update(cm_new, cm_old, el);
    CHECK_INT((long long)kc_errlist_len(el), 0);
    kc_errlist_free(el);
    json_decref(cm_old);
    json_decref(cm_new);

    /* services */
    ERRS(kc_validate_service, "{\"spec\":{\"type\":\"ClusterIP\"}}", "spec.ports: Required value");
    ERRS(
        kc_validate_service,
        "{\"spec\":{\"type\":\"Bogus\",\"ports\":[{\"port\":80},{\"port\":70000,\"name\":\"b\"}]}}",
        "spec.type: Unsupported value: \"Bogus\": supported values: \"ClusterIP\", "
        "\"ExternalName\", \"LoadBalancer\", \"NodePort\"\n"
        "spec.ports[0].name: Required value\n"
        "spec.ports[1].port: Invalid value: 70000: must be between 1 and 65535, inclusive");

    /* configmaps and ingresses */
    ERRS(kc_validate_configmap, "{\"data\":{\"bad key\":\"v\"}}",
         "data[bad key]: Invalid value: \"bad key\": a valid config key must consist of "
         "alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or "
         "'key-name', regex used for validation is '[-._a-zA-Z0-9]+')");
    ERRS(kc_validate_ingress,
         "{\"spec\":{\"rules\":[{\"host\":\"foo.com\",\"http\":{\"paths\":[{\"path\":\"bar\","
         "\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"s\",\"port\":{\"number\":80}"
         "}}}]}}]}}",
         "spec.rules[0].http.paths[0].path: Invalid value: \"bar\": must be an absolute path");
    ERRS(kc_validate_ingress,
         "{\"spec\":{\"rules\":[{\"host\":\"*.foo.com\",\"http\":{\"paths\":[{\"path\":\"/\","
         "\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"s\",\"port\":{\"name\":"
         "\"http\"}}}}]}}]}}",
         "");
    CHECK_DONE();
}
