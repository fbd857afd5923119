/* A pod's sysctls for its containers' OCI configs. */
#include "nodeagent/sysctls.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

json_t *kc_pod_sysctls(const json_t *pod)
{
    json_t *out = json_object();
    size_t i;
    json_t *s;
    json_array_foreach (kc_json_path(pod, "spec.securityContext.sysctls"), i, s) {
        const char *name = kc_json_str(s, "name");
        const char *value = kc_json_str(s, "value");
        if (!name || !value)
            continue;
        char key[256];
        snprintf(key, sizeof key, "%s", name);
        /* slash form (the first separator is '/'): '.' is then part of a name
         * (net/ipv4/conf/eno2.100/rp_filter) */
        size_t first = strcspn(key, "./");
        if (key[first] == '/')
            for (char *c = key; *c; c++)
                *c = *c == '/' ? '.' : *c == '.' ? '/' : *c;
        json_object_set_new(out, key, json_string(value));
    }
    return out;
}
