/* Pod helpers the node tests share: create, wait for a phase, read the log, and upstream's
 * "container output" check (a pod prints, exits, and its log is matched). */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <regex.h>
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
        /* copied: the pod's strings go with it */
        snprintf(last, sizeof last, "%s",
                 code == 200 ? kc_json_str(pod, "status.phase") ?: "" : "");
        json_decref(pod);
        const char *now = last;
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
