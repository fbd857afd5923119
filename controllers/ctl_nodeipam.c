/* Node IPAM controller, as upstream pkg/controller/nodeipam with the range allocator
 * (ipam/range_allocator.go, ipam/cidrset): every Node without spec.podCIDR gets the next
 * free subnet of --node-cidr-mask-size bits from --cluster-cidr, written into spec.podCIDR
 * and spec.podCIDRs (one element) by a strategic merge patch. IPv4 only, one cluster CIDR.
 *
 * The allocator is a bitmap of the cluster CIDR's subnets with a rotating next candidate,
 * as upstream's CidrSet. Before the first allocation every podCIDR already on a node is
 * marked used, so a restarted controller never hands a CIDR out twice; a node's CIDRs are
 * released when it is deleted. An existing podCIDR is never changed: the patch carries the
 * node's resourceVersion as a precondition, so a node written meanwhile (perhaps with a
 * podCIDR from someone else) makes the patch fail with 409 and the node is looked at
 * again. When the range is exhausted the node gets a Warning event CIDRNotAvailable and is
 * retried later (at once when a deleted node frees a CIDR).
 *
 * Differences from upstream: no service-CIDR filtering (kube-controller-manager's
 * --service-cluster-ip-range is not a flag here); a podCIDR outside the cluster CIDR is
 * logged and left alone instead of stopping the controller; a CIDR is released when the
 * node is gone rather than when its deletionTimestamp is set.
 *
 * Ownership: informer objects are shared and immutable; every other json_t here is owned
 * by the function that made it unless said otherwise. */
#include "controllers/controller.h"
#include "lib/jsonx.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPAM_COMPONENT "cidrAllocator" /* upstream's event source for the range allocator */
#define IPAM_MAX_SUBNET_BITS 24        /* at most 2^24 subnets: a 2 MiB bitmap */
#define IPAM_FAST_RETRIES 12           /* rate-limited retries (5 ms doubling) before ... */
#define IPAM_SLOW_RETRY_MS 30000       /* ... retrying every 30 s */

struct ipam_ctl {
    struct kc_ctl_ctx *ctx;
    struct kc_workqueue *q; /* node names */
    struct kc_recorder *rec;

    pthread_mutex_t mu; /* guards everything below */
    uint32_t base;      /* cluster network address, host order */
    int cluster_bits;   /* cluster prefix length */
    int node_bits;      /* node prefix length (--node-cidr-mask-size) */
    uint32_t max;       /* number of node subnets */
    uint32_t allocated;
    uint32_t next; /* the next candidate index */
    uint8_t *used; /* bitmap, max bits */
    /* node name -> CIDR index this controller reserved for it and is (or was) patching in;
     * dropped once the node is seen with a podCIDR, or when the node goes. */
    json_t *pending;
    bool initialized;
};

/* Reachable for the process lifetime (workers are detached threads). */
static struct ipam_ctl *g_ipam;

/* ---- CIDR arithmetic ---- */

/* Parses "a.b.c.d/n" (IPv4). The address is masked to its network. 0, or -1. */
static int parse_cidr4(const char *s, uint32_t *net, int *bits)
{
    char buf[64];
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || (size_t)(slash - s) >= sizeof buf || !slash[1])
        return -1;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    char *end;
    long n = strtol(slash + 1, &end, 10);
    if (*end || n < 0 || n > 32 || end - (slash + 1) > 2)
        return -1;
    uint32_t ip = ntohl(a.s_addr);
    uint32_t mask = n == 0 ? 0 : 0xffffffffu << (32 - n);
    *net = ip & mask;
    *bits = (int)n;
    return 0;
}

/* Addresses in a prefix of that length. */
static uint64_t block_size(int bits)
{
    return 1ull << (32 - bits);
}

/* The text of subnet idx, into buf. */
static char *index_to_cidr(const struct ipam_ctl *c, uint32_t idx, char *buf, size_t len)
{
    uint32_t ip = c->base | (uint32_t)((uint64_t)idx << (32 - c->node_bits));
    snprintf(buf, len, "%u.%u.%u.%u/%d", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
             c->node_bits);
    return buf;
}

