/* Discovery; see discovery.h. Everything is derived from kc_resources. */
#include "apiserver/discovery.h"

#include "apiserver/resources.h"

#include <stdio.h>
#include <string.h>

static json_t *verbs_for(const struct kc_resource *r);

static json_t *verbs_json(void)
{
    static const char *const verbs[] = {"create", "delete", "deletecollection", "get",
                                        "list",   "patch",  "update",           "watch"};
    json_t *a = json_array();
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        json_array_append_new(a, json_string(verbs[i]));
    return a;
}

static json_t *sub_verbs_json(bool create_only)
{
    json_t *a = json_array();
    if (create_only) {
        json_array_append_new(a, json_string("create"));
        return a;
    }
    json_array_append_new(a, json_string("get"));
    json_array_append_new(a, json_string("patch"));
    json_array_append_new(a, json_string("update"));
    return a;
}

static json_t *strings_json(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && v[i]; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static void gv_text(const char *group, const char *version, char *buf, size_t n)
{
    if (*group)
        snprintf(buf, n, "%s/%s", group, version);
    else
        snprintf(buf, n, "%s", version);
}

json_t *kc_discovery_api_versions(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("APIVersions"));
    json_t *v = json_array();
    json_array_append_new(v, json_string("v1"));
    json_object_set_new(o, "versions", v);
    json_t *addrs = json_array();
    json_array_append_new(addrs, json_pack("{s:s, s:s}", "clientCIDR", "0.0.0.0/0", "serverAddress",
                                           "127.0.0.1:6443"));
    json_object_set_new(o, "serverAddressByClientCIDRs", addrs);
    return o;
}

static json_t *group_json(const char *group)
{
    json_t *versions = json_array(), *preferred = NULL;
    for (const struct kc_group_version *gv = kc_group_versions; gv->version; gv++) {
        if (strcmp(gv->group, group) != 0)
            continue;
        char t[128];
        gv_text(gv->group, gv->version, t, sizeof t);
        json_t *e = json_pack("{s:s, s:s}", "groupVersion", t, "version", gv->version);
        json_array_append_new(versions, e);
        if (!preferred)
            preferred = json_deep_copy(e);
    }
    if (!preferred) {
        json_decref(versions);
        return NULL;
    }
    json_t *g = json_object();
    json_object_set_new(g, "name", json_string(group));
    json_object_set_new(g, "versions", versions);
    json_object_set_new(g, "preferredVersion", preferred);
    return g;
}

json_t *kc_discovery_group_list(void)
{
    json_t *o = json_object(), *groups = json_array();
    json_object_set_new(o, "kind", json_string("APIGroupList"));
    json_object_set_new(o, "apiVersion", json_string("v1"));
    for (const struct kc_group_version *gv = kc_group_versions; gv->version; gv++) {
        if (!*gv->group || (gv != kc_group_versions && strcmp(gv[-1].group, gv->group) == 0))
            continue;
        json_array_append_new(groups, group_json(gv->group));
    }
    json_object_set_new(o, "groups", groups);
    return o;
}

json_t *kc_discovery_group(const char *group)
{
    if (!*group)
        return NULL;
    json_t *g = group_json(group);
    if (!g)
        return NULL;
    json_object_set_new(g, "kind", json_string("APIGroup"));
    json_object_set_new(g, "apiVersion", json_string("v1"));
    return g;
}

static size_t count_strings(const char *const *v, size_t max)
{
    size_t n = 0;
    while (n < max && v[n])
        n++;
    return n;
}

