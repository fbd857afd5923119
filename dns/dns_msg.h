/* DNS messages (RFC 1035) as a cluster DNS server needs them: a query's question in, an
 * answer with A, CNAME, PTR and SRV records out. No I/O here, so it can be fuzzed and unit
 * tested. */
#ifndef KUBEC_DNS_MSG_H
#define KUBEC_DNS_MSG_H

#include <stddef.h>
#include <stdint.h>

enum {
    KC_DNS_TYPE_A = 1,
    KC_DNS_TYPE_CNAME = 5,
    KC_DNS_TYPE_PTR = 12,
    KC_DNS_TYPE_SRV = 33,
    KC_DNS_TYPE_AAAA = 28,
    KC_DNS_TYPE_ANY = 255,
    KC_DNS_CLASS_IN = 1,
};

enum kc_dns_rcode {
    KC_DNS_NOERROR = 0,
    KC_DNS_FORMERR = 1,
    KC_DNS_SERVFAIL = 2,
    KC_DNS_NXDOMAIN = 3,
    KC_DNS_NOTIMP = 4,
    KC_DNS_REFUSED = 5,
};

struct kc_dns_query {
    uint16_t id;
    uint16_t flags; /* as received (RD is echoed) */
    char name[256]; /* lower case, no trailing dot; "" for the root */
    uint16_t qtype, qclass;
    const uint8_t *question; /* the question section as received (points into the buffer) */
    size_t question_len;
    int opcode;
};

/* Parses a query. 0: a standard query with one question; KC_DNS_FORMERR or KC_DNS_NOTIMP:
 * answer with that code (q->id and q->flags are set, the question may be empty); -1: not
 * worth an answer (too short for a header, or a response). */
int kc_dns_parse_query(const uint8_t *buf, size_t len, struct kc_dns_query *q);

/* One resource record of an answer. */
struct kc_dns_rr {
    uint16_t type;                   /* KC_DNS_TYPE_A, _CNAME, _PTR or _SRV */
    char owner[256];                 /* its name; "" for the question's */
    uint32_t ip;                     /* A: network order */
    uint16_t priority, weight, port; /* SRV */
    char target[256];                /* CNAME, PTR, SRV: a name (no trailing dot) */
};

/* Writes the answer to q: rcode, and for NOERROR the n records rr with ttl. An answer
 * longer than outlen keeps the question only and sets TC. Returns its length, 0 if not even
 * the header fits. */
size_t kc_dns_build_reply(const struct kc_dns_query *q, int rcode, const struct kc_dns_rr *rr,
                          size_t n, uint32_t ttl, uint8_t *out, size_t outlen);

/* Writes the answer to q into out: rcode, and for NOERROR the n IPv4 addresses (network
 * order) as A records of the question's name with ttl. An answer longer than outlen keeps
 * the question only and sets TC (a UDP client then asks over TCP). Returns its length, 0 if
 * not even the header fits. */
size_t kc_dns_build_answer(const struct kc_dns_query *q, int rcode, const uint32_t *ips, size_t n,
                           uint32_t ttl, uint8_t *out, size_t outlen);

#endif
