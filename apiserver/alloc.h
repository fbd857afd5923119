/* Allocators for Service ClusterIPs (an IPv4 CIDR) and NodePorts (a port range), bitmaps
 * guarded by a mutex. They are rebuilt from stored Services at startup, so they need no
 * storage of their own. */
#ifndef KUBEC_ALLOC_H
#define KUBEC_ALLOC_H

#include <stdbool.h>
#include <stdint.h>

struct kc_ipalloc;
struct kc_portalloc;

/* cidr like "10.96.0.0/12"; NULL on a bad CIDR. The network and broadcast addresses are
 * never handed out; the first host address is reserved for the `kubernetes` Service. */
struct kc_ipalloc *kc_ipalloc_new(const char *cidr);
void kc_ipalloc_free(struct kc_ipalloc *a);
const char *kc_ipalloc_cidr(const struct kc_ipalloc *a);
/* Next free address into buf (16 bytes). 0 or -1 when full. */
int kc_ipalloc_next(struct kc_ipalloc *a, char *buf);
/* Claims a given address: 0, -1 = outside the range, -2 = already allocated, -3 = bad. */
int kc_ipalloc_claim(struct kc_ipalloc *a, const char *ip);
void kc_ipalloc_release(struct kc_ipalloc *a, const char *ip);
/* The first host address of the range ("10.96.0.1"). */
void kc_ipalloc_first(const struct kc_ipalloc *a, char *buf);

struct kc_portalloc *kc_portalloc_new(int min, int max);
void kc_portalloc_free(struct kc_portalloc *a);
int kc_portalloc_next(struct kc_portalloc *a);            /* port or -1 when full */
int kc_portalloc_claim(struct kc_portalloc *a, int port); /* 0, -1 range, -2 taken */
void kc_portalloc_release(struct kc_portalloc *a, int port);
void kc_portalloc_range(const struct kc_portalloc *a, int *min, int *max);

#endif
