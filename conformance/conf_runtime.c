/* [sig-node] Container Runtime blackbox test (test/e2e/common/node/runtime.go upstream): the
 * restart policies' restart counts, phases and states, and the termination message (from a
 * file at terminationMessagePath, or from the log with FallbackToLogsOnError). The pods run
 * the --image image's busybox applets as upstream runs busybox. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdlib.h>
#include <string.h>

/* upstream's ContainerStatusRetryTimeout is 5 minutes; an Always container needs two
 * back-offs (10 s and 20 s) past its start */
#define STATUS_MS 300000

/* The first container status of a pod (borrowed from pod), NULL if none. */
static json_t *first_status(const json_t *pod)
{
    return json_array_get(kc_json_path(pod, "status.containerStatuses"), 0);
}

/* GETs a pod of the test's namespace; NULL when that fails. New reference. */
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

/* "Running", "Terminated", "Waiting" or "Unknown", as upstream's GetContainerState. */
static const char *state_of(const json_t *status)
{
    json_t *s = json_object_get(status, "state");
    if (json_object_get(s, "running"))
        return "Running";
    if (json_object_get(s, "terminated"))
        return "Terminated";
    if (json_object_get(s, "waiting"))
        return "Waiting";
    return "Unknown";
}

static bool pod_ready(const json_t *pod)
{
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "status.conditions"), i, c)
        if (!strcmp(kc_json_str(c, "type") ?: "", "Ready"))
            return !strcmp(kc_json_str(c, "status") ?: "", "True");
    return false;
}

struct status_want {
    const char *name, *policy, *phase, *state;
    int restarts;
    bool ready;
    /* what was last seen */
    long long seen_restarts;
    char seen_phase[32];
};

/* For kc_conf_wait: the pod's container has restarted the wanted number of times. */
static bool restarts_reached(struct kc_conf *t, void *arg)
{
    struct status_want *w = arg;
    json_t *pod = get_pod(t, w->name); /* owned */
    w->seen_restarts = kc_json_int(first_status(pod), "restartCount", -1);
    json_decref(pod);
    return w->seen_restarts == w->restarts;
}

static bool phase_reached(struct kc_conf *t, void *arg)
{
    struct status_want *w = arg;
    json_t *pod = get_pod(t, w->name); /* owned */
    snprintf(w->seen_phase, sizeof w->seen_phase, "%s", kc_json_str(pod, "status.phase") ?: "");
    json_decref(pod);
    return !strcmp(w->seen_phase, w->phase);
}

static bool is_ready(struct kc_conf *t, void *arg)
{
    struct status_want *w = arg;
    json_t *pod = get_pod(t, w->name); /* owned */
    bool ready = pod && pod_ready(pod);
    json_decref(pod);
    return ready;
}

static bool pod_gone(struct kc_conf *t, void *name)
{
    return kc_conf_call(t, "GET", NULL, NULL, NULL, "/api/v1/namespaces/%s/pods/%s", kc_conf_ns(t),
                        (const char *)name) == 404;
}

/* A container that fails on its first run, succeeds on its second and then runs on (it
 * counts its runs in an emptyDir volume, which outlives the container's restarts) MUST be
 * restarted as its pod's restartPolicy says: Always twice (and running, ready), OnFailure
 * once (the pod succeeded), Never not at all (the pod failed); and each pod MUST be
 * deletable. Upstream runs the three cases one after the other; here their pods run at the
 * same time, each checked as upstream checks it. */
static void expected_status(struct kc_conf *t)
{
    struct status_want cases[] = {
        {"terminate-cmd-rpa", "Always", "Running", "Running", 2, true, 0, ""},
        {"terminate-cmd-rpof", "OnFailure", "Succeeded", "Terminated", 1, false, 0, ""},
        {"terminate-cmd-rpn", "Never", "Failed", "Terminated", 0, false, 0, ""},
    };
    const char *script = "f=/restart-count/restartCount\n"
                         "count=$(echo 'hello' >> $f ; wc -l $f | awk {'print $1'})\n"
                         "if [ $count -eq 1 ]; then\n\texit 1\nfi\n"
                         "if [ $count -eq 2 ]; then\n\texit 0\nfi\n"
                         "while true; do sleep 1; done\n";
    json_t *cmd = json_pack("[s,s,s]", "sh", "-c", script); /* owned */
    char *cmd_text = json_dumps(cmd, JSON_COMPACT);
    json_decref(cmd);
    for (int i = 0; i < 3; i++) {
        json_t *pod = kc_conf_json(
            t,
            "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"%s\","
            "\"terminationGracePeriodSeconds\":1,\"volumes\":[{\"name\":\"restart-count\","
            "\"emptyDir\":{\"medium\":\"Memory\"}}],\"containers\":[{\"name\":\"%s\",\"image\":"
            "\"%s\",\"command\":%s,\"volumeMounts\":[{\"name\":\"restart-count\",\"mountPath\":"
            "\"/restart-count\"}]}]}}",
            cases[i].name, cases[i].policy, cases[i].name, kc_conf_image(t), cmd_text);
        int code = pod ? kc_conf_pod_create(t, pod) : -1;
        json_decref(pod);
        if (code != 201) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", cases[i].name, code);
            goto out;
        }
    }
    for (int i = 0; i < 3; i++) {
        struct status_want *w = &cases[i];
        if (!kc_conf_wait(t, STATUS_MS, restarts_reached, w)) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "Container '%s': RestartCount %lld, expected %d",
                            w->name, w->seen_restarts, w->restarts);
            continue;
        }
        if (!kc_conf_wait(t, STATUS_MS, phase_reached, w)) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "Container '%s': Phase %s, expected %s", w->name,
                            w->seen_phase, w->phase);
            continue;
        }
        /* Ready follows the container's start in the status the node reports next (a few
         * seconds); not ready is checked at once */
        bool ready = w->ready ? kc_conf_wait(t, 15000, is_ready, w) : is_ready(t, w);
        EXPECT(t, ready == w->ready, "Container '%s': Ready %d, expected %d", w->name, ready,
               w->ready);
        json_t *pod = get_pod(t, w->name); /* owned */
        const char *state = state_of(first_status(pod));
        EXPECT(t, !strcmp(state, w->state), "Container '%s': State %s, expected %s", w->name, state,
               w->state);
        json_decref(pod);
        int code = kc_conf_pod_delete(t, w->name, -1);
        EXPECT(t, code == 200, "Container '%s': deleting the pod: HTTP %d", w->name, code);
        EXPECT(t, kc_conf_wait(t, STATUS_MS, pod_gone, (void *)w->name),
               "Container '%s': the pod is still present after its deletion", w->name);
    }
