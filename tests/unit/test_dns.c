/* The cluster DNS server's pure parts: query parsing, answer building (A records, TC
 * when it does not fit, rcodes) and the zone's names (services, headless services, pods,
 * names outside the domain). */
#include "dns/dns_msg.h"
#include "dns/dns_zone.h"

#include "check.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdint.h>

/* a query for name (dotted) of type qtype, id 0x1234, RD set */
static size_t make_query(uint8_t *buf, const char *name, uint16_t qtype)
{
    size_t at = 12;
    memset(buf, 0, 12);
    buf[0] = 0x12;
    buf[1] = 0x34;
    buf[2] = 0x01; /* RD */
    buf[5] = 1;
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        buf[at++] = (uint8_t)l;
        memcpy(buf + at, p, l);
        at += l;
        p += l + (dot ? 1 : 0);
    }
    buf[at++] = 0;
    buf[at++] = (uint8_t)(qtype >> 8);
    buf[at++] = (uint8_t)qtype;
    buf[at++] = 0;
    buf[at++] = 1;
    return at;
}

static json_t *objects; /* {"ns/name": {"svc": ..., "ep": ...}} */

static json_t *get(const char *what, const char *ns, const char *name)
{
    char key[256];
    snprintf(key, sizeof key, "%s/%s", ns, name);
    json_t *o = json_object_get(json_object_get(objects, key), what);
    return o ? json_incref(o) : NULL;
}
static json_t *svc(void *ctx, const char *ns, const char *name)
{
    (void)ctx;
    return get("svc", ns, name);
}
static json_t *ep(void *ctx, const char *ns, const char *name)
{
    (void)ctx;
    return get("ep", ns, name);
}

static json_t *by_ip(void *ctx, const char *ip)
{
    (void)ctx;
    const char *key;
    json_t *o;
    json_object_foreach (objects, key, o) {
        const char *cip = json_string_value(
            json_object_get(json_object_get(json_object_get(o, "svc"), "spec"), "clusterIP"));
        if (cip && !strcmp(cip, ip))
            return json_incref(json_object_get(o, "svc"));
    }
    return NULL;
}

/* The records of a lookup as text: "A 1.2.3.4", "SRV 0 100 80 target", "CNAME x", "PTR x",
 * separated by "; ". */
static int lookup(const char *name, uint16_t qtype, char *text, size_t len)
{
    struct kc_dns_source src = {.service = svc, .endpoints = ep, .service_by_ip = by_ip};
    struct kc_dns_rr rr[8];
    size_t n = 0;
    int rc = kc_dns_lookup(&src, "cluster.local", name, qtype, rr, 8, &n);
    text[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char one[300], ip[32];
        if (rr[i].type == KC_DNS_TYPE_A)
            snprintf(one, sizeof one, "A %s", inet_ntop(AF_INET, &rr[i].ip, ip, sizeof ip));
        else if (rr[i].type == KC_DNS_TYPE_SRV)
            snprintf(one, sizeof one, "SRV %u %u %u %s", rr[i].priority, rr[i].weight, rr[i].port,
                     rr[i].target);
        else
            snprintf(one, sizeof one, "%s %s", rr[i].type == KC_DNS_TYPE_CNAME ? "CNAME" : "PTR",
                     rr[i].target);
        snprintf(text + strlen(text), len - strlen(text), "%s%s", i ? "; " : "", one);
    }
    return rc;
}

static int resolve(const char *name, uint16_t qtype, char *ips_text, size_t len)
{
    struct kc_dns_source src = {svc, ep, NULL, NULL};
    uint32_t ips[8];
    size_t n = 0;
    int rc = kc_dns_resolve(&src, "cluster.local", name, qtype, ips, 8, &n);
    ips_text[0] = 0;
    for (size_t i = 0; i < n; i++) {
        char one[32];
        inet_ntop(AF_INET, &ips[i], one, sizeof one);
        snprintf(ips_text + strlen(ips_text), len - strlen(ips_text), "%s%s", i ? " " : "", one);
    }
    return rc;
}

