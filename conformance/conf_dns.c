/* [sig-network] DNS (test/e2e/network/dns.go and dns_common.go upstream): a pod resolves the
 * cluster's names through the cluster DNS.
 *
 * Upstream's prober pods run dig in two images and write a file per name answered, read
 * through the pod proxy. Here one pod of the busybox image looks every name up with
 * nslookup, prints "OK <type>:<name>" for each answered, and its log is matched (upstream's
 * "container output" check). Differences, all from the image: busybox's nslookup asks over
 * UDP only, so upstream's TCP lookups are not repeated; it does not search, so `look` below
 * walks resolv.conf's search list as `dig +search` does; there is no getent, so a host
 * entry is looked for in /etc/hosts, then in DNS, as getent's files-then-dns does. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

/* look TYPE NAME: the answer lines for NAME (through the search list; TYPE a, srv, ptr or
 * cname), failing when there are none. host NAME: whether /etc/hosts or DNS has NAME. */
static const char probe_functions[] =
    "look() { for c in $(awk -v n=\"$2\" '/^search/{for(i=2;i<=NF;i++) print n \".\" $i}' "
    "/etc/resolv.conf) \"$2\"; do "
    "a=$(nslookup -type=$1 \"$c\" 2>/dev/null | grep -E '^Address: |service = |name = '); "
    "if [ -n \"$a\" ]; then echo \"$a\"; return 0; fi; done; return 1; }; "
    "host() { awk -v n=\"$1\" '{for(i=2;i<=NF;i++) if($i==n) f=1} END{exit !f}' /etc/hosts || "
    "look a \"$1\" >/dev/null; }; ";

/* Runs the prober pod (hostname, subdomain and labels as given) checking entries, each
 * "<a|srv|ptr|host>:<name>" (space separated), plus upstream's pod A record
 * (<a-b-c-d>.<ns>.pod.<domain> of its own address); every one MUST be answered. */
static void probe(struct kc_conf *t, const char *hostname, const char *subdomain,
                  const char *labels, const char *entries)
{
    const char *ns = kc_conf_ns(t);
    char script[4096], patterns[16][300];
    const char *expect[17] = {0};
    /* upstream tries for 600 s; 120 rounds of 1 s are ample for caches of 5 s */
    snprintf(script, sizeof script,
             "%spodrec=$(hostname -i | awk -F. '{print $1\"-\"$2\"-\"$3\"-\"$4\".%s.pod."
             "cluster.local\"}'); names=\"%s a:$podrec\"; ok=; "
             "for i in $(seq 120); do all=1; for e in $names; do "
             "case \" $ok \" in *\" $e \"*) continue;; esac; "
             "if [ \"${e%%%%:*}\" = host ]; then host \"${e#*:}\"; else look \"${e%%%%:*}\" "
             "\"${e#*:}\" >/dev/null; fi && { ok=\"$ok $e\"; echo \"OK $e\"; } || all=0; done; "
             "[ $all = 1 ] && break; sleep 1; done; echo \"done:$ok\"",
             probe_functions, ns, entries);
    int n = 0;
    char copy[1024], *save = NULL;
    snprintf(copy, sizeof copy, "%s", entries);
    for (char *e = strtok_r(copy, " ", &save); e && n < 15; e = strtok_r(NULL, " ", &save)) {
        /* the name as an extended regex: dots literal */
        char re[256] = "";
        for (const char *c = e; *c && strlen(re) < sizeof re - 3; c++)
            snprintf(re + strlen(re), sizeof re - strlen(re), "%s%c", *c == '.' ? "\\" : "", *c);
        snprintf(patterns[n], sizeof patterns[n], "OK %s\n", re);
        expect[n] = patterns[n];
        n++;
    }
    snprintf(patterns[n], sizeof patterns[n],
             "OK a:[0-9]+-[0-9]+-[0-9]+-[0-9]+\\.%s\\.pod\\.cluster\\.local\n", ns);
    expect[n] = patterns[n];
    json_t *lab = kc_conf_json(t, "%s", labels ? labels : "{}");
    json_t *pod = json_pack("{s:{s:s,s:o},s:{s:s,s:s,s:s,s:i,s:[{s:s,s:s,s:[s,s,s]}]}}", "metadata",
                            "name", "dns-test", "labels", lab ? lab : json_object(), "spec",
                            "hostname", hostname, "subdomain", subdomain, "restartPolicy", "Never",
                            "terminationGracePeriodSeconds", 0, "containers", "name", "querier",
                            "image", kc_conf_image(t), "command", "sh", "-c", script);
    REQUIRE(t, pod, "no pod");
    kc_conf_pod_output(t, pod, "querier", expect);
    json_decref(pod);
}

/* The headless Service dns-test-service (or name) and, unless NULL, the regular Service
 * regular, both selecting label=true on port 80 "http" (upstream's CreateServiceSpec);
 * the regular one's ClusterIP goes to cip. */
