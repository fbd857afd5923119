/* [sig-node] Variable Expansion tests of $(VAR) references (test/e2e/common/node/
 * expansion.go upstream): in env values, in the command and in the args. The shell
 * command sets TEST_VAR=wrong for echo, so only the node's expansion can print
 * test-value (the shell would run $(TEST_VAR) as a command). */
#include "conformance/conformance.h"

#include <stdio.h>

/* upstream's newPod: container dapi-container with command, args (JSON arrays, args
 * may be NULL) and env. */
static void expansion_pod(struct kc_conf *t, const char *command, const char *args, const char *env,
                          const char *const *expect)
{
    char name[96];
    json_t *pod =
        kc_conf_json(t,
                     "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"%s\"}},"
                     "\"spec\":{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":"
                     "\"dapi-container\",\"image\":\"%s\",\"command\":%s,%s%s%s"
                     "\"env\":%s}]}}",
                     kc_conf_unique(t, "var-expansion", name, sizeof name), name, kc_conf_image(t),
                     command, args ? "\"args\":" : "", args ? args : "", args ? "," : "", env);
    if (!pod)
        return;
    kc_conf_pod_output(t, pod, "dapi-container", expect);
    json_decref(pod);
}

static void composing(struct kc_conf *t)
{
    const char *const expect[] = {"FOO=foo-value", "BAR=bar-value", "FOOBAR=foo-value;;bar-value",
                                  NULL};
    expansion_pod(t, "[\"sh\",\"-c\",\"env\"]", NULL,
                  "[{\"name\":\"FOO\",\"value\":\"foo-value\"},{\"name\":\"BAR\",\"value\":"
                  "\"bar-value\"},{\"name\":\"FOOBAR\",\"value\":\"$(FOO);;$(BAR)\"}]",
                  expect);
}

static void in_command(struct kc_conf *t)
{
    const char *const expect[] = {"test-value", NULL};
    expansion_pod(t, "[\"sh\",\"-c\",\"TEST_VAR=wrong echo \\\"$(TEST_VAR)\\\"\"]", NULL,
                  "[{\"name\":\"TEST_VAR\",\"value\":\"test-value\"}]", expect);
}

static void in_args(struct kc_conf *t)
{
    const char *const expect[] = {"test-value", NULL};
    expansion_pod(t, "[\"sh\",\"-c\"]", "[\"TEST_VAR=wrong echo \\\"$(TEST_VAR)\\\"\"]",
                  "[{\"name\":\"TEST_VAR\",\"value\":\"test-value\"}]", expect);
}

const struct kc_conf_test kc_conf_tests_expansion[] = {
    {"[sig-node] Variable Expansion should allow composing env vars into new env vars "
     "[NodeConformance] [Conformance]",
     composing, 0},
    {"[sig-node] Variable Expansion should allow substituting values in a container's args "
     "[NodeConformance] [Conformance]",
     in_args, 0},
    {"[sig-node] Variable Expansion should allow substituting values in a container's command "
     "[NodeConformance] [Conformance]",
     in_command, 0},
    {NULL, NULL, 0},
};
