/* [sig-node] Probing container (test/e2e/common/node/container_probe.go upstream): liveness
 * probes restart a container exactly when they fail (exec, httpGet, tcpSocket, grpc),
 * readiness probes gate Ready (initialDelaySeconds; a failing one never lets it be Ready) and
 * never restart anything.
 *
 * Upstream's images are re-expressed with busybox: agnhost "liveness" (/healthz answers 200
 * for 10 s, then errors) is httpd serving a file the shell removes after 10 s; agnhost
 * "test-webserver" is httpd on port 80. Upstream observes "no restart" for 4 minutes; here
 * for 3 probe periods past the point the failure would show, which is said at each test. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define POD_START_MS 180000 /* generous: CI runs under sanitizers on 2 shared cores */

/* A shell that serves /healthz with busybox httpd on 8080 for 10 s, then answers 404 there
 * (upstream's agnhost liveness answers 500: both are failures for the kubelet), the socket
 * staying open. SIGTERM ends it at once, as it ends agnhost. */
#define LIVENESS_SCRIPT                                                                            \
    "trap 'exit 0' TERM; mkdir -p /www && echo ok >/www/healthz && httpd -p 8080 -h /www; "        \
    "sleep 10; rm -f /www/healthz; sleep 600 & wait"
/* agnhost test-webserver: serves / on port 80 until stopped */
#define WEBSERVER_SCRIPT                                                                           \
    "trap 'exit 0' TERM; mkdir -p /www && echo ok >/www/index.html && httpd -p 80 -h /www; "       \
    "sleep 3600 & wait"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The pod (a new reference), NULL when it cannot be read. */
static json_t *get_pod(struct kc_conf *t, const char *name)
{
    json_t *pod = NULL; /* owned, returned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                            kc_conf_ns(t), name);
    if (code != 200) {
        json_decref(pod);
        return NULL;
    }
    return pod;
}

/* The status of container ctr of pod (init containers too); borrowed from pod. */
static const json_t *ctr_status(const json_t *pod, const char *ctr)
{
    static const char *const fields[] = {"status.initContainerStatuses",
                                         "status.containerStatuses"};
    for (int f = 0; f < 2; f++) {
        size_t i;
        json_t *s;
        json_array_foreach (kc_json_path(pod, fields[f]), i, s)
            if (!strcmp(kc_json_str(s, "name") ?: "", ctr))
                return s;
    }
    return NULL;
}

static const char *pod_condition(const json_t *pod, const char *type, const char *field)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "status.conditions"), i, c)
        if (!strcmp(kc_json_str(c, "type") ?: "", type))
            return kc_json_str(c, field);
    return NULL;
}

static bool pod_ready(const json_t *pod)
{
    return !strcmp(pod_condition(pod, "Ready", "status") ?: "", "True");
}

struct ctr_want {
    const char *pod, *ctr;
};

/* For kc_conf_wait: the container has left its waiting state (running or terminated). */
static bool ctr_not_waiting(struct kc_conf *t, void *arg)
{
    const struct ctr_want *w = arg;
    json_t *pod = get_pod(t, w->pod); /* owned */
    const json_t *st = ctr_status(pod, w->ctr);
    bool ok = st && (kc_json_path(st, "state.running") || kc_json_path(st, "state.terminated"));
    json_decref(pod);
    return ok;
}

static long restart_count(const json_t *pod, const char *ctr)
{
    return kc_json_int(ctr_status(pod, ctr), "restartCount", -1);
}

/* Upstream's RunLivenessTest: creates pod (borrowed), waits for its first container to leave
 * waiting, then watches its restartCount, which MUST never decrease, until expect restarts
 * were seen (expect > 0: failing when they were not within timeout_ms) or timeout_ms passed
 * (expect 0: failing on any restart). */
