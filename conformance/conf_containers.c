/* [sig-node] Containers (test/e2e/common/node/containers.go upstream): how a container's
 * command and args combine with its image's ENTRYPOINT and CMD.
 *
 * Upstream runs agnhost, whose entrypoint-tester prints the argv it was started with. The
 * test image (--image) has Entrypoint ["/bin/serve-hostname"] (a script serving the pod's
 * hostname on port 5005, ignoring its arguments) and no Cmd, so the re-expression observes
 * what that image makes observable:
 * - no command and no args: the image's entrypoint runs; a second pod fetches the page it
 *   serves and MUST read the server pod's name (upstream reads agnhost pause's log);
 * - args only: the entrypoint still runs (serving the page), the args being no command of
 *   their own ("entrypoint-tester" is no executable in the image, so a runtime that ran the
 *   args as the command would fail to start the container). That the args reach the
 *   entrypoint's argv is not observable with this image;
 * - command (with and without args): the command replaces the entrypoint and receives the
 *   args: /bin/echo prints them (upstream: "[/agnhost-2 entrypoint-tester ...]"). */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define POD_START_MS 180000 /* generous: CI runs under sanitizers, images unpack once */

/* A pod (restartPolicy Never, grace period 1 s) of one container "agnhost-container" of the
 * test image; command and args are JSON arrays or NULL (left out). New reference. */
static json_t *entrypoint_pod(struct kc_conf *t, const char *name, const char *command,
                              const char *args)
{
    json_t *pod =
        kc_conf_json(t,
                     "{\"metadata\":{\"name\":\"%s\"},\"spec\":{"
                     "\"terminationGracePeriodSeconds\":1,\"restartPolicy\":\"Never\","
                     "\"containers\":[{\"name\":\"agnhost-container\",\"image\":\"%s\"}]}}",
                     name, kc_conf_image(t));
    json_t *ctr = json_array_get(kc_json_path(pod, "spec.containers"), 0); /* borrowed */
    if (command)
        json_object_set_new(ctr, "command", json_loads(command, 0, NULL));
    if (args)
        json_object_set_new(ctr, "args", json_loads(args, 0, NULL));
    return pod;
}

/* Runs the pod (borrowed) until Running, then expects a client pod to read the pod's name
 * from the page it serves on port 5005: the image's entrypoint ran. */
static void expect_entrypoint_serving(struct kc_conf *t, const json_t *pod)
{
    const char *name = kc_json_str(pod, "metadata.name") ?: "";
    json_t *got = NULL, *client = NULL; /* owned */
    int code = kc_conf_pod_create(t, pod);
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    if (!kc_conf_pod_wait_phase(t, name, "Running", POD_START_MS))
        goto out;
    code = kc_conf_call(t, "GET", NULL, NULL, &got, "/api/v1/namespaces/%s/pods/%s", kc_conf_ns(t),
                        name);
    const char *ip = kc_json_str(got, "status.podIP") ?: "";
    if (code != 200 || !ip[0]) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s has no IP (HTTP %d)", name, code);
        goto out;
    }
    /* the server may take a moment to listen after its container started; nc, as the
     * image's static busybox wget crashes resolving */
    char script[512];
    snprintf(script, sizeof script,
             "for i in $(seq 1 60); do printf 'GET / HTTP/1.0\\r\\n\\r\\n' | "
             "nc -w 2 %s 5005 >/tmp/r; grep -q '200 OK' /tmp/r && cat /tmp/r && exit 0; "
             "sleep 1; done; exit 1",
             ip);
    json_t *cmd = json_pack("[s,s,s]", "sh", "-c", script); /* owned */
    char *cmd_text = json_dumps(cmd, JSON_COMPACT);
    json_decref(cmd);
    client = entrypoint_pod(t, "client-nc", cmd_text, NULL);
    free(cmd_text);
    if (!client)
        goto out;
    const char *expect[] = {name, NULL};
    kc_conf_pod_output(t, client, "agnhost-container", expect);
out:
    json_decref(got);
    json_decref(client);
    kc_conf_pod_delete(t, name, 0);
}

static void image_defaults(struct kc_conf *t)
{
    json_t *pod = entrypoint_pod(t, "client-containers-defaults", NULL, NULL);
    if (pod)
        expect_entrypoint_serving(t, pod);
    json_decref(pod);
}

static void override_args(struct kc_conf *t)
{
    json_t *pod = entrypoint_pod(t, "client-containers-args", NULL,
                                 "[\"entrypoint-tester\",\"override\",\"arguments\"]");
    if (pod)
        expect_entrypoint_serving(t, pod);
    json_decref(pod);
}

static void override_command(struct kc_conf *t)
{
    static const char *const expect[] = {"^entrypoint-tester\n$", NULL};
    json_t *pod = entrypoint_pod(t, "client-containers-command", "[\"/bin/echo\"]",
                                 "[\"entrypoint-tester\"]");
    if (pod)
        kc_conf_pod_output(t, pod, "agnhost-container", expect);
    json_decref(pod);
}

static void override_all(struct kc_conf *t)
{
    static const char *const expect[] = {"^entrypoint-tester override arguments\n$", NULL};
    json_t *pod = entrypoint_pod(t, "client-containers-all", "[\"/bin/echo\"]",
                                 "[\"entrypoint-tester\",\"override\",\"arguments\"]");
    if (pod)
        kc_conf_pod_output(t, pod, "agnhost-container", expect);
    json_decref(pod);
}

const struct kc_conf_test kc_conf_tests_containers[] = {
    {"[sig-node] Containers should be able to override the image's default arguments (container "
     "cmd) [NodeConformance] [Conformance]",
     override_args, 0},
    {"[sig-node] Containers should be able to override the image's default command (container "
     "entrypoint) [NodeConformance] [Conformance]",
     override_command, 0},
    {"[sig-node] Containers should be able to override the image's default command and "
     "arguments [NodeConformance] [Conformance]",
     override_all, 0},
    {"[sig-node] Containers should use the image defaults if command and args are blank "
     "[NodeConformance] [Conformance]",
     image_defaults, 0},
    {NULL},
};
