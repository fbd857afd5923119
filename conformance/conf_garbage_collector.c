/* [sig-api-machinery] Garbage collector (test/e2e/apimachinery/garbage_collector.go upstream):
 * the ones about Deployments and the dependency circle. Those about ReplicationControllers
 * are out of scope (not served). Upstream's nginx image is stood in for by busybox. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <string.h>

#define WAIT_MS 120000 /* upstream: a minute plus the informer resync retry */

/* A Deployment of 2 replicas, pods labelled {key: value} (upstream's newOwnerDeployment).
 * New reference. */
static json_t *owner_deployment(struct kc_conf *t, const char *key, const char *value)
{
    return kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"simpletest.deployment\"},\"spec\":{\"replicas\":2,"
        "\"selector\":{\"matchLabels\":{\"%s\":\"%s\"}},\"strategy\":{\"type\":"
        "\"RollingUpdate\"},\"template\":{\"metadata\":{\"labels\":{\"%s\":\"%s\"}},\"spec\":{"
        "\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":\"nginx\",\"image\":"
        "\"%s\",\"command\":[\"sleep\",\"3600\"]}]}}}}",
        key, value, key, value, kc_conf_image(t));
}

/* The number of items of a namespaced list, -1 when it cannot be read. */
static int count(struct kc_conf *t, const char *prefix, const char *resource)
{
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list, "%s/namespaces/%s/%s", prefix,
                            kc_conf_ns(t), resource);
    int n = code == 200 ? (int)json_array_size(json_object_get(list, "items")) : -1;
    json_decref(list);
    return n;
}

struct remaining {
    int deployments, replicasets, pods;
};

/* upstream's verifyRemainingObjects */
static bool remaining_are(struct kc_conf *t, void *arg)
{
    struct remaining *r = arg;
    int d = count(t, "/apis/apps/v1", "deployments");
    int rs = count(t, "/apis/apps/v1", "replicasets");
    int pods = count(t, "/api/v1", "pods");
    if (d != r->deployments || rs != r->replicasets || pods != r->pods)
        kc_conf_log(t, "expected %d Deployments, %d rs, %d Pods; got %d, %d, %d", r->deployments,
                    r->replicasets, r->pods, d, rs, pods);
    return d == r->deployments && rs == r->replicasets && pods == r->pods;
}

static bool some_rs(struct kc_conf *t, void *arg)
{
    (void)arg;
    return count(t, "/apis/apps/v1", "replicasets") > 0;
}

static bool no_deployments(struct kc_conf *t, void *arg)
{
    (void)arg;
    return count(t, "/apis/apps/v1", "deployments") == 0;
}

/* Creates the owner Deployment and waits for a ReplicaSet; its uid in uid. */
static bool create_owner(struct kc_conf *t, const char *value, char *uid, size_t len)
{
    char key[64];
    kc_conf_unique(t, "gctest", key, sizeof key);
    json_t *d = owner_deployment(t, key, value), *out = NULL; /* owned */
    int code = d ? kc_conf_call(t, "POST", d, NULL, &out, "/apis/apps/v1/namespaces/%s/deployments",
                                kc_conf_ns(t))
                 : -1;
    snprintf(uid, len, "%s", kc_json_str(out, "metadata.uid") ?: "");
    json_decref(d);
    json_decref(out);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to create deployment: HTTP %d", code);
        return false;
    }
    if (!kc_conf_wait(t, 60000, some_rs, NULL)) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "Failed to wait for the Deployment to create some ReplicaSet");
        return false;
    }
    return true;
}

static int delete_with(struct kc_conf *t, const char *path_prefix, const char *name,
                       const char *policy, const char *uid)
{
    json_t *opts =
        kc_conf_json(t, "{\"propagationPolicy\":\"%s\",\"preconditions\":{\"uid\":\"%s\"}}", policy,
                     uid); /* owned */
    int code = opts ? kc_conf_call(t, "DELETE", opts, NULL, NULL, "%s/namespaces/%s/%s",
                                   path_prefix, kc_conf_ns(t), name)
                    : -1;
    json_decref(opts);
    return code;
}

/* Deleting a Deployment with propagation Background MUST delete its ReplicaSet and pods. */
static void delete_rs(struct kc_conf *t)
{
    char uid[64];
    if (!create_owner(t, "delete_rs", uid, sizeof uid))
        return;
    int code =
        delete_with(t, "/apis/apps/v1", "deployments/simpletest.deployment", "Background", uid);
    REQUIRE(t, code == 200 || code == 202, "failed to delete the deployment: HTTP %d", code);
    struct remaining none = {0, 0, 0};
    EXPECT(t, kc_conf_wait(t, WAIT_MS, remaining_are, &none),
           "Failed to wait for all rs to be garbage collected");
}

struct rs_settled {
    char name[256];
    long long generation, replicas;
};

static bool rs_settled(struct kc_conf *t, void *arg)
{
    struct rs_settled *s = arg;
    json_t *rs = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &rs, "/apis/apps/v1/namespaces/%s/replicasets/%s",
                            kc_conf_ns(t), s->name);
    bool ok = code == 200 && kc_json_int(rs, "status.observedGeneration", -1) >= s->generation &&
              kc_json_int(rs, "status.replicas", -1) == s->replicas;
    json_decref(rs);
    return ok;
}

