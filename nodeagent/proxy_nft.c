/* See proxy_nft.h. */
#include "nodeagent/proxy_nft.h"

#include "lib/jsonx.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MASQ_MARK "0x4000"

struct ep {
    char ip[16];
    int port;
};

struct sport {
    char *id; /* "NS/NAME/tcp/80": the suffix of its chains */
    char proto[4];
    char vip[16];
    int port, node_port, affinity_s;
    struct ep *eps;
    size_t neps, cap;
};

struct kc_nft_model {
    char table[64];
    char cluster_cidr[32];
    struct sport *ports;
    size_t nports, cap;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "proxy: out of memory\n");
        abort();
    }
    return q;
}

/* ---- a growable text ---- */

struct text {
    char *p;
    size_t len, cap;
};

static void text_addf(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void text_addf(struct text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = t->cap - t->len;
        int n = vsnprintf(t->p ? t->p + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        t->cap = (t->cap + (size_t)n + 1) * 2;
        t->p = xrealloc(t->p, t->cap);
    }
}

/* ---- validation: everything that goes into the text is checked, so that no API value
 * can change the meaning of the file ---- */

static bool ipv4_ok(const char *s)
{
    struct in_addr a;
    return s && strlen(s) < 16 && inet_pton(AF_INET, s, &a) == 1;
}

/* Characters an nft identifier may hold after its first letter; DNS labels and
 * subdomains (namespaces, names) only use a subset. */
static bool name_ok(const char *s)
{
    if (!s || !*s || strlen(s) > 100)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' || *s == '.'))
            return false;
    return true;
}

static bool cidr_ok(const char *s)
{
    char net[20];
    int bits;
    char extra;
    if (!s || strlen(s) > 31 || sscanf(s, "%19[0-9.]/%d%c", net, &bits, &extra) != 2)
        return false;
    return ipv4_ok(net) && bits >= 0 && bits <= 32;
}

struct kc_nft_model *kc_nft_model_new(const char *table, const char *cluster_cidr)
{
    if (!name_ok(table) || strlen(table) >= 64 || !cidr_ok(cluster_cidr))
        return NULL;
    struct kc_nft_model *m = xrealloc(NULL, sizeof *m);
    memset(m, 0, sizeof *m);
    snprintf(m->table, sizeof m->table, "%s", table);
    snprintf(m->cluster_cidr, sizeof m->cluster_cidr, "%s", cluster_cidr);
    return m;
}

void kc_nft_model_free(struct kc_nft_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nports; i++) {
        free(m->ports[i].id);
        free(m->ports[i].eps);
    }
    free(m->ports);
    free(m);
}

int kc_nft_model_add_port(struct kc_nft_model *m, const struct kc_nft_port *p)
{
    if (!name_ok(p->ns) || !name_ok(p->name) || !ipv4_ok(p->vip) || !p->proto ||
        (strcmp(p->proto, "tcp") != 0 && strcmp(p->proto, "udp") != 0) || p->port < 1 ||
        p->port > 65535 || p->node_port < 0 || p->node_port > 65535 || p->affinity_s < 0 ||
        p->affinity_s > 86400)
        return -1;
    for (size_t i = 0; i < m->nports; i++) {
        struct sport *o = &m->ports[i];
        if ((strcmp(o->vip, p->vip) == 0 && strcmp(o->proto, p->proto) == 0 &&
             o->port == p->port) ||
            (p->node_port && o->node_port == p->node_port && strcmp(o->proto, p->proto) == 0))
            return -1;
    }
    if (m->nports == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->ports = xrealloc(m->ports, m->cap * sizeof *m->ports);
    }
    struct sport *s = &m->ports[m->nports];
    memset(s, 0, sizeof *s);
    size_t idlen = strlen(p->ns) + strlen(p->name) + 16;
    s->id = xrealloc(NULL, idlen);
    snprintf(s->id, idlen, "%s/%s/%s/%d", p->ns, p->name, p->proto, p->port);
    snprintf(s->proto, sizeof s->proto, "%s", p->proto);
    snprintf(s->vip, sizeof s->vip, "%s", p->vip);
    s->port = p->port;
    s->node_port = p->node_port;
    s->affinity_s = p->affinity_s;
    return (int)m->nports++;
}

