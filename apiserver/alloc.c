/* Bitmap allocators; see alloc.h. Allocation walks from a random start, as upstream does,
 * so that freed values are not immediately reused. */
#include "apiserver/alloc.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct bitmap {
    unsigned char *bits;
    uint32_t size;
};

static bool bm_get(const struct bitmap *b, uint32_t i)
{
    return b->bits[i / 8] & (1u << (i % 8));
}
static void bm_set(struct bitmap *b, uint32_t i, bool v)
{
    if (v)
        b->bits[i / 8] |= (unsigned char)(1u << (i % 8));
    else
        b->bits[i / 8] &= (unsigned char)~(1u << (i % 8));
}

static uint32_t random_u32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v)
        v = (uint32_t)rand();
    return v;
}

/* Finds a clear bit from a random offset, skipping indexes for which skip() is true. */
static int64_t bm_take(struct bitmap *b, bool (*skip)(uint32_t, void *), void *arg)
{
    uint32_t start = random_u32() % b->size;
    for (uint32_t k = 0; k < b->size; k++) {
        uint32_t i = (start + k) % b->size;
        if (!bm_get(b, i) && !(skip && skip(i, arg))) {
            bm_set(b, i, true);
            return i;
        }
    }
    return -1;
}

struct kc_ipalloc {
    pthread_mutex_t mu;
    uint32_t base; /* network address, host order */
    struct bitmap bm;
    char cidr[40];
};

struct kc_ipalloc *kc_ipalloc_new(const char *cidr)
{
    char ip[32];
    int bits;
    struct in_addr a;
    if (sscanf(cidr, "%31[0-9.]/%d", ip, &bits) != 2 || bits < 8 || bits > 30 ||
        inet_pton(AF_INET, ip, &a) != 1)
        return NULL;
    struct kc_ipalloc *al = calloc(1, sizeof *al);
    if (!al)
        abort();
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    al->base = ntohl(a.s_addr) & mask;
    al->bm.size = 1u << (32 - bits);
    al->bm.bits = calloc(al->bm.size / 8 + 1, 1);
    if (!al->bm.bits)
        abort();
    /* network and broadcast addresses; index 1 is the kubernetes Service's, claimed by
     * bootstrap like any other explicit IP */
    bm_set(&al->bm, 0, true);
    bm_set(&al->bm, al->bm.size - 1, true);
    snprintf(al->cidr, sizeof al->cidr, "%s", cidr);
    pthread_mutex_init(&al->mu, NULL);
    return al;
}

void kc_ipalloc_free(struct kc_ipalloc *a)
{
    if (!a)
        return;
    free(a->bm.bits);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

const char *kc_ipalloc_cidr(const struct kc_ipalloc *a)
{
    return a->cidr;
}

static void ip_text(uint32_t v, char *buf)
{
    struct in_addr a = {htonl(v)};
    inet_ntop(AF_INET, &a, buf, 16);
}

static bool skip_first(uint32_t i, void *arg)
{
    return i == 1;
}

int kc_ipalloc_next(struct kc_ipalloc *a, char *buf)
{
    pthread_mutex_lock(&a->mu);
    int64_t i = bm_take(&a->bm, skip_first, NULL);
    pthread_mutex_unlock(&a->mu);
    if (i < 0)
        return -1;
    ip_text(a->base + (uint32_t)i, buf);
    return 0;
}

static int ip_index(const struct kc_ipalloc *a, const char *ip, uint32_t *idx)
{
    struct in_addr in;
    if (inet_pton(AF_INET, ip, &in) != 1)
        return -3;
    uint32_t v = ntohl(in.s_addr);
    if (v < a->base || v - a->base >= a->bm.size)
        return -1;
    *idx = v - a->base;
    return 0;
}

int kc_ipalloc_claim(struct kc_ipalloc *a, const char *ip)
{
    uint32_t i;
    int rc = ip_index(a, ip, &i);
    if (rc)
        return rc;
    if (i == 0 || i == a->bm.size - 1)
        return -1;
    pthread_mutex_lock(&a->mu);
    if (bm_get(&a->bm, i))
        rc = -2;
    else
        bm_set(&a->bm, i, true);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void kc_ipalloc_release(struct kc_ipalloc *a, const char *ip)
{
    uint32_t i;
    if (!ip || ip_index(a, ip, &i) != 0 || i == 0 || i == a->bm.size - 1)
        return;
    pthread_mutex_lock(&a->mu);
    bm_set(&a->bm, i, false);
    pthread_mutex_unlock(&a->mu);
}

void kc_ipalloc_first(const struct kc_ipalloc *a, char *buf)
{
    ip_text(a->base + 1, buf);
}

struct kc_portalloc {
    pthread_mutex_t mu;
    int min, max;
    struct bitmap bm;
};

struct kc_portalloc *kc_portalloc_new(int min, int max)
{
    if (min < 1 || max > 65535 || min > max)
        return NULL;
    struct kc_portalloc *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    a->min = min;
    a->max = max;
    a->bm.size = (uint32_t)(max - min + 1);
    a->bm.bits = calloc(a->bm.size / 8 + 1, 1);
    if (!a->bm.bits)
        abort();
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void kc_portalloc_free(struct kc_portalloc *a)
{
    if (!a)
        return;
    free(a->bm.bits);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

int kc_portalloc_next(struct kc_portalloc *a)
{
    pthread_mutex_lock(&a->mu);
    int64_t i = bm_take(&a->bm, NULL, NULL);
    pthread_mutex_unlock(&a->mu);
    return i < 0 ? -1 : a->min + (int)i;
}

int kc_portalloc_claim(struct kc_portalloc *a, int port)
{
    if (port < a->min || port > a->max)
        return -1;
    int rc = 0;
    pthread_mutex_lock(&a->mu);
    if (bm_get(&a->bm, (uint32_t)(port - a->min)))
        rc = -2;
    else
        bm_set(&a->bm, (uint32_t)(port - a->min), true);
    pthread_mutex_unlock(&a->mu);
    return rc;
}

void kc_portalloc_release(struct kc_portalloc *a, int port)
{
    if (port < a->min || port > a->max)
        return;
    pthread_mutex_lock(&a->mu);
    bm_set(&a->bm, (uint32_t)(port - a->min), false);
    pthread_mutex_unlock(&a->mu);
}

void kc_portalloc_range(const struct kc_portalloc *a, int *min, int *max)
{
    *min = a->min;
    *max = a->max;
}
