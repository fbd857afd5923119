/* Request metrics for /metrics: how many requests of each verb, resource and subresource
 * were served, and the CPU and wall time they took, as upstream's apiserver_request_total
 * and apiserver_request_duration_seconds (sum and count only, no buckets). Watch streams
 * count once when opened; their CPU (filtering and framing events) and the events they
 * sent are added as they run, so a scale test can tell what its clients cost the server.
 *
 * Thread-safe: counters are updated with atomic adds; reads may see a request counted
 * but its time not yet added. */
#ifndef KUBEC_APISERVER_METRICS_H
#define KUBEC_APISERVER_METRICS_H

#include <stdint.h>
#include <stdio.h>

struct kc_resource;

enum kc_metric_verb {
    KC_MV_GET,
    KC_MV_LIST,
    KC_MV_WATCH,
    KC_MV_CREATE,
    KC_MV_UPDATE,
    KC_MV_PATCH,
    KC_MV_DELETE,
    KC_MV_DELETECOLLECTION,
    KC_MV_COUNT
};

/* The verb of a request as RBAC names it ("get", "watch", ...); -1 when unknown. */
int kc_metric_verb(const char *verb);

/* The CPU time the calling thread has used, in nanoseconds. */
uint64_t kc_thread_cpu_ns(void);
/* A monotonic clock in nanoseconds. */
uint64_t kc_mono_ns(void);

/* One request of r (a kc_resources entry) served: sub is "" or the subresource. */
void kc_metrics_request(const struct kc_resource *r, int verb, const char *sub, uint64_t cpu_ns,
                        uint64_t wall_ns);
/* A watch stream of r spent cpu_ns and delivered events events. */
void kc_metrics_watch(const struct kc_resource *r, uint64_t cpu_ns, uint64_t events);

/* Writes the counters in the Prometheus text format. */
void kc_metrics_write(FILE *f);

#endif
