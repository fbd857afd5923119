/* See dns_msg.h. */
#include "dns/dns_msg.h"

#include <ctype.h>
#include <string.h>

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int kc_dns_parse_query(const uint8_t *buf, size_t len, struct kc_dns_query *q)
{
    memset(q, 0, sizeof *q);
    if (len < 12)
        return -1;
    q->id = get16(buf);
    q->flags = get16(buf + 2);
    if (q->flags & 0x8000)
        return -1; /* a response: never answer one (no loops between servers) */
    q->opcode = (q->flags >> 11) & 0xf;
    if (q->opcode != 0)
        return KC_DNS_NOTIMP;
    if (get16(buf + 4) != 1)
        return KC_DNS_FORMERR; /* every resolver asks one question per query */
    /* the name: labels only (a query has nothing to point back to) */
    size_t at = 12, out = 0;
    for (;;) {
        if (at >= len)
            return KC_DNS_FORMERR;
        uint8_t l = buf[at++];
        if (l == 0)
            break;
        if (l & 0xc0 || at + l > len || out + l + 1 >= sizeof q->name)
            return KC_DNS_FORMERR;
        if (out)
            q->name[out++] = '.';
        for (uint8_t i = 0; i < l; i++) {
            unsigned char c = buf[at + i];
            if (c == '.' || c == 0)
                return KC_DNS_FORMERR; /* would make another name once joined */
            q->name[out++] = (char)tolower(c);
        }
        at += l;
    }
    q->name[out] = 0;
    if (at + 4 > len)
        return KC_DNS_FORMERR;
    q->qtype = get16(buf + at);
    q->qclass = get16(buf + at + 2);
    at += 4;
    q->question = buf + 12;
    q->question_len = at - 12;
    return 0;
}

size_t kc_dns_build_answer(const struct kc_dns_query *q, int rcode, const uint32_t *ips, size_t n,
                           uint32_t ttl, uint8_t *out, size_t outlen)
{
    if (outlen < 12)
        return 0;
    size_t qlen = q->question && q->question_len + 12 <= outlen ? q->question_len : 0;
    size_t need = 12 + qlen + (rcode == KC_DNS_NOERROR ? n * 16 : 0);
    int tc = need > outlen;
    if (tc)
        n = 0;
    /* QR, the opcode, AA (the server is the authority for its zone), RD echoed */
    uint16_t flags = 0x8000 | (uint16_t)(q->opcode << 11) | 0x0400 | (q->flags & 0x0100) |
                     (tc ? 0x0200 : 0) | (uint16_t)(rcode & 0xf);
    put16(out, q->id);
    put16(out + 2, flags);
    put16(out + 4, qlen ? 1 : 0);
    put16(out + 6, rcode == KC_DNS_NOERROR ? (uint16_t)n : 0);
    put16(out + 8, 0);
    put16(out + 10, 0);
    size_t at = 12;
    if (qlen)
        memcpy(out + at, q->question, qlen);
    at += qlen;
    for (size_t i = 0; rcode == KC_DNS_NOERROR && i < n; i++) {
        put16(out + at, 0xc00c); /* the name: a pointer to the question's */
        put16(out + at + 2, KC_DNS_TYPE_A);
        put16(out + at + 4, KC_DNS_CLASS_IN);
        put16(out + at + 6, (uint16_t)(ttl >> 16));
        put16(out + at + 8, (uint16_t)ttl);
        put16(out + at + 10, 4);
        memcpy(out + at + 12, &ips[i], 4);
        at += 16;
    }
    return at;
}
