/* The Service rules generator (nodeagent/proxy_nft.c): API objects in, nftables text
 * out. ClusterIP, NodePort, session affinity, no endpoints (rejected), named ports, UDP,
 * what gets no rules, invalid input, and `nft -c -f` on the results when nft is here and
 * allowed to check (root). */
#include "check.h"
#include "nodeagent/proxy_nft.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool has(const char *text, const char *needle)
{
    bool ok = text && strstr(text, needle) != NULL;
    if (!ok)
        fprintf(stderr, "missing: %s\n", needle);
    return ok;
}

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fprintf(stderr, "bad fixture: %s\n", e.text);
    return j;
}

/* renders services (array text) with their endpoints (object "ns/name" -> Endpoints) */
static char *render(const char *svcs_text, const char *eps_text, size_t *ports, size_t *eps)
{
    struct kc_nft_model *m = kc_nft_model_new("kubec", "10.244.0.0/16");
    json_t *svcs = parse(svcs_text), *epsj = parse(eps_text);
    size_t i;
    json_t *svc;
    json_array_foreach (svcs, i, svc) {
        char key[256];
        snprintf(key, sizeof key, "%s/%s",
                 json_string_value(json_object_get(json_object_get(svc, "metadata"), "namespace")),
                 json_string_value(json_object_get(json_object_get(svc, "metadata"), "name")));
        kc_nft_model_add_service(m, svc, json_object_get(epsj, key));
    }
    if (ports)
        *ports = kc_nft_model_ports(m);
    if (eps)
        *eps = kc_nft_model_endpoints(m);
    char *text = kc_nft_model_render(m);
    kc_nft_model_free(m);
    json_decref(svcs);
    json_decref(epsj);
    return text;
}

static int nft_checks_possible = -1;

/* `nft -c -f FILE`: 1 ok, 0 rejected, -1 not possible here (no nft, not root). */
static int nft_check(const char *text)
{
    if (nft_checks_possible == -1)
        nft_checks_possible = geteuid() == 0 && system("command -v nft >/dev/null 2>&1") == 0;
    if (!nft_checks_possible)
        return -1;
    char path[] = "/tmp/kubec-nft-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "nft -c -f %s", path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0 ? 1 : 0;
}

#define CHECK_NFT(text)                                                                            \
    do {                                                                                           \
        int r_ = nft_check(text);                                                                  \
        if (r_ >= 0)                                                                               \
            CHECK(r_ == 1);                                                                        \
    } while (0)

static const char *WEB_SVC =
    "[{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},"
    "\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.10\","
    "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\",\"targetPort\":\"web\","
    "\"nodePort\":30080}]}}]";
/* two subsets, the named port resolved to different numbers per pod; not-ready left out */
static const char *WEB_EPS = "{\"default/web\":{\"subsets\":["
                             "{\"addresses\":[{\"ip\":\"10.244.2.7\"},{\"ip\":\"10.244.1.5\"}],"
                             "\"notReadyAddresses\":[{\"ip\":\"10.244.3.9\"}],"
                             "\"ports\":[{\"name\":\"http\",\"port\":5005,\"protocol\":\"TCP\"}]},"
                             "{\"addresses\":[{\"ip\":\"10.244.3.3\"}],"
                             "\"ports\":[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"},"
                             "{\"name\":\"other\",\"port\":9,\"protocol\":\"TCP\"}]}]}}";

