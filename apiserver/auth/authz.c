/* Bearer tokens and RBAC; see authz.h. Role and binding objects are read from storage
 * through the registry on each decision (members of system:masters never pay for it);
 * binding lists are small in the clusters kubec runs. */
#include "apiserver/auth/authz.h"

#include "apiserver/registry.h"
#include "apiserver/server.h"
#include "apiserver/storage/storage.h"
#include "lib/jsonx.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- static tokens ---- */

struct token {
    char *token, *user;
    char groups[6][128];
    int ngroups;
};

static struct token *tokens;
static size_t ntokens;

int kc_tokens_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    if (!f) {
        snprintf(err, errlen, "cannot read --token-auth-file %s", path);
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        /* token,user,uid[,"g1,g2"] */
        char *fields[4] = {0};
        int nf = 0;
        char *p = line;
        while (nf < 4 && p) {
            if (*p == '"') {
                char *end = strchr(p + 1, '"');
                fields[nf++] = p + 1;
                if (end)
                    *end = 0;
                p = end ? strchr(end + 1, ',') : NULL;
                if (p)
                    p++;
            } else {
                fields[nf++] = p;
                p = strchr(p, ',');
                if (p)
                    *p++ = 0;
            }
        }
        if (nf < 3)
            continue;
        tokens = realloc(tokens, (ntokens + 1) * sizeof *tokens);
        if (!tokens)
            abort();
        struct token *t = &tokens[ntokens++];
        memset(t, 0, sizeof *t);
        t->token = strdup(fields[0]);
        t->user = strdup(fields[1]);
        char *g = fields[3];
        while (g && *g && t->ngroups < 5) {
            size_t n = strcspn(g, ",");
            snprintf(t->groups[t->ngroups++], sizeof t->groups[0], "%.*s", (int)n, g);
            g += n;
            if (*g == ',')
                g++;
        }
    }
    fclose(f);
    return 0;
}

bool kc_token_lookup(const char *token, char *user, size_t n, char groups[][128], int *ngroups)
{
    for (size_t i = 0; i < ntokens; i++) {
        if (strcmp(tokens[i].token, token) != 0)
            continue;
        snprintf(user, n, "%s", tokens[i].user);
        *ngroups = 0;
        for (int g = 0; g < tokens[i].ngroups; g++)
            snprintf(groups[(*ngroups)++], 128, "%s", tokens[i].groups[g]);
        snprintf(groups[(*ngroups)++], 128, "system:authenticated");
        return true;
    }
    return false;
}

/* ---- RBAC ---- */

static bool list_has(const json_t *arr, const char *v)
{
    size_t i;
    json_t *e;
    json_array_foreach (arr, i, e) {
        const char *s = json_string_value(e);
        if (s && (!strcmp(s, "*") || !strcmp(s, v)))
            return true;
    }
    return false;
}

static bool rule_allows(const json_t *rule, const struct kc_attrs *a)
{
    char res[256];
    if (!list_has(json_object_get(rule, "verbs"), a->verb))
        return false;
    if (!list_has(json_object_get(rule, "apiGroups"), a->group))
        return false;
    if (a->subresource && *a->subresource)
        snprintf(res, sizeof res, "%s/%s", a->resource, a->subresource);
    else
        snprintf(res, sizeof res, "%s", a->resource);
    if (!list_has(json_object_get(rule, "resources"), res))
        return false;
    json_t *names = json_object_get(rule, "resourceNames");
    if (json_array_size(names) && !(a->name && *a->name && list_has(names, a->name)))
        return false;
    return true;
}

static bool subject_matches(const json_t *sub, const struct kc_attrs *a, const char *binding_ns)
{
    const char *kind = kc_json_str(sub, "kind"), *name = kc_json_str(sub, "name");
    if (!kind || !name)
        return false;
    if (!strcmp(kind, "User"))
        return !strcmp(name, a->user);
    if (!strcmp(kind, "Group")) {
        for (int i = 0; i < a->ngroups; i++)
            if (!strcmp(a->groups[i], name))
                return true;
        return false;
    }
    if (!strcmp(kind, "ServiceAccount")) {
        const char *ns = kc_json_str(sub, "namespace");
        char full[600];
        snprintf(full, sizeof full, "system:serviceaccount:%s:%s", ns ? ns : binding_ns, name);
        return !strcmp(full, a->user);
    }
    return false;
}