static void run_liveness(struct kc_conf *t, const json_t *pod, int expect, int timeout_ms)
{
    const char *name = kc_json_str(pod, "metadata.name") ?: "";
    const char *ctr = kc_json_str(json_array_get(kc_json_path(pod, "spec.containers"), 0), "name");
    struct ctr_want w = {name, ctr ?: ""};
    int code = kc_conf_pod_create(t, pod);
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    if (!kc_conf_wait(t, POD_START_MS, ctr_not_waiting, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "container %s of pod %s never left waiting", w.ctr,
                        name);
        goto out;
    }
    json_t *p = get_pod(t, name); /* owned */
    long initial = restart_count(p, w.ctr), last = initial, observed = 0;
    json_decref(p);
    kc_conf_log(t, "initial restart count of pod %s is %ld", name, initial);
    /* a restarted container waits out its back-off before it is counted */
    double deadline = now_s() + timeout_ms / 1000.0 + (double)initial * 10.0;
    while (now_s() < deadline) {
        p = get_pod(t, name);
        if (!p) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "getting pod %s failed", name);
            goto out;
        }
        long n = restart_count(p, w.ctr);
        json_decref(p);
        if (n != last) {
            kc_conf_log(t, "restart count of pod %s is now %ld", name, n);
            if (n < last) {
                kc_conf_fail_at(t, __FILE__, __LINE__,
                                "Restart count should increment monotonically: restart count of "
                                "pod %s/%s changed from %ld to %ld",
                                kc_conf_ns(t), name, last, n);
                goto out;
            }
        }
        observed = n - initial;
        if (expect > 0 && observed >= expect)
            break;
        last = n;
        usleep(1000 * 1000);
    }
    EXPECT(t, !((expect == 0 && observed > 0) || (expect > 0 && observed < expect)),
           "pod %s/%s - expected number of restarts: %d, found restarts: %ld", kc_conf_ns(t), name,
           expect, observed);
out:
    kc_conf_pod_delete(t, name, 0);
}

/* A pod of one container "busybox" (label test=liveness) running sh -c script with the
 * probes given as JSON members ("" for none). New reference. */
static json_t *busybox_pod(struct kc_conf *t, const char *name, const char *script,
                           const char *probes)
{
    char buf[96];
    return kc_conf_json(t,
                        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"test\":\"liveness\"}},"
                        "\"spec\":{\"containers\":[{\"name\":\"busybox\",\"image\":\"%s\","
                        "\"command\":[\"/bin/sh\",\"-c\",\"%s\"]%s}]}}",
                        kc_conf_unique(t, name, buf, sizeof buf), kc_conf_image(t), script, probes);
}

/* The container's cat /tmp/health liveness probe fails once the file is removed (10 s in,
 * probed from 15 s): restarted once. */
static void exec_restarted(struct kc_conf *t)
{
    json_t *pod = busybox_pod(
        t, "busybox",
        "trap 'exit 0' TERM; echo ok >/tmp/health; sleep 10; rm -rf /tmp/health; sleep 600 & wait",
        ",\"livenessProbe\":{\"exec\":{\"command\":[\"cat\",\"/tmp/health\"]},"
        "\"initialDelaySeconds\":15,\"timeoutSeconds\":5,\"failureThreshold\":1}");
    if (pod)
        run_liveness(t, pod, 1, 180000);
    json_decref(pod);
}

/* The file stays: never restarted. Observed 45 s: the first probe runs at 15 s and fails
 * at once with failureThreshold 1, so 3 more periods (10 s) past it. */
static void exec_not_restarted(struct kc_conf *t)
{
    json_t *pod =
        busybox_pod(t, "busybox", "trap 'exit 0' TERM; echo ok >/tmp/health; sleep 600 & wait",
                    ",\"livenessProbe\":{\"exec\":{\"command\":[\"cat\",\"/tmp/health\"]},"
                    "\"initialDelaySeconds\":15,\"timeoutSeconds\":5,"
                    "\"failureThreshold\":1}");
    if (pod)
        run_liveness(t, pod, 0, 45000);
    json_decref(pod);
}

/* upstream's livenessPodSpec: the "liveness" server, with a liveness probe */
static json_t *liveness_pod(struct kc_conf *t, const char *probe)
{
    char buf[96];
    return kc_conf_json(t,
                        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"test\":\"liveness\"}},"
                        "\"spec\":{\"containers\":[{\"name\":\"agnhost-container\",\"image\":"
                        "\"%s\",\"command\":[\"/bin/sh\",\"-c\",\"" LIVENESS_SCRIPT "\"],"
                        "\"livenessProbe\":%s}]}}",
                        kc_conf_unique(t, "liveness", buf, sizeof buf), kc_conf_image(t), probe);
}

/* /healthz fails 10 s in, the probe runs from 15 s: restarted once. */
static void http_restarted(struct kc_conf *t)
{
    json_t *pod = liveness_pod(t, "{\"httpGet\":{\"path\":\"/healthz\",\"port\":8080},"
                                  "\"initialDelaySeconds\":15,\"failureThreshold\":1}");
    if (pod)
        run_liveness(t, pod, 1, 180000);
    json_decref(pod);
}

