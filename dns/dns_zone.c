/* See dns_zone.h. */
#include "dns/dns_zone.h"

#include "dns/dns_msg.h"
#include "lib/jsonx.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

static int lookup(const struct kc_dns_source *src, const char *domain, const char *name,
                  uint16_t qtype, struct kc_dns_rr *rr, size_t max, size_t *n, int depth);

/* Whether a query of qtype asks for records of type. */
static bool wants(uint16_t qtype, uint16_t type)
{
    return qtype == type || qtype == KC_DNS_TYPE_ANY;
}

/* Adds a record (false when rr is full). */
static struct kc_dns_rr *add_rr(struct kc_dns_rr *rr, size_t max, size_t *n, uint16_t type)
{
    if (*n >= max)
        return NULL;
    struct kc_dns_rr *r = &rr[(*n)++];
    memset(r, 0, sizeof *r);
    r->type = type;
    return r;
}

static void add_a(struct kc_dns_rr *rr, size_t max, size_t *n, const char *text)
{
    struct in_addr a;
    if (!text || inet_pton(AF_INET, text, &a) != 1)
        return;
    struct kc_dns_rr *r = add_rr(rr, max, n, KC_DNS_TYPE_A);
    if (r)
        r->ip = a.s_addr;
}

/* An endpoint address's name under its Service: its hostname, else its IP with dashes (as
 * CoreDNS names endpoints without one). */
static void endpoint_host(const json_t *addr, char *out, size_t len)
{
    const char *h = kc_json_str(addr, "hostname");
    snprintf(out, len, "%s", h && *h ? h : kc_json_str(addr, "ip") ?: "");
    if (!(h && *h))
        for (char *c = out; *c; c++)
            if (*c == '.')
                *c = '-';
}

static bool is_headless(const json_t *svc)
{
    const char *cip = kc_json_str(svc, "spec.clusterIP");
    return !cip || !*cip || strcmp(cip, "None") == 0;
}

static bool is_external(const json_t *svc)
{
    const char *type = kc_json_str(svc, "spec.type");
    return type && strcmp(type, "ExternalName") == 0;
}

/* The SRV records of a Service port (name, protocol) — port NULL: every named port. */
static void srv_records(const json_t *svc, const json_t *ep, const char *fqdn, const char *port,
                        const char *proto, struct kc_dns_rr *rr, size_t max, size_t *n)
{
    size_t i, j, k;
    json_t *sp, *sub, *addr, *epp;
    json_array_foreach (kc_json_path(svc, "spec.ports"), i, sp) {
        const char *pname = kc_json_str(sp, "name") ?: "";
        const char *pproto = kc_json_str(sp, "protocol") ?: "TCP";
        if (!*pname || (port && strcmp(pname, port) != 0) ||
            (proto && strcasecmp(pproto, proto) != 0))
            continue;
        if (!is_headless(svc)) {
            struct kc_dns_rr *r = add_rr(rr, max, n, KC_DNS_TYPE_SRV);
            if (!r)
                return;
            r->weight = 100;
            r->port = (uint16_t)kc_json_int(sp, "port", 0);
            snprintf(r->target, sizeof r->target, "%s", fqdn);
            continue;
        }
        /* headless: one per ready endpoint, at its port of that name */
        json_array_foreach (json_object_get(ep, "subsets"), j, sub) {
            long long eport = -1;
            json_array_foreach (json_object_get(sub, "ports"), k, epp)
                if (!strcmp(kc_json_str(epp, "name") ?: "", pname))
                    eport = kc_json_int(epp, "port", -1);
            if (eport < 0)
                continue;
            json_array_foreach (json_object_get(sub, "addresses"), k, addr) {
                char host[64];
                endpoint_host(addr, host, sizeof host);
                struct kc_dns_rr *r = add_rr(rr, max, n, KC_DNS_TYPE_SRV);
                if (!r)
                    return;
                r->weight = 100;
                r->port = (uint16_t)eport;
                snprintf(r->target, sizeof r->target, "%s.%.190s", host, fqdn);
            }
        }
    }
}