int kc_nft_model_add_endpoint(struct kc_nft_model *m, int idx, const char *ip, int port)
{
    if (idx < 0 || (size_t)idx >= m->nports || !ipv4_ok(ip) || port < 1 || port > 65535)
        return -1;
    struct sport *s = &m->ports[idx];
    for (size_t i = 0; i < s->neps; i++)
        if (s->eps[i].port == port && strcmp(s->eps[i].ip, ip) == 0)
            return 0;
    if (s->neps == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->eps = xrealloc(s->eps, s->cap * sizeof *s->eps);
    }
    snprintf(s->eps[s->neps].ip, sizeof s->eps[s->neps].ip, "%s", ip);
    s->eps[s->neps].port = port;
    s->neps++;
    return 0;
}

size_t kc_nft_model_ports(const struct kc_nft_model *m)
{
    return m->nports;
}

size_t kc_nft_model_endpoints(const struct kc_nft_model *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nports; i++)
        n += m->ports[i].neps;
    return n;
}

/* ---- from the API ---- */

static void lower(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < len; i++)
        dst[i] = (char)(src[i] >= 'A' && src[i] <= 'Z' ? src[i] - 'A' + 'a' : src[i]);
    dst[i] = 0;
}

/* The ready endpoints of eps that serve a port named name (NULL/"" unnamed) with
 * protocol proto (upper case, as in the API). */
static void add_endpoints(struct kc_nft_model *m, int idx, const json_t *eps, const char *name,
                          const char *proto)
{
    size_t i, j, k;
    json_t *subset, *ep, *addr;
    json_array_foreach (json_object_get(eps, "subsets"), i, subset) {
        json_array_foreach (json_object_get(subset, "ports"), j, ep) {
            const char *en = kc_json_str(ep, "name") ?: "";
            const char *epr = kc_json_str(ep, "protocol") ?: "TCP";
            if (strcmp(en, name ? name : "") != 0 || strcmp(epr, proto) != 0)
                continue;
            int port = (int)kc_json_int(ep, "port", 0);
            json_array_foreach (json_object_get(subset, "addresses"), k, addr)
                kc_nft_model_add_endpoint(m, idx, kc_json_str(addr, "ip"), port);
        }
    }
}

int kc_nft_model_add_service(struct kc_nft_model *m, const json_t *svc, const json_t *eps)
{
    const char *type = kc_json_str(svc, "spec.type") ?: "ClusterIP";
    const char *vip = kc_json_str(svc, "spec.clusterIP");
    if (strcmp(type, "ExternalName") == 0 || !ipv4_ok(vip))
        return 0; /* headless ("None"), unallocated, or IPv6 */
    bool nodeports = strcmp(type, "NodePort") == 0 || strcmp(type, "LoadBalancer") == 0;
    int affinity = 0;
    if (strcmp(kc_json_str(svc, "spec.sessionAffinity") ?: "None", "ClientIP") == 0)
        affinity =
            (int)kc_json_int(svc, "spec.sessionAffinityConfig.clientIP.timeoutSeconds", 10800);
    size_t i;
    json_t *sp;
    int added = 0;
    json_array_foreach (kc_json_path(svc, "spec.ports"), i, sp) {
        const char *proto = kc_json_str(sp, "protocol") ?: "TCP";
        char lproto[8];
        lower(lproto, sizeof lproto, proto);
        struct kc_nft_port p = {
            .ns = kc_json_str(svc, "metadata.namespace") ?: "default",
            .name = kc_json_str(svc, "metadata.name"),
            .proto = lproto,
            .vip = vip,
            .port = (int)kc_json_int(sp, "port", 0),
            .node_port = nodeports ? (int)kc_json_int(sp, "nodePort", 0) : 0,
            .affinity_s = affinity,
        };
        int idx = kc_nft_model_add_port(m, &p);
        if (idx < 0)
            continue;
        added++;
        if (eps)
            add_endpoints(m, idx, eps, kc_json_str(sp, "name"), proto);
    }
    return added;
}

/* ---- rendering ---- */

static int cmp_port(const void *a, const void *b)
{
    const struct sport *x = *(const struct sport *const *)a, *y = *(const struct sport *const *)b;
    return strcmp(x->id, y->id);
}

