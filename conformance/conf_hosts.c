/* The files the node writes into a pod's containers about names: the kubelet-managed
 * /etc/hosts (the pod's own line, with its FQDN under a subdomain; spec.hostAliases) and
 * /etc/resolv.conf under dnsPolicy None (test/e2e/common/node/kubelet.go,
 * test/e2e/network/dns.go upstream). Upstream reads them with agnhost, dig and getent and
 * collects results over HTTP or exec; here a busybox shell prints them and the log is read. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POD_START_MS 180000 /* generous: CI runs under sanitizers */
#define LOG_SEEN_MS 60000   /* upstream's wait for the log to show the entries */

/* Creates pod (borrowed), waits for it to succeed and returns its container's log (a
 * string to free), NULL with a recorded failure. *pod_out (may be NULL) gets the pod as
 * it ended (a new reference). The pod is deleted. */
static char *run_to_log(struct kc_conf *t, const json_t *pod, json_t **pod_out)
{
    const char *name = kc_json_str(pod, "metadata.name") ?: "";
    char *log = NULL;
    int code = kc_conf_pod_create(t, pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        return NULL;
    }
    if (kc_conf_pod_wait_phase(t, name, "Succeeded", POD_START_MS)) {
        log = kc_conf_pod_log(t, name, NULL);
        if (!log)
            kc_conf_fail_at(t, __FILE__, __LINE__, "reading the log of pod %s failed", name);
        if (pod_out)
            kc_conf_call(t, "GET", NULL, NULL, pod_out, "/api/v1/namespaces/%s/pods/%s",
                         kc_conf_ns(t), name);
    }
    kc_conf_pod_delete(t, name, 0);
    return log;
}

static bool matches(const char *text, const char *pattern)
{
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB | REG_NEWLINE) != 0)
        return false;
    bool found = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return found;
}

struct log_want {
    const char *pod, *pattern;
};

static bool log_shows(struct kc_conf *t, void *arg)
{
    const struct log_want *w = arg;
    char *log = kc_conf_pod_log(t, w->pod, NULL);
    bool found = log && matches(log, w->pattern);
    free(log);
    return found;
}

/* spec.hostAliases MUST be in the container's /etc/hosts: one line per IP, its host
 * names separated by tabs. */
static void host_aliases(struct kc_conf *t)
{
    char name[96];
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"terminationGracePeriodSeconds\":1,"
        "\"restartPolicy\":\"Never\",\"hostAliases\":[{\"ip\":\"123.45.67.89\",\"hostnames\":["
        "\"foo\",\"bar\"]}],\"containers\":[{\"name\":\"busybox-host-aliases\",\"image\":\"%s\","
        "\"command\":[\"/bin/sh\",\"-c\",\"cat /etc/hosts; sleep 6000\"]}]}}",
        kc_conf_unique(t, "busybox-host-aliases", name, sizeof name), kc_conf_image(t));
    REQUIRE(t, pod, "no pod");
    int code = kc_conf_pod_create(t, pod);
    json_decref(pod);
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    if (kc_conf_pod_wait_phase(t, name, "Running", POD_START_MS)) {
        struct log_want w = {name, "^123\\.45\\.67\\.89\tfoo\tbar$"};
        if (!kc_conf_wait(t, LOG_SEEN_MS, log_shows, &w)) {
            char *log = kc_conf_pod_log(t, name, NULL);
            kc_conf_fail_at(t, __FILE__, __LINE__,
                            "expected hosts file to contain entries from HostAliases; it was:\n%s",
                            log ? log : "(no log)");
            free(log);
        }
    }
    kc_conf_pod_delete(t, name, 0);
}

/* A pod with hostname dns-querier-1 under subdomain dns-test-service MUST find both its
 * FQDN (dns-querier-1.dns-test-service.<ns>.svc.cluster.local) and its hostname in
 * /etc/hosts, at its own address, and resolve its pod A record (<a-b-c-d>.<ns>.pod.
 * cluster.local) through the cluster DNS. Upstream probes with getent and dig over UDP and
 * TCP for up to 600 s; busybox has neither, so the hosts file is searched with awk and the
 * A record asked with nslookup (UDP), for up to 60 s. The `$$` are the kubelet's escape
 * of `$`, as upstream writes them. */