/* The socket stays open although /healthz fails: never restarted. Observed 45 s: the first
 * probe at 15 s would fail it (failureThreshold 1), then 3 periods of 10 s. */
static void tcp_not_restarted(struct kc_conf *t)
{
    json_t *pod = liveness_pod(t, "{\"tcpSocket\":{\"port\":8080},\"initialDelaySeconds\":15,"
                                  "\"failureThreshold\":1}");
    if (pod)
        run_liveness(t, pod, 0, 45000);
    json_decref(pod);
}

/* Each run fails its probe 10 to 15 s in: 5 restarts, counted up and never down. The
 * crash-loop back-off (10 s doubling) makes this take about 4 minutes, as upstream. */
static void monotonic_restarts(struct kc_conf *t)
{
    json_t *pod = liveness_pod(t, "{\"httpGet\":{\"path\":\"/healthz\",\"port\":8080},"
                                  "\"initialDelaySeconds\":5,\"failureThreshold\":1}");
    if (pod)
        run_liveness(t, pod, 5, 2 * 60000 + 4 * 60000 + 4 * 2 * 60000);
    json_decref(pod);
}

/* upstream's testWebServerPodSpec: a web server on port 80 */
static json_t *webserver_pod(struct kc_conf *t, const char *probe_kind, const char *probe)
{
    char buf[96];
    return kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"containers\":[{\"name\":"
        "\"test-webserver\",\"image\":\"%s\",\"command\":[\"/bin/sh\",\"-c\",\"" WEBSERVER_SCRIPT
        "\"],\"ports\":[{\"containerPort\":80}],\"%s\":%s}]}}",
        kc_conf_unique(t, "test-webserver", buf, sizeof buf), kc_conf_image(t), probe_kind, probe);
}

/* / on port 80 keeps answering: never restarted. Observed 75 s: with failureThreshold 5
 * the fifth failure would come at 15 + 4 * 10 s, then 2 periods more. */
static void http_not_restarted(struct kc_conf *t)
{
    json_t *pod = webserver_pod(t, "livenessProbe",
                                "{\"httpGet\":{\"path\":\"/\",\"port\":80},\"initialDelaySeconds\":"
                                "15,\"timeoutSeconds\":5,\"failureThreshold\":5}");
    if (pod)
        run_liveness(t, pod, 0, 75000);
    json_decref(pod);
}

/* A gRPC health probe on a port nothing listens on fails: restarted once. Upstream waits
 * 60 s before the first probe; 15 s shows the same (the container runs by then). */
static void grpc_restarted(struct kc_conf *t)
{
    json_t *pod = busybox_pod(t, "test-grpc", "trap 'exit 0' TERM; sleep 600 & wait",
                              ",\"ports\":[{\"containerPort\":5000},{\"containerPort\":8080}],"
                              "\"livenessProbe\":{\"grpc\":{\"port\":2333},"
                              "\"initialDelaySeconds\":15,\"timeoutSeconds\":5,"
                              "\"failureThreshold\":1}");
    if (pod)
        run_liveness(t, pod, 1, 180000);
    json_decref(pod);
}

/* RFC 3339 time of a JSON field; 0 when absent or unparsable. */
static double time_of(const char *s)
{
    double v = 0;
    return s && kc_time_parse_frac(s, &v) == 0 ? v : 0;
}

static bool ready_cond(struct kc_conf *t, void *name)
{
    json_t *pod = get_pod(t, name); /* owned */
    bool ok = pod && pod_ready(pod);
    json_decref(pod);
    return ok;
}

/* A readiness probe with a 15 s initial delay: the pod becomes Ready, but not before 15 s
 * after its container started, and is never restarted. */
