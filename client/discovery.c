/* API discovery walk; see discovery.h. */
#include "client/discovery.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

bool kc_discovery_has_verb(const json_t *resource, const char *verb)
{
    json_t *v;
    size_t i;
    json_array_foreach (json_object_get(resource, "verbs"), i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), verb) == 0)
            return true;
    return false;
}

static void walk(const json_t *list, const char *group, const char *version, const char *gv,
                 kc_discovery_fn fn, void *ctx)
{
    json_t *v;
    size_t i;
    json_array_foreach (json_object_get(list, "resources"), i, v) {
        const char *name = kc_json_str(v, "name");
        if (name && kc_json_str(v, "kind") && !strchr(name, '/'))
            fn(ctx, group, version, gv, v);
    }
}

int kc_discover_preferred(struct kc_client *c, kc_discovery_fn fn, kc_discovery_failed_fn failed,
                          void *ctx)
{
    json_t *core = NULL, *groups = NULL, *v;
    size_t i;
    int missing = 0;
    if (kc_client_do(c, "GET", "/api/v1", NULL, NULL, &core) == 200) {
        walk(core, "", "v1", "v1", fn, ctx);
    } else {
        missing++;
        if (failed)
            failed(ctx, "v1");
    }
    if (kc_client_do(c, "GET", "/apis", NULL, NULL, &groups) != 200) {
        missing++;
        if (failed)
            failed(ctx, "apis");
        goto out;
    }
    json_array_foreach (json_object_get(groups, "groups"), i, v) {
        const char *name = kc_json_str(v, "name");
        const char *gv = kc_json_str(v, "preferredVersion.groupVersion");
        const char *ver = kc_json_str(v, "preferredVersion.version");
        char path[512];
        json_t *list = NULL;
        if (!name || !gv || !ver)
            continue;
        snprintf(path, sizeof path, "/apis/%s", gv);
        if (kc_client_do(c, "GET", path, NULL, NULL, &list) == 200) {
            walk(list, name, ver, gv, fn, ctx);
        } else {
            missing++;
            if (failed)
                failed(ctx, gv);
        }
        json_decref(list);
    }
out:
    json_decref(core);
    json_decref(groups);
    return missing;
}