static bool role_allows(struct kc_server *srv, const json_t *binding, const char *ns,
                        const struct kc_attrs *a)
{
    const char *kind = kc_json_str(binding, "roleRef.kind");
    const char *name = kc_json_str(binding, "roleRef.name");
    json_t *role = NULL;
    struct kc_status st = KC_STATUS_INIT;
    bool ok = false;
    if (!kind || !name)
        return false;
    const struct kc_resource *r = kc_resource_find(
        "rbac.authorization.k8s.io", "v1", !strcmp(kind, "ClusterRole") ? "clusterroles" : "roles");
    if (r && kc_registry_get(srv, r, !strcmp(kind, "ClusterRole") ? NULL : ns, name, &role, NULL,
                             &st) == 0) {
        size_t i;
        json_t *rule;
        json_array_foreach (json_object_get(role, "rules"), i, rule)
            if (rule_allows(rule, a)) {
                ok = true;
                break;
            }
    }
    json_decref(role);
    kc_status_release(&st);
    return ok;
}

struct scan {
    struct kc_server *srv;
    const struct kc_attrs *a;
    const char *ns; /* of the bindings listed, NULL for cluster bindings */
    bool allowed;
};

static int scan_binding(void *ctx, const char *key, const char *json, size_t len, uint64_t rev)
{
    struct scan *s = ctx;
    json_t *b = json_loadb(json, len, 0, NULL);
    size_t i;
    json_t *sub;
    json_array_foreach (json_object_get(b, "subjects"), i, sub) {
        if (subject_matches(sub, s->a, s->ns ? s->ns : "")) {
            if (role_allows(s->srv, b, s->ns, s->a)) {
                s->allowed = true;
                break;
            }
        }
    }
    json_decref(b);
    return s->allowed;
}

bool kc_authorize(struct kc_server *srv, const struct kc_attrs *a)
{
    char prefix[512];
    uint64_t snap;
    for (int i = 0; i < a->ngroups; i++)
        if (!strcmp(a->groups[i], "system:masters"))
            return true;
    struct scan s = {srv, a, NULL, false};
    const struct kc_resource *crb =
        kc_resource_find("rbac.authorization.k8s.io", "v1", "clusterrolebindings");
    const struct kc_resource *rb =
        kc_resource_find("rbac.authorization.k8s.io", "v1", "rolebindings");
    kc_registry_prefix(crb, NULL, prefix, sizeof prefix);
    kc_storage_list(srv->storage, prefix, NULL, 0, scan_binding, &s, &snap);
    if (!s.allowed && a->ns && *a->ns) {
        s.ns = a->ns;
        kc_registry_prefix(rb, a->ns, prefix, sizeof prefix);
        kc_storage_list(srv->storage, prefix, NULL, 0, scan_binding, &s, &snap);
    }
    return s.allowed;
}

void kc_forbidden_message(const struct kc_attrs *a, char *buf, size_t n)
{
    char res[256], who[512], where[300];
    if (a->subresource && *a->subresource)
        snprintf(res, sizeof res, "%s/%s", a->resource, a->subresource);
    else
        snprintf(res, sizeof res, "%s", a->resource);
    if (a->name && *a->name)
        snprintf(who, sizeof who, "%s%s%s \"%s\"", a->resource, *a->group ? "." : "", a->group,
                 a->name);
    else
        snprintf(who, sizeof who, "%s%s%s", a->resource, *a->group ? "." : "", a->group);
    if (a->ns && *a->ns)
        snprintf(where, sizeof where, " in the namespace \"%s\"", a->ns);
    else
        snprintf(where, sizeof where, " at the cluster scope");
    snprintf(buf, n, "%s is forbidden: User \"%s\" cannot %s resource \"%s\" in API group \"%s\"%s",
             who, a->user, a->verb, res, a->group, where);
}