out:
    free(cmd_text);
    for (int i = 0; i < 3; i++)
        kc_conf_pod_delete(t, cases[i].name, 0);
}

/* Runs a container named termination-message-container (restartPolicy Never) that runs
 * args with /bin/sh -c; extra is more of the container's fields (JSON, starting with a
 * comma). Its pod MUST reach phase, its container be terminated with message want. */
static void match_termination_message(struct kc_conf *t, const char *args, const char *extra,
                                      const char *phase, const char *want)
{
    const char *name = "termination-message-container";
    json_t *arg = json_string(args); /* owned */
    char *arg_text = json_dumps(arg, JSON_ENCODE_ANY);
    json_decref(arg);
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{"
        "\"name\":\"%s\",\"image\":\"%s\",\"command\":[\"/bin/sh\",\"-c\"],\"args\":[%s]%s}]}}",
        name, name, kc_conf_image(t), arg_text, extra);
    free(arg_text);
    if (!pod)
        return;
    int code = kc_conf_pod_create(t, pod);
    json_decref(pod);
    pod = NULL;
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    struct status_want w = {.name = name, .phase = phase};
    if (!kc_conf_wait(t, STATUS_MS, phase_reached, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s: phase %s, expected %s", name, w.seen_phase,
                        phase);
        goto out;
    }
    pod = get_pod(t, name);
    json_t *status = first_status(pod); /* borrowed */
    if (strcmp(state_of(status), "Terminated") != 0) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "the container is %s, expected Terminated",
                        state_of(status));
        goto out;
    }
    const char *msg = kc_json_str(status, "state.terminated.message") ?: "";
    EXPECT(t, !strcmp(msg, want),
           "Expected: \"%s\" to match Container's Termination Message: \"%s\"", want, msg);
out:
    json_decref(pod);
    code = kc_conf_pod_delete(t, name, 0);
    EXPECT(t, code == 200 || code == 404, "deleting the pod: HTTP %d", code);
}

static void message_non_root(struct kc_conf *t)
{
    match_termination_message(t, "/bin/echo -n DONE > /dev/termination-custom-log",
                              ",\"terminationMessagePath\":\"/dev/termination-custom-log\","
                              "\"securityContext\":{\"runAsUser\":10000}",
                              "Succeeded", "DONE");
}

static void message_from_log(struct kc_conf *t)
{
    match_termination_message(t, "/bin/echo -n DONE; /bin/false",
                              ",\"terminationMessagePath\":\"/dev/termination-log\","
                              "\"terminationMessagePolicy\":\"FallbackToLogsOnError\"",
                              "Failed", "DONE");
}

static void message_empty_on_success(struct kc_conf *t)
{
    match_termination_message(t, "/bin/echo -n DONE; /bin/true",
                              ",\"terminationMessagePath\":\"/dev/termination-log\","
                              "\"terminationMessagePolicy\":\"FallbackToLogsOnError\"",
                              "Succeeded", "");
}

static void message_from_file(struct kc_conf *t)
{
    match_termination_message(t,
                              "/bin/echo -n OK > /dev/termination-log; /bin/echo DONE; /bin/true",
                              ",\"terminationMessagePath\":\"/dev/termination-log\","
                              "\"terminationMessagePolicy\":\"FallbackToLogsOnError\"",
                              "Succeeded", "OK");
}

const struct kc_conf_test kc_conf_tests_runtime[] = {
    {"[sig-node] Container Runtime blackbox test on terminated container should report "
     "termination message as empty when pod succeeds and TerminationMessagePolicy "
     "FallbackToLogsOnError is set [NodeConformance] [Conformance]",
     message_empty_on_success, 0},
    {"[sig-node] Container Runtime blackbox test on terminated container should report "
     "termination message from file when pod succeeds and TerminationMessagePolicy "
     "FallbackToLogsOnError is set [NodeConformance] [Conformance]",
     message_from_file, 0},
    {"[sig-node] Container Runtime blackbox test on terminated container should report "
     "termination message from log output if TerminationMessagePolicy FallbackToLogsOnError is "
     "set [NodeConformance] [Conformance]",
     message_from_log, 0},
    {"[sig-node] Container Runtime blackbox test on terminated container should report "
     "termination message if TerminationMessagePath is set as non-root user and at a "
     "non-default path [NodeConformance] [Conformance]",
     message_non_root, 0},
    {"[sig-node] Container Runtime blackbox test when starting a container that exits should "
     "run with the expected status [NodeConformance] [Conformance]",
     expected_status, 0},
    {NULL},
};
