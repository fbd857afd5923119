/* [sig-node] InitContainer [NodeConformance] (test/e2e/common/node/init_container.go
 * upstream): init containers run in order before the app containers; a failing one keeps
 * them from starting (and is retried under restartPolicy Always, or fails the pod under
 * Never). Upstream watches the pod and checks an invariant on every event; here the pod is
 * read every 200 ms and the same invariant checked on every reading. upstream's pause image
 * is re-expressed with the busybox image sleeping. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define POD_START_MS 180000 /* upstream's PodStartTimeout is 5 minutes; CI is slow */

static const json_t *condition(const json_t *pod, const char *type)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "status.conditions"), i, c)
        if (!strcmp(kc_json_str(c, "type") ?: "", type))
            return c;
    return NULL;
}

static bool terminated_zero(const json_t *st)
{
    const json_t *t = kc_json_path(st, "state.terminated");
    return t && kc_json_int(t, "exitCode", -1) == 0;
}

/* Upstream's containerInitInvariant, for one reading of the pod: while initialization is
 * not complete (or failed), app containers wait with reason PodInitializing and no restart;
 * the Initialized condition exists with a transition time, True exactly when every init
 * container succeeded. NULL, or what is wrong. */
static const char *init_invariant(const json_t *pod, char *buf, size_t len)
{
    const json_t *inits = kc_json_path(pod, "status.initContainerStatuses");
    size_t n = json_array_size(kc_json_path(pod, "spec.initContainers"));
    bool all_init = json_array_size(inits) == n, failed = false;
    size_t i;
    json_t *s;
    json_array_foreach (inits, i, s) {
        const json_t *t = kc_json_path(s, "state.terminated");
        if (!t) {
            all_init = false;
        } else if (kc_json_int(t, "exitCode", -1) != 0) {
            all_init = false;
            failed = true;
        } else if (!json_is_true(json_object_get(s, "ready"))) {
            snprintf(buf, len, "container %s initialized but isn't marked as ready",
                     kc_json_str(s, "name") ?: "");
            return buf;
        }
    }
    if (!kc_json_path(pod, "status.phase") || !condition(pod, "Initialized"))
        return NULL; /* not looked at by the node yet */
    if (!all_init || failed) {
        json_array_foreach (kc_json_path(pod, "status.containerStatuses"), i, s) {
            const char *name = kc_json_str(s, "name") ?: "";
            if (!kc_json_path(s, "state.waiting") || kc_json_int(s, "restartCount", 0) != 0) {
                snprintf(buf, len, "container %s is not waiting but initialization not complete",
                         name);
                return buf;
            }
            const char *reason = kc_json_str(s, "state.waiting.reason") ?: "";
            if (strcmp(reason, "PodInitializing") != 0) {
                snprintf(buf, len, "container %s should have reason PodInitializing: %s", name,
                         reason);
                return buf;
            }
        }
    }
    const json_t *c = condition(pod, "Initialized");
    if (!kc_json_str(c, "lastTransitionTime"))
        return "PodInitialized condition should always have a transition time";
    const char *st = kc_json_str(c, "status") ?: "";
    if (!strcmp(st, "Unknown"))
        return "PodInitialized condition should never be Unknown";
    if (!strcmp(st, "True") && (failed || !all_init))
        return "PodInitialized condition was True but all not all containers initialized";
    if (!strcmp(st, "False") && !failed && all_init)
        return "PodInitialized condition was False but all containers initialized";
    return NULL;
}

/* What a watch on the pod waits for: done(pod) true ends it; it returns a message to fail. */
typedef bool (*pod_check)(const json_t *pod, char *err, size_t errlen);

/* Reads pod name until check says it is done, checking the invariant at every reading; the
 * last reading (a new reference) or NULL after a failure. */
static json_t *watch_pod(struct kc_conf *t, const char *name, pod_check check)
{
    char err[512], inv[512];
    for (int waited = 0; waited <= POD_START_MS; waited += 200) {
        json_t *pod = NULL; /* owned */
        int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                                kc_conf_ns(t), name);
        if (code != 200) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "getting pod %s: HTTP %d", name, code);
            json_decref(pod);
            return NULL;
        }
        const char *bad = init_invariant(pod, inv, sizeof inv);
        if (bad) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "invariant violated: %s", bad);
            json_decref(pod);
            return NULL;
        }
        err[0] = 0;
        bool done = check(pod, err, sizeof err);
        if (err[0]) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "%s", err);
            json_decref(pod);
            return NULL;
        }
        if (done)
            return pod;
        json_decref(pod);
        usleep(200 * 1000);
    }
    kc_conf_fail_at(t, __FILE__, __LINE__, "timed out waiting for pod %s", name);
    return NULL;
}

static bool phase_is(const json_t *pod, const char *phase)
{
    return !strcmp(kc_json_str(pod, "status.phase") ?: "", phase);
}

static bool completed(const json_t *pod, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    return phase_is(pod, "Succeeded") || phase_is(pod, "Failed");
}