static void readiness_initial_delay(struct kc_conf *t)
{
    json_t *pod = webserver_pod(t, "readinessProbe",
                                "{\"httpGet\":{\"path\":\"/\",\"port\":80},"
                                "\"initialDelaySeconds\":15}");
    json_t *p = NULL; /* owned */
    REQUIRE(t, pod, "bad pod");
    const char *name = kc_json_str(pod, "metadata.name");
    int code = kc_conf_pod_create(t, pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    if (!kc_conf_wait(t, POD_START_MS, ready_cond, (void *)name)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s/%s never became ready", kc_conf_ns(t), name);
        goto out;
    }
    p = get_pod(t, name);
    EXPECT(t, p && pod_ready(p) && !strcmp(kc_json_str(p, "status.phase") ?: "", "Running"),
           "pod %s/%s should be ready", kc_conf_ns(t), name);
    double ready_at = time_of(pod_condition(p, "Ready", "lastTransitionTime"));
    double started =
        time_of(kc_json_str(ctr_status(p, "test-webserver"), "state.running.startedAt"));
    REQUIRE(t, ready_at > 0 && started > 0, "no ready transition time or container start time");
    kc_conf_log(t, "Container started at %.0f, pod became ready at %.0f", started, ready_at);
    EXPECT(t, ready_at - started >= 15, "Pod became ready before it's 15s initial delay");
    long rc = restart_count(p, "test-webserver");
    EXPECT(t, rc == 0, "pod should have a restart count of 0 but got %ld", rc);
out:
    if (name)
        kc_conf_pod_delete(t, name, 0);
    json_decref(p);
    json_decref(pod);
}

/* A readiness probe on a port nothing serves (81): never Ready, never restarted. Upstream
 * looks for a minute from creation; here from the container's start for 3 probe periods
 * (the default 10 s) past the first probe. */
static void readiness_failing(struct kc_conf *t)
{
    json_t *pod = webserver_pod(t, "readinessProbe", "{\"httpGet\":{\"path\":\"/\",\"port\":81}}");
    json_t *p = NULL; /* owned */
    REQUIRE(t, pod, "bad pod");
    const char *name = kc_json_str(pod, "metadata.name");
    struct ctr_want w = {name, "test-webserver"};
    int code = kc_conf_pod_create(t, pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    if (!kc_conf_wait(t, POD_START_MS, ctr_not_waiting, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s never started", name);
        goto out;
    }
    for (int s = 0; s < 35; s++) {
        p = get_pod(t, name);
        if (!p) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "getting pod %s failed", name);
            goto out;
        }
        if (pod_ready(p)) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "pod should not be ready");
            goto out;
        }
        json_decref(p);
        p = NULL;
        sleep(1);
    }
    p = get_pod(t, name);
    EXPECT(t, p && !pod_ready(p), "pod %s/%s should be not ready", kc_conf_ns(t), name);
    long rc = restart_count(p, "test-webserver");
    EXPECT(t, rc == 0, "pod should have a restart count of 0 but got %ld", rc);
out:
    kc_conf_pod_delete(t, name, 0);
    json_decref(p);
    json_decref(pod);
}

/* clang-format off */
const struct kc_conf_test kc_conf_tests_probe[] = {
    {"[sig-node] Probing container with readiness probe should not be ready before initial delay and never restart [NodeConformance] [Conformance]", readiness_initial_delay, KC_CONF_CONTAINERS},
    {"[sig-node] Probing container with readiness probe that fails should never be ready and never restart [NodeConformance] [Conformance]", readiness_failing, KC_CONF_CONTAINERS},
    {"[sig-node] Probing container should be restarted with a exec \"cat /tmp/health\" liveness probe [NodeConformance] [Conformance]", exec_restarted, KC_CONF_CONTAINERS},
    {"[sig-node] Probing container should *not* be restarted with a exec \"cat /tmp/health\" liveness probe [NodeConformance] [Conformance]", exec_not_restarted, KC_CONF_CONTAINERS},
    {"[sig-node] Probing container should be restarted with a /healthz http liveness probe [NodeConformance] [Conformance]", http_restarted, KC_CONF_CONTAINERS},
    {"[sig-node] Probing container should *not* be restarted with a tcp:8080 liveness probe [NodeConformance] [Conformance]", tcp_not_restarted, KC_CONF_CONTAINERS},
    {"[sig-node] Probing container should have monotonically increasing restart count [NodeConformance] [Conformance]", monotonic_restarts, KC_CONF_CONTAINERS},
    {"[sig-node] Probing container should *not* be restarted with a /healthz http liveness probe [NodeConformance] [Conformance]", http_not_restarted, KC_CONF_CONTAINERS},
    {"[sig-node] Probing container should be restarted with a GRPC liveness probe [NodeConformance] [Conformance]", grpc_restarted, KC_CONF_CONTAINERS},
    {NULL, NULL, 0},
};
/* clang-format on */