int main(void)
{
    uint8_t q[512], out[512];
    struct kc_dns_query dq;

    /* --- parsing --- */
    size_t ql = make_query(q, "Demo.Default.svc.Cluster.Local", KC_DNS_TYPE_A);
    CHECK(kc_dns_parse_query(q, ql, &dq) == 0);
    CHECK_STR(dq.name, "demo.default.svc.cluster.local");
    CHECK(dq.id == 0x1234 && dq.qtype == KC_DNS_TYPE_A && dq.qclass == 1);
    CHECK(dq.question_len == ql - 12);
    CHECK(kc_dns_parse_query(q, 11, &dq) == -1);                 /* no header */
    CHECK(kc_dns_parse_query(q, ql - 2, &dq) == KC_DNS_FORMERR); /* cut question */
    q[2] |= 0x80;
    CHECK(kc_dns_parse_query(q, ql, &dq) == -1); /* a response is never answered */
    q[2] &= 0x7f;
    q[2] |= 0x10; /* opcode 2 */
    CHECK(kc_dns_parse_query(q, ql, &dq) == KC_DNS_NOTIMP);
    q[2] &= (uint8_t)~0x78;
    q[12] = 0xc0; /* a compression pointer in a query */
    CHECK(kc_dns_parse_query(q, ql, &dq) == KC_DNS_FORMERR);
    ql = make_query(q, "", KC_DNS_TYPE_A);
    CHECK(kc_dns_parse_query(q, ql, &dq) == 0 && dq.name[0] == 0);

    /* --- answers --- */
    ql = make_query(q, "demo.default.svc.cluster.local", KC_DNS_TYPE_A);
    kc_dns_parse_query(q, ql, &dq);
    uint32_t ips[40];
    for (int i = 0; i < 40; i++)
        ips[i] = htonl(0x0a000001u + (uint32_t)i);
    size_t n = kc_dns_build_answer(&dq, KC_DNS_NOERROR, ips, 2, 5, out, sizeof out);
    CHECK(n == ql + 32);
    CHECK(out[0] == 0x12 && out[1] == 0x34);
    CHECK(out[2] == 0x85 && out[3] == 0x00); /* QR, AA, RD; NOERROR */
    CHECK(out[7] == 2 && out[5] == 1);
    CHECK(memcmp(out + 12, q + 12, ql - 12) == 0);
    CHECK(out[ql] == 0xc0 && out[ql + 1] == 0x0c && out[ql + 3] == 1 && out[ql + 9] == 5);
    CHECK(memcmp(out + ql + 12, &ips[0], 4) == 0 && memcmp(out + ql + 28, &ips[1], 4) == 0);
    n = kc_dns_build_answer(&dq, KC_DNS_NOERROR, ips, 40, 5, out, 512); /* 40 * 16 > 512 */
    CHECK(n == ql && (out[2] & 0x02) && out[7] == 0);
    n = kc_dns_build_answer(&dq, KC_DNS_NXDOMAIN, NULL, 0, 5, out, sizeof out);
    CHECK(n == ql && (out[3] & 0xf) == 3 && out[7] == 0);

    /* --- the zone --- */
    objects =
        json_pack("{s:{s:{s:{s:s}}}, s:{s:{s:{s:s}}, s:{s:[{s:[{s:s},{s:s}]}]}}, "
                  "s:{s:{s:{s:s}}}}",
                  "default/demo", "svc", "spec", "clusterIP", "10.96.7.9", "default/db", "svc",
                  "spec", "clusterIP", "None", "ep", "subsets", "addresses", "ip", "10.244.1.5",
                  "ip", "10.244.2.6", "other/ext", "svc", "spec", "type", "ExternalName");
    char text[256];
    CHECK(resolve("demo.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK_STR(text, "10.96.7.9");
    CHECK(resolve("db.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK_STR(text, "10.244.1.5 10.244.2.6"); /* headless: the ready endpoints */
    CHECK(resolve("demo.default.svc.cluster.local", KC_DNS_TYPE_AAAA, text, sizeof text) == 0);
    CHECK_STR(text, ""); /* exists, no AAAA */
    CHECK(resolve("nope.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) ==
          KC_DNS_NXDOMAIN);
    CHECK(resolve("demo.other.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) ==
          KC_DNS_NXDOMAIN);
    CHECK(resolve("ext.other.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK_STR(text, "");
    CHECK(resolve("10-244-1-7.default.pod.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK_STR(text, "10.244.1.7");
    CHECK(resolve("10-244-1.default.pod.cluster.local", KC_DNS_TYPE_A, text, sizeof text) ==
          KC_DNS_NXDOMAIN);
    CHECK(resolve("default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK(resolve("cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK(resolve("a.b.c.d.e.f.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) ==
          KC_DNS_NXDOMAIN);
    CHECK(resolve("example.com", KC_DNS_TYPE_A, text, sizeof text) == KC_DNS_REFUSED);
    CHECK(resolve("xcluster.local", KC_DNS_TYPE_A, text, sizeof text) == KC_DNS_REFUSED);
    json_decref(objects);

    /* --- SRV, CNAME, PTR and endpoint names --- */
    objects =
        json_loads("{\"default/web\":{\"svc\":{\"metadata\":{\"name\":\"web\",\"namespace\":"
                   "\"default\"},\"spec\":{\"clusterIP\":\"10.96.0.20\",\"ports\":[{\"name\":"
                   "\"http\",\"protocol\":\"TCP\",\"port\":80},{\"name\":\"dns\",\"protocol\":"
                   "\"UDP\",\"port\":53}]}}},"
                   "\"default/hl\":{\"svc\":{\"spec\":{\"clusterIP\":\"None\",\"ports\":[{\"name\":"
                   "\"http\",\"port\":80}]}},\"ep\":{\"subsets\":[{\"addresses\":[{\"ip\":"
                   "\"10.244.1.5\",\"hostname\":\"q-2\"},{\"ip\":\"10.244.2.6\"}],\"ports\":[{"
                   "\"name\":\"http\",\"port\":8080}]}]}},"
                   "\"default/ext\":{\"svc\":{\"spec\":{\"type\":\"ExternalName\",\"externalName\":"
                   "\"foo.example.com\"}}}}",
                   0, NULL);
    CHECK(objects != NULL);
    CHECK(lookup("_http._tcp.web.default.svc.cluster.local", KC_DNS_TYPE_SRV, text, sizeof text) ==
          0);
    CHECK_STR(text, "SRV 0 100 80 web.default.svc.cluster.local");
    CHECK(lookup("_dns._udp.web.default.svc.cluster.local", KC_DNS_TYPE_SRV, text, sizeof text) ==
          0);
    CHECK_STR(text, "SRV 0 100 53 web.default.svc.cluster.local");
    CHECK(lookup("_dns._tcp.web.default.svc.cluster.local", KC_DNS_TYPE_SRV, text, sizeof text) ==
          KC_DNS_NXDOMAIN); /* no such port and protocol */
    CHECK(lookup("_http._tcp.web.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) ==
          0);
    CHECK_STR(text, "");
    CHECK(lookup("_http._tcp.hl.default.svc.cluster.local", KC_DNS_TYPE_SRV, text, sizeof text) ==
          0);
    CHECK_STR(text, "SRV 0 100 8080 q-2.hl.default.svc.cluster.local; "
                    "SRV 0 100 8080 10-244-2-6.hl.default.svc.cluster.local");
    CHECK(lookup("q-2.hl.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK_STR(text, "A 10.244.1.5");
    CHECK(lookup("10-244-2-6.hl.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK_STR(text, "A 10.244.2.6");
    CHECK(lookup("nope.hl.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) ==
          KC_DNS_NXDOMAIN);
    CHECK(lookup("x.web.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) ==
          KC_DNS_NXDOMAIN); /* not headless: no endpoint names */
    CHECK(lookup("ext.default.svc.cluster.local", KC_DNS_TYPE_CNAME, text, sizeof text) == 0);
    CHECK_STR(text, "CNAME foo.example.com");
    CHECK(lookup("ext.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK_STR(text, "CNAME foo.example.com");
    json_object_set_new(objects, "default/alias",
                        json_pack("{s:{s:{s:s,s:s}}}", "svc", "spec", "type", "ExternalName",
                                  "externalName", "web.default.svc.cluster.local"));
    json_object_set_new(objects, "default/loop",
                        json_pack("{s:{s:{s:s,s:s}}}", "svc", "spec", "type", "ExternalName",
                                  "externalName", "loop.default.svc.cluster.local"));
    CHECK(lookup("alias.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK_STR(text, "CNAME web.default.svc.cluster.local; A 10.96.0.20"); /* chased in the zone */
    CHECK(lookup("loop.default.svc.cluster.local", KC_DNS_TYPE_A, text, sizeof text) == 0);
    CHECK(strncmp(text, "CNAME loop", 10) == 0); /* ends */
    CHECK(lookup("20.0.96.10.in-addr.arpa", KC_DNS_TYPE_PTR, text, sizeof text) == 0);
    CHECK_STR(text, "PTR web.default.svc.cluster.local");
    CHECK(lookup("21.0.96.10.in-addr.arpa", KC_DNS_TYPE_PTR, text, sizeof text) == KC_DNS_NXDOMAIN);

    /* records on the wire: SRV and CNAME rdata, owner names of their own */
    ql = make_query(q, "_http._tcp.web.default.svc.cluster.local", KC_DNS_TYPE_SRV);
    CHECK(kc_dns_parse_query(q, ql, &dq) == 0);
    struct kc_dns_rr rr[2] = {{.type = KC_DNS_TYPE_SRV, .weight = 100, .port = 80},
                              {.type = KC_DNS_TYPE_CNAME}};
    snprintf(rr[0].target, sizeof rr[0].target, "web.default.svc.cluster.local");
    snprintf(rr[1].owner, sizeof rr[1].owner, "a.b");
    snprintf(rr[1].target, sizeof rr[1].target, "c");
    n = kc_dns_build_reply(&dq, KC_DNS_NOERROR, rr, 2, 5, out, sizeof out);
    /* SRV: pointer, 10 bytes, 6 + 31 of rdata; CNAME: 5 of owner, 10, 3 of rdata */
    CHECK(n == ql + 2 + 10 + 6 + 31 + 5 + 10 + 3);
    CHECK(out[7] == 2 && out[ql + 3] == 33 && out[ql + 11] == 37);
    CHECK(out[ql + 16] == 0 && out[ql + 17] == 80 && out[ql + 18] == 3 && out[ql + 19] == 'w');
    size_t c = ql + 2 + 10 + 6 + 31;
    CHECK(out[c] == 1 && out[c + 1] == 'a' && out[c + 6] == 5 && out[c + 14] == 3 &&
          out[c + 15] == 1 && out[c + 16] == 'c' && out[c + 17] == 0);
    n = kc_dns_build_reply(&dq, KC_DNS_NOERROR, rr, 2, 5, out, ql + 20); /* does not fit */
    CHECK(n == ql && (out[2] & 0x02) && out[7] == 0);
    json_decref(objects);
    CHECK_DONE();
}