json_t *kc_discovery_resource_list(const char *group, const char *version)
{
    json_t *list = json_array();
    bool found = false;
    for (const struct kc_resource *r = kc_resources; r->resource; r++) {
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        found = true;
        json_t *e = json_object();
        json_object_set_new(e, "name", json_string(r->resource));
        json_object_set_new(e, "singularName", json_string(r->singular));
        json_object_set_new(e, "namespaced", json_boolean(r->namespaced));
        json_object_set_new(e, "kind", json_string(r->kind));
        json_object_set_new(e, "verbs", verbs_for(r));
        size_t ns = count_strings(r->short_names, 4), nc = count_strings(r->categories, 2);
        if (ns)
            json_object_set_new(e, "shortNames", strings_json(r->short_names, ns));
        if (nc)
            json_object_set_new(e, "categories", strings_json(r->categories, nc));
        json_array_append_new(list, e);
        char name[128];
        if (r->subresources & KC_SUB_EXEC) {
            snprintf(name, sizeof name, "%s/attach", r->resource);
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:b, s:s, s:[s,s]}", "name", name,
                                            "singularName", "", "namespaced", r->namespaced, "kind",
                                            "PodAttachOptions", "verbs", "create", "get"));
        }
        if (r->subresources & KC_SUB_BINDING) {
            snprintf(name, sizeof name, "%s/binding", r->resource);
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name,
                                            "singularName", "", "namespaced", r->namespaced, "kind",
                                            "Binding", "verbs", sub_verbs_json(true)));
        }
        if (r->subresources & KC_SUB_EXEC) {
            snprintf(name, sizeof name, "%s/exec", r->resource);
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:b, s:s, s:[s,s]}", "name", name,
                                            "singularName", "", "namespaced", r->namespaced, "kind",
                                            "PodExecOptions", "verbs", "create", "get"));
        }
        if (r->subresources & KC_SUB_LOG) {
            snprintf(name, sizeof name, "%s/log", r->resource);
            json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s, s:[s]}", "name", name,
                                                  "singularName", "", "namespaced", r->namespaced,
                                                  "kind", r->kind, "verbs", "get"));
        }
        if (r->subresources & KC_SUB_PROXY) {
            snprintf(name, sizeof name, "%s/proxy", r->resource);
            json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s, s:[s,s,s,s,s]}", "name",
                                                  name, "singularName", "", "namespaced",
                                                  r->namespaced, "kind", "PodProxyOptions", "verbs",
                                                  "create", "delete", "get", "patch", "update"));
        }
        if (r->subresources & KC_SUB_TOKEN) {
            snprintf(name, sizeof name, "%s/token", r->resource);
            json_array_append_new(list,
                                  json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:o}", "name", name,
                                            "singularName", "", "namespaced", r->namespaced,
                                            "group", "authentication.k8s.io", "version", "v1",
                                            "kind", "TokenRequest", "verbs", sub_verbs_json(true)));
        }
        if (r->subresources & KC_SUB_SCALE) {
            snprintf(name, sizeof name, "%s/scale", r->resource);
            json_array_append_new(
                list, json_pack("{s:s, s:s, s:b, s:s, s:s, s:s, s:o}", "name", name, "singularName",
                                "", "namespaced", r->namespaced, "group", "autoscaling", "version",
                                "v1", "kind", "Scale", "verbs", sub_verbs_json(false)));
        }
        if (r->subresources & KC_SUB_FINALIZE) {
            json_t *v = json_array();
            json_array_append_new(v, json_string("update"));
            snprintf(name, sizeof name, "%s/finalize", r->resource);
            json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name,
                                                  "singularName", "", "namespaced", r->namespaced,
                                                  "kind", r->kind, "verbs", v));
        }
        if (r->subresources & KC_SUB_STATUS) {
            snprintf(name, sizeof name, "%s/status", r->resource);
            json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name,
                                                  "singularName", "", "namespaced", r->namespaced,
                                                  "kind", r->kind, "verbs", sub_verbs_json(false)));
        }
    }
    if (!found) {
        json_decref(list);
        return NULL;
    }
    char gv[128];
    gv_text(group, version, gv, sizeof gv);
    json_t *o = json_object();
    json_object_set_new(o, "kind", json_string("APIResourceList"));
    json_object_set_new(o, "apiVersion", json_string("v1"));
    json_object_set_new(o, "groupVersion", json_string(gv));
    json_object_set_new(o, "resources", list);
    return o;
}