static bool make_services(struct kc_conf *t, const char *headless, const char *regular,
                          const char *label, char *cip, size_t len)
{
    const char *names[2] = {headless, regular};
    for (int i = 0; i < 2 && names[i]; i++) {
        json_t *svc = kc_conf_json(
            t,
            "{\"metadata\":{\"name\":\"%s\"},\"spec\":{%s\"selector\":{\"%s\":\"true\"},"
            "\"ports\":[{\"name\":\"http\",\"port\":80,\"protocol\":\"TCP\"}]}}",
            names[i], i == 0 ? "\"clusterIP\":\"None\"," : "", label);
        json_t *out = NULL; /* owned */
        int code = svc ? kc_conf_call(t, "POST", svc, NULL, &out, "/api/v1/namespaces/%s/services",
                                      kc_conf_ns(t))
                       : -1;
        if (i == 1 && cip)
            snprintf(cip, len, "%s", kc_json_str(out, "spec.clusterIP") ?: "");
        json_decref(svc);
        json_decref(out);
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "failed to create service %s: HTTP %d", names[i],
                            code);
            return false;
        }
    }
    return true;
}

/* a.b.c.d -> d.c.b.a.in-addr.arpa */
static void reverse(const char *ip, char *out, size_t len)
{
    unsigned a, b, c, d;
    if (sscanf(ip, "%u.%u.%u.%u", &a, &b, &c, &d) == 4)
        snprintf(out, len, "%u.%u.%u.%u.in-addr.arpa", d, c, b, a);
    else
        snprintf(out, len, "invalid");
}

/* A pod MUST resolve kubernetes.default.svc.<domain> and its own pod A record. */
static void dns_cluster(struct kc_conf *t)
{
    probe(t, "dns-querier-1", "dns-test-service", NULL, "a:kubernetes.default.svc.cluster.local");
}

/* A pod MUST resolve a headless Service's A record, the SRV records of a headless and a
 * regular Service's named port, and the regular one's PTR record. */
static void dns_services(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char cip[64], ptr[96], entries[1024];
    REQUIRE(t, make_services(t, "dns-test-service", "test-service-2", "dns-test", cip, sizeof cip),
            "no services");
    reverse(cip, ptr, sizeof ptr);
    snprintf(entries, sizeof entries,
             "a:dns-test-service.%s.svc.cluster.local srv:_http._tcp.dns-test-service.%s.svc."
             "cluster.local srv:_http._tcp.test-service-2.%s.svc.cluster.local ptr:%s",
             ns, ns, ns, ptr);
    probe(t, "dns-querier-1", "dns-test-service", "{\"dns-test\":\"true\"}", entries);
}

/* ... by partial names, through the search path. */
static void dns_partial(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char cip[64], ptr[96], entries[1024];
    REQUIRE(t, make_services(t, "dns-test-service", "test-service-2", "dns-test", cip, sizeof cip),
            "no services");
    reverse(cip, ptr, sizeof ptr);
    snprintf(entries, sizeof entries,
             "a:dns-test-service a:dns-test-service.%s a:dns-test-service.%s.svc "
             "srv:_http._tcp.dns-test-service.%s.svc srv:_http._tcp.test-service-2.%s.svc ptr:%s",
             ns, ns, ns, ns, ptr);
    probe(t, "dns-querier-1", "dns-test-service", "{\"dns-test\":\"true\"}", entries);
}

/* A pod with a hostname and a subdomain naming a headless Service MUST resolve its FQDN and
 * its hostname (as getent hosts does). */
static void dns_hostname(struct kc_conf *t)
{
    char entries[512];
    REQUIRE(t, make_services(t, "dns-test-service-2", NULL, "dns-test-hostname-attribute", NULL, 0),
            "no service");
    snprintf(entries, sizeof entries,
             "host:dns-querier-2.dns-test-service-2.%s.svc.cluster.local host:dns-querier-2",
             kc_conf_ns(t));
    probe(t, "dns-querier-2", "dns-test-service-2", "{\"dns-test-hostname-attribute\":\"true\"}",
          entries);
}

/* ... MUST resolve its FQDN and its subdomain (the headless Service) by DNS A records. */
static void dns_subdomain(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char entries[512];
    REQUIRE(t, make_services(t, "dns-test-service-2", NULL, "dns-test-hostname-attribute", NULL, 0),
            "no service");
    snprintf(entries, sizeof entries,
             "a:dns-querier-2.dns-test-service-2.%s.svc.cluster.local "
             "a:dns-test-service-2.%s.svc.cluster.local",
             ns, ns);
    probe(t, "dns-querier-2", "dns-test-service-2", "{\"dns-test-hostname-attribute\":\"true\"}",
          entries);
}

/* Upstream's createTargetedProbeCommand: `dig +short <fqdn> <type>` each second, until the
 * answer is want (here: at most 60 tries, printing each answer). */