static int cmp_ep(const void *a, const void *b)
{
    const struct ep *x = a, *y = b;
    struct in_addr ax, ay;
    inet_pton(AF_INET, x->ip, &ax);
    inet_pton(AF_INET, y->ip, &ay);
    uint32_t hx = ntohl(ax.s_addr), hy = ntohl(ay.s_addr);
    if (hx != hy)
        return hx < hy ? -1 : 1;
    return x->port - y->port;
}

/* Elements of a map or set, comma separated; none: nothing at all (an empty `elements`
 * is a syntax error). */
static void elements(struct text *t, struct sport **sorted, size_t n, bool nodeport, bool map,
                     bool with_eps)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const struct sport *s = sorted[i];
        if ((nodeport && !s->node_port) || (s->neps > 0) != with_eps)
            continue;
        text_addf(t, "%s", first ? "\t\telements = { " : ",\n\t\t\t     ");
        first = false;
        if (nodeport)
            text_addf(t, "%s . %d", s->proto, s->node_port);
        else
            text_addf(t, "%s . %s . %d", s->vip, s->proto, s->port);
        if (map)
            text_addf(t, " : goto %s-%s", nodeport ? "ext" : "svc", s->id);
    }
    if (!first)
        text_addf(t, " }\n");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* `ip . ip` for every endpoint address, once (a set may not list an element twice) */
static void hairpin_set(struct text *t, const struct kc_nft_model *m)
{
    size_t n = kc_nft_model_endpoints(m), k = 0;
    uint32_t *a = xrealloc(NULL, (n ? n : 1) * sizeof *a);
    for (size_t i = 0; i < m->nports; i++)
        for (size_t e = 0; e < m->ports[i].neps; e++) {
            struct in_addr in;
            inet_pton(AF_INET, m->ports[i].eps[e].ip, &in);
            a[k++] = ntohl(in.s_addr);
        }
    if (k > 1)
        qsort(a, k, sizeof *a, cmp_u32);
    text_addf(t, "\tset hairpin {\n\t\ttype ipv4_addr . ipv4_addr\n");
    for (size_t i = 0; i < k; i++) {
        if (i > 0 && a[i] == a[i - 1])
            continue;
        char ip[16];
        struct in_addr in = {htonl(a[i])};
        inet_ntop(AF_INET, &in, ip, sizeof ip);
        text_addf(t, "%s%s . %s", i ? ",\n\t\t\t     " : "\t\telements = { ", ip, ip);
    }
    if (k)
        text_addf(t, " }\n");
    text_addf(t, "\t}\n");
    free(a);
}

static void filter_chain(struct text *t, const char *hook)
{
    text_addf(t,
              "\tchain filter-%s {\n"
              "\t\ttype filter hook %s priority -10; policy accept;\n"
              "\t\tct state new jump endpoints-check\n"
              "\t}\n",
              hook, hook);
}

/* "table ip T { ... }" for m, declared with add semantics (existing objects of the same
 * definition stay, with their elements). */