static json_t *aggregated_resource(const struct kc_resource *r)
{
    json_t *e = json_object();
    json_object_set_new(e, "resource", json_string(r->resource));
    json_object_set_new(
        e, "responseKind",
        json_pack("{s:s, s:s, s:s}", "group", r->group, "version", r->version, "kind", r->kind));
    json_object_set_new(e, "scope", json_string(r->namespaced ? "Namespaced" : "Cluster"));
    json_object_set_new(e, "singularResource", json_string(r->singular));
    json_object_set_new(e, "verbs", verbs_for(r));
    size_t ns = count_strings(r->short_names, 4), nc = count_strings(r->categories, 2);
    if (ns)
        json_object_set_new(e, "shortNames", strings_json(r->short_names, ns));
    if (nc)
        json_object_set_new(e, "categories", strings_json(r->categories, nc));
    json_t *subs = json_array();
    if (r->subresources & KC_SUB_EXEC)
        json_array_append_new(subs,
                              json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s,s]}", "subresource",
                                        "attach", "responseKind", "group", "", "version", "",
                                        "kind", "PodAttachOptions", "verbs", "create", "get"));
    if (r->subresources & KC_SUB_BINDING)
        json_array_append_new(subs,
                              json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource", "binding",
                                        "responseKind", "group", "", "version", "v1", "kind",
                                        "Binding", "verbs", sub_verbs_json(true)));
    if (r->subresources & KC_SUB_EXEC)
        json_array_append_new(subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s,s]}", "subresource",
                                              "exec", "responseKind", "group", "", "version", "",
                                              "kind", "PodExecOptions", "verbs", "create", "get"));
    if (r->subresources & KC_SUB_LOG)
        json_array_append_new(subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s]}", "subresource",
                                              "log", "responseKind", "group", "", "version", "",
                                              "kind", r->kind, "verbs", "get"));
    if (r->subresources & KC_SUB_PROXY)
        json_array_append_new(subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:[s,s,s,s,s]}",
                                              "subresource", "proxy", "responseKind", "group", "",
                                              "version", "", "kind", "PodProxyOptions", "verbs",
                                              "create", "delete", "get", "patch", "update"));
    if (r->subresources & KC_SUB_TOKEN)
        json_array_append_new(subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource",
                                              "token", "responseKind", "group",
                                              "authentication.k8s.io", "version", "v1", "kind",
                                              "TokenRequest", "verbs", sub_verbs_json(true)));
    if (r->subresources & KC_SUB_SCALE)
        json_array_append_new(subs,
                              json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource", "scale",
                                        "responseKind", "group", "autoscaling", "version", "v1",
                                        "kind", "Scale", "verbs", sub_verbs_json(false)));
    if (r->subresources & KC_SUB_STATUS)
        json_array_append_new(subs,
                              json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource", "status",
                                        "responseKind", "group", r->group, "version", r->version,
                                        "kind", r->kind, "verbs", sub_verbs_json(false)));
    if (json_array_size(subs))
        json_object_set_new(e, "subresources", subs);
    else
        json_decref(subs);
    return e;
}

json_t *kc_discovery_aggregated(bool core, const char *apiversion)
{
    char av[64];
    snprintf(av, sizeof av, "apidiscovery.k8s.io/%s", apiversion);
    json_t *o = json_object(), *items = json_array();
    json_object_set_new(o, "kind", json_string("APIGroupDiscoveryList"));
    json_object_set_new(o, "apiVersion", json_string(av));
    json_object_set_new(o, "metadata", json_object());
    for (const struct kc_group_version *gv = kc_group_versions; gv->version; gv++) {
        if (core != (*gv->group == 0))
            continue;
        /* one item per group; versions in preference order */
        json_t *item = NULL;
        for (size_t i = 0; i < json_array_size(items); i++) {
            json_t *it = json_array_get(items, i);
            const char *n =
                json_string_value(json_object_get(json_object_get(it, "metadata"), "name"));
            if (n && strcmp(n, gv->group) == 0)
                item = it;
        }
        if (!item) {
            item = json_object();
            json_object_set_new(item, "metadata", json_pack("{s:s}", "name", gv->group));
            json_object_set_new(item, "versions", json_array());
            json_array_append_new(items, item);
        }
        json_t *resources = json_array();
        for (const struct kc_resource *r = kc_resources; r->resource; r++)
            if (strcmp(r->group, gv->group) == 0 && strcmp(r->version, gv->version) == 0)
                json_array_append_new(resources, aggregated_resource(r));
        json_array_append_new(json_object_get(item, "versions"),
                              json_pack("{s:s, s:s, s:o}", "version", gv->version, "freshness",
                                        "Current", "resources", resources));
    }
    json_object_set_new(o, "items", items);
    return o;
}

static json_t *verbs_for(const struct kc_resource *r)
{
    if (!r->create_only)
        return verbs_json();
    json_t *a = json_array();
    json_array_append_new(a, json_string("create"));
    return a;
}
