/* NodeResourcesFit (filter and LeastAllocated score) and NodeResourcesBalancedAllocation. */
#include "scheduler/plugins.h"

#include <math.h>

int kc_filter_resources(const struct kc_sched_pod *p, const struct kc_sched_node *n,
                        const char **reasons)
{
    int nr = 0;
    const struct kc_sched_resources *r = &p->req;
    if (n->requested.pods + 1 > n->allocatable.pods)
        reasons[nr++] = "Too many pods";
    if (r->milli_cpu > 0 && r->milli_cpu > n->allocatable.milli_cpu - n->requested.milli_cpu)
        reasons[nr++] = "Insufficient cpu";
    if (r->memory > 0 && r->memory > n->allocatable.memory - n->requested.memory)
        reasons[nr++] = "Insufficient memory";
    if (r->ephemeral_storage > 0 &&
        r->ephemeral_storage > n->allocatable.ephemeral_storage - n->requested.ephemeral_storage)
        reasons[nr++] = "Insufficient ephemeral-storage";
    return nr;
}

static int64_t least_requested(int64_t requested, int64_t capacity)
{
    if (capacity == 0 || requested > capacity)
        return 0;
    /* (capacity - requested) * 100 / capacity without overflowing for huge capacities */
    return (int64_t)((__int128)(capacity - requested) * KC_MAX_NODE_SCORE / capacity);
}

void kc_score_least_allocated(const struct kc_sched_pod *p, struct kc_ninfo *const *nodes, size_t n,
                              int64_t *out)
{
    /* cpu and memory, weight 1 each, counted with the non-zero defaults */
    for (size_t i = 0; i < n; i++) {
        const struct kc_sched_node *sn = nodes[i]->sn;
        int64_t sum = 0, w = 0;
        if (sn->allocatable.milli_cpu) {
            sum += least_requested(sn->nonzero.milli_cpu + p->nonzero.milli_cpu,
                                   sn->allocatable.milli_cpu);
            w++;
        }
        if (sn->allocatable.memory) {
            sum += least_requested(sn->nonzero.memory + p->nonzero.memory, sn->allocatable.memory);
            w++;
        }
        out[i] = w ? sum / w : 0;
    }
}

void kc_score_balanced(const struct kc_sched_pod *p, struct kc_ninfo *const *nodes, size_t n,
                       int64_t *out)
{
    /* the actual requests (not the non-zero defaults), as upstream's useRequested */
    for (size_t i = 0; i < n; i++) {
        const struct kc_sched_node *sn = nodes[i]->sn;
        double f[2];
        int nf = 0;
        if (sn->allocatable.milli_cpu) {
            double x = (double)(sn->requested.milli_cpu + p->req.milli_cpu) /
                       (double)sn->allocatable.milli_cpu;
            f[nf++] = x > 1 ? 1 : x;
        }
        if (sn->allocatable.memory) {
            double x =
                (double)(sn->requested.memory + p->req.memory) / (double)sn->allocatable.memory;
            f[nf++] = x > 1 ? 1 : x;
        }
        double sd = nf == 2 ? fabs((f[0] - f[1]) / 2) : 0;
        out[i] = (int64_t)((1 - sd) * KC_MAX_NODE_SCORE);
    }
}
