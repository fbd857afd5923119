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
        /* a name is at most 255 bytes on the wire (253 as text) */
        if (l & 0xc0 || at + l > len || out + l + 1 >= sizeof q->name || at - 12 + l + 1 > 255)
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

/* Writes name as labels at out + at (no compression); the new offset, 0 if it does not fit
 * or a label is empty or too long. */
static size_t put_name(uint8_t *out, size_t at, size_t outlen, const char *name)
{
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > 63 || at + 1 + l > outlen)
            return 0;
        out[at++] = (uint8_t)l;
        memcpy(out + at, p, l);
        at += l;
        p += l + (dot ? 1 : 0);
    }
    if (at + 1 > outlen)
        return 0;
    out[at++] = 0;
    return at;
}

/* Writes one record at out + at; the new offset, 0 if it does not fit. */
static size_t put_rr(uint8_t *out, size_t at, size_t outlen, const struct kc_dns_rr *rr,
                     uint32_t ttl)
{
    if (rr->owner[0]) {
        at = put_name(out, at, outlen, rr->owner);
        if (!at)
            return 0;
    } else {
        if (at + 2 > outlen)
            return 0;
        put16(out + at, 0xc00c); /* the name: a pointer to the question's */
        at += 2;
    }
    if (at + 10 > outlen)
        return 0;
    put16(out + at, rr->type);
    put16(out + at + 2, KC_DNS_CLASS_IN);
    put16(out + at + 4, (uint16_t)(ttl >> 16));
    put16(out + at + 6, (uint16_t)ttl);
    size_t rdlen_at = at + 8, data = at + 10, end;
    switch (rr->type) {
    case KC_DNS_TYPE_A:
        if (data + 4 > outlen)
            return 0;
        memcpy(out + data, &rr->ip, 4);
        end = data + 4;
        break;
    case KC_DNS_TYPE_SRV:
        if (data + 6 > outlen)
            return 0;
        put16(out + data, rr->priority);
        put16(out + data + 2, rr->weight);
        put16(out + data + 4, rr->port);
        end = put_name(out, data + 6, outlen, rr->target);
        break;
    default: /* CNAME, PTR: a name */
        end = put_name(out, data, outlen, rr->target);
        break;
    }
    if (!end)
        return 0;
    put16(out + rdlen_at, (uint16_t)(end - data));
    return end;
}

size_t kc_dns_build_reply(const struct kc_dns_query *q, int rcode, const struct kc_dns_rr *rr,
                          size_t n, uint32_t ttl, uint8_t *out, size_t outlen)
{
    if (outlen < 12)
        return 0;
    size_t qlen = q->question && q->question_len + 12 <= outlen ? q->question_len : 0;
    if (rcode != KC_DNS_NOERROR)
        n = 0;
    size_t at = 12 + qlen;
    if (qlen)
        memcpy(out + 12, q->question, qlen);
    int tc = 0;
    for (size_t i = 0; i < n; i++) {
        size_t next = put_rr(out, at, outlen, &rr[i], ttl);
        if (!next) {
            tc = 1; /* the whole answer or none: the client asks again over TCP */
            at = 12 + qlen;
            n = 0;
            break;
        }
        at = next;
    }
    /* QR, the opcode, AA (the server is the authority for its zone), RD echoed */
    uint16_t flags = 0x8000 | (uint16_t)(q->opcode << 11) | 0x0400 | (q->flags & 0x0100) |
                     (tc ? 0x0200 : 0) | (uint16_t)(rcode & 0xf);
    put16(out, q->id);
    put16(out + 2, flags);
    put16(out + 4, qlen ? 1 : 0);
    put16(out + 6, (uint16_t)n);
    put16(out + 8, 0);
    put16(out + 10, 0);
    return at;
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
        struct kc_dns_rr a = {.type = KC_DNS_TYPE_A, .ip = ips[i]};
        at = put_rr(out, at, outlen, &a, ttl);
    }
    return at;
}