static void test_clusterip_nodeport(void)
{
    size_t np = 0, ne = 0;
    char *t = render(WEB_SVC, WEB_EPS, &np, &ne);
    CHECK_INT(np, 1);
    CHECK_INT(ne, 3);
    /* atomic replace */
    CHECK(strncmp(t, "table ip kubec\ndelete table ip kubec\ntable ip kubec {\n", 52) == 0);
    CHECK(has(t, "type nat hook prerouting priority dstnat;"));
    CHECK(has(t, "type nat hook output priority -100;"));
    CHECK(has(t, "meta mark & 0x4000 == 0x4000 masquerade"));
    CHECK(has(t, "elements = { 10.96.0.10 . tcp . 80 : goto svc-default/web/tcp/80 }"));
    CHECK(has(t, "elements = { tcp . 30080 : goto ext-default/web/tcp/80 }"));
    CHECK(has(t, "fib daddr type local meta l4proto . th dport vmap @service-nodeports"));
    CHECK(has(t, "chain svc-default/web/tcp/80 {\n"
                 "\t\tip saddr != 10.244.0.0/16 meta mark set meta mark | 0x4000\n"
                 "\t\tmeta l4proto tcp dnat ip to numgen random mod 3 map { "
                 "0 : 10.244.1.5 . 5005, 1 : 10.244.2.7 . 5005, 2 : 10.244.3.3 . 8080 }\n"));
    CHECK(has(t, "chain ext-default/web/tcp/80 {\n\t\tmeta mark set meta mark | 0x4000\n"
                 "\t\tgoto svc-default/web/tcp/80\n"));
    /* hairpin: each endpoint address once, masqueraded when it reaches itself */
    CHECK(has(t, "set hairpin {\n\t\ttype ipv4_addr . ipv4_addr\n"
                 "\t\telements = { 10.244.1.5 . 10.244.1.5,\n"
                 "\t\t\t     10.244.2.7 . 10.244.2.7,\n"
                 "\t\t\t     10.244.3.3 . 10.244.3.3 }\n"));
    CHECK(has(t, "type nat hook postrouting priority srcnat; policy accept;\n"
                 "\t\tip saddr . ip daddr @hairpin masquerade\n"));
    CHECK(!strstr(t, "chain ep-"));  /* no chain per endpoint without affinity */
    CHECK(!strstr(t, "10.244.3.9")); /* not ready */
    CHECK(!strstr(t, ":9\n"));       /* another port's number */
    CHECK(!strstr(t, "aff-"));
    CHECK_NFT(t);
    /* the same objects in another order: the same text */
    char *t2 = render(WEB_SVC,
                      "{\"default/web\":{\"subsets\":["
                      "{\"addresses\":[{\"ip\":\"10.244.3.3\"}],"
                      "\"ports\":[{\"name\":\"other\",\"port\":9,\"protocol\":\"TCP\"},"
                      "{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]},"
                      "{\"addresses\":[{\"ip\":\"10.244.1.5\"},{\"ip\":\"10.244.2.7\"}],"
                      "\"ports\":[{\"name\":\"http\",\"port\":5005,\"protocol\":\"TCP\"}]}]}}",
                      NULL, NULL);
    CHECK_STR(t2, t);
    free(t);
    free(t2);
}

static void test_affinity(void)
{
    char *t = render("[{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"sticky\"},"
                     "\"spec\":{\"clusterIP\":\"10.96.5.5\",\"sessionAffinity\":\"ClientIP\","
                     "\"sessionAffinityConfig\":{\"clientIP\":{\"timeoutSeconds\":60}},"
                     "\"ports\":[{\"port\":8080,\"protocol\":\"TCP\"}]}},"
                     "{\"metadata\":{\"namespace\":\"ns1\",\"name\":\"sticky-default\"},"
                     "\"spec\":{\"clusterIP\":\"10.96.5.6\",\"sessionAffinity\":\"ClientIP\","
                     "\"ports\":[{\"port\":80}]}}]",
                     "{\"ns1/sticky\":{\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.1.2\"},"
                     "{\"ip\":\"10.244.1.3\"}],\"ports\":[{\"port\":5005,\"protocol\":\"TCP\"}]}]},"
                     "\"ns1/sticky-default\":{\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.1.4\"}"
                     "],\"ports\":[{\"port\":5005}]}]}}",
                     NULL, NULL);
    CHECK(has(t, "set aff-ns1/sticky/tcp/8080__10.244.1.2/5005 {\n\t\ttype ipv4_addr\n"
                 "\t\tflags dynamic,timeout\n\t\ttimeout 60s\n"));
    CHECK(has(t, "timeout 10800s")); /* the default */
    /* known clients first, then the random pick */
    const char *a = strstr(t, "ip saddr @aff-ns1/sticky/tcp/8080__10.244.1.3/5005 goto "
                              "ep-ns1/sticky/tcp/8080__10.244.1.3/5005\n");
    const char *n = strstr(t, "numgen random mod 2");
    CHECK(a && n && a < n);
    CHECK(has(t, "numgen random mod 2 vmap { 0 : goto ep-ns1/sticky/tcp/8080__10.244.1.2/5005, "
                 "1 : goto ep-ns1/sticky/tcp/8080__10.244.1.3/5005 }"));
    CHECK(has(t, "chain ep-ns1/sticky/tcp/8080__10.244.1.2/5005 {\n"
                 "\t\tupdate @aff-ns1/sticky/tcp/8080__10.244.1.2/5005 { ip saddr }\n"
                 "\t\tmeta l4proto tcp dnat to 10.244.1.2:5005\n"));
    CHECK_NFT(t);
    free(t);
}

