/* [sig-node] Sysctls (test/e2e/common/node/sysctl.go upstream): a pod's namespaced sysctls
 * (spec.securityContext.sysctls) are set in its containers' namespaces. The pod runs the
 * --image image's busybox sysctl applet as upstream runs busybox's. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdlib.h>
#include <string.h>

#define POD_FINISH_MS 180000 /* generous: CI runs under sanitizers, images unpack once */

/* The reason of a Warning event about the pod, "" if none. */
static void warning_event(struct kc_conf *t, const char *pod, char *out, size_t len)
{
    json_t *list = NULL; /* owned */
    out[0] = 0;
    int code =
        kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/namespaces/%s/events", kc_conf_ns(t));
    size_t i;
    json_t *ev;
    if (code == 200)
        json_array_foreach (json_object_get(list, "items"), i, ev)
            if (!strcmp(kc_json_str(ev, "type") ?: "", "Warning") &&
                !strcmp(kc_json_str(ev, "involvedObject.name") ?: "", pod))
                snprintf(out, len, "%s: %s", kc_json_str(ev, "reason") ?: "",
                         kc_json_str(ev, "message") ?: "");
    json_decref(list);
}

/* A pod with the sysctl kernel.shm_rmid_forced=1 MUST start without an error event and
 * succeed, its container reading the sysctl's new value. */
static void support_sysctls(struct kc_conf *t)
{
    const char *name = "sysctl-pod";
    char *log = NULL;
    json_t *pod = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"Never\","
        "\"securityContext\":{\"sysctls\":[{\"name\":\"kernel.shm_rmid_forced\",\"value\":\"1\"}]},"
        "\"containers\":[{\"name\":\"test-container\",\"image\":\"%s\","
        "\"command\":[\"/bin/sysctl\",\"kernel.shm_rmid_forced\"]}]}}",
        name, kc_conf_image(t));
    if (!pod)
        return;
    int code = kc_conf_pod_create(t, pod);
    json_decref(pod);
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    if (!kc_conf_pod_wait_phase(t, name, "Succeeded", POD_FINISH_MS))
        goto out;
    char ev[512];
    warning_event(t, name, ev, sizeof ev);
    EXPECT(t, !ev[0], "an error event for the pod: %s", ev);
    log = kc_conf_pod_log(t, name, "test-container");
    EXPECT(t, log && strstr(log, "kernel.shm_rmid_forced = 1"),
           "the sysctl is not updated; the log: %s", log ? log : "(none)");
out:
    free(log);
    kc_conf_pod_delete(t, name, 0);
}

const struct kc_conf_test kc_conf_tests_sysctl[] = {
    {"[sig-node] Sysctls [LinuxOnly] [NodeConformance] should support sysctls "
     "[MinimumKubeletVersion:1.21] [Environment:NotInUserNS] [Conformance]",
     support_sysctls, 0},
    {NULL},
};