static void etc_hosts_entries(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[96], fqdn[256], want[512];
    snprintf(fqdn, sizeof fqdn, "dns-querier-1.dns-test-service.%s.svc.cluster.local", ns);
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"Never\",\"hostname\":"
        "\"dns-querier-1\",\"subdomain\":\"dns-test-service\",\"containers\":[{\"name\":"
        "\"querier\",\"image\":\"%s\",\"command\":[\"sh\",\"-c\",\"for i in $$(seq 1 60); do "
        "ok=0; for n in %s dns-querier-1; do awk -v n=$$n '{for (i = 2; i <= NF; i++) if ($$i "
        "== n) f = 1} END {exit !f}' /etc/hosts && ok=$$((ok+1)); done; "
        "podARec=$$(hostname -i | awk -F. '{print $$1\\\"-\\\"$$2\\\"-\\\"$$3\\\"-\\\"$$4\\\"."
        "%s.pod.cluster.local\\\"}'); nslookup $$podARec >/dev/null 2>&1 && ok=$$((ok+1)); "
        "[ $$ok = 3 ] && break; sleep 1; done; echo ok=$$ok; echo podARec=$$podARec; "
        "cat /etc/hosts\"]}]}}",
        kc_conf_unique(t, "dns-test", name, sizeof name), kc_conf_image(t), fqdn, ns);
    json_t *ended = NULL; /* owned */
    char *log = pod ? run_to_log(t, pod, &ended) : NULL;
    if (!log)
        goto out;
    const char *ip = kc_json_str(ended, "status.podIP") ?: "";
    EXPECT(t, matches(log, "^ok=3$"),
           "the hosts entries or the pod A record were not found; the pod printed:\n%s", log);
    /* the kubelet's line for a pod under a subdomain: IP, FQDN, hostname */
    snprintf(want, sizeof want, "^%s\t%s\tdns-querier-1$", ip, fqdn);
    EXPECT(t, matches(log, want), "/etc/hosts has no line \"%s<TAB>%s<TAB>dns-querier-1\":\n%s", ip,
           fqdn, log);
out:
    free(log);
    json_decref(pod);
    json_decref(ended);
}

/* dnsPolicy None with dnsConfig: /etc/resolv.conf MUST name exactly the given nameserver
 * and search path (upstream asks agnhost's dns-server-list and dns-suffix by exec). */
static void dns_nameservers(struct kc_conf *t)
{
    char name[96];
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"Never\",\"dnsPolicy\":"
        "\"None\",\"dnsConfig\":{\"nameservers\":[\"1.1.1.1\"],\"searches\":["
        "\"resolv.conf.local\"]},\"containers\":[{\"name\":\"agnhost-container\",\"image\":"
        "\"%s\",\"command\":[\"cat\",\"/etc/resolv.conf\"]}]}}",
        kc_conf_unique(t, "test-dns-nameservers", name, sizeof name), kc_conf_image(t));
    char *log = pod ? run_to_log(t, pod, NULL) : NULL;
    if (!log)
        goto out;
    /* every nameserver line and every search domain, joined as agnhost prints them */
    char servers[512] = "", searches[512] = "";
    char *save = NULL;
    for (char *line = strtok_r(log, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *rest = NULL;
        char *what = strtok_r(line, " \t", &rest);
        char *dst = !what                         ? NULL
                    : !strcmp(what, "nameserver") ? servers
                    : !strcmp(what, "search")     ? searches
                                                  : NULL;
        if (!dst)
            continue;
        for (char *w = strtok_r(NULL, " \t", &rest); w; w = strtok_r(NULL, " \t", &rest))
            snprintf(dst + strlen(dst), 512 - strlen(dst), "%s%s", *dst ? "," : "", w);
    }
    EXPECT(t, !strcmp(servers, "1.1.1.1"), "dns-server-list: want 1.1.1.1, got \"%s\"", servers);
    EXPECT(t, !strcmp(searches, "resolv.conf.local"),
           "dns-suffix: want resolv.conf.local, got \"%s\"", searches);
out:
    free(log);
    json_decref(pod);
}

const struct kc_conf_test kc_conf_tests_hosts[] = {
    {"[sig-node] Kubelet when scheduling an agnhost Pod with hostAliases should write entries to "
     "/etc/hosts [NodeConformance] [Conformance]",
     host_aliases, 0},
    {"[sig-network] DNS should provide /etc/hosts entries for the cluster [Conformance]",
     etc_hosts_entries, 0},
    {"[sig-network] DNS should support configurable pod DNS nameservers [Conformance]",
     dns_nameservers, 0},
    {NULL, NULL, 0},
};