static void test_no_endpoints_udp_and_skipped(void)
{
    size_t np = 0, ne = 0;
    char *t = render(
        "[{\"metadata\":{\"namespace\":\"kube-system\",\"name\":\"dns\"},"
        "\"spec\":{\"clusterIP\":\"10.96.0.53\",\"ports\":[{\"name\":\"dns\",\"port\":53,"
        "\"protocol\":\"UDP\"},{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\"}]}},"
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"empty\"},"
        "\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.0.77\",\"ports\":[{\"port\":80,"
        "\"nodePort\":30077}]}},"
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"headless\"},"
        "\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"port\":80}]}},"
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"ext\"},"
        "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"example.com\"}},"
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"v6\"},"
        "\"spec\":{\"clusterIP\":\"fd00::10\",\"ports\":[{\"port\":80}]}},"
        "{\"metadata\":{\"namespace\":\"default\",\"name\":\"sctp\"},"
        "\"spec\":{\"clusterIP\":\"10.96.0.88\",\"ports\":[{\"port\":80,\"protocol\":\"SCTP\"}]}}]",
        "{\"kube-system/dns\":{\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.2.2\"}],"
        "\"ports\":[{\"name\":\"dns\",\"port\":53,\"protocol\":\"UDP\"},"
        "{\"name\":\"dns-tcp\",\"port\":53,\"protocol\":\"TCP\"}]}]},"
        "\"default/headless\":{\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.2.3\"}],"
        "\"ports\":[{\"port\":80}]}]},"
        "\"default/empty\":{\"subsets\":[{\"notReadyAddresses\":[{\"ip\":\"10.244.2.4\"}],"
        "\"ports\":[{\"port\":80}]}]}}",
        &np, &ne);
    CHECK_INT(np, 3);
    CHECK_INT(ne, 2);
    CHECK(has(t, "meta l4proto udp dnat ip to numgen random mod 1 map { 0 : 10.244.2.2 . 53 }"));
    CHECK(has(t, "meta l4proto tcp dnat ip to numgen random mod 1 map { 0 : 10.244.2.2 . 53 }"));
    CHECK(has(t, "elements = { 10.244.2.2 . 10.244.2.2 }")); /* one address, two ports */
    CHECK(has(t, "10.96.0.53 . udp . 53 : goto svc-kube-system/dns/udp/53"));
    /* no ready endpoint: rejected by the filter chains, no nat chain */
    CHECK(has(t, "set no-endpoint-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service\n"
                 "\t\telements = { 10.96.0.77 . tcp . 80 }\n"));
    CHECK(has(t, "set no-endpoint-nodeports {\n\t\ttype inet_proto . inet_service\n"
                 "\t\telements = { tcp . 30077 }\n"));
    CHECK(has(t, "ip daddr . meta l4proto . th dport @no-endpoint-ips goto reject-chain"));
    CHECK(has(t, "meta l4proto tcp reject with tcp reset\n\t\treject\n"));
    CHECK(has(t, "type filter hook forward priority -10;"));
    CHECK(!strstr(t, "svc-default/empty"));
    CHECK(!strstr(t, "10.244.2.4"));
    CHECK(!strstr(t, "headless"));
    CHECK(!strstr(t, "ext/"));
    CHECK(!strstr(t, "fd00"));
    CHECK(!strstr(t, "sctp"));
    CHECK_NFT(t);
    free(t);
}

