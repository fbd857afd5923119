/* See hostport.h. */
#include "nodeagent/hostport.h"

#include "lib/jsonx.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* nft identifiers take no '-': the uid's dashes become '_'. */
static void table_name(const char *uid, char *out, size_t len)
{
    snprintf(out, len, "kchp_%s", uid);
    for (char *c = out; *c; c++)
        if (!isalnum((unsigned char)*c))
            *c = '_';
}

/* Appends to out at *at; false once it does not fit. */
static bool put(char *out, size_t len, size_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool put(char *out, size_t len, size_t *at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = *at < len ? vsnprintf(out + *at, len - *at, fmt, ap) : -1;
    va_end(ap);
    if (n < 0 || (size_t)n >= len - *at) {
        *at = len;
        return false;
    }
    *at += (size_t)n;
    return true;
}

/* The DNAT rules of every hostPort of pod, each line ending with a newline. */
static bool rules(const json_t *pod, const char *pod_ip, char *out, size_t len, size_t *at,
                  int *count)
{
    static const char *const lists[] = {"spec.containers", "spec.initContainers"};
    for (int l = 0; l < 2; l++) {
        size_t i, j;
        json_t *c, *p;
        json_array_foreach (kc_json_path(pod, lists[l]), i, c)
            json_array_foreach (json_object_get(c, "ports"), j, p) {
                long long hp = kc_json_int(p, "hostPort", 0),
                          cp = kc_json_int(p, "containerPort", 0);
                const char *proto = kc_json_str(p, "protocol") ?: "TCP";
                const char *hip = kc_json_str(p, "hostIP") ?: "";
                if (hp <= 0 || hp > 65535 || cp <= 0 || cp > 65535)
                    continue;
                if (strcmp(proto, "TCP") != 0 && strcmp(proto, "UDP") != 0)
                    continue; /* SCTP: not done */
                char match[80];
                /* no hostIP (or 0.0.0.0): every address of the node */
                if (!*hip || !strcmp(hip, "0.0.0.0"))
                    snprintf(match, sizeof match, "fib daddr type local");
                else if (strchr(hip, ':'))
                    continue; /* IPv6: the table is ip */
                else
                    snprintf(match, sizeof match, "ip daddr %s", hip);
                if (!put(out, len, at, "\t\t%s meta l4proto %s th dport %lld dnat to %s:%lld\n",
                         match, !strcmp(proto, "TCP") ? "tcp" : "udp", hp, pod_ip, cp))
                    return false;
                (*count)++;
            }
    }
    return true;
}

int kc_hostport_render(const json_t *pod, const char *pod_ip, char *out, size_t len)
{
    char table[80], r[4096];
    size_t at = 0, rat = 0;
    int count = 0;
    if (!len)
        return -1;
    out[0] = 0;
    if (!rules(pod, pod_ip, r, sizeof r, &rat, &count))
        return -1;
    if (!count)
        return 0;
    table_name(kc_json_str(pod, "metadata.uid") ?: "", table, sizeof table);
    /* add-then-delete: one transaction that replaces a table left by an earlier run */
    if (!put(out, len, &at,
             "add table ip %s\ndelete table ip %s\ntable ip %s {\n"
             "\tchain prerouting {\n\t\ttype nat hook prerouting priority -101; policy accept;\n"
             "%s\t}\n"
             "\tchain output {\n\t\ttype nat hook output priority -101; policy accept;\n%s\t}\n"
             "\tchain postrouting {\n\t\ttype nat hook postrouting priority 99; policy accept;\n"
             "\t\tip saddr 127.0.0.0/8 ip daddr %s masquerade\n\t}\n}\n",
             table, table, table, r, r, pod_ip))
        return -1;
    return (int)at;
}

int kc_hostport_up(struct kc_netnode *n, const json_t *pod, const char *pod_ip, char *err,
                   size_t errlen)
{
    char text[16384], out[1024] = "";
    int len = kc_hostport_render(pod, pod_ip, text, sizeof text);
    if (len == 0)
        return 0;
    if (len < 0) {
        snprintf(err, errlen, "too many hostPorts");
        return -1;
    }
    /* a hostIP of 127.0.0.1 is DNATed out of loopback only with route_localnet */
    char *sysctl[] = {"sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/all/route_localnet", NULL};
    kc_netnode_run(n, sysctl, NULL, NULL, 0, 10000);
    char *argv[] = {"nft", "-f", "-", NULL};
    if (kc_netnode_run(n, argv, text, out, sizeof out, 20000) != 0) {
        snprintf(err, errlen, "hostPort rules refused: %.400s", out);
        return -1;
    }
    return 1;
}

void kc_hostport_down(struct kc_netnode *n, const char *uid)
{
    char table[80];
    table_name(uid, table, sizeof table);
    char *argv[] = {"nft", "delete", "table", "ip", table, NULL};
    kc_netnode_run(n, argv, NULL, NULL, 0, 10000);
}
