/* Pod helpers the node tests share: create, wait for a phase, read the log, and upstream's
 * "container output" check (a pod prints, exits, and its log is matched). */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POD_FINISH_MS 180000 /* generous: CI runs under sanitizers, images unpack once */

int kc_conf_pod_create(struct kc_conf *t, const json_t *pod)
{
    return kc_conf_call(t, "POST", pod, NULL, NULL, "/api/v1/namespaces/%s/pods", kc_conf_ns(t));
}

int kc_conf_pod_delete(struct kc_conf *t, const char *name, int grace)
{
    char q[48] = "";
    if (grace >= 0)
        snprintf(q, sizeof q, "?gracePeriodSeconds=%d", grace);
    return kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s/pods/%s%s",
                        kc_conf_ns(t), name, q);
}

static bool terminal(const char *phase)
{
    return !strcmp(phase, "Succeeded") || !strcmp(phase, "Failed");
}

bool kc_conf_pod_wait_phase(struct kc_conf *t, const char *name, const char *phase, int timeout_ms)
{
    char last[32] = "";
    for (int waited = 0;; waited += 200) {
        json_t *pod = NULL; /* owned */
        int code = kc_conf_call(t, "GET", NULL, NULL, &pod, "/api/v1/namespaces/%s/pods/%s",
                                kc_conf_ns(t), name);
        snprintf(last, sizeof last, "%s",
                 code == 200 ? kc_json_str(pod, "status.phase") ?: "" : "");
        json_decref(pod);
        const char *now = last; /* the pod's strings went with it */
        if (!strcmp(now, phase))
            return true;
        if (terminal(now) && !terminal(phase)) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s ended %s, waiting for %s", name, now,
                            phase);
            return false;
        }
        if (terminal(now)) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "pod %s ended %s, expected %s", name, now,
                            phase);
            return false;
        }
        if (waited >= timeout_ms) {
            kc_conf_fail_at(t, __FILE__, __LINE__,
                            "pod %s not %s after %d s (phase \"%s\", HTTP %d)", name, phase,
                            timeout_ms / 1000, last, code);
            return false;
        }
        usleep(200 * 1000);
    }
}

char *kc_conf_pod_log(struct kc_conf *t, const char *name, const char *container)
{
    struct kc_client_raw r = {.accept = "*/*"};
    int code =
        container
            ? kc_conf_raw(t, "GET", &r, "/api/v1/namespaces/%s/pods/%s/log?container=%s",
                          kc_conf_ns(t), name, container)
            : kc_conf_raw(t, "GET", &r, "/api/v1/namespaces/%s/pods/%s/log", kc_conf_ns(t), name);
    if (code != 200) {
        kc_conf_log(t, "log of %s: HTTP %d %s", name, code, r.answer ? r.answer : "");
        free(r.answer);
        return NULL;
    }
    return r.answer;
}

void kc_conf_pod_output(struct kc_conf *t, const json_t *pod, const char *container,
                        const char *const *expect)
{
    const char *name = kc_json_str(pod, "metadata.name") ?: "";
    char *log = NULL;
    int code = kc_conf_pod_create(t, pod);
    REQUIRE(t, code == 201, "creating pod %s: HTTP %d", name, code);
    if (!kc_conf_pod_wait_phase(t, name, "Succeeded", POD_FINISH_MS))
        goto out;
    log = kc_conf_pod_log(t, name, container);
    if (!log) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "reading the log of pod %s failed", name);
        goto out;
    }
    for (int i = 0; expect && expect[i]; i++) {
        regex_t re;
        if (regcomp(&re, expect[i], REG_EXTENDED | REG_NOSUB) != 0) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "bad pattern %s", expect[i]);
            goto out;
        }
        bool found = regexec(&re, log, 0, NULL, 0) == 0;
        regfree(&re);
        EXPECT(t, found, "pod %s's output does not match %s; it was:\n%s", name, expect[i], log);
    }
out:
    free(log);
    kc_conf_pod_delete(t, name, 0);
}

