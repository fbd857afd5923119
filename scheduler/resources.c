/* Pod requests and node allocatable as kube-scheduler counts them
 * (k8s.io/component-helpers resource.PodRequests, framework.NodeInfo). */
#include "lib/quantity.h"
#include "scheduler/plugins.h"
#include "scheduler/sched.h"

#include <stdlib.h>
#include <string.h>

#define DEFAULT_MILLI_CPU 100
#define DEFAULT_MEMORY (200LL * 1024 * 1024)

static int64_t sat_add(int64_t a, int64_t b)
{
    int64_t r;
    if (__builtin_add_overflow(a, b, &r))
        return b > 0 ? INT64_MAX : INT64_MIN;
    return r;
}

static void res_add(struct kc_sched_resources *a, const struct kc_sched_resources *b)
{
    a->milli_cpu = sat_add(a->milli_cpu, b->milli_cpu);
    a->memory = sat_add(a->memory, b->memory);
    a->ephemeral_storage = sat_add(a->ephemeral_storage, b->ephemeral_storage);
}

static void res_max(struct kc_sched_resources *a, const struct kc_sched_resources *b)
{
    if (b->milli_cpu > a->milli_cpu)
        a->milli_cpu = b->milli_cpu;
    if (b->memory > a->memory)
        a->memory = b->memory;
    if (b->ephemeral_storage > a->ephemeral_storage)
        a->ephemeral_storage = b->ephemeral_storage;
}

/* A ResourceList object (requests, overhead); nonzero: fill missing cpu/memory with the
 * scheduler's defaults (a present "0" stays 0, as applyNonMissing does). */
static void res_from_list(const json_t *list, bool nonzero, struct kc_sched_resources *out)
{
    memset(out, 0, sizeof *out);
    const json_t *v;
    bool has_cpu = false, has_mem = false;
    if (json_is_object(list)) {
        if ((v = json_object_get(list, "cpu")) && kc_quantity_json_milli(v, &out->milli_cpu) == 0)
            has_cpu = true;
        if ((v = json_object_get(list, "memory")) && kc_quantity_json_value(v, &out->memory) == 0)
            has_mem = true;
        if ((v = json_object_get(list, "ephemeral-storage")))
            kc_quantity_json_value(v, &out->ephemeral_storage);
    }
    if (nonzero && !has_cpu)
        out->milli_cpu = DEFAULT_MILLI_CPU;
    if (nonzero && !has_mem)
        out->memory = DEFAULT_MEMORY;
}

static void pod_requests(const json_t *pod, bool nonzero, struct kc_sched_resources *out)
{
    const json_t *spec = json_object_get(pod, "spec");
    struct kc_sched_resources sum = {0}, init_max = {0}, sidecars = {0}, c;
    size_t i;
    const json_t *ctr;
    json_array_foreach (json_object_get(spec, "containers"), i, ctr) {
        res_from_list(json_object_get(json_object_get(ctr, "resources"), "requests"), nonzero, &c);
        res_add(&sum, &c);
    }
    /* An init container runs alongside the restartable ("sidecar") init containers
     * started before it; sidecars keep running, so they also add to the sum. */
    json_array_foreach (json_object_get(spec, "initContainers"), i, ctr) {
        res_from_list(json_object_get(json_object_get(ctr, "resources"), "requests"), nonzero, &c);
        const char *rp = json_string_value(json_object_get(ctr, "restartPolicy"));
        if (rp && strcmp(rp, "Always") == 0) {
            res_add(&sum, &c);
            res_add(&sidecars, &c);
            c = sidecars;
        } else {
            res_add(&c, &sidecars);
        }
        res_max(&init_max, &c);
    }
    res_max(&sum, &init_max);
    const json_t *overhead = json_object_get(spec, "overhead");
    if (json_is_object(overhead)) {
        res_from_list(overhead, false, &c);
        res_add(&sum, &c);
    }
    sum.pods = 1;
    *out = sum;
}

void kc_sched_pod_requests(const json_t *pod, struct kc_sched_resources *req,
                           struct kc_sched_resources *nonzero)
{
    if (req)
        pod_requests(pod, false, req);
    if (nonzero)
        pod_requests(pod, true, nonzero);
}

void kc_sched_node_allocatable(const json_t *node, struct kc_sched_resources *out)
{
    const json_t *status = json_object_get(node, "status");
    const json_t *alloc = json_object_get(status, "allocatable");
    const json_t *cap = json_object_get(status, "capacity");
    static const char *names[] = {"cpu", "memory", "ephemeral-storage", "pods"};
    int64_t *dst[] = {&out->milli_cpu, &out->memory, &out->ephemeral_storage, &out->pods};
    memset(out, 0, sizeof *out);
    for (int i = 0; i < 4; i++) {
        /* per resource: allocatable, else capacity (as the kubelet reports both) */
        const json_t *v = json_object_get(alloc, names[i]);
        if (!v)
            v = json_object_get(cap, names[i]);
        if (!v)
            continue;
        if (i == 0)
            kc_quantity_json_milli(v, dst[i]);
        else
            kc_quantity_json_value(v, dst[i]);
    }
}

void kc_sched_pod_init(struct kc_sched_pod *p, const json_t *pod)
{
    memset(p, 0, sizeof *p);
    p->pod = pod;
    kc_sched_pod_requests(pod, &p->req, &p->nonzero);
}