static bool running(const json_t *pod, char *err, size_t errlen)
{
    if (completed(pod, err, errlen)) {
        snprintf(err, errlen, "pod ran to completion");
        return false;
    }
    return phase_is(pod, "Running");
}

/* init1 and init2 each run cmd1/cmd2; run1 runs app (a command array). New reference. */
static json_t *init_pod(struct kc_conf *t, char *name, size_t len, const char *policy,
                        const char *cmd1, const char *cmd2, const char *app)
{
    kc_conf_unique(t, "pod-init", name, len);
    return kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"foo\",\"time\":\"%ld\"}},"
        "\"spec\":{\"restartPolicy\":\"%s\",\"terminationGracePeriodSeconds\":1,"
        "\"initContainers\":[{\"name\":\"init1\",\"image\":\"%s\",\"command\":[\"%s\"]},"
        "{\"name\":\"init2\",\"image\":\"%s\",\"command\":[\"%s\"]}],"
        "\"containers\":[{\"name\":\"run1\",\"image\":\"%s\",\"command\":%s,\"resources\":{"
        "\"limits\":{\"cpu\":\"100m\"}}}]}}",
        name, (long)getpid(), policy, kc_conf_image(t), cmd1, kc_conf_image(t), cmd2,
        kc_conf_image(t), app);
}

/* The Initialized condition MUST be status (with reason and message unless NULL) and both
 * init containers reported. */
static void check_end(struct kc_conf *t, const json_t *pod, const char *status, const char *reason,
                      const char *message)
{
    const json_t *c = condition(pod, "Initialized");
    REQUIRE(t, c, "the pod has no Initialized condition");
    EXPECT(t, !strcmp(kc_json_str(c, "status") ?: "", status), "Initialized is %s, expected %s",
           kc_json_str(c, "status") ?: "", status);
    if (reason)
        EXPECT(t, !strcmp(kc_json_str(c, "reason") ?: "", reason),
               "Initialized reason is \"%s\", expected %s", kc_json_str(c, "reason") ?: "", reason);
    if (message)
        EXPECT(t, !strcmp(kc_json_str(c, "message") ?: "", message),
               "Initialized message is \"%s\", expected \"%s\"", kc_json_str(c, "message") ?: "",
               message);
    size_t n = json_array_size(kc_json_path(pod, "status.initContainerStatuses"));
    EXPECT(t, n == 2, "%zu initContainerStatuses, expected 2", n);
}

/* Both init containers succeeded: each reported Ready, terminated with exit code 0. */
static void check_inits_done(struct kc_conf *t, const json_t *pod)
{
    size_t i;
    json_t *s;
    json_array_foreach (kc_json_path(pod, "status.initContainerStatuses"), i, s) {
        const char *name = kc_json_str(s, "name") ?: "";
        EXPECT(t, json_is_true(json_object_get(s, "ready")),
               "init container %s should be in Ready status", name);
        EXPECT(t, terminated_zero(s), "init container %s did not terminate with exit code 0", name);
    }
}

/* Init containers that succeed: the pod (restartPolicy policy, app command app_json) MUST
 * reach phase (seen by done), with every init container ready and terminated with 0. */