static void test_empty_and_invalid(void)
{
    size_t np = 1;
    char *t = render("[]", "{}", &np, NULL);
    CHECK_INT(np, 0);
    CHECK(!strstr(t, "elements"));
    CHECK(has(t, "set hairpin {\n\t\ttype ipv4_addr . ipv4_addr\n\t}\n"));
    CHECK_NFT(t);
    free(t);
    CHECK(kc_nft_model_new("kubec", "10.244.0.0") == NULL);
    CHECK(kc_nft_model_new("bad table", "10.244.0.0/16") == NULL);
    struct kc_nft_model *m = kc_nft_model_new("kubec", "10.244.0.0/16");
    struct kc_nft_port ok = {"default", "a", "tcp", "10.96.0.1", 80, 0, 0};
    struct kc_nft_port p = ok;
    CHECK_INT(kc_nft_model_add_port(m, &p), 0);
    CHECK_INT(kc_nft_model_add_port(m, &p), -1); /* the same VIP and port */
    p = ok, p.name = "a;flush ruleset";
    CHECK_INT(kc_nft_model_add_port(m, &p), -1);
    p = ok, p.vip = "10.96.0.2 tcp dport 1";
    CHECK_INT(kc_nft_model_add_port(m, &p), -1);
    p = ok, p.vip = "10.96.0.3", p.proto = "icmp";
    CHECK_INT(kc_nft_model_add_port(m, &p), -1);
    p = ok, p.vip = "10.96.0.3", p.port = 70000;
    CHECK_INT(kc_nft_model_add_port(m, &p), -1);
    CHECK_INT(kc_nft_model_add_endpoint(m, 0, "10.244.1.1", 5005), 0);
    CHECK_INT(kc_nft_model_add_endpoint(m, 0, "10.244.1.1", 5005), 0); /* once */
    CHECK_INT(kc_nft_model_add_endpoint(m, 0, "10.244.1.1}", 5005), -1);
    CHECK_INT(kc_nft_model_add_endpoint(m, 1, "10.244.1.1", 5005), -1);
    CHECK_INT(kc_nft_model_add_endpoint(m, 0, "10.244.1.2", 0), -1);
    CHECK_INT(kc_nft_model_endpoints(m), 1);
    kc_nft_model_free(m);
    char *d = kc_nft_render_delete("kubec");
    CHECK_STR(d, "table ip kubec\ndelete table ip kubec\n");
    free(d);
}

static struct kc_nft_model *two_services(bool with_b, int timeout)
{
    struct kc_nft_model *m = kc_nft_model_new("kubec", "10.244.0.0/16");
    struct kc_nft_port a = {"default", "a", "tcp", "10.96.0.1", 80, 30001, timeout};
    struct kc_nft_port b = {"default", "b", "udp", "10.96.0.2", 53, 0, 0};
    int ia = kc_nft_model_add_port(m, &a);
    kc_nft_model_add_endpoint(m, ia, "10.244.1.2", 5005);
    kc_nft_model_add_endpoint(m, ia, "10.244.1.3", 5005);
    if (with_b) {
        int ib = kc_nft_model_add_port(m, &b);
        kc_nft_model_add_endpoint(m, ib, "10.244.1.4", 53);
    }
    return m;
}

