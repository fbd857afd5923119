/* A container's process as Kubernetes defines it from the pod spec and the image config:
 *   - command replaces the image's Entrypoint, args its Cmd; args alone keep Entrypoint;
 *   - env: the image's, then HOSTNAME (the pod's hostname, as container runtimes set it), then
 *     the container's in order, with $(VAR) expanded from the container's variables
 *     defined before it (not the image's: the kubelet never sees those) and `$$`
 *     escaping; fieldRef values the node knows; command and args expand with all of the
 *     container's variables;
 *   - workingDir, else the image's, else "/".
 * Values the kubelet reads from the API (envFrom, key refs, service links) arrive already
 * in the container's env, resolved by env_sources.c. */
#include "nodeagent/lifecycle.h"
#include "nodeagent/pod_hosts.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *env_lookup(const json_t *env, const char *name, size_t namelen)
{
    size_t i;
    json_t *e;
    const char *found = NULL;
    json_array_foreach (env, i, e) {
        const char *s = json_string_value(e);
        if (s && strncmp(s, name, namelen) == 0 && s[namelen] == '=')
            found = s + namelen + 1;
    }
    return found;
}

/* $(VAR) expansion as the kubelet does it: an unknown or malformed reference stays as
 * written, $$ is a literal $. New string. */
static char *expand(const char *in, const json_t *env)
{
    size_t cap = strlen(in) * 2 + 64, len = 0;
    char *out = malloc(cap);
    for (const char *p = in; *p;) {
        const char *val = NULL;
        size_t skip = 1, vlen = 0;
        if (p[0] == '$' && p[1] == '$') {
            val = "$";
            vlen = 1;
            skip = 2;
        } else if (p[0] == '$' && p[1] == '(') {
            const char *end = strchr(p + 2, ')');
            if (end) {
                const char *v = env_lookup(env, p + 2, (size_t)(end - p - 2));
                if (v) {
                    val = v;
                    vlen = strlen(v);
                    skip = (size_t)(end - p) + 1;
                }
            }
        }
        if (!val) {
            val = p;
            vlen = 1;
        }
        if (len + vlen + 1 > cap) {
            cap = (len + vlen + 1) * 2;
            out = realloc(out, cap);
        }
        memcpy(out + len, val, vlen);
        len += vlen;
        p += skip;
    }
    out[len] = 0;
    return out;
}

static void env_set(json_t *env, const char *name, const char *value)
{
    /* a later definition replaces an earlier one */
    size_t i, nl = strlen(name);
    json_t *e;
    json_array_foreach (env, i, e) {
        const char *s = json_string_value(e);
        if (s && strncmp(s, name, nl) == 0 && s[nl] == '=') {
            json_array_remove(env, i);
            break;
        }
    }
    json_array_append_new(env, json_sprintf("%s=%s", name, value));
}

/* metadata.labels['key'] and friends */
static const char *field_ref(const json_t *pod, const char *path, const char *ip,
                             const char *host_ip, char *buf, size_t len)
{
    if (strcmp(path, "status.podIP") == 0 || strcmp(path, "status.podIPs") == 0)
        return ip;
    if (strcmp(path, "status.hostIP") == 0 || strcmp(path, "status.hostIPs") == 0)
        return host_ip;
    const char *sub = NULL;
    const json_t *map = NULL;
    if (strncmp(path, "metadata.labels['", 17) == 0) {
        sub = path + 17;
        map = kc_json_path(pod, "metadata.labels");
    } else if (strncmp(path, "metadata.annotations['", 22) == 0) {
        sub = path + 22;
        map = kc_json_path(pod, "metadata.annotations");
    }
    if (sub) {
        snprintf(buf, len, "%s", sub);
        char *q = strstr(buf, "']");
        if (q)
            *q = 0;
        return json_string_value(json_object_get(map, buf)) ?: "";
    }
    return kc_json_str(pod, path) ?: "";
}

void kc_container_process(const json_t *pod, const json_t *ctr, const json_t *img_config,
                          const char *ip, const char *host_ip, json_t **args_out, json_t **env_out,
                          const char **cwd)
{
    json_t *env = json_array();
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(img_config, "Env"), i, v)
        if (json_is_string(v))
            json_array_append(env, v);
    if (!env_lookup(env, "PATH", 4))
        json_array_append_new(
            env, json_string("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    char host[64];
    kc_pod_hostname(pod, host, sizeof host);
    env_set(env, "HOSTNAME", host);
    json_t *defined = json_array(); /* the container's own, for $(VAR) */
    json_array_foreach (json_object_get(ctr, "env"), i, v) {
        const char *name = kc_json_str(v, "name");
        if (!name)
            continue;
        const char *fp = kc_json_str(v, "valueFrom.fieldRef.fieldPath");
        char buf[256];
        if (fp) {
            const char *val = field_ref(pod, fp, ip, host_ip, buf, sizeof buf);
            env_set(env, name, val);
            env_set(defined, name, val);
            continue;
        }
        char *val = expand(kc_json_str(v, "value") ?: "", defined);
        env_set(env, name, val);
        env_set(defined, name, val);
        free(val);
    }

    json_t *args = json_array();
    const json_t *command = json_object_get(ctr, "command");
    const json_t *cargs = json_object_get(ctr, "args");
    const json_t *entry = json_object_get(img_config, "Entrypoint");
    const json_t *cmd = json_object_get(img_config, "Cmd");
    const json_t *first = json_array_size(command) ? command : entry;
    const json_t *rest = json_array_size(command) || json_array_size(cargs) ? cargs : cmd;
    const json_t *parts[2] = {first, rest};
    for (int k = 0; k < 2; k++) {
        json_array_foreach (parts[k], i, v) {
            char *s = expand(json_string_value(v) ?: "", defined);
            json_array_append_new(args, json_string(s));
            free(s);
        }
    }
    json_decref(defined);
    *args_out = args;
    *env_out = env;
    *cwd = kc_json_str(ctr, "workingDir");
    if (!*cwd || !**cwd)
        *cwd = kc_json_str(img_config, "WorkingDir");
    if (!*cwd || !**cwd)
        *cwd = "/";
}