const char kc_conf_sh_net[] =
    "get() { printf 'GET %s HTTP/1.0\\r\\n\\r\\n' \"${3:-/}\" | nc -w 2 \"$1\" \"$2\" 2>/dev/null "
    "| "
    "tail -n 1; }; "
    "res() { case \"$1\" in *[!0-9.]*) ;; *) echo \"$1\"; return 0;; esac; "
    "for n in $(awk -v n=\"$1\" '/^search/{for(i=2;i<=NF;i++) print n \".\" $i}' "
    "/etc/resolv.conf) \"$1\"; do "
    "a=$(nslookup \"$n\" 2>/dev/null | awk '/^Address: /{print $2; exit}'); "
    "if [ -n \"$a\" ]; then echo \"$a\"; return 0; fi; done; return 1; }; ";

bool kc_conf_pod_script(struct kc_conf *t, const char *name, const char *labels,
                        const char *extra_spec, const char *script)
{
    size_t len = strlen(kc_conf_sh_net) + strlen(script) + 1;
    char *cmd = malloc(len);
    bool ok = false;
    json_t *pod = NULL, *extra = NULL, *lab = NULL; /* owned */
    if (!cmd)
        return false;
    snprintf(cmd, len, "%s%s", kc_conf_sh_net, script);
    lab = labels ? kc_conf_json(t, "%s", labels) : json_object();
    extra = kc_conf_json(t, "{%s}", extra_spec ? extra_spec : "");
    if (!lab || !extra)
        goto out;
    pod = json_pack("{s:{s:s,s:O},s:{s:s,s:i,s:[{s:s,s:s,s:[s,s,s]}]}}", "metadata", "name", name,
                    "labels", lab, "spec", "restartPolicy", "Never",
                    "terminationGracePeriodSeconds", 0, "containers", "name", "c", "image",
                    kc_conf_image(t), "command", "sh", "-c", cmd);
    if (!pod)
        goto out;
    json_object_update(json_object_get(pod, "spec"), extra);
    int code = kc_conf_pod_create(t, pod);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating pod %s: HTTP %d", name, code);
        goto out;
    }
    ok = true;
out:
    free(cmd);
    json_decref(pod);
    json_decref(extra);
    json_decref(lab);
    return ok;
}

bool kc_conf_pod_log_wait(struct kc_conf *t, const char *pod, int from, const char *pattern,
                          int timeout_ms, int *seen, char *match, size_t matchlen)
{
    regex_t re;
    bool found = false;
    int lines = 0;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "bad pattern %s", pattern);
        return false;
    }
    for (int waited = 0; !found && waited <= timeout_ms; waited += 500) {
        if (waited)
            usleep(500 * 1000);
        struct kc_client_raw r = {.accept = "*/*"};
        int code =
            kc_conf_raw(t, "GET", &r, "/api/v1/namespaces/%s/pods/%s/log", kc_conf_ns(t), pod);
        if (code == 200 && r.answer) {
            lines = 0;
            char *save = NULL;
            for (char *line = strtok_r(r.answer, "\n", &save); line;
                 line = strtok_r(NULL, "\n", &save)) {
                if (lines++ < from || found)
                    continue;
                if (regexec(&re, line, 0, NULL, 0) == 0) {
                    found = true;
                    if (match)
                        snprintf(match, matchlen, "%s", line);
                }
            }
        }
        free(r.answer);
    }
    regfree(&re);
    if (seen)
        *seen = lines;
    return found;
}

bool kc_conf_require_containers(struct kc_conf *t)
{
    json_t *list = NULL; /* owned */
    bool real = false;
    int code = kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/nodes");
    size_t i;
    json_t *node;
    json_array_foreach (json_object_get(list, "items"), i, node) {
        const char *rt = kc_json_str(node, "status.nodeInfo.containerRuntimeVersion") ?: "";
        if (strncmp(rt, "simulated://", 12) != 0)
            real = true;
    }
    json_decref(list);
    if (code == 200 && !real)
        kc_conf_skip(t, "the nodes are simulated: their pods run no containers and pull no "
                        "images");
    /* a failed list is left to the test to meet */
    return code != 200 || real;
}