static void render_table(struct text *t_, const struct kc_nft_model *m)
{
    struct text t = *t_;
    struct sport **sorted = xrealloc(NULL, (m->nports ? m->nports : 1) * sizeof *sorted);
    for (size_t i = 0; i < m->nports; i++) {
        sorted[i] = &m->ports[i];
        if (m->ports[i].neps > 1)
            qsort(m->ports[i].eps, m->ports[i].neps, sizeof *m->ports[i].eps, cmp_ep);
    }
    if (m->nports > 1)
        qsort(sorted, m->nports, sizeof *sorted, cmp_port);
    text_addf(&t, "table ip %s {\n", m->table);

    text_addf(&t, "\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : "
                  "verdict\n");
    elements(&t, sorted, m->nports, false, true, true);
    text_addf(&t, "\t}\n\tmap service-nodeports {\n\t\ttype inet_proto . inet_service : "
                  "verdict\n");
    elements(&t, sorted, m->nports, true, true, true);
    text_addf(&t, "\t}\n\tset no-endpoint-ips {\n\t\ttype ipv4_addr . inet_proto . "
                  "inet_service\n");
    elements(&t, sorted, m->nports, false, false, false);
    text_addf(&t, "\t}\n\tset no-endpoint-nodeports {\n\t\ttype inet_proto . inet_service\n");
    elements(&t, sorted, m->nports, true, false, false);
    text_addf(&t, "\t}\n");
    hairpin_set(&t, m);

    text_addf(&t, "\tchain prerouting {\n"
                  "\t\ttype nat hook prerouting priority dstnat; policy accept;\n"
                  "\t\tjump services\n"
                  "\t}\n"
                  /* nft 1.0.6 rejects `dstnat` on the output hook */
                  "\tchain output {\n"
                  "\t\ttype nat hook output priority -100; policy accept;\n"
                  "\t\tjump services\n"
                  "\t}\n"
                  "\tchain postrouting {\n"
                  "\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
                  /* hairpin: a pod sent to itself (it is its own source and, after the
                   * DNAT, destination) must see the reply come back through the node */
                  "\t\tip saddr . ip daddr @hairpin masquerade\n"
                  "\t\tmeta mark & " MASQ_MARK " == " MASQ_MARK " masquerade\n"
                  "\t}\n"
                  "\tchain services {\n"
                  "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
                  "\t\tfib daddr type local meta l4proto . th dport vmap @service-nodeports\n"
                  "\t}\n");
    filter_chain(&t, "input");
    filter_chain(&t, "forward");
    filter_chain(&t, "output");
    text_addf(&t, "\tchain endpoints-check {\n"
                  "\t\tip daddr . meta l4proto . th dport @no-endpoint-ips goto reject-chain\n"
                  "\t\tfib daddr type local meta l4proto . th dport @no-endpoint-nodeports "
                  "goto reject-chain\n"
                  "\t}\n"
                  "\tchain reject-chain {\n"
                  "\t\tmeta l4proto tcp reject with tcp reset\n"
                  "\t\treject\n"
                  "\t}\n");

    for (size_t i = 0; i < m->nports; i++) {
        const struct sport *s = sorted[i];
        if (s->neps == 0)
            continue; /* rejected by the filter chains, never DNATed */
        if (s->affinity_s > 0)
            for (size_t e = 0; e < s->neps; e++)
                text_addf(&t,
                          "\tset aff-%s__%s/%d {\n\t\ttype ipv4_addr\n\t\tflags dynamic,timeout\n"
                          "\t\ttimeout %ds\n\t}\n",
                          s->id, s->eps[e].ip, s->eps[e].port, s->affinity_s);
        text_addf(&t, "\tchain svc-%s {\n", s->id);
        text_addf(&t, "\t\tip saddr != %s meta mark set meta mark | " MASQ_MARK "\n",
                  m->cluster_cidr);
        if (s->affinity_s > 0)
            for (size_t e = 0; e < s->neps; e++)
                text_addf(&t, "\t\tip saddr @aff-%s__%s/%d goto ep-%s__%s/%d\n", s->id,
                          s->eps[e].ip, s->eps[e].port, s->id, s->eps[e].ip, s->eps[e].port);
        if (s->affinity_s == 0) {
            /* one rule picks and DNATs: no chain per endpoint (a table of 1,000 services x
             * 10 endpoints loads several times faster than with 10,000 endpoint chains) */
            text_addf(&t, "\t\tmeta l4proto %s dnat ip to numgen random mod %zu map { ", s->proto,
                      s->neps);
            for (size_t e = 0; e < s->neps; e++)
                text_addf(&t, "%s%zu : %s . %d", e ? ", " : "", e, s->eps[e].ip, s->eps[e].port);
            text_addf(&t, " }\n\t}\n");
        } else {
            /* affinity needs a chain per endpoint, to record the client in its set */
            text_addf(&t, "\t\tnumgen random mod %zu vmap { ", s->neps);
            for (size_t e = 0; e < s->neps; e++)
                text_addf(&t, "%s%zu : goto ep-%s__%s/%d", e ? ", " : "", e, s->id, s->eps[e].ip,
                          s->eps[e].port);
            text_addf(&t, " }\n\t}\n");
        }
        if (s->node_port)
            text_addf(&t,
                      "\tchain ext-%s {\n\t\tmeta mark set meta mark | " MASQ_MARK
                      "\n\t\tgoto svc-%s\n\t}\n",
                      s->id, s->id);
        for (size_t e = 0; s->affinity_s > 0 && e < s->neps; e++) {
            const struct ep *ep = &s->eps[e];
            text_addf(&t, "\tchain ep-%s__%s/%d {\n", s->id, ep->ip, ep->port);
            text_addf(&t, "\t\tupdate @aff-%s__%s/%d { ip saddr }\n", s->id, ep->ip, ep->port);
            /* a bare `dnat to ip:port` needs the protocol matched first */
            text_addf(&t, "\t\tmeta l4proto %s dnat to %s:%d\n\t}\n", s->proto, ep->ip, ep->port);
        }
    }
    text_addf(&t, "}\n");
    free(sorted);
    *t_ = t;
}

