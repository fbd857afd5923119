/* [sig-node] Kubelet (test/e2e/common/node/kubelet.go upstream): a container's output in its
 * pod's log, the terminated state of a failing command, a read-only root file system. The
 * pods run the --image image's busybox applets as upstream runs busybox. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POD_START_MS 180000 /* generous: CI runs under sanitizers, images unpack once */
#define LOG_WAIT_MS 60000   /* upstream polls the log for a minute */

/* Creates a pod (restartPolicy Never) of one container named after the pod that runs
 * command (a JSON array) with the given securityContext (JSON, "{}" for none). The HTTP
 * status. */
static int create_pod(struct kc_conf *t, const char *name, const char *command,
                      const char *security)
{
    json_t *pod = kc_conf_json(t,
                               "{\"metadata\":{\"name\":\"%s\"},\"spec\":{"
                               "\"restartPolicy\":\"Never\",\"terminationGracePeriodSeconds\":1,"
                               "\"containers\":[{\"name\":\"%s\",\"image\":\"%s\","
                               "\"command\":%s,\"securityContext\":%s}]}}",
                               name, name, kc_conf_image(t), command, security);
    int code = pod ? kc_conf_pod_create(t, pod) : -1;
    json_decref(pod);
    return code;
}

struct log_want {
    const char *pod, *query, *want;
    char got[256];
};

/* For kc_conf_wait: the pod's log (with the query) is exactly want. */
static bool log_is(struct kc_conf *t, void *arg)
{
    struct log_want *w = arg;
    struct kc_client_raw r = {.accept = "*/*"};
    int code = kc_conf_raw(t, "GET", &r, "/api/v1/namespaces/%s/pods/%s/log%s", kc_conf_ns(t),
                           w->pod, w->query);
    snprintf(w->got, sizeof w->got, "%s", code == 200 && r.answer ? r.answer : "");
    free(r.answer);
    return code == 200 && !strcmp(w->got, w->want);
}

/* The stdout of a container MUST be in its pod's log (read since an hour ago). */
static void print_output(struct kc_conf *t)
{
    const char *name = "busybox-scheduling";
    int code = create_pod(t, name, "[\"sh\",\"-c\",\"echo 'Hello World' ; sleep 240\"]", "{}");
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    if (!kc_conf_pod_wait_phase(t, name, "Running", POD_START_MS))
        goto out;
    char query[64];
    time_t since = time(NULL) - 3600;
    struct tm tm;
    gmtime_r(&since, &tm);
    strftime(query, sizeof query, "?sinceTime=%Y-%m-%dT%H%%3A%M%%3A%SZ", &tm);
    struct log_want w = {.pod = name, .query = query, .want = "Hello World\n"};
    EXPECT(t, kc_conf_wait(t, LOG_WAIT_MS, log_is, &w),
           "the log of %s is \"%s\", expected \"Hello World\\n\"", name, w.got);
out:
    kc_conf_pod_delete(t, name, 0);
}

struct terminated {
    const char *pod;
    int count;
    long long exit_code;
    char reason[64];
};

/* For kc_conf_wait: the pod's only container is terminated with a non-zero exit code and a
 * reason. */
static bool terminated_with_reason(struct kc_conf *t, void *arg)
{
    struct terminated *w = arg;
    json_t *pod = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                            kc_conf_ns(t), w->pod);
    json_t *statuses = code == 200 ? kc_json_path(pod, "status.containerStatuses") : NULL;
    w->count = (int)json_array_size(statuses);
    json_t *term = kc_json_path(json_array_get(statuses, 0), "state.terminated");
    w->exit_code = kc_json_int(term, "exitCode", 0);
    snprintf(w->reason, sizeof w->reason, "%s", kc_json_str(term, "reason") ?: "");
    bool done = w->count == 1 && term && w->exit_code != 0 && w->reason[0];
    json_decref(pod);
    return done;
}

/* A pod whose only container fails MUST show it terminated, with a non-zero exit code and
 * a reason. */
static void terminated_reason(struct kc_conf *t)
{
    const char *name = "bin-false";
    int code = create_pod(t, name, "[\"/bin/false\"]", "{}");
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    struct terminated w = {.pod = name};
    EXPECT(t, kc_conf_wait(t, POD_START_MS, terminated_with_reason, &w),
           "expected one terminated container with a non-zero exitCode and a reason; got %d "
           "statuses, exitCode %lld, reason \"%s\"",
           w.count, w.exit_code, w.reason);
    kc_conf_pod_delete(t, name, 0);
}

/* A pod whose only container fails MUST be deletable. */
static void delete_failing(struct kc_conf *t)
{
    const char *name = "bin-false";
    int code = create_pod(t, name, "[\"/bin/false\"]", "{}");
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    code = kc_conf_pod_delete(t, name, -1);
    EXPECT(t, code == 200, "deleting Pod: HTTP %d", code);
}

/* A container with a read-only root file system MUST fail to write to it; the shell says so
 * in its log. */
static void read_only_root(struct kc_conf *t)
{
    const char *name = "busybox-readonly-fs";
    int code = create_pod(t, name, "[\"/bin/sh\",\"-c\",\"echo test > /file; sleep 240\"]",
                          "{\"readOnlyRootFilesystem\":true}");
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    if (!kc_conf_pod_wait_phase(t, name, "Running", POD_START_MS))
        goto out;
    struct log_want w = {
        .pod = name, .query = "", .want = "/bin/sh: can't create /file: Read-only file system\n"};
    EXPECT(t, kc_conf_wait(t, LOG_WAIT_MS, log_is, &w), "the log of %s is \"%s\", expected \"%s\"",
           name, w.got, w.want);
out:
    kc_conf_pod_delete(t, name, 0);
}

const struct kc_conf_test kc_conf_tests_kubelet[] = {
    {"[sig-node] Kubelet when scheduling a busybox command in a pod should print the output to "
     "logs [NodeConformance] [Conformance]",
     print_output, 0},
    {"[sig-node] Kubelet when scheduling a busybox command that always fails in a pod should be "
     "possible to delete [NodeConformance] [Conformance]",
     delete_failing, 0},
    {"[sig-node] Kubelet when scheduling a busybox command that always fails in a pod should "
     "have an terminated reason [NodeConformance] [Conformance]",
     terminated_reason, 0},
    {"[sig-node] Kubelet when scheduling a read only busybox container should not write to root "
     "filesystem [LinuxOnly] [NodeConformance] [Conformance]",
     read_only_root, 0},
    {NULL},
};