static void targeted_probe(struct kc_conf *t, const char *fqdn, const char *type, const char *want)
{
    char script[1024], pattern[256] = "R ";
    /* dig +short's form: a name with its trailing dot, or the address */
    snprintf(script, sizeof script,
             "for i in $(seq 60); do v=$(nslookup -type=%s %s 2>/dev/null | awk "
             "'/canonical name = /{print $NF \".\"; exit} /^Address: /{print $2; exit}'); "
             "echo \"R $v\"; [ \"$v\" = \"%s\" ] && break; sleep 1; done",
             type, fqdn, want);
    for (const char *c = want; *c && strlen(pattern) < sizeof pattern - 4; c++)
        snprintf(pattern + strlen(pattern), sizeof pattern - strlen(pattern), "%s%c",
                 *c == '.' ? "\\" : "", *c);
    strcat(pattern, "\n");
    const char *expect[] = {pattern, NULL};
    json_t *pod =
        json_pack("{s:{s:s},s:{s:s,s:s,s:s,s:i,s:[{s:s,s:s,s:[s,s,s]}]}}", "metadata", "name",
                  "dns-test", "spec", "hostname", "dns-querier-1", "subdomain", "dns-test-service",
                  "restartPolicy", "Never", "terminationGracePeriodSeconds", 0, "containers",
                  "name", "querier", "image", kc_conf_image(t), "command", "sh", "-c", script);
    REQUIRE(t, pod, "no pod");
    kc_conf_pod_output(t, pod, "querier", expect);
    json_decref(pod);
}

static bool update_service(struct kc_conf *t, const char *name, const char *patch_json, char *cip,
                           size_t len)
{
    json_t *patch = kc_conf_json(t, "%s", patch_json), *out = NULL; /* owned */
    int code = patch ? kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", &out,
                                    "/api/v1/namespaces/%s/services/%s", kc_conf_ns(t), name)
                     : -1;
    if (code != 200)
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to update service %s: HTTP %d %s", name,
                        code, kc_json_str(out, "message") ?: "");
    if (cip)
        snprintf(cip, len, "%s", kc_json_str(out, "spec.clusterIP") ?: "");
    json_decref(patch);
    json_decref(out);
    return code == 200;
}

/* An ExternalName Service MUST resolve to a CNAME of its externalName, follow a change of
 * it, and once changed to ClusterIP resolve to the ClusterIP. */
static void dns_externalname(struct kc_conf *t)
{
    char fqdn[256], cip[64];
    snprintf(fqdn, sizeof fqdn, "dns-test-service-3.%s.svc.cluster.local", kc_conf_ns(t));
    json_t *svc =
        kc_conf_json(t, "{\"metadata\":{\"name\":\"dns-test-service-3\"},\"spec\":{"
                        "\"type\":\"ExternalName\",\"externalName\":\"foo.example.com\"}}");
    int code = svc ? kc_conf_call(t, "POST", svc, NULL, NULL, "/api/v1/namespaces/%s/services",
                                  kc_conf_ns(t))
                   : -1;
    json_decref(svc);
    REQUIRE(t, code == 201, "failed to create ExternalName service: HTTP %d", code);
    targeted_probe(t, fqdn, "cname", "foo.example.com.");
    REQUIRE(t, !kc_conf_failed(t), "foo.example.com");
    REQUIRE(t,
            update_service(t, "dns-test-service-3",
                           "{\"spec\":{\"externalName\":\"bar.example.com\"}}", NULL, 0),
            "changing the externalName");
    targeted_probe(t, fqdn, "cname", "bar.example.com.");
    REQUIRE(t, !kc_conf_failed(t), "bar.example.com");
    REQUIRE(t,
            update_service(t, "dns-test-service-3",
                           "{\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80,\"name\":"
                           "\"http\",\"protocol\":\"TCP\"}]}}",
                           cip, sizeof cip),
            "changing the type to ClusterIP");
    REQUIRE(t, *cip, "the Service has no ClusterIP");
    targeted_probe(t, fqdn, "a", cip);
}

const struct kc_conf_test kc_conf_tests_dns[] = {
    {"[sig-network] DNS should provide DNS for the cluster [Conformance]", dns_cluster,
     KC_CONF_CONTAINERS},
    {"[sig-network] DNS should provide DNS for services [Conformance]", dns_services,
     KC_CONF_CONTAINERS},
    {"[sig-network] DNS should resolve DNS of partial qualified names for services [LinuxOnly] "
     "[Conformance]",
     dns_partial, KC_CONF_CONTAINERS},
    {"[sig-network] DNS should provide DNS for pods for Hostname [Conformance]", dns_hostname,
     KC_CONF_CONTAINERS},
    {"[sig-network] DNS should provide DNS for pods for Subdomain [Conformance]", dns_subdomain,
     KC_CONF_CONTAINERS},
    {"[sig-network] DNS should provide DNS for ExternalName services [Conformance]",
     dns_externalname, KC_CONF_CONTAINERS},
    {NULL, NULL, 0},
};