/* The records of <host>.<svc>, <svc> or _<port>._<proto>.<svc> (host, port NULL when not
 * in the name). */
static int service_records(const struct kc_dns_source *src, const char *domain, const char *ns,
                           const char *name, const char *host, const char *port, const char *proto,
                           uint16_t qtype, struct kc_dns_rr *rr, size_t max, size_t *n, int depth)
{
    json_t *svc = src->service(src->ctx, ns, name); /* owned */
    json_t *ep = NULL;                              /* owned */
    int rc = KC_DNS_NOERROR;
    size_t i, j;
    json_t *sub, *addr;
    char fqdn[256];
    snprintf(fqdn, sizeof fqdn, "%s.%s.svc.%s", name, ns, domain);
    if (!svc)
        return KC_DNS_NXDOMAIN;
    if (is_external(svc)) {
        /* a CNAME whatever the type asked (the client follows it); nothing below it */
        if (host || port) {
            rc = KC_DNS_NXDOMAIN;
            goto out;
        }
        const char *target = kc_json_str(svc, "spec.externalName") ?: "";
        struct kc_dns_rr *r = add_rr(rr, max, n, KC_DNS_TYPE_CNAME);
        if (r)
            snprintf(r->target, sizeof r->target, "%s", target);
        /* a target in the zone is answered too, as CoreDNS does: clients (glibc, busybox)
         * do not ask again for the name a CNAME gives */
        size_t tl = strlen(target), dl = strlen(domain);
        if (r && qtype != KC_DNS_TYPE_CNAME && depth < 4 && tl > dl &&
            !strcmp(target + tl - dl, domain) && target[tl - dl - 1] == '.') {
            size_t before = *n, more = 0;
            lookup(src, domain, target, qtype, rr + before, max - before, &more, depth + 1);
            for (size_t m = before; m < before + more; m++)
                if (!rr[m].owner[0])
                    snprintf(rr[m].owner, sizeof rr[m].owner, "%s", target);
            *n = before + more;
        }
        goto out;
    }
    if (is_headless(svc))
        ep = src->endpoints(src->ctx, ns, name);
    if (port) {
        size_t before = *n;
        srv_records(svc, ep, fqdn, port, proto, rr, wants(qtype, KC_DNS_TYPE_SRV) ? max : 0, n);
        /* a port the Service does not have is a name that does not exist */
        bool found = false;
        json_t *sp;
        json_array_foreach (kc_json_path(svc, "spec.ports"), i, sp)
            if (!strcmp(kc_json_str(sp, "name") ?: "", port) &&
                !strcasecmp(kc_json_str(sp, "protocol") ?: "TCP", proto))
                found = true;
        if (!found) {
            *n = before;
            rc = KC_DNS_NXDOMAIN;
        }
        goto out;
    }
    if (host) {
        /* <host>.<svc>: only a headless Service's endpoints have names */
        rc = KC_DNS_NXDOMAIN;
        json_array_foreach (json_object_get(ep, "subsets"), i, sub)
            json_array_foreach (json_object_get(sub, "addresses"), j, addr) {
                char h[64];
                endpoint_host(addr, h, sizeof h);
                if (strcmp(h, host) != 0)
                    continue;
                rc = KC_DNS_NOERROR;
                if (wants(qtype, KC_DNS_TYPE_A))
                    add_a(rr, max, n, kc_json_str(addr, "ip"));
            }
        goto out;
    }
    if (wants(qtype, KC_DNS_TYPE_A)) {
        if (!is_headless(svc))
            add_a(rr, max, n, kc_json_str(svc, "spec.clusterIP"));
        else
            json_array_foreach (json_object_get(ep, "subsets"), i, sub)
                json_array_foreach (json_object_get(sub, "addresses"), j, addr)
                    add_a(rr, max, n, kc_json_str(addr, "ip"));
    }
    if (wants(qtype, KC_DNS_TYPE_SRV))
        srv_records(svc, ep, fqdn, NULL, NULL, rr, max, n);
out:
    json_decref(svc);
    json_decref(ep);
    return rc;
}