/* Deleting a Deployment with propagation Orphan MUST leave its ReplicaSet (no longer
 * controlled) and pods. */
static void orphan_rs(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char uid[64];
    json_t *list = NULL; /* owned */
    if (!create_owner(t, "orphan_rs", uid, sizeof uid))
        return;
    int code =
        kc_conf_call(t, "GET", NULL, NULL, &list, "/apis/apps/v1/namespaces/%s/replicasets", ns);
    json_t *first = json_array_get(json_object_get(list, "items"), 0); /* borrowed */
    struct rs_settled s = {"", kc_json_int(first, "metadata.generation", 0),
                           kc_json_int(first, "spec.replicas", -1)};
    snprintf(s.name, sizeof s.name, "%s", kc_json_str(first, "metadata.name") ?: "");
    json_decref(list);
    list = NULL;
    if (code != 200 || !kc_conf_wait(t, 60000, rs_settled, &s)) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "failed to verify .Status.Replicas is equal to .Spec.Replicas for "
                        "replicaset %s",
                        s.name);
        return;
    }
    code = delete_with(t, "/apis/apps/v1", "deployments/simpletest.deployment", "Orphan", uid);
    REQUIRE(t, code == 200 || code == 202, "failed to delete the deployment: HTTP %d", code);
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, no_deployments, NULL),
            "Failed to wait for the Deployment to be deleted");
    struct remaining left = {0, 1, 2};
    EXPECT(t, remaining_are(t, &left), "Failed to verify remaining deployments, rs, and pods");
    code = kc_conf_call(t, "GET", NULL, NULL, &list, "/apis/apps/v1/namespaces/%s/replicasets", ns);
    EXPECT(t, code == 200, "Failed to list ReplicaSet: HTTP %d", code);
    size_t i;
    json_t *rs;
    json_array_foreach (json_object_get(list, "items"), i, rs) {
        size_t j;
        json_t *ref;
        json_array_foreach (kc_json_path(rs, "metadata.ownerReferences"), j, ref) {
            EXPECT(t, !json_is_true(json_object_get(ref, "controller")),
                   "Found ReplicaSet %s with non nil ownerRef",
                   kc_json_str(rs, "metadata.name") ?: "?");
        }
    }
    json_decref(list);
}

static bool no_pods(struct kc_conf *t, void *arg)
{
    (void)arg;
    return count(t, "/api/v1", "pods") == 0;
}

/* Three pods owning each other in a circle: deleting one in the foreground MUST delete them
 * all. */
static void dependency_circle(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *names[3] = {"pod1", "pod2", "pod3"};
    char uids[3][64];
    for (int i = 0; i < 3; i++) {
        json_t *pod = kc_conf_json(t,
                                   "{\"metadata\":{\"name\":\"%s\"},\"spec\":{"
                                   "\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":"
                                   "\"nginx\",\"image\":\"%s\",\"command\":[\"sleep\","
                                   "\"3600\"]}]}}",
                                   names[i], kc_conf_image(t));
        json_t *out = NULL; /* owned */
        int code =
            pod ? kc_conf_call(t, "POST", pod, NULL, &out, "/api/v1/namespaces/%s/pods", ns) : -1;
        snprintf(uids[i], sizeof uids[i], "%s", kc_json_str(out, "metadata.uid") ?: "");
        json_decref(pod);
        json_decref(out);
        REQUIRE(t, code == 201, "failed to create pod %s in namespace: %s: HTTP %d", names[i], ns,
                code);
    }
    /* pod1 is owned by pod3, pod2 by pod1, pod3 by pod2 */
    for (int i = 0; i < 3; i++) {
        int owner = (i + 2) % 3;
        json_t *patch = kc_conf_json(
            t,
            "{\"metadata\":{\"ownerReferences\":[{\"apiVersion\":\"v1\",\"kind\":\"Pod\","
            "\"name\":\"%s\",\"uid\":\"%s\",\"controller\":true,\"blockOwnerDeletion\":true}]}}",
            names[owner], uids[owner]);
        int code = patch ? kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json",
                                        NULL, "/api/v1/namespaces/%s/pods/%s", ns, names[i])
                         : -1;
        json_decref(patch);
        REQUIRE(t, code == 200, "failed to apply to pod %s a strategic merge patch: HTTP %d",
                names[i], code);
    }
    int code = delete_with(t, "/api/v1", "pods/pod1", "Foreground", uids[0]);
    REQUIRE(t, code == 200 || code == 202, "failed to delete pod pod1 in namespace %s: HTTP %d", ns,
            code);
    EXPECT(t, kc_conf_wait(t, WAIT_MS, no_pods, NULL), "failed to wait for all pods to be deleted");
}

const struct kc_conf_test kc_conf_tests_garbage_collector[] = {
    {"[sig-api-machinery] Garbage collector should delete RS created by deployment when not "
     "orphaning [Conformance]",
     delete_rs, 0},
    {"[sig-api-machinery] Garbage collector should orphan RS created by deployment when "
     "deleteOptions.PropagationPolicy is Orphan [Conformance]",
     orphan_rs, 0},
    {"[sig-api-machinery] Garbage collector should not be blocked by dependency circle "
     "[Conformance]",
     dependency_circle, 0},
    {NULL, NULL, 0},
};
