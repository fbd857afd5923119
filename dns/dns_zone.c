/* See dns_zone.h. */
#include "dns/dns_zone.h"

#include "dns/dns_msg.h"
#include "lib/jsonx.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Splits name into at most max labels (copied into store); returns how many, -1 if more. */
static int split(const char *name, char labels[][64], int max)
{
    int n = 0;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (n == max || len == 0 || len > 63)
            return -1;
        memcpy(labels[n], p, len);
        labels[n][len] = 0;
        n++;
        if (!dot)
            break;
        p = dot + 1;
    }
    return n;
}

static bool add_ip(const char *text, uint32_t *ips, size_t max, size_t *n)
{
    struct in_addr a;
    if (!text || inet_pton(AF_INET, text, &a) != 1 || *n >= max)
        return false;
    ips[(*n)++] = a.s_addr;
    return true;
}

/* A Service's records: its ClusterIP, or for a headless one its ready endpoints. */
static int service_records(const struct kc_dns_source *src, const char *ns, const char *name,
                           uint16_t qtype, uint32_t *ips, size_t max, size_t *n)
{
    json_t *svc = src->service(src->ctx, ns, name); /* owned */
    int rc = KC_DNS_NOERROR;
    if (!svc)
        return KC_DNS_NXDOMAIN;
    const char *type = kc_json_str(svc, "spec.type");
    const char *cip = kc_json_str(svc, "spec.clusterIP");
    if (type && strcmp(type, "ExternalName") == 0) {
        rc = KC_DNS_NOERROR; /* a CNAME upstream; no A records here */
        goto out;
    }
    if (qtype != KC_DNS_TYPE_A && qtype != KC_DNS_TYPE_ANY)
        goto out;
    if (cip && strcmp(cip, "None") != 0) {
        add_ip(cip, ips, max, n);
        goto out;
    }
    json_t *ep = src->endpoints(src->ctx, ns, name); /* owned */
    size_t i, j;
    json_t *sub, *addr;
    json_array_foreach (json_object_get(ep, "subsets"), i, sub)
        json_array_foreach (json_object_get(sub, "addresses"), j, addr)
            add_ip(kc_json_str(addr, "ip"), ips, max, n);
    json_decref(ep);
out:
    json_decref(svc);
    return rc;
}

int kc_dns_resolve(const struct kc_dns_source *src, const char *domain, const char *name,
                   uint16_t qtype, uint32_t *ips, size_t max, size_t *n)
{
    *n = 0;
    size_t dl = strlen(domain), nl = strlen(name);
    if (nl < dl || strcmp(name + nl - dl, domain) != 0 || (nl > dl && name[nl - dl - 1] != '.'))
        return KC_DNS_REFUSED;
    if (nl == dl)
        return KC_DNS_NOERROR; /* the zone's apex: no A record */
    char rest[256];
    snprintf(rest, sizeof rest, "%.*s", (int)(nl - dl - 1), name);
    char l[5][64];
    int k = split(rest, l, 5);
    if (k < 0)
        return KC_DNS_NXDOMAIN;
    bool svc = k >= 1 && strcmp(l[k - 1], "svc") == 0;
    bool pod = k >= 1 && strcmp(l[k - 1], "pod") == 0;
    if ((svc || pod) && k <= 2)
        return KC_DNS_NOERROR; /* "svc", "<ns>.svc": names without records */
    if (svc && k == 3)
        return service_records(src, l[1], l[0], qtype, ips, max, n);
    if (pod && k == 3) {
        /* 10-244-1-7.<ns>.pod: the address spelled with dashes */
        char ip[64];
        snprintf(ip, sizeof ip, "%s", l[0]);
        int dashes = 0;
        for (char *c = ip; *c; c++)
            if (*c == '-') {
                *c = '.';
                dashes++;
            }
        struct in_addr a;
        if (dashes != 3 || inet_pton(AF_INET, ip, &a) != 1)
            return KC_DNS_NXDOMAIN;
        if (qtype == KC_DNS_TYPE_A || qtype == KC_DNS_TYPE_ANY)
            add_ip(ip, ips, max, n);
        return KC_DNS_NOERROR;
    }
    return KC_DNS_NXDOMAIN;
}
