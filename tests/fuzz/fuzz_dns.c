/* Fuzz target for the cluster DNS server's message handling: any datagram is parsed, and
 * whatever the parser accepts is answered into a 512-byte buffer, which must then parse
 * as a response of the same id and question; the same with records of every type whose
 * names come from the input (any length, empty labels), which must fit or set TC. */
#include "dns/dns_msg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kc_dns_query q;
    uint8_t out[512];
    uint32_t ips[40];
    int rc = kc_dns_parse_query(data, size, &q);
    if (rc < 0)
        return 0;
    if (rc == 0 && (strlen(q.name) > 253 || q.question_len > size - 12))
        abort();
    for (size_t i = 0; i < 40; i++)
        ips[i] = (uint32_t)i;
    size_t n = kc_dns_build_answer(&q, rc, ips, size % 41, 5, out, sizeof out);
    if (n < 12 || n > sizeof out)
        abort();
    if (out[0] != (q.id >> 8) || out[1] != (q.id & 0xff) || !(out[2] & 0x80))
        abort();
    if (rc == 0 && memcmp(out + 12, q.question, q.question_len) != 0)
        abort();
    static const uint16_t types[] = {KC_DNS_TYPE_A, KC_DNS_TYPE_CNAME, KC_DNS_TYPE_PTR,
                                     KC_DNS_TYPE_SRV};
    struct kc_dns_rr rr[4];
    memset(rr, 0, sizeof rr);
    for (size_t i = 0; i < 4; i++) {
        rr[i].type = types[i];
        size_t off = size ? i * 7 % size : 0, len = size - off;
        if (len > sizeof rr[i].target - 1)
            len = sizeof rr[i].target - 1;
        memcpy(rr[i].target, data + off, len); /* stops at the first NUL, like any name */
        if (i == 3)
            memcpy(rr[i].owner, rr[i].target, sizeof rr[i].owner);
        rr[i].port = (uint16_t)size;
    }
    n = kc_dns_build_reply(&q, rc, rr, size % 5, 5, out, sizeof out);
    if (n < 12 || n > sizeof out || out[0] != (q.id >> 8) || out[1] != (q.id & 0xff))
        abort();
    return 0;
}