/* <d>.<c>.<b>.<a>.in-addr.arpa: the Service of ClusterIP a.b.c.d. */
static int reverse_records(const struct kc_dns_source *src, const char *domain, const char *name,
                           uint16_t qtype, struct kc_dns_rr *rr, size_t max, size_t *n)
{
    char l[6][64];
    int k = split(name, l, 6);
    if (k != 6 || !src->service_by_ip)
        return KC_DNS_NXDOMAIN;
    char ip[64];
    snprintf(ip, sizeof ip, "%s.%s.%s.%s", l[3], l[2], l[1], l[0]);
    struct in_addr a;
    if (inet_pton(AF_INET, ip, &a) != 1)
        return KC_DNS_NXDOMAIN;
    json_t *svc = src->service_by_ip(src->ctx, ip); /* owned */
    if (!svc)
        return KC_DNS_NXDOMAIN;
    struct kc_dns_rr *r =
        wants(qtype, KC_DNS_TYPE_PTR) ? add_rr(rr, max, n, KC_DNS_TYPE_PTR) : NULL;
    if (r)
        snprintf(r->target, sizeof r->target, "%s.%s.svc.%s",
                 kc_json_str(svc, "metadata.name") ?: "",
                 kc_json_str(svc, "metadata.namespace") ?: "", domain);
    json_decref(svc);
    return KC_DNS_NOERROR;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int lookup(const struct kc_dns_source *src, const char *domain, const char *name,
                  uint16_t qtype, struct kc_dns_rr *rr, size_t max, size_t *n, int depth)
{
    *n = 0;
    if (ends_with(name, ".in-addr.arpa"))
        return reverse_records(src, domain, name, qtype, rr, max, n);
    size_t dl = strlen(domain), nl = strlen(name);
    if (nl < dl || strcmp(name + nl - dl, domain) != 0 || (nl > dl && name[nl - dl - 1] != '.'))
        return KC_DNS_REFUSED;
    if (nl == dl)
        return KC_DNS_NOERROR; /* the zone's apex: no records */
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
        return service_records(src, domain, l[1], l[0], NULL, NULL, NULL, qtype, rr, max, n, depth);
    if (svc && k == 4)
        return service_records(src, domain, l[2], l[1], l[0], NULL, NULL, qtype, rr, max, n, depth);
    if (svc && k == 5 && l[0][0] == '_' && l[1][0] == '_')
        return service_records(src, domain, l[3], l[2], NULL, l[0] + 1, l[1] + 1, qtype, rr, max, n,
                               depth);
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
        if (wants(qtype, KC_DNS_TYPE_A))
            add_a(rr, max, n, ip);
        return KC_DNS_NOERROR;
    }
    return KC_DNS_NXDOMAIN;
}

int kc_dns_lookup(const struct kc_dns_source *src, const char *domain, const char *name,
                  uint16_t qtype, struct kc_dns_rr *rr, size_t max, size_t *n)
{
    return lookup(src, domain, name, qtype, rr, max, n, 0);
}

int kc_dns_resolve(const struct kc_dns_source *src, const char *domain, const char *name,
                   uint16_t qtype, uint32_t *ips, size_t max, size_t *n)
{
    struct kc_dns_rr rr[64];
    size_t got = 0;
    int rc = kc_dns_lookup(src, domain, name, qtype, rr, max < 64 ? max : 64, &got);
    *n = 0;
    for (size_t i = 0; i < got; i++)
        if (rr[i].type == KC_DNS_TYPE_A)
            ips[(*n)++] = rr[i].ip;
    return rc;
}
