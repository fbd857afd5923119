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

static int resolve(const char *name, uint16_t qtype, char *ips_text, size_t len)
{
    struct kc_dns_source src = {svc, ep, NULL};
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
    CHECK_DONE();
}