static int ensure(struct kc_server *srv, const char *resource, const char *text, char *err,
                  size_t errlen)
{
    const struct kc_resource *r = kc_resource_find("rbac.authorization.k8s.io", "v1", resource);
    json_t *obj = json_loads(text, 0, NULL), *out = NULL;
    struct kc_status st = KC_STATUS_INIT;
    struct kc_write_opts wo = {0};
    int ret = 0;
    if (!obj) {
        snprintf(err, errlen, "bootstrap %s: bad JSON", resource);
        return -1;
    }
    const char *name = kc_json_str(obj, "metadata.name");
    if (kc_registry_get(srv, r, NULL, name, &out, NULL, &st) != 0) {
        kc_status_release(&st);
        if (kc_registry_create(srv, r, NULL, obj, &wo, &out, &st) != 0 && st.code != 409) {
            snprintf(err, errlen, "bootstrap %s: %s", resource, st.message ? st.message : "");
            ret = -1;
        }
        goto out;
    }
    /* A policy stored by an older kubec is brought up to date at start, as upstream
     * reconciles its bootstrap policy, unless autoupdate is "false" on it. */
    const char *autoupdate = json_string_value(
        json_object_get(json_object_get(json_object_get(out, "metadata"), "annotations"),
                        "rbac.authorization.kubernetes.io/autoupdate"));
    bool stale = false;
    static const char *const fields[] = {"rules", "roleRef", "subjects"};
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
        if (json_object_get(obj, fields[i]) &&
            !json_equal(json_object_get(obj, fields[i]), json_object_get(out, fields[i])))
            stale = true;
    if (stale && !(autoupdate && strcmp(autoupdate, "false") == 0)) {
        json_t *fresh = json_deep_copy(out); /* owned */
        json_t *updated = NULL;              /* owned */
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
            if (json_object_get(obj, fields[i]))
                json_object_set(fresh, fields[i], json_object_get(obj, fields[i]));
        if (kc_registry_update(srv, r, NULL, name, fresh, KC_UPDATE_MAIN, &wo, &updated, &st) !=
            0) {
            snprintf(err, errlen, "bootstrap %s %s: %s", resource, name,
                     st.message ? st.message : "");
            ret = -1;
        }
        json_decref(fresh);
        json_decref(updated);
    }
out:
    json_decref(obj);
    json_decref(out);
    kc_status_release(&st);
    return ret;
}

#define GROUPS "\"\",\"apps\",\"networking.k8s.io\",\"discovery.k8s.io\",\"coordination.k8s.io\""
#define READ "\"get\",\"list\",\"watch\""
#define WRITE                                                                                      \
    "\"create\",\"delete\",\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\""
#define VIEWABLE                                                                                   \
    "\"pods\",\"pods/log\",\"pods/status\",\"services\",\"services/status\",\"endpoints\","        \
    "\"configmaps\",\"events\",\"serviceaccounts\",\"deployments\",\"deployments/scale\","         \
    "\"deployments/status\",\"replicasets\",\"replicasets/scale\",\"replicasets/status\","         \
    "\"ingresses\",\"ingresses/status\",\"endpointslices\",\"leases\",\"namespaces\","             \
    "\"namespaces/status\""