char *kc_nft_model_render(const struct kc_nft_model *m)
{
    struct text t = {0};
    /* the first line makes the delete safe when the table does not exist yet */
    text_addf(&t, "table ip %s\ndelete table ip %s\n", m->table, m->table);
    render_table(&t, m);
    return t.p;
}

/* The chains and sets a model has besides the fixed ones: "chain NAME" / "set NAME",
 * malloc'd strings in a malloc'd array, sorted. */
static char **objects(const struct kc_nft_model *m, size_t *n)
{
    size_t cap = 16, k = 0;
    char **a = xrealloc(NULL, cap * sizeof *a);
    for (size_t i = 0; i < m->nports; i++) {
        const struct sport *s = &m->ports[i];
        if (s->neps == 0)
            continue;
        size_t need = 2 + (s->affinity_s ? 2 * s->neps : 0);
        if (k + need > cap) {
            cap = (k + need) * 2;
            a = xrealloc(a, cap * sizeof *a);
        }
        size_t len = strlen(s->id) + 48;
        a[k] = xrealloc(NULL, len);
        snprintf(a[k++], len, "chain svc-%s", s->id);
        if (s->node_port) {
            a[k] = xrealloc(NULL, len);
            snprintf(a[k++], len, "chain ext-%s", s->id);
        }
        for (size_t e = 0; s->affinity_s && e < s->neps; e++) {
            a[k] = xrealloc(NULL, len);
            snprintf(a[k++], len, "chain ep-%s__%s/%d", s->id, s->eps[e].ip, s->eps[e].port);
            a[k] = xrealloc(NULL, len);
            snprintf(a[k++], len, "set aff-%s__%s/%d", s->id, s->eps[e].ip, s->eps[e].port);
        }
    }
    if (k > 1)
        qsort(a, k, sizeof *a, cmp_str);
    *n = k;
    return a;
}

char *kc_nft_model_render_update(const struct kc_nft_model *m, const struct kc_nft_model *prev)
{
    if (!prev || strcmp(prev->table, m->table) != 0)
        return kc_nft_model_render(m);
    struct text t = {0};
    const char *T = m->table;
    /* rules and the elements of the maps and fixed sets go; affinity sets keep theirs */
    text_addf(&t,
              "flush table ip %s\nflush map ip %s service-ips\nflush map ip %s service-nodeports\n"
              "flush set ip %s no-endpoint-ips\nflush set ip %s no-endpoint-nodeports\n"
              "flush set ip %s hairpin\n",
              T, T, T, T, T, T);
    size_t nnew, nold;
    char **now = objects(m, &nnew), **old = objects(prev, &nold);
    for (size_t i = 0; i < nold; i++)
        if (!(nnew && bsearch(&old[i], now, nnew, sizeof *now, cmp_str)))
            text_addf(&t, "delete %.*s ip %s %s\n", (int)strcspn(old[i], " "), old[i], T,
                      strchr(old[i], ' ') + 1);
    for (size_t i = 0; i < nnew; i++)
        free(now[i]);
    for (size_t i = 0; i < nold; i++)
        free(old[i]);
    free(now);
    free(old);
    render_table(&t, m);
    return t.p;
}

char *kc_nft_render_delete(const char *table)
{
    struct text t = {0};
    if (!name_ok(table))
        return NULL;
    text_addf(&t, "table ip %s\ndelete table ip %s\n", table, table);
    return t.p;
}