/* An update in place: stale objects deleted, affinity sets kept with their elements. */
static void test_update(void)
{
    struct kc_nft_model *prev = two_services(true, 60), *next = two_services(false, 60);
    char *first = kc_nft_model_render(prev);
    char *up = kc_nft_model_render_update(next, prev);
    char *same = kc_nft_model_render_update(next, NULL);
    char *full = kc_nft_model_render(next);
    CHECK_STR(same, full); /* nothing loaded before: a full replace */
    CHECK(strncmp(up, "flush table ip kubec\nflush map ip kubec service-ips\n", 51) == 0);
    CHECK(has(up, "flush set ip kubec hairpin\n"));
    CHECK(has(up, "delete chain ip kubec svc-default/b/udp/53\n"));
    CHECK(!strstr(up, "delete table"));
    CHECK(!strstr(up, "delete set"));
    CHECK(!strstr(up, "delete chain ip kubec svc-default/a/"));
    CHECK(!strstr(up, "delete chain ip kubec ep-default/a/"));
    CHECK(has(up, "table ip kubec {\n"));
    CHECK(has(up, "set aff-default/a/tcp/80__10.244.1.3/5005 {"));
    /* as root: load the first table, record a client, update: the client is still there;
     * an affinity timeout changed makes the update fail (the caller then replaces) */
    struct kc_nft_model *other = two_services(false, 90);
    char *refused = kc_nft_model_render_update(other, prev);
    if (nft_check(first) == 1 && system("command -v unshare >/dev/null 2>&1") == 0) {
        char a[] = "/tmp/kubec-nft-a-XXXXXX", b[] = "/tmp/kubec-nft-b-XXXXXX",
             c[] = "/tmp/kubec-nft-c-XXXXXX";
        const char *texts[] = {first, up, refused};
        char *paths[] = {a, b, c};
        for (int i = 0; i < 3; i++) {
            FILE *f = fdopen(mkstemp(paths[i]), "w");
            fputs(texts[i], f);
            fclose(f);
        }
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "unshare -n sh -c 'nft -f %s && nft add element ip kubec "
                 "aff-default/a/tcp/80__10.244.1.3/5005 { 10.250.0.1 } && nft -f %s && "
                 "nft list set ip kubec aff-default/a/tcp/80__10.244.1.3/5005 | grep -q "
                 "10.250.0.1 && ! nft list chain ip kubec svc-default/b/udp/53 2>/dev/null && "
                 "! nft -f %s 2>/dev/null'",
                 a, b, c);
        CHECK(system(cmd) == 0);
        for (int i = 0; i < 3; i++)
            unlink(paths[i]);
    }
    free(first);
    free(up);
    free(same);
    free(full);
    free(refused);
    kc_nft_model_free(prev);
    kc_nft_model_free(next);
    kc_nft_model_free(other);
}

/* a large model renders and passes nft's check (what the agent loads at scale) */
static void test_scale(void)
{
    struct kc_nft_model *m = kc_nft_model_new("kubec", "10.244.0.0/16");
    char vip[32], name[32], ip[32];
    for (int s = 0; s < 200; s++) {
        snprintf(vip, sizeof vip, "10.96.%d.%d", s / 250, s % 250 + 1);
        snprintf(name, sizeof name, "svc-%d", s);
        struct kc_nft_port p = {
            "scale", name, s % 2 ? "udp" : "tcp", vip, 80, s % 3 ? 0 : 30000 + s, s % 5 ? 0 : 300};
        int idx = kc_nft_model_add_port(m, &p);
        CHECK(idx == s);
        for (int e = 0; e < 10; e++) {
            snprintf(ip, sizeof ip, "10.244.%d.%d", e, s % 250 + 2);
            kc_nft_model_add_endpoint(m, idx, ip, 5005);
        }
    }
    CHECK_INT(kc_nft_model_endpoints(m), 2000);
    char *t = kc_nft_model_render(m);
    CHECK(t && strlen(t) > 100000);
    CHECK_NFT(t);
    free(t);
    kc_nft_model_free(m);
}

int main(void)
{
    test_clusterip_nodeport();
    test_affinity();
    test_no_endpoints_udp_and_skipped();
    test_empty_and_invalid();
    test_update();
    test_scale();
    if (nft_checks_possible != 1)
        fprintf(stderr, "nft -c checks skipped (needs root and nft)\n");
    CHECK_DONE();
}
