/* A container's process from the pod spec and the image config, as Kubernetes defines
 * it: command/args against Entrypoint/Cmd, env order and $(VAR) expansion, fieldRefs,
 * the working directory. */
#include "check.h"

#include "nodeagent/lifecycle.h"

#include <jansson.h>
#include <stdlib.h>

/* args (or env) joined with '|' */
static char *joined(const json_t *a)
{
    static char buf[4096];
    size_t i, off = 0;
    json_t *v;
    buf[0] = 0;
    json_array_foreach (a, i, v)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%s", i ? "|" : "",
                                json_string_value(v));
    return buf;
}

static const char *env_of(const json_t *env, const char *name)
{
    size_t i, nl = strlen(name);
    json_t *v;
    const char *found = NULL;
    json_array_foreach (env, i, v) {
        const char *s = json_string_value(v);
        if (strncmp(s, name, nl) == 0 && s[nl] == '=')
            found = s + nl + 1;
    }
    return found;
}

static void run(const char *pod_js, const char *ctr_js, const char *img_js, json_t **args,
                json_t **env, const char **cwd)
{
    static json_t *pod, *ctr, *img; /* kept until the next call: cwd may point into them */
    json_decref(pod);
    json_decref(ctr);
    json_decref(img);
    pod = json_loads(pod_js, 0, NULL);
    ctr = json_loads(ctr_js, 0, NULL);
    img = json_loads(img_js, 0, NULL);
    kc_container_process(pod, ctr, img, "10.244.1.5", "10.250.0.11", args, env, cwd);
}

int main(void)
{
    const char *pod = "{\"metadata\":{\"name\":\"web-1\",\"namespace\":\"prod\",\"uid\":\"u-1\","
                      "\"labels\":{\"app\":\"web\"}},\"spec\":{\"nodeName\":\"n1\"}}";
    const char *img = "{\"Entrypoint\":[\"/bin/serve\"],\"Cmd\":[\"--port\",\"80\"],"
                      "\"Env\":[\"PATH=/bin\",\"MODE=image\"],\"WorkingDir\":\"/srv\"}";
    json_t *args, *env;
    const char *cwd;

    /* neither command nor args: Entrypoint + Cmd */
    run(pod, "{\"name\":\"c\"}", img, &args, &env, &cwd);
    CHECK_STR(joined(args), "/bin/serve|--port|80");
    CHECK_STR(cwd, "/srv");
    CHECK_STR(env_of(env, "PATH"), "/bin");
    CHECK_STR(env_of(env, "HOSTNAME"), "web-1");
    json_decref(args);
    json_decref(env);

    /* args only: Entrypoint + args */
    run(pod, "{\"name\":\"c\",\"args\":[\"-v\"]}", img, &args, &env, &cwd);
    CHECK_STR(joined(args), "/bin/serve|-v");
    json_decref(args);
    json_decref(env);

    /* command only: Cmd is dropped too */
    run(pod, "{\"name\":\"c\",\"command\":[\"sh\"],\"workingDir\":\"/tmp\"}", img, &args, &env,
        &cwd);
    CHECK_STR(joined(args), "sh");
    CHECK_STR(cwd, "/tmp");
    json_decref(args);
    json_decref(env);

    /* command + args, with $(VAR) expansion, $$ escaping, unknown refs kept */
    run(pod,
        "{\"name\":\"c\",\"command\":[\"echo\",\"$(GREETING)\"],\"args\":[\"$(MODE)\","
        "\"$$(MODE)\",\"$(NOPE)\"],\"env\":[{\"name\":\"GREETING\",\"value\":\"hi $(MODE)\"},"
        "{\"name\":\"MODE\",\"value\":\"pod\"},{\"name\":\"LATE\",\"value\":\"$(MODE)!\"}]}",
        img, &args, &env, &cwd);
    /* GREETING cannot see MODE (the image's is not the kubelet's, the container's comes
     * later); args see every container variable */
    CHECK_STR(env_of(env, "GREETING"), "hi $(MODE)");
    CHECK_STR(env_of(env, "MODE"), "pod");
    CHECK_STR(env_of(env, "LATE"), "pod!");
    CHECK_STR(joined(args), "echo|hi $(MODE)|pod|$(MODE)|$(NOPE)");
    json_decref(args);
    json_decref(env);

    /* fieldRefs the node knows */
    run(pod,
        "{\"name\":\"c\",\"env\":[{\"name\":\"N\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
        "\"metadata.name\"}}},{\"name\":\"NS\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
        "\"metadata.namespace\"}}},{\"name\":\"IP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
        "\"status.podIP\"}}},{\"name\":\"H\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
        "\"status.hostIP\"}}},{\"name\":\"NODE\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
        "\"spec.nodeName\"}}},{\"name\":\"APP\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
        "\"metadata.labels['app']\"}}}]}",
        "{}", &args, &env, &cwd);
    CHECK_STR(env_of(env, "N"), "web-1");
    CHECK_STR(env_of(env, "NS"), "prod");
    CHECK_STR(env_of(env, "IP"), "10.244.1.5");
    CHECK_STR(env_of(env, "H"), "10.250.0.11");
    CHECK_STR(env_of(env, "NODE"), "n1");
    CHECK_STR(env_of(env, "APP"), "web");
    /* no image PATH: the default one */
    CHECK_STR(env_of(env, "PATH"), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    CHECK_STR(cwd, "/");
    CHECK_INT(json_array_size(args), 0);
    json_decref(args);
    json_decref(env);
    run("{}", "{}", "{}", &args, &env, &cwd); /* frees the last documents */
    json_decref(args);
    json_decref(env);
    CHECK_DONE();
}
