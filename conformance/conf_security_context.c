/* [sig-node] Security Context (test/e2e/common/node/security_context.go and
 * test/e2e/node/security_context.go upstream): the user and group a container runs as, its
 * privileges, a writable root file system, no_new_privs. The pods run the --image image's
 * busybox applets as upstream runs busybox. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdlib.h>
#include <string.h>

#define POD_FINISH_MS 180000 /* generous: CI runs under sanitizers, images unpack once */

/* A pod (restartPolicy Never) of one container named after the pod running command (a JSON
 * array), with the container's and the pod's securityContext (JSON). New reference. */
static json_t *user_pod(struct kc_conf *t, const char *name, const char *command,
                        const char *security, const char *pod_security)
{
    return kc_conf_json(t,
                        "{\"metadata\":{\"name\":\"%s\"},\"spec\":{\"restartPolicy\":\"Never\","
                        "\"securityContext\":%s,\"containers\":[{\"name\":\"%s\",\"image\":\"%s\","
                        "\"command\":%s,\"securityContext\":%s}]}}",
                        name, pod_security, name, kc_conf_image(t), command, security);
}

/* Creates pod (borrowed) and expects it to succeed; deletes it after. */
static void create_and_succeed(struct kc_conf *t, const json_t *pod)
{
    const char *name = kc_json_str(pod, "metadata.name") ?: "";
    int code = kc_conf_pod_create(t, pod);
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    kc_conf_pod_wait_phase(t, name, "Succeeded", POD_FINISH_MS);
    kc_conf_pod_delete(t, name, 0);
}

/* A container with runAsUser 65534 MUST run as uid 65534 (its check exits 0). */
static void run_as_65534(struct kc_conf *t)
{
    json_t *pod = user_pod(t, "busybox-user-65534", "[\"sh\",\"-c\",\"test $(id -u) -eq 65534\"]",
                           "{\"runAsUser\":65534}", "{}");
    if (pod)
        create_and_succeed(t, pod);
    json_decref(pod);
}

/* A container with privileged false MUST NOT be able to add a network link: the attempt is
 * refused with "Operation not permitted" and the pod still succeeds. */
static void unprivileged(struct kc_conf *t)
{
    const char *name = "busybox-privileged-false";
    char *log = NULL;
    json_t *pod = user_pod(t, name, "[\"sh\",\"-c\",\"ip link add dummy0 type dummy || true\"]",
                           "{\"privileged\":false}", "{}");
    if (!pod)
        return;
    int code = kc_conf_pod_create(t, pod);
    json_decref(pod);
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    if (!kc_conf_pod_wait_phase(t, name, "Succeeded", POD_FINISH_MS))
        goto out;
    log = kc_conf_pod_log(t, name, name);
    EXPECT(t, log, "GetPodLogs for pod %s failed", name);
    EXPECT(t, !log || strstr(log, "Operation not permitted"),
           "unprivileged container shouldn't be able to create dummy device (log: %s)", log);
out:
    free(log);
    kc_conf_pod_delete(t, name, 0);
}

/* A container with readOnlyRootFilesystem false MUST be able to write to its root file
 * system. */
static void writable_root(struct kc_conf *t)
{
    json_t *pod = user_pod(t, "busybox-readonly-false", "[\"sh\",\"-c\",\"touch checkfile\"]",
                           "{\"readOnlyRootFilesystem\":false}", "{}");
    if (pod)
        create_and_succeed(t, pod);
    json_decref(pod);
}

/* allowPrivilegeEscalation false MUST keep a uid 1000 container from gaining privileges.
 * Upstream runs a setuid-root helper (agnhost's nonewprivs image) that prints its effective
 * uid, which stays 1000. The test image has no setuid binary, so this checks the same two
 * facts busybox can show: the process runs as uid 1000 and the kernel's no_new_privs flag,
 * which is what keeps a setuid binary from raising the effective uid, is set
 * (/proc/self/status "NoNewPrivs: 1"). */
static void no_privilege_escalation(struct kc_conf *t)
{
    static const char *const expect[] = {"Effective uid: 1000\n", "NoNewPrivs:[[:space:]]+1", NULL};
    const char *name = "alpine-nnp-false";
    json_t *pod = user_pod(
        t, name,
        "[\"sh\",\"-c\",\"echo Effective uid: $(id -u); grep NoNewPrivs /proc/self/status\"]",
        "{\"allowPrivilegeEscalation\":false,\"runAsUser\":1000}", "{}");
    if (pod)
        kc_conf_pod_output(t, pod, name, expect);
    json_decref(pod);
}

/* The container's runAsUser and runAsGroup MUST override the pod's. */
static void container_user_group(struct kc_conf *t)
{
    static const char *const expect[] = {"uid=1002([^0-9]|$)", "gid=2002([^0-9]|$)", NULL};
    json_t *pod = user_pod(t, "security-context-container", "[\"sh\",\"-c\",\"id\"]",
                           "{\"runAsUser\":1002,\"runAsGroup\":2002}",
                           "{\"runAsUser\":1001,\"runAsGroup\":2001}");
    if (pod)
        kc_conf_pod_output(t, pod, "security-context-container", expect);
    json_decref(pod);
}

/* The pod's runAsUser and runAsGroup MUST apply to its containers. */
static void pod_user_group(struct kc_conf *t)
{
    static const char *const expect[] = {"uid=1001([^0-9]|$)", "gid=2002([^0-9]|$)", NULL};
    json_t *pod = user_pod(t, "security-context-pod", "[\"sh\",\"-c\",\"id\"]", "{}",
                           "{\"runAsUser\":1001,\"runAsGroup\":2002}");
    if (pod)
        kc_conf_pod_output(t, pod, "security-context-pod", expect);
    json_decref(pod);
}

const struct kc_conf_test kc_conf_tests_security_context[] = {
    {"[sig-node] Security Context When creating a container with runAsUser should run the "
     "container with uid 65534 [LinuxOnly] [NodeConformance] [Conformance]",
     run_as_65534, 0},
    {"[sig-node] Security Context When creating a pod with privileged should run the container "
     "as unprivileged when false [LinuxOnly] [NodeConformance] [Conformance]",
     unprivileged, 0},
    {"[sig-node] Security Context When creating a pod with readOnlyRootFilesystem should run the "
     "container with writable rootfs when readOnlyRootFilesystem=false [NodeConformance] "
     "[Conformance]",
     writable_root, 0},
    {"[sig-node] Security Context when creating containers with AllowPrivilegeEscalation should "
     "not allow privilege escalation when false [LinuxOnly] [NodeConformance] [Conformance]",
     no_privilege_escalation, 0},
    {"[sig-node] Security Context should support container.SecurityContext.RunAsUser And "
     "container.SecurityContext.RunAsGroup [LinuxOnly] [Conformance]",
     container_user_group, 0},
    {"[sig-node] Security Context should support pod.Spec.SecurityContext.RunAsUser And "
     "pod.Spec.SecurityContext.RunAsGroup [LinuxOnly] [Conformance]",
     pod_user_group, 0},
    {NULL},
};
