/* Request metrics; see metrics.h. One fixed table of counters indexed by resource (its
 * position in kc_resources), verb and subresource, so recording is a few atomic adds. */
#include "apiserver/metrics.h"

#include "apiserver/resources.h"

#include <string.h>
#include <time.h>

#define MAX_RESOURCES 128

static const char *const verb_names[KC_MV_COUNT] = {
    "get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"};

static const char *const sub_names[] = {"", "status", "scale", "binding", "finalize", "token"};
#define N_SUBS (sizeof sub_names / sizeof *sub_names + 1) /* the last: any other */

struct counter {
    uint64_t count, cpu_ns, wall_ns;
};

static struct counter requests[MAX_RESOURCES][KC_MV_COUNT][N_SUBS];
static struct counter watches[MAX_RESOURCES]; /* count: events sent */

int kc_metric_verb(const char *verb)
{
    for (int i = 0; i < KC_MV_COUNT; i++)
        if (strcmp(verb, verb_names[i]) == 0)
            return i;
    return -1;
}

uint64_t kc_thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t kc_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int resource_index(const struct kc_resource *r)
{
    if (!r)
        return -1;
    long i = r - kc_resources;
    return i >= 0 && i < MAX_RESOURCES ? (int)i : -1;
}

static size_t sub_index(const char *sub)
{
    if (!sub)
        return 0;
    for (size_t i = 0; i < N_SUBS - 1; i++)
        if (strcmp(sub, sub_names[i]) == 0)
            return i;
    return N_SUBS - 1;
}

static void add(struct counter *c, uint64_t count, uint64_t cpu_ns, uint64_t wall_ns)
{
    __atomic_add_fetch(&c->count, count, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->cpu_ns, cpu_ns, __ATOMIC_RELAXED);
    __atomic_add_fetch(&c->wall_ns, wall_ns, __ATOMIC_RELAXED);
}

void kc_metrics_request(const struct kc_resource *r, int verb, const char *sub, uint64_t cpu_ns,
                        uint64_t wall_ns)
{
    int ri = resource_index(r);
    if (ri < 0 || verb < 0 || verb >= KC_MV_COUNT)
        return;
    add(&requests[ri][verb][sub_index(sub)], 1, cpu_ns, wall_ns);
}

void kc_metrics_watch(const struct kc_resource *r, uint64_t cpu_ns, uint64_t events)
{
    int ri = resource_index(r);
    if (ri >= 0)
        add(&watches[ri], events, cpu_ns, 0);
}

static uint64_t load(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void kc_metrics_write(FILE *f)
{
    fputs("# HELP apiserver_request_total Requests served, by verb, resource and "
          "subresource.\n"
          "# TYPE apiserver_request_total counter\n",
          f);
    for (int ri = 0; ri < MAX_RESOURCES && kc_resources[ri].resource; ri++)
        for (int v = 0; v < KC_MV_COUNT; v++)
            for (size_t s = 0; s < N_SUBS; s++) {
                const struct counter *c = &requests[ri][v][s];
                uint64_t n = load(&c->count);
                if (!n)
                    continue;
                char labels[256];
                snprintf(labels, sizeof labels,
                         "verb=\"%s\",group=\"%s\",version=\"%s\",resource=\"%s\","
                         "subresource=\"%s\"",
                         verb_names[v], kc_resources[ri].group, kc_resources[ri].version,
                         kc_resources[ri].resource, s < N_SUBS - 1 ? sub_names[s] : "other");
                fprintf(f, "apiserver_request_total{%s} %llu\n", labels, (unsigned long long)n);
                fprintf(f, "kubec_request_cpu_seconds_total{%s} %.6f\n", labels,
                        (double)load(&c->cpu_ns) / 1e9);
                fprintf(f, "kubec_request_wall_seconds_total{%s} %.6f\n", labels,
                        (double)load(&c->wall_ns) / 1e9);
            }
    fputs("# HELP kubec_watch_events_sent_total Events written to watch streams.\n"
          "# TYPE kubec_watch_events_sent_total counter\n",
          f);
    for (int ri = 0; ri < MAX_RESOURCES && kc_resources[ri].resource; ri++) {
        const struct counter *c = &watches[ri];
        uint64_t cpu = load(&c->cpu_ns);
        if (!cpu && !load(&c->count))
            continue;
        fprintf(f, "kubec_watch_events_sent_total{group=\"%s\",resource=\"%s\"} %llu\n",
                kc_resources[ri].group, kc_resources[ri].resource,
                (unsigned long long)load(&c->count));
        fprintf(f, "kubec_watch_cpu_seconds_total{group=\"%s\",resource=\"%s\"} %.6f\n",
                kc_resources[ri].group, kc_resources[ri].resource, (double)cpu / 1e9);
    }
}