static void inits_succeed(struct kc_conf *t, const char *policy, const char *app_json,
                          pod_check done, const char *phase)
{
    char name[96];
    json_t *pod = init_pod(t, name, sizeof name, policy, "/bin/true", "/bin/true", app_json);
    json_t *end = NULL; /* owned */
    REQUIRE(t, pod, "bad pod");
    int code = kc_conf_pod_create(t, pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    end = watch_pod(t, name, done);
    if (!end)
        goto out;
    EXPECT(t, phase_is(end, phase), "pod is %s, expected %s",
           kc_json_str(end, "status.phase") ?: "", phase);
    check_end(t, end, "True", NULL, NULL);
    check_inits_done(t, end);
out:
    kc_conf_pod_delete(t, name, 0);
    json_decref(end);
    json_decref(pod);
}

static void run_never(struct kc_conf *t)
{
    inits_succeed(t, "Never", "[\"/bin/true\"]", completed, "Succeeded");
}

static void run_always(struct kc_conf *t)
{
    inits_succeed(t, "Always", "[\"sleep\",\"3600\"]", running, "Running");
}

/* app containers MUST wait with reason PodInitializing (err set otherwise) */
static bool apps_initializing(const json_t *pod, char *err, size_t errlen)
{
    size_t i;
    json_t *s;
    json_array_foreach (kc_json_path(pod, "status.containerStatuses"), i, s) {
        const char *reason = kc_json_str(s, "state.waiting.reason");
        if (!reason) {
            snprintf(err, errlen, "container %s should not be out of waiting",
                     kc_json_str(s, "name") ?: "");
            return false;
        }
        if (strcmp(reason, "PodInitializing") != 0) {
            snprintf(err, errlen, "container %s should have reason PodInitializing: %s",
                     kc_json_str(s, "name") ?: "", reason);
            return false;
        }
    }
    return true;
}

/* init1 fails under Always: init2 waits (PodInitializing), init1 is retried; done once it
 * has restarted 3 times. */
static bool init1_restarted(const json_t *pod, char *err, size_t errlen)
{
    if (!apps_initializing(pod, err, errlen))
        return false;
    const json_t *inits = kc_json_path(pod, "status.initContainerStatuses");
    if (json_array_size(inits) != 2)
        return false;
    const json_t *s2 = json_array_get(inits, 1);
    const char *r2 = kc_json_str(s2, "state.waiting.reason");
    if (!r2) {
        snprintf(err, errlen, "second init container should not be out of waiting");
        return false;
    }
    if (strcmp(r2, "PodInitializing") != 0) {
        snprintf(err, errlen, "second init container should have reason PodInitializing: %s", r2);
        return false;
    }
    const json_t *s1 = json_array_get(inits, 0);
    if (terminated_zero(s1)) {
        snprintf(err, errlen, "first init container should have exitCode != 0");
        return false;
    }
    return kc_json_int(s1, "restartCount", 0) >= 3;
}

static void fail_always(struct kc_conf *t)
{
    char name[96];
    json_t *pod =
        init_pod(t, name, sizeof name, "Always", "/bin/false", "/bin/true", "[\"sleep\",\"3600\"]");
    json_t *end = NULL; /* owned */
    REQUIRE(t, pod, "bad pod");
    int code = kc_conf_pod_create(t, pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    /* three restarts under the crash-loop back-off: 0 + 10 + 20 s */
    end = watch_pod(t, name, init1_restarted);
    if (!end)
        goto out;
    EXPECT(t, phase_is(end, "Pending"), "pod is %s, expected Pending",
           kc_json_str(end, "status.phase") ?: "");
    check_end(t, end, "False", "ContainersNotInitialized",
              "containers with incomplete status: [init1 init2]");
out:
    kc_conf_pod_delete(t, name, 0);
    json_decref(end);
    json_decref(pod);
}

/* init2 fails under Never: init1 succeeded first, init2 ends non-zero; then the pod ends. */
static bool init2_failed(const json_t *pod, char *err, size_t errlen)
{
    if (!apps_initializing(pod, err, errlen))
        return false;
    const json_t *inits = kc_json_path(pod, "status.initContainerStatuses");
    if (json_array_size(inits) != 2)
        return false;
    const json_t *s1 = json_array_get(inits, 0);
    if (!kc_json_path(s1, "state.terminated")) {
        const char *r = kc_json_str(s1, "state.waiting.reason");
        if (r && strcmp(r, "PodInitializing") != 0) {
            snprintf(err, errlen, "first init container should have reason PodInitializing: %s", r);
            return false;
        }
        return false;
    }
    if (!terminated_zero(s1)) {
        snprintf(err, errlen, "first init container should have exitCode 0");
        return false;
    }
    const json_t *s2 = json_array_get(inits, 1);
    if (!kc_json_path(s2, "state.terminated"))
        return false;
    if (terminated_zero(s2)) {
        snprintf(err, errlen, "second init container should have failed");
        return false;
    }
    return true;
}

static void fail_never(struct kc_conf *t)
{
    char name[96];
    json_t *pod =
        init_pod(t, name, sizeof name, "Never", "/bin/true", "/bin/false", "[\"/bin/true\"]");
    json_t *end = NULL; /* owned */
    REQUIRE(t, pod, "bad pod");
    int code = kc_conf_pod_create(t, pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    end = watch_pod(t, name, init2_failed);
    if (!end)
        goto out;
    json_decref(end);
    end = watch_pod(t, name, completed);
    if (!end)
        goto out;
    EXPECT(t, phase_is(end, "Failed"), "pod is %s, expected Failed",
           kc_json_str(end, "status.phase") ?: "");
    check_end(t, end, "False", "ContainersNotInitialized",
              "containers with incomplete status: [init2]");
    EXPECT(t,
           kc_json_path(json_array_get(kc_json_path(end, "status.containerStatuses"), 0),
                        "state.waiting"),
           "the app container should still be waiting");
out:
    kc_conf_pod_delete(t, name, 0);
    json_decref(end);
    json_decref(pod);
}

/* clang-format off */
const struct kc_conf_test kc_conf_tests_init_container[] = {
    {"[sig-node] InitContainer [NodeConformance] should invoke init containers on a RestartNever pod [Conformance]", run_never, KC_CONF_CONTAINERS},
    {"[sig-node] InitContainer [NodeConformance] should invoke init containers on a RestartAlways pod [Conformance]", run_always, KC_CONF_CONTAINERS},
    {"[sig-node] InitContainer [NodeConformance] should not start app containers if init containers fail on a RestartAlways pod [Conformance]", fail_always, KC_CONF_CONTAINERS},
    {"[sig-node] InitContainer [NodeConformance] should not start app containers and fail the pod if init containers fail on a RestartNever pod [Conformance]", fail_never, KC_CONF_CONTAINERS},
    {NULL, NULL, 0},
};
/* clang-format on */