int kc_rbac_bootstrap(struct kc_server *srv, char *err, size_t errlen)
{
    static const char *const objects[][2] = {
        {"clusterroles",
         "{\"metadata\":{\"name\":\"cluster-admin\",\"labels\":{\"kubernetes.io/bootstrapping\":"
         "\"rbac-defaults\"}},\"rules\":[{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":"
         "[\"*\"]},{\"nonResourceURLs\":[\"*\"],\"verbs\":[\"*\"]}]}"},
        {"clusterroles",
         "{\"metadata\":{\"name\":\"admin\",\"labels\":{\"kubernetes.io/bootstrapping\":"
         "\"rbac-defaults\"}},\"rules\":[{\"apiGroups\":[" GROUPS
         ",\"rbac.authorization.k8s.io\"],\"resources\":[\"*\"],\"verbs\":[\"*\"]}]}"},
        {"clusterroles",
         "{\"metadata\":{\"name\":\"edit\",\"labels\":{\"kubernetes.io/bootstrapping\":"
         "\"rbac-defaults\"}},\"rules\":[{\"apiGroups\":[" GROUPS "],\"resources\":[" VIEWABLE
         ",\"secrets\",\"pods/exec\",\"pods/attach\",\"pods/proxy\"],\"verbs\":[" WRITE "]}]}"},
        {"clusterroles",
         "{\"metadata\":{\"name\":\"view\",\"labels\":{\"kubernetes.io/bootstrapping\":"
         "\"rbac-defaults\"}},\"rules\":[{\"apiGroups\":[" GROUPS "],\"resources\":[" VIEWABLE
         "],\"verbs\":[" READ "]}]}"},
        /* the identities of kubec's own components, each with what it needs only */
        {"clusterroles",
         "{\"metadata\":{\"name\":\"system:kube-controller-manager\"},\"rules\":["
         "{\"apiGroups\":[" GROUPS "],\"resources\":[\"*\"],\"verbs\":[" WRITE "]},"
         /* every group: the garbage collector follows ownerReferences on whatever discovery
          * lists (rbac, the old extensions group), as upstream's generic-garbage-collector
          * may, and the namespace controller empties a namespace of every kind (no create) */
         "{\"apiGroups\":[\"*\"],\"resources\":[\"*\"],\"verbs\":[\"delete\","
         "\"deletecollection\",\"get\",\"list\",\"patch\",\"update\",\"watch\"]}]}"},
        {"clusterroles",
         "{\"metadata\":{\"name\":\"system:kube-scheduler\"},\"rules\":["
         "{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"nodes\",\"namespaces\"],\"verbs\":[" READ
         "]},"
         "{\"apiGroups\":[\"\"],\"resources\":[\"pods/"
         "binding\",\"events\"],\"verbs\":[\"create\"]},"
         "{\"apiGroups\":[\"\"],\"resources\":[\"pods/status\"],\"verbs\":[\"patch\",\"update\"]},"
         "{\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":[" WRITE
         "]}]}"},
        {"clusterroles",
         "{\"metadata\":{\"name\":\"system:node\"},\"rules\":["
         "{\"apiGroups\":[\"\"],\"resources\":[\"nodes\",\"nodes/status\"],\"verbs\":[" WRITE "]},"
         "{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"services\",\"endpoints\",\"configmaps\","
         "\"secrets\"],\"verbs\":[" READ "]},"
         "{\"apiGroups\":[\"\"],\"resources\":[\"pods/status\"],\"verbs\":[\"patch\",\"update\"]},"
         "{\"apiGroups\":[\"\"],\"resources\":[\"pods\",\"events\"],\"verbs\":[\"create\","
         "\"delete\",\"patch\"]},"
         "{\"apiGroups\":[\"discovery.k8s.io\",\"networking.k8s.io\"],\"resources\":[\"*\"],"
         "\"verbs\":[" READ "]},"
         "{\"apiGroups\":[\"coordination.k8s.io\"],\"resources\":[\"leases\"],\"verbs\":[" WRITE
         "]}]}"},
        {"clusterrolebindings",
         "{\"metadata\":{\"name\":\"system:kube-controller-manager\"},\"roleRef\":{\"apiGroup\":"
         "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"system:kube-controller-"
         "manager\"},"
         "\"subjects\":[{\"kind\":\"User\",\"name\":\"system:kube-controller-manager\"}]}"},
        {"clusterrolebindings",
         "{\"metadata\":{\"name\":\"system:kube-scheduler\"},\"roleRef\":{\"apiGroup\":"
         "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"system:kube-"
         "scheduler\"},"
         "\"subjects\":[{\"kind\":\"User\",\"name\":\"system:kube-scheduler\"}]}"},
        {"clusterrolebindings",
         "{\"metadata\":{\"name\":\"system:node\"},\"roleRef\":{\"apiGroup\":"
         "\"rbac.authorization.k8s.io\",\"kind\":\"ClusterRole\",\"name\":\"system:node\"},"
         "\"subjects\":[{\"kind\":\"Group\",\"name\":\"system:nodes\"}]}"},
        {"clusterrolebindings",
         "{\"metadata\":{\"name\":\"cluster-admin\",\"labels\":{\"kubernetes.io/bootstrapping\":"
         "\"rbac-defaults\"}},\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":"
         "\"ClusterRole\",\"name\":\"cluster-admin\"},\"subjects\":[{\"apiGroup\":"
         "\"rbac.authorization.k8s.io\",\"kind\":\"Group\",\"name\":\"system:masters\"}]}"},
    };
    for (size_t i = 0; i < sizeof objects / sizeof *objects; i++)
        if (ensure(srv, objects[i][0], objects[i][1], err, errlen))
            return -1;
    return 0;
}
