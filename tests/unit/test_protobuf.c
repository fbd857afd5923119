/* Protobuf request bodies captured from the stock kubectl 1.33 (create namespace,
 * deployment, service, configmap, secret, serviceaccount, ingress) decode to the JSON a
 * JSON client sends; malformed input fails cleanly. */
#include "apiserver/protobuf/protobuf.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static json_t *load(const char *name)
{
    char path[1024];
    const char *dir = __FILE__;
    const char *slash = strrchr(dir, '/');
    snprintf(path, sizeof path, "%.*s/fixtures/protobuf/%s", (int)(slash - dir), dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    unsigned char buf[65536];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    json_t *out = NULL;
    char err[256];
    if (kc_pb_decode_object(buf, n, &out, err, sizeof err) != 0) {
        fprintf(stderr, "%s: %s\n", name, err);
        return NULL;
    }
    return out;
}

static const char *str(json_t *o, const char *path)
{
    /* a tiny JSON-pointer-ish walk: "a.b.0.c" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = o;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        if (json_is_array(cur))
            cur = json_array_get(cur, (size_t)atoi(tok));
        else
            cur = json_object_get(cur, tok);
    }
    static char out[512];
    if (!cur)
        return "(missing)";
    if (json_is_string(cur))
        return json_string_value(cur);
    char *d = json_dumps(cur, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(out, sizeof out, "%s", d);
    free(d);
    return out;
}

static int decode_fails(const unsigned char *b, size_t n)
{
    json_t *out = NULL;
    char err[256];
    int rc = kc_pb_decode_object(b, n, &out, err, sizeof err);
    json_decref(out);
    return rc != 0;
}

int main(void)
{
    json_t *o = load("deployment-demo.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "apiVersion"), "apps/v1");
        CHECK_STR(str(o, "kind"), "Deployment");
        CHECK_STR(str(o, "metadata.name"), "demo");
        CHECK_STR(str(o, "metadata.labels"), "{\"app\":\"demo\"}");
        CHECK_STR(str(o, "spec.replicas"), "3");
        CHECK_STR(str(o, "spec.selector"), "{\"matchLabels\":{\"app\":\"demo\"}}");
        CHECK_STR(str(o, "spec.template.spec.containers.0.image"),
                  "jweissig/alpine-k8s-pod-lb-demo");
        CHECK_STR(str(o, "spec.template.spec.containers.0.name"), "alpine-k8s-pod-lb-demo");
        CHECK_STR(str(o, "spec.template.spec.containers.0.ports"), "[{\"containerPort\":5005}]");
        CHECK_STR(str(o, "spec.template.spec.containers.0.resources"), "{}");
        CHECK_STR(str(o, "spec.strategy"), "{}");
        CHECK_STR(str(o, "metadata.creationTimestamp"), "(missing)");
        json_decref(o);
    }
    o = load("deployment-zero.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "spec.replicas"), "0"); /* a pointer field: zero is kept */
        CHECK_STR(str(o, "spec.template.spec.containers.0.image"), "nginx:1.27");
        json_decref(o);
    }
    o = load("service-nodeport.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "kind"), "Service");
        CHECK_STR(str(o, "spec.type"), "NodePort");
        CHECK_STR(str(o, "spec.ports.0.port"), "80");
        CHECK_STR(str(o, "spec.ports.0.targetPort"), "8080");
        CHECK_STR(str(o, "spec.ports.0.nodePort"), "30111");
        CHECK_STR(str(o, "spec.ports.0.name"), "80-8080");
        json_decref(o);
    }
    o = load("service-clusterip.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "spec.ports.0.targetPort"), "http"); /* int-or-string as a string */
        CHECK_STR(str(o, "spec.selector"), "{\"app\":\"svc1\"}");
        json_decref(o);
    }
    o = load("configmap.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "data"), "{\"a\":\"b\",\"empty\":\"\"}"); /* map values keep "" */
        json_decref(o);
    }
    o = load("secret.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "data.k"), "dg=="); /* bytes as base64 */
        json_decref(o);
    }
    o = load("namespace-ns1.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "kind"), "Namespace");
        CHECK_STR(str(o, "metadata.name"), "ns1");
        json_decref(o);
    }
    o = load("serviceaccount.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "metadata.name"), "sa1");
        json_decref(o);
    }
    o = load("ingress.pb");
    CHECK(o != NULL);
    if (o) {
        CHECK_STR(str(o, "spec.ingressClassName"), "kubec");
        CHECK_STR(str(o, "spec.rules.0.host"), "foo.com");
        CHECK_STR(str(o, "spec.rules.0.http.paths.0.path"), "/bar"); /* inlined ingressRuleValue */
        CHECK_STR(str(o, "spec.rules.0.http.paths.0.pathType"), "Prefix");
        CHECK_STR(str(o, "spec.rules.0.http.paths.0.backend.service.port.number"), "80");
        json_decref(o);
    }

    /* malformed input */
    CHECK(decode_fails((const unsigned char *)"", 0));
    CHECK(decode_fails((const unsigned char *)"k8s", 3));
    CHECK(decode_fails((const unsigned char *)"{\"a\":1}", 7));
    static const unsigned char truncated_varint[] = {'k', '8', 's', 0, 0x0a, 0xff};
    CHECK(decode_fails(truncated_varint, sizeof truncated_varint));
    static const unsigned char len_past_end[] = {'k', '8', 's', 0, 0x0a, 0x7f, 0x0a};
    CHECK(decode_fails(len_past_end, sizeof len_past_end));
    static const unsigned char unknown_kind[] = {'k',  '8', 's', 0,    0x0a, 0x08, 0x0a,
                                                 0x02, 'v', '1', 0x12, 0x02, 'Z',  'z'};
    CHECK(decode_fails(unknown_kind, sizeof unknown_kind));
    /* a Deployment whose metadata (field 1) nests itself 200 deep: bounded, no crash */
    unsigned char deep[4096];
    static const unsigned char head[] = {'k', '8', 's', 0,   0x0a, 0x14, 0x0a, 0x07, 'a', 'p',
                                         'p', 's', '/', 'v', '1',  0x12, 0x0a, 'D',  'e', 'p',
                                         'l', 'o', 'y', 'm', 'e',  'n',  't',  0x12, 0x7f};
    memcpy(deep, head, sizeof head);
    size_t n = sizeof head;
    for (int i = 0; i < 120 && n + 2 < sizeof deep; i++) {
        deep[n++] = 0x12; /* spec / template ... field 2, wire type 2 */
        deep[n++] = 0x00;
    }
    (void)decode_fails(deep, n);
    static const unsigned char wrong_wire[] = {'k', '8', 's',  0,    0x0a, 0x0e, 0x0a, 0x02,
                                               'v', '1', 0x12, 0x08, 'C',  'o',  'n',  'f',
                                               'i', 'g', 'M',  'a',  0x12, 0x02, 0x08, 0x01};
    CHECK(decode_fails(wrong_wire, sizeof wrong_wire));
    CHECK_DONE();
}