/* The subnet indexes [*begin, *end] a CIDR covers (upstream getBeginningAndEndIndices):
 * a CIDR larger than a node subnet covers several, a smaller one the subnet holding it.
 * -1 when it is not IPv4 or does not overlap the cluster CIDR. */
static int cidr_indices(const struct ipam_ctl *c, const char *cidr, uint32_t *begin, uint32_t *end)
{
    uint32_t net;
    int bits;
    if (parse_cidr4(cidr, &net, &bits) != 0)
        return -1;
    uint64_t first = net, last = net + block_size(bits) - 1;
    uint64_t cfirst = c->base, clast = c->base + block_size(c->cluster_bits) - 1;
    if (last < cfirst || first > clast)
        return -1;
    if (first < cfirst)
        first = cfirst;
    if (last > clast)
        last = clast;
    int shift = 32 - c->node_bits;
    *begin = (uint32_t)((first - cfirst) >> shift);
    *end = (uint32_t)((last - cfirst) >> shift);
    return 0;
}

static bool bit_get(const struct ipam_ctl *c, uint32_t i)
{
    return (c->used[i >> 3] >> (i & 7)) & 1;
}

static void bit_set(struct ipam_ctl *c, uint32_t i, bool v)
{
    if (v)
        c->used[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        c->used[i >> 3] &= (uint8_t) ~(1u << (i & 7));
}

/* Marks a CIDR used; succeeds even if already used (upstream Occupy). Lock held. */
static int occupy(struct ipam_ctl *c, const char *cidr)
{
    uint32_t b, e;
    if (cidr_indices(c, cidr, &b, &e) != 0)
        return -1;
    for (uint32_t i = b; i <= e; i++) {
        if (!bit_get(c, i)) {
            bit_set(c, i, true);
            c->allocated++;
        }
    }
    return 0;
}

/* Marks a CIDR free. Lock held. */
static int release(struct ipam_ctl *c, const char *cidr)
{
    uint32_t b, e;
    if (cidr_indices(c, cidr, &b, &e) != 0)
        return -1;
    for (uint32_t i = b; i <= e; i++) {
        if (bit_get(c, i)) {
            bit_set(c, i, false);
            c->allocated--;
        }
    }
    return 0;
}

static void release_index(struct ipam_ctl *c, uint32_t idx)
{
    if (idx < c->max && bit_get(c, idx)) {
        bit_set(c, idx, false);
        c->allocated--;
    }
}

/* The next free subnet from the rotating candidate (upstream AllocateNext). Lock held.
 * 0 with *idx set, or -1 when the range is full. */
static int allocate_next(struct ipam_ctl *c, uint32_t *idx)
{
    if (c->allocated >= c->max)
        return -1;
    uint32_t cand = c->next;
    for (uint32_t i = 0; i < c->max; i++) {
        if (!bit_get(c, cand))
            break;
        cand = (cand + 1) % c->max;
    }
    if (bit_get(c, cand))
        return -1;
    bit_set(c, cand, true);
    c->allocated++;
    c->next = (cand + 1) % c->max;
    *idx = cand;
    return 0;
}

/* ---- node fields ---- */

/* The node's pod CIDRs: spec.podCIDRs, or spec.podCIDR when the list is empty. Borrowed
 * strings into out (at most n); returns how many. */
static size_t node_pod_cidrs(const json_t *node, const char **out, size_t n)
{
    size_t k = 0, i;
    json_t *v;
    json_array_foreach (kc_json_path(node, "spec.podCIDRs"), i, v) {
        if (json_is_string(v) && *json_string_value(v) && k < n)
            out[k++] = json_string_value(v);
    }
    if (k == 0) {
        const char *one = kc_json_str(node, "spec.podCIDR");
        if (one && *one && n > 0)
            out[k++] = one;
    }
    return k;
}

#define MAX_NODE_CIDRS 4

/* Occupies the node's CIDRs. Lock held. */
static void occupy_node(struct ipam_ctl *c, const json_t *node)
{
    const char *cidrs[MAX_NODE_CIDRS];
    size_t n = node_pod_cidrs(node, cidrs, MAX_NODE_CIDRS);
    for (size_t i = 0; i < n; i++) {
        uint32_t net;
        int bits;
        if (parse_cidr4(cidrs[i], &net, &bits) != 0)
            continue; /* IPv6 or garbage: not ours to track */
        if (occupy(c, cidrs[i]) != 0)
            fprintf(stderr,
                    "nodeipam: node %s has podCIDR %s outside the cluster CIDR; left alone\n",
                    kc_json_str(node, "metadata.name"), cidrs[i]);
    }
}

/* Releases the node's CIDRs. Lock held. true when something was freed. */
static bool release_node(struct ipam_ctl *c, const json_t *node)
{
    const char *cidrs[MAX_NODE_CIDRS];
    size_t n = node_pod_cidrs(node, cidrs, MAX_NODE_CIDRS);
    uint32_t before = c->allocated;
    for (size_t i = 0; i < n; i++)
        release(c, cidrs[i]);
    return c->allocated < before;
}

/* ---- sync ---- */

/* Every podCIDR on the cached nodes is marked used before the first allocation. */
static void initialize(struct ipam_ctl *c)
{
    pthread_mutex_lock(&c->mu);
    if (!c->initialized) {
        json_t *nodes = kc_informer_list(c->ctx->nodes, NULL);
        size_t i;
        json_t *n;
        json_array_foreach (nodes, i, n)
            occupy_node(c, n);
        json_decref(nodes);
        c->initialized = true;
        fprintf(stderr, "nodeipam: %" PRIu32 " of %" PRIu32 " node CIDRs in use at start\n",
                c->allocated, c->max);
    }
    pthread_mutex_unlock(&c->mu);
}

/* Drops the node's reservation if it still is idx (releasing the CIDR when free_it). */
static void drop_pending(struct ipam_ctl *c, const char *name, uint32_t idx, bool free_it)
{
    pthread_mutex_lock(&c->mu);
    json_t *p = json_object_get(c->pending, name);
    if (p && (uint32_t)json_integer_value(p) == idx) {
        if (free_it)
            release_index(c, idx);
        json_object_del(c->pending, name);
    }
    pthread_mutex_unlock(&c->mu);
}

static int sync_node(struct ipam_ctl *c, const char *name)
{
    struct kc_ctl_ctx *ctx = c->ctx;
    json_t *node = kc_informer_get(ctx->nodes, name);
    json_t *patch = NULL, *resp = NULL;
    const char *cidrs[MAX_NODE_CIDRS];
    char cidr[64];
    int ret = -1;

    if (!node)
        return 0; /* gone: its CIDRs were released by the delete handler */

    if (node_pod_cidrs(node, cidrs, MAX_NODE_CIDRS) > 0) {
        /* it has its CIDRs: mark them used; a reservation of ours that lost is freed.
         * Only while the node is still cached: the delete handler (which runs after the
         * cache drops the node, and takes the lock) must not be undone by a late occupy. */
        pthread_mutex_lock(&c->mu);
        json_t *now = kc_informer_get(ctx->nodes, name);
        const char *uid = kc_json_str(node, "metadata.uid"),
                   *now_uid = kc_json_str(now, "metadata.uid");
        if (now && (!uid || !now_uid || strcmp(uid, now_uid) == 0))
            occupy_node(c, node);
        json_decref(now);
        json_t *p = json_object_get(c->pending, name);
        if (p) {
            uint32_t idx = (uint32_t)json_integer_value(p);
            uint32_t b, e;
            bool kept = false;
            size_t n = node_pod_cidrs(node, cidrs, MAX_NODE_CIDRS);
            for (size_t i = 0; i < n && !kept; i++)
                kept = cidr_indices(c, cidrs[i], &b, &e) == 0 && b <= idx && idx <= e;
            if (!kept)
                release_index(c, idx);
            json_object_del(c->pending, name);
        }
        pthread_mutex_unlock(&c->mu);
        ret = 0;
        goto out;
    }
    if (kc_json_path(node, "metadata.deletionTimestamp")) {
        ret = 0; /* going away: no CIDR for it */
        goto out;
    }

    /* a reservation from an earlier attempt is reused; else the next free subnet */
    uint32_t idx;
    pthread_mutex_lock(&c->mu);
    json_t *p = json_object_get(c->pending, name);
    int got = 0;
    if (p) {
        idx = (uint32_t)json_integer_value(p);
    } else if ((got = allocate_next(c, &idx)) == 0) {
        json_object_set_new(c->pending, name, json_integer(idx));
    }
    pthread_mutex_unlock(&c->mu);
    if (got != 0) {
        kc_event(c->rec, node, "Warning", "CIDRNotAvailable", "Node %s status is now: %s", name,
                 "CIDRNotAvailable");
        fprintf(stderr, "nodeipam: no CIDR left in %s for node %s\n", ctx->opt.cluster_cidr, name);
        goto out;
    }
    index_to_cidr(c, idx, cidr, sizeof cidr);

    /* The resourceVersion makes the patch conditional: podCIDR is immutable once set, so a
     * node changed since the cache saw it is looked at again instead of overwritten. */
    patch = json_pack("{s:{s:s}, s:{s:s, s:[s]}}", "metadata", "resourceVersion",
                      kc_json_str(node, "metadata.resourceVersion"), "spec", "podCIDR", cidr,
                      "podCIDRs", cidr);
    int code = kc_patch(ctx->client, &KC_GVR_NODES, NULL, name, NULL,
                        "application/strategic-merge-patch+json", patch, &resp);
    if (code >= 200 && code < 300) {
        fprintf(stderr, "nodeipam: set node %s podCIDR %s\n", name, cidr);
        ret = 0;
    } else if (code == 404) {
        drop_pending(c, name, idx, true); /* gone meanwhile */
        ret = 0;
    } else if (code == 409 || code < 0 || code >= 500) {
        /* a newer node (retried from the cache), or an answer lost: the reservation is
         * kept for the next attempt, as upstream keeps CIDRs on a timeout */
    } else {
        const char *msg = kc_json_str(resp, "message");
        fprintf(stderr, "nodeipam: cannot set node %s podCIDR %s: %d %s\n", name, cidr, code,
                msg ? msg : "");
        kc_event(c->rec, node, "Warning", "CIDRAssignmentFailed", "Node %s status is now: %s", name,
                 "CIDRAssignmentFailed");
        drop_pending(c, name, idx, true);
    }
out:
    json_decref(node);
    json_decref(patch);
    json_decref(resp);
    return ret;
}

static void *ipam_worker(void *arg)
{
    struct ipam_ctl *c = arg;
    char *key;
    if (!kc_ctl_wait_synced(c->ctx))
        return NULL;
    initialize(c);
    while ((key = kc_wq_get(c->q)) != NULL) {
        if (sync_node(c, key) == 0)
            kc_wq_forget(c->q, key);
        else if (kc_wq_num_requeues(c->q, key) < IPAM_FAST_RETRIES)
            kc_wq_add_rate_limited(c->q, key);
        else
            kc_wq_add_after(c->q, key, IPAM_SLOW_RETRY_MS);
        kc_wq_done(c->q, key);
        free(key);
    }
    return NULL;
}

/* ---- event handlers (informer thread; only enqueue, or release on delete) ---- */

static bool same_cidrs(const json_t *a, const json_t *b)
{
    const char *x[MAX_NODE_CIDRS], *y[MAX_NODE_CIDRS];
    size_t nx = node_pod_cidrs(a, x, MAX_NODE_CIDRS), ny = node_pod_cidrs(b, y, MAX_NODE_CIDRS);
    if (nx != ny)
        return false;
    for (size_t i = 0; i < nx; i++)
        if (strcmp(x[i], y[i]) != 0)
            return false;
    return true;
}

static void on_node_add(void *arg, const json_t *node)
{
    kc_ctl_enqueue_obj(((struct ipam_ctl *)arg)->q, node);
}

static void on_node_update(void *arg, const json_t *old_node, const json_t *new_node)
{
    const char *cidrs[1];
    /* status heartbeats change nothing here */
    if (node_pod_cidrs(new_node, cidrs, 1) == 0 || !same_cidrs(old_node, new_node))
        kc_ctl_enqueue_obj(((struct ipam_ctl *)arg)->q, new_node);
}

static void on_node_delete(void *arg, const json_t *node)
{
    struct ipam_ctl *c = arg;
    const char *name = kc_json_str(node, "metadata.name");
    pthread_mutex_lock(&c->mu);
    bool freed = release_node(c, node);
    json_t *p = name ? json_object_get(c->pending, name) : NULL;
    if (p) {
        /* reserved (perhaps patched in) but not yet seen on the node */
        uint32_t idx = (uint32_t)json_integer_value(p);
        if (idx < c->max && bit_get(c, idx)) {
            release_index(c, idx);
            freed = true;
        }
        json_object_del(c->pending, name);
    }
    pthread_mutex_unlock(&c->mu);
    if (!freed)
        return;
    /* nodes waiting for a CIDR get the freed one now rather than after their back-off */
    json_t *nodes = kc_informer_list(c->ctx->nodes, NULL);
    size_t i;
    json_t *n;
    const char *cidrs[1];
    json_array_foreach (nodes, i, n) {
        if (node_pod_cidrs(n, cidrs, 1) == 0)
            kc_ctl_enqueue_obj(c->q, n);
    }
    json_decref(nodes);
}

int kc_ctl_nodeipam_start(struct kc_ctl_ctx *ctx)
{
    const struct kc_ctl_options *o = &ctx->opt;
    if (!o->allocate_node_cidrs) {
        fprintf(stderr, "nodeipam: --allocate-node-cidrs is false; not allocating pod CIDRs\n");
        return 0;
    }
    uint32_t net;
    int bits;
    const char *cc = o->cluster_cidr ? o->cluster_cidr : "";
    if (strchr(cc, ',')) {
        fprintf(stderr, "nodeipam: --cluster-cidr %s: only one (IPv4) cluster CIDR is supported\n",
                cc);
        return -1;
    }
    if (parse_cidr4(cc, &net, &bits) != 0) {
        fprintf(stderr, "nodeipam: --cluster-cidr %s is not an IPv4 CIDR (IPv6 is not supported)\n",
                cc);
        return -1;
    }
    int nb = o->node_cidr_mask_size;
    if (nb < bits || nb > 32) {
        fprintf(stderr,
                "nodeipam: --node-cidr-mask-size %d must be between the cluster CIDR's prefix "
                "length (%d) and 32\n",
                nb, bits);
        return -1;
    }
    if (nb - bits > IPAM_MAX_SUBNET_BITS) {
        fprintf(stderr,
                "nodeipam: --cluster-cidr %s with --node-cidr-mask-size %d makes more than 2^%d "
                "node subnets\n",
                cc, nb, IPAM_MAX_SUBNET_BITS);
        return -1;
    }

    struct ipam_ctl *c = calloc(1, sizeof *c);
    if (!c) {
        fprintf(stderr, "nodeipam: out of memory\n");
        return -1;
    }
    c->ctx = ctx;
    c->base = net;
    c->cluster_bits = bits;
    c->node_bits = nb;
    c->max = 1u << (nb - bits);
    c->used = calloc((c->max + 7) / 8, 1);
    c->pending = json_object();
    pthread_mutex_init(&c->mu, NULL);
    c->q = kc_wq_new("nodeipam");
    c->rec = kc_recorder_new(ctx->client, IPAM_COMPONENT);
    if (!c->used || !c->pending || !c->q || !c->rec) {
        fprintf(stderr, "nodeipam: out of memory\n");
        return -1;
    }
    g_ipam = c;

    struct kc_informer_handlers h = {
        .on_add = on_node_add, .on_update = on_node_update, .on_delete = on_node_delete, .ctx = c};
    kc_informer_add_handlers(ctx->nodes, &h);
    kc_ctl_register_queue(ctx, c->q);

    int workers = o->concurrent_syncs > 0 ? o->concurrent_syncs : 1;
    if (kc_ctl_spawn_workers(workers, ipam_worker, c) != 0) {
        fprintf(stderr, "nodeipam: cannot start workers\n");
        return -1;
    }
    char first[64];
    fprintf(stderr, "nodeipam: allocating /%d node CIDRs from %s (%" PRIu32 " subnets, first %s)\n",
            nb, cc, c->max, index_to_cidr(c, 0, first, sizeof first));
    return 0;
}
