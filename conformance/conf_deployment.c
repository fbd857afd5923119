/* [sig-apps] Deployment (test/e2e/apps/deployment.go upstream). Upstream's httpd, agnhost and
 * pause images are stood in for by busybox under distinct names (the tests only compare
 * images, never run what they serve); its watches for a state are polls of the object until
 * it shows that state. Pods that never become ready ("rollover", "proportional scaling")
 * run the test image under a tag that does not exist, so its pull fails. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

#define WEBSERVER_IMAGE kc_conf_image_variant(t, 0)
#define AGNHOST_IMAGE kc_conf_image_variant(t, 1)
#define PAUSE_IMAGE kc_conf_image_variant(t, 2)
#define WAIT_MS 60000
#define REVISION "deployment.kubernetes.io/revision"

/* A Deployment as upstream's NewDeployment makes it: `replicas` pods labelled and selected by
 * labels_json (a JSON object's text), one container, the strategy type, no grace period.
 * New reference. */
static json_t *new_deployment(struct kc_conf *t, const char *name, int replicas,
                              const char *labels_json, const char *container, const char *image,
                              const char *strategy)
{
    return kc_conf_json(
        t,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"%s\"},"
        "\"spec\":{\"replicas\":%d,\"selector\":{\"matchLabels\":%s},\"strategy\":{\"type\":"
        "\"%s\"},\"template\":{\"metadata\":{\"labels\":%s},\"spec\":{"
        "\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":\"%s\",\"image\":\"%s\","
        "\"command\":[\"sleep\",\"3600\"]}]}}}}",
        name, replicas, labels_json, strategy, labels_json, container, image);
}

static int create(struct kc_conf *t, const char *resource, json_t *obj, json_t **out)
{
    int code = obj ? kc_conf_call(t, "POST", obj, NULL, out, "/apis/apps/v1/namespaces/%s/%s",
                                  kc_conf_ns(t), resource)
                   : -1;
    json_decref(obj);
    return code;
}

static json_t *get_deployment(struct kc_conf *t, const char *name)
{
    json_t *d = NULL; /* owned, returned */
    if (kc_conf_call(t, "GET", NULL, NULL, &d, "/apis/apps/v1/namespaces/%s/deployments/%s",
                     kc_conf_ns(t), name) != 200) {
        json_decref(d);
        return NULL;
    }
    return d;
}

static const json_t *controller_ref(const json_t *obj)
{
    size_t i;
    json_t *ref;
    json_array_foreach (kc_json_path(obj, "metadata.ownerReferences"), i, ref) {
        if (json_is_true(json_object_get(ref, "controller")))
            return ref;
    }
    return NULL;
}

/* The revision annotation (its key has dots, so no kc_json_str path). */
static const char *revision_of(const json_t *obj)
{
    return json_string_value(json_object_get(kc_json_path(obj, "metadata.annotations"), REVISION));
}

static const char *image0(const json_t *obj)
{
    return json_string_value(json_object_get(
        json_array_get(kc_json_path(obj, "spec.template.spec.containers"), 0), "image"));
}

/* The ReplicaSets the Deployment d controls; *new_rs (borrowed from the answer, may be NULL)
 * the one whose pod template is d's (upstream's GetNewReplicaSet), *old the number of the
 * others (GetOldReplicaSets). The answer, a new reference, or NULL. */
static json_t *replica_sets_of(struct kc_conf *t, const json_t *d, json_t **new_rs, int *old)
{
    json_t *list = NULL; /* owned, returned */
    *new_rs = NULL;
    *old = 0;
    if (kc_conf_call(t, "GET", NULL, NULL, &list, "/apis/apps/v1/namespaces/%s/replicasets",
                     kc_conf_ns(t)) != 200) {
        json_decref(list);
        return NULL;
    }
    const char *uid = kc_json_str(d, "metadata.uid") ?: "";
    size_t i;
    json_t *rs;
    json_array_foreach (json_object_get(list, "items"), i, rs) {
        const json_t *ref = controller_ref(rs);
        if (!ref || strcmp(json_string_value(json_object_get(ref, "uid")) ?: "", uid))
            continue;
        if (!*new_rs && kc_json_equal(kc_json_path(rs, "spec.template.spec"),
                                      kc_json_path(d, "spec.template.spec")))
            *new_rs = rs;
        else
            (*old)++;
    }
    return list;
}

struct revision_want {
    const char *name, *revision, *image;
};

/* Upstream's WaitForDeploymentRevisionAndImage: the Deployment and its new ReplicaSet carry
 * the revision and the image. */
static bool revision_and_image(struct kc_conf *t, void *arg)
{
    struct revision_want *w = arg;
    json_t *d = get_deployment(t, w->name), *new_rs = NULL; /* owned; borrowed */
    int old;
    json_t *list = d ? replica_sets_of(t, d, &new_rs, &old) : NULL; /* owned */
    bool ok = d && new_rs && !strcmp(revision_of(d) ?: "", w->revision) &&
              !strcmp(image0(d) ?: "", w->image) &&
              !strcmp(revision_of(new_rs) ?: "", w->revision) &&
              !strcmp(image0(new_rs) ?: "", w->image);
    json_decref(d);
    json_decref(list);
    return ok;
}

/* Upstream's WaitForDeploymentComplete: observed, and all replicas updated and available. */
static bool complete(struct kc_conf *t, void *name)
{
    json_t *d = get_deployment(t, name); /* owned */
    long long want = kc_json_int(d, "spec.replicas", -1);
    bool ok = d &&
              kc_json_int(d, "status.observedGeneration", -1) >=
                  kc_json_int(d, "metadata.generation", 0) &&
              kc_json_int(d, "status.updatedReplicas", 0) == want &&
              kc_json_int(d, "status.replicas", 0) == want &&
              kc_json_int(d, "status.availableReplicas", 0) == want;
    json_decref(d);
    return ok;
}

struct pods_want {
    const char *selector; /* URL-escaped */
    int want;
};

static bool pods_running(struct kc_conf *t, void *arg)
{
    struct pods_want *w = arg;
    json_t *list = NULL; /* owned */
    int code =
        kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/namespaces/%s/pods?labelSelector=%s",
                     kc_conf_ns(t), w->selector);
    int live = 0, running = 0;
    size_t i;
    json_t *pod;
    json_array_foreach (json_object_get(list, "items"), i, pod) {
        if (kc_json_str(pod, "metadata.deletionTimestamp"))
            continue;
        live++;
        if (!strcmp(kc_json_str(pod, "status.phase") ?: "", "Running"))
            running++;
    }
    json_decref(list);
    return code == 200 && live == w->want && running == w->want;
}

/* Get, change (edit), put, retried on conflicts. */
static int update_deployment(struct kc_conf *t, const char *name,
                             void (*edit)(struct kc_conf *t, json_t *d))
{
    int code = -1;
    for (int tries = 0; tries < 20; tries++) {
        json_t *d = get_deployment(t, name); /* owned */
        if (!d)
            return 404;
        edit(t, d);
        code = kc_conf_call(t, "PUT", d, NULL, NULL, "/apis/apps/v1/namespaces/%s/deployments/%s",
                            kc_conf_ns(t), name);
        json_decref(d);
        if (code != 409)
            break;
    }
    return code;
}

/* ---- Deployment should have a working scale subresource ---- */

static void scale_subresource(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "test-new-deployment";
    json_t *scale = NULL, *res = NULL, *d = NULL; /* owned */
    json_t *patch = kc_conf_json(t, "{\"spec\":{\"replicas\":4}}");
    int code = create(t, "deployments",
                      new_deployment(t, name, 1, "{\"name\":\"httpd\"}", "httpd", WEBSERVER_IMAGE,
                                     "RollingUpdate"),
                      NULL);
    if (code != 201 || !patch) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating Deployment %s: HTTP %d", name, code);
        goto out;
    }
    struct revision_want rw = {name, "1", WEBSERVER_IMAGE};
    if (!kc_conf_wait(t, WAIT_MS, revision_and_image, &rw) ||
        !kc_conf_wait(t, WAIT_MS, complete, (void *)name)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Deployment %s did not complete revision 1", name);
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &scale,
                        "/apis/apps/v1/namespaces/%s/deployments/%s/scale", ns, name);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to get scale subresource: HTTP %d", code);
        goto out;
    }
    EXPECT(t, kc_json_int(scale, "spec.replicas", -1) == 1, "scale spec.replicas %lld, want 1",
           kc_json_int(scale, "spec.replicas", -1));
    EXPECT(t, kc_json_int(scale, "status.replicas", -1) == 1, "scale status.replicas %lld, want 1",
           kc_json_int(scale, "status.replicas", -1));
    json_object_del(kc_json_ensure_obj(scale, "metadata"), "resourceVersion");
    json_object_set_new(kc_json_ensure_obj(scale, "spec"), "replicas", json_integer(2));
    code = kc_conf_call(t, "PUT", scale, NULL, &res,
                        "/apis/apps/v1/namespaces/%s/deployments/%s/scale", ns, name);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to put scale subresource: HTTP %d", code);
        goto out;
    }
    EXPECT(t, kc_json_int(res, "spec.replicas", -1) == 2,
           "updated scale spec.replicas %lld, want 2", kc_json_int(res, "spec.replicas", -1));
    d = get_deployment(t, name);
    EXPECT(t, kc_json_int(d, "spec.replicas", -1) == 2,
           "Deployment spec.replicas %lld after the scale update, want 2",
           kc_json_int(d, "spec.replicas", -1));
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/apis/apps/v1/namespaces/%s/deployments/%s/scale", ns, name);
    EXPECT(t, code == 200, "Failed to patch deployment scale: HTTP %d", code);
    json_decref(d);
    d = get_deployment(t, name);
    EXPECT(t, kc_json_int(d, "spec.replicas", -1) == 4,
           "deployment should have 4 replicas, has %lld", kc_json_int(d, "spec.replicas", -1));
out:
    json_decref(patch);
    json_decref(scale);
    json_decref(res);
    json_decref(d);
}

/* ---- should validate Deployment Status endpoints ---- */

static void status_endpoints(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    char name[64], path[512];
    kc_conf_unique(t, "test-deployment", name, sizeof name);
    json_t *d = new_deployment(t, name, 1, "{\"name\":\"httpd\",\"e2e\":\"testing\"}", "httpd",
                               WEBSERVER_IMAGE, "RollingUpdate"); /* owned by create() */
    int code = -1;
    if (d) /* upstream's object carries the pod labels too (e2e=testing is watched for) */
        json_object_set(kc_json_ensure_obj(d, "metadata"), "labels",
                        kc_json_path(d, "spec.template.metadata.labels"));
    code = kc_conf_call(t, "GET", NULL, NULL, NULL,
                        "/apis/apps/v1/deployments?labelSelector=e2e%%3Dtesting");
    EXPECT(t, code == 200, "failed to list Deployments: HTTP %d", code);
    code = create(t, "deployments", d, NULL);
    REQUIRE(t, code == 201, "creating Deployment %s: HTTP %d", name, code);
    struct revision_want rw = {name, "1", WEBSERVER_IMAGE};
    REQUIRE(t,
            kc_conf_wait(t, WAIT_MS, revision_and_image, &rw) &&
                kc_conf_wait(t, WAIT_MS, complete, name),
            "Deployment %s did not complete revision 1", name);
    static const char *const labels[] = {"e2e", "testing", NULL};
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/deployments/%s", ns, name);
    kc_conf_status_round(t, path, "deployment", labels);
}

/* ---- RollingUpdateDeployment should delete old pods and create new ones ---- */

static void rolling_update(struct kc_conf *t)
{
    const char *rs_name = "test-rolling-update-controller";
    const char *name = "test-rolling-update-deployment";
    json_t *rs = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"sample-pod\",\"pod\":\"httpd\"},"
        "\"annotations\":{\"" REVISION "\":\"3546343826724305832\"}},\"spec\":{\"replicas\":1,"
        "\"selector\":{\"matchLabels\":{\"name\":\"sample-pod\",\"pod\":\"httpd\"}},\"template\":"
        "{\"metadata\":{\"labels\":{\"name\":\"sample-pod\",\"pod\":\"httpd\"}},\"spec\":{"
        "\"terminationGracePeriodSeconds\":0,\"containers\":[{\"name\":\"httpd\",\"image\":"
        "\"%s\",\"command\":[\"sleep\",\"3600\"]}]}}}}",
        rs_name, WEBSERVER_IMAGE);
    int code = create(t, "replicasets", rs, NULL);
    REQUIRE(t, code == 201, "creating ReplicaSet %s (going to be adopted): HTTP %d", rs_name, code);
    struct pods_want w = {"name%3Dsample-pod", 1};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, pods_running, &w), "error in waiting for pods to come up");
    code = create(t, "deployments",
                  new_deployment(t, name, 1, "{\"name\":\"sample-pod\"}", "agnhost", AGNHOST_IMAGE,
                                 "RollingUpdate"),
                  NULL);
    REQUIRE(t, code == 201, "creating Deployment %s: HTTP %d", name, code);
    /* the next revision from the one the adopted ReplicaSet has */
    struct revision_want rw = {name, "3546343826724305833", AGNHOST_IMAGE};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, revision_and_image, &rw),
            "deployment %s did not get revision 3546343826724305833 with image %s", name,
            AGNHOST_IMAGE);
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, complete, (void *)name), "deployment %s did not complete",
            name);
    json_t *d = get_deployment(t, name), *new_rs = NULL; /* owned; borrowed */
    int old = 0;
    json_t *list = d ? replica_sets_of(t, d, &new_rs, &old) : NULL; /* owned */
    EXPECT(t, list && old == 1,
           "deployment %s has %d old replica sets, want 1 (the one it adopted)", name, old);
    json_decref(d);
    json_decref(list);
}

/* ---- RecreateDeployment should delete old pods and create new ones ---- */

static void to_webserver(struct kc_conf *t, json_t *d)
{
    json_t *c0 = json_array_get(kc_json_path(d, "spec.template.spec.containers"), 0);
    json_object_set_new(c0, "name", json_string("httpd"));
    json_object_set_new(c0, "image", json_string(WEBSERVER_IMAGE));
}

struct recreate {
    const char *name;
    bool mixed; /* new pods were seen alongside old ones */
};

/* upstream's watchRecreateDeployment: never updated replicas alongside old ones, until all
 * replicas are updated and observed. */
static bool recreated(struct kc_conf *t, void *arg)
{
    struct recreate *r = arg;
    json_t *d = get_deployment(t, r->name); /* owned */
    long long updated = kc_json_int(d, "status.updatedReplicas", 0);
    long long replicas = kc_json_int(d, "status.replicas", 0);
    if (updated > 0 && replicas != updated) {
        kc_conf_log(t,
                    "deployment %s is running new pods alongside old pods: replicas %lld, "
                    "updatedReplicas %lld",
                    r->name, replicas, updated);
        r->mixed = true;
    }
    long long want = kc_json_int(d, "spec.replicas", -1);
    bool done = r->mixed || (d && want == replicas && want == updated &&
                             kc_json_int(d, "metadata.generation", 0) <=
                                 kc_json_int(d, "status.observedGeneration", -1));
    json_decref(d);
    return done;
}

static void recreate(struct kc_conf *t)
{
    const char *name = "test-recreate-deployment";
    int code = create(t, "deployments",
                      new_deployment(t, name, 1, "{\"name\":\"sample-pod-3\"}", "agnhost",
                                     AGNHOST_IMAGE, "Recreate"),
                      NULL);
    REQUIRE(t, code == 201, "creating Deployment %s: HTTP %d", name, code);
    struct revision_want rw = {name, "1", AGNHOST_IMAGE};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, revision_and_image, &rw),
            "deployment %s did not get revision 1", name);
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, complete, (void *)name), "deployment %s did not complete",
            name);
    code = update_deployment(t, name, to_webserver);
    REQUIRE(t, code == 200, "triggering a new rollout for deployment %s: HTTP %d", name, code);
    struct recreate r = {name, false};
    bool done = kc_conf_wait(t, 2 * WAIT_MS, recreated, &r);
    EXPECT(t, !r.mixed, "deployment %s ran new pods alongside old pods", name);
    EXPECT(t, done, "deployment %s never completed", name);
}

/* ---- deployment should delete old replica sets ---- */

static bool old_rs_cleaned(struct kc_conf *t, void *name)
{
    json_t *d = get_deployment(t, name), *new_rs = NULL; /* owned; borrowed */
    int old = -1;
    json_t *list = d ? replica_sets_of(t, d, &new_rs, &old) : NULL; /* owned */
    bool ok = list && new_rs && old == 0;
    json_decref(d);
    json_decref(list);
    return ok;
}

static void cleanup_policy(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *rs_name = "test-cleanup-controller";
    const char *name = "test-cleanup-deployment";
    json_t *before = NULL, *after = NULL, *d = NULL; /* owned */
    json_t *rs = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"cleanup-pod\",\"pod\":\"httpd\"}},"
        "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"name\":\"cleanup-pod\","
        "\"pod\":\"httpd\"}},\"template\":{\"metadata\":{\"labels\":{\"name\":\"cleanup-pod\","
        "\"pod\":\"httpd\"}},\"spec\":{\"terminationGracePeriodSeconds\":0,\"containers\":[{"
        "\"name\":\"httpd\",\"image\":\"%s\",\"command\":[\"sleep\",\"3600\"]}]}}}}",
        rs_name, WEBSERVER_IMAGE);
    int code = create(t, "replicasets", rs, NULL);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating ReplicaSet %s: HTTP %d", rs_name, code);
        goto out;
    }
    struct pods_want w = {"name%3Dcleanup-pod", 1};
    if (!kc_conf_wait(t, WAIT_MS, pods_running, &w)) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "error in waiting for pods to come up");
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &before, "/api/v1/namespaces/%s/pods", ns);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to query for pods: HTTP %d", code);
        goto out;
    }
    d = new_deployment(t, name, 1, "{\"name\":\"cleanup-pod\"}", "agnhost", AGNHOST_IMAGE,
                       "RollingUpdate");
    if (d)
        json_object_set_new(kc_json_ensure_obj(d, "spec"), "revisionHistoryLimit", json_integer(0));
    code = create(t, "deployments", d, NULL);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating Deployment %s: HTTP %d", name, code);
        goto out;
    }
    EXPECT(t, kc_conf_wait(t, 2 * WAIT_MS, old_rs_cleaned, (void *)name),
           "old replica sets were not cleaned up for deployment %s", name);
    /* Upstream watches pod creations: only one pod is made, the agnhost one (the old
     * ReplicaSet makes none when the controller adds the pod-template-hash label to its
     * selector). Pods present now that were not before stand in for that watch. */
    code = kc_conf_call(t, "GET", NULL, NULL, &after, "/api/v1/namespaces/%s/pods", ns);
    int created = 0;
    size_t i, j;
    json_t *pod, *b;
    json_array_foreach (json_object_get(after, "items"), i, pod) {
        bool seen = false;
        json_array_foreach (json_object_get(before, "items"), j, b) {
            if (!strcmp(kc_json_str(pod, "metadata.uid") ?: "",
                        kc_json_str(b, "metadata.uid") ?: ""))
                seen = true;
        }
        if (seen)
            continue;
        created++;
        const char *cname = json_string_value(
            json_object_get(json_array_get(kc_json_path(pod, "spec.containers"), 0), "name"));
        EXPECT(t, !strcmp(cname ?: "", "agnhost"),
               "Expect the created pod to have container name agnhost, pod %s has %s",
               kc_json_str(pod, "metadata.name") ?: "?", cname ?: "(none)");
    }
    EXPECT(t, code == 200 && created == 1, "Expect only one pod creation, saw %d (HTTP %d)",
           created, code);
out:
    json_decref(before);
    json_decref(after);
}

/* ---- should run the lifecycle of a Deployment ---- */

struct dep_want {
    const char *name;
    long long ready, updated; /* -1: any */
    const char *image;        /* NULL: any */
    long long grace;          /* -1: any */
};

static bool dep_state(struct kc_conf *t, void *arg)
{
    struct dep_want *w = arg;
    json_t *d = get_deployment(t, w->name); /* owned */
    bool ok = d &&
              !strcmp(kc_json_str(d, "metadata.labels.test-deployment-static") ?: "", "true") &&
              (w->ready < 0 || kc_json_int(d, "status.readyReplicas", 0) == w->ready) &&
              (w->updated < 0 || (kc_json_int(d, "status.updatedReplicas", 0) == w->updated &&
                                  kc_json_int(d, "status.unavailableReplicas", 0) == 0)) &&
              (!w->image || !strcmp(image0(d) ?: "", w->image)) &&
              (w->grace < 0 ||
               kc_json_int(d, "spec.template.spec.terminationGracePeriodSeconds", -1) == w->grace);
    if (!ok && d)
        kc_conf_log(t, "observed Deployment %s with readyReplicas %lld, updatedReplicas %lld",
                    w->name, kc_json_int(d, "status.readyReplicas", 0),
                    kc_json_int(d, "status.updatedReplicas", 0));
    json_decref(d);
    return ok;
}

static bool dep_gone(struct kc_conf *t, void *name)
{
    return kc_conf_call(t, "GET", NULL, NULL, NULL, "/apis/apps/v1/namespaces/%s/deployments/%s",
                        kc_conf_ns(t), (const char *)name) == 404;
}

static void lifecycle(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    const char *name = "test-deployment";
    json_t *list = NULL, *st = NULL; /* owned */
    json_t *d = new_deployment(t, name, 2, "{\"test-deployment-static\":\"true\"}", name,
                               AGNHOST_IMAGE, "RollingUpdate"); /* owned: the local object */
    json_t *patch = kc_conf_json(
        t,
        "{\"metadata\":{\"labels\":{\"test-deployment\":\"patched\"}},\"spec\":{\"replicas\":1,"
        "\"template\":{\"spec\":{\"terminationGracePeriodSeconds\":2,\"containers\":[{\"name\":"
        "\"%s\",\"image\":\"%s\"}]}}}}",
        name, PAUSE_IMAGE);
    json_t *status_patch =
        kc_conf_json(t, "{\"metadata\":{\"labels\":{\"test-deployment\":\"patched-status\"}},"
                        "\"status\":{\"readyReplicas\":0,\"availableReplicas\":0}}");
    json_t *opts = kc_conf_json(t, "{\"gracePeriodSeconds\":1}");
    if (!d || !patch || !status_patch || !opts)
        goto out;
    json_object_set_new(kc_json_ensure_obj(d, "metadata"), "labels",
                        json_pack("{s:s}", "test-deployment-static", "true"));
    json_object_set_new(kc_json_path(d, "spec.template.spec"), "terminationGracePeriodSeconds",
                        json_integer(1));
    int code =
        kc_conf_call(t, "POST", d, NULL, NULL, "/apis/apps/v1/namespaces/%s/deployments", ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "failed to create Deployment %s in namespace %s: HTTP %d", name, ns, code);
        goto out;
    }
    struct dep_want ready2 = {name, 2, -1, NULL, -1};
    if (!kc_conf_wait(t, WAIT_MS, dep_state, &ready2)) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "failed to see replicas of %s in namespace %s scale to requested amount "
                        "of 2",
                        name, ns);
        goto out;
    }
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/apis/apps/v1/namespaces/%s/deployments/%s", ns, name);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to patch Deployment: HTTP %d", code);
        goto out;
    }
    struct dep_want patched = {name, 1, 1, PAUSE_IMAGE, 2};
    if (!kc_conf_wait(t, WAIT_MS, dep_state, &patched)) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "failed to see replicas of %s in namespace %s scale to requested amount "
                        "of 1",
                        name, ns);
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &list,
                        "/apis/apps/v1/deployments?labelSelector=test-deployment-static%%3Dtrue");
    bool found = false;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item) {
        if (!strcmp(kc_json_str(item, "metadata.name") ?: "", name) &&
            !strcmp(kc_json_str(item, "metadata.namespace") ?: "", ns) &&
            !strcmp(kc_json_str(item, "metadata.labels.test-deployment-static") ?: "", "true"))
            found = true;
    }
    if (!found) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "unable to find the Deployment in the list by label (HTTP %d)", code);
        goto out;
    }
    /* update with the local object (no resourceVersion: unconditional) */
    json_object_set_new(kc_json_path(d, "metadata.labels"), "test-deployment",
                        json_string("updated"));
    json_object_set_new(json_array_get(kc_json_path(d, "spec.template.spec.containers"), 0),
                        "image", json_string(WEBSERVER_IMAGE));
    json_object_set_new(kc_json_path(d, "spec"), "replicas", json_integer(2));
    code = kc_conf_call(t, "PUT", d, NULL, NULL, "/apis/apps/v1/namespaces/%s/deployments/%s", ns,
                        name);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "failed to update the Deployment: HTTP %d", code);
        goto out;
    }
    code = kc_conf_call(t, "GET", NULL, NULL, &st,
                        "/apis/apps/v1/namespaces/%s/deployments/%s/status", ns, name);
    EXPECT(t, code == 200, "failed to fetch the Deployment status: HTTP %d", code);
    EXPECT(t, !strcmp(image0(st) ?: "", WEBSERVER_IMAGE), "failed to update image: %s",
           image0(st) ?: "(none)");
    EXPECT(t, !strcmp(kc_json_str(st, "metadata.labels.test-deployment") ?: "", "updated"),
           "failed to update labels: test-deployment=%s",
           kc_json_str(st, "metadata.labels.test-deployment") ?: "(none)");
    struct dep_want updated = {name, 2, 2, NULL, -1};
    if (!kc_conf_wait(t, WAIT_MS, dep_state, &updated)) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "failed to see replicas of %s in namespace %s scale to requested amount "
                        "of 2",
                        name, ns);
        goto out;
    }
    code = kc_conf_call(t, "PATCH", status_patch, "application/strategic-merge-patch+json", NULL,
                        "/apis/apps/v1/namespaces/%s/deployments/%s/status", ns, name);
    EXPECT(t, code == 200, "patching the DeploymentStatus: HTTP %d", code);
    json_decref(st);
    st = NULL;
    code = kc_conf_call(t, "GET", NULL, NULL, &st,
                        "/apis/apps/v1/namespaces/%s/deployments/%s/status", ns, name);
    EXPECT(t, code == 200, "failed to fetch the DeploymentStatus: HTTP %d", code);
    EXPECT(t, !strcmp(image0(st) ?: "", WEBSERVER_IMAGE), "failed to update image: %s",
           image0(st) ?: "(none)");
    EXPECT(t, !strcmp(kc_json_str(st, "metadata.labels.test-deployment") ?: "", "updated"),
           "failed to update labels: test-deployment=%s (a status patch must not change them)",
           kc_json_str(st, "metadata.labels.test-deployment") ?: "(none)");
    struct dep_want restored = {name, 2, 2, WEBSERVER_IMAGE, -1};
    EXPECT(t, kc_conf_wait(t, WAIT_MS, dep_state, &restored),
           "failed to see replicas of %s in namespace %s scale to requested amount of 2", name, ns);
    code = kc_conf_call(t, "DELETE", opts, NULL, NULL,
                        "/apis/apps/v1/namespaces/%s/deployments?labelSelector="
                        "test-deployment-static%%3Dtrue",
                        ns);
    EXPECT(t, code == 200, "failed to delete Deployment via collection: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, WAIT_MS, dep_gone, (void *)name),
           "failed to see the Deployment %s deleted", name);
out:
    json_decref(d);
    json_decref(patch);
    json_decref(status_patch);
    json_decref(opts);
    json_decref(list);
    json_decref(st);
}

/* ---- shared by rollover and proportional scaling ---- */

/* The test image under a tag that does not exist (upstream's "webserver:404"): its pods
 * never start. Into buf. */
static const char *unpullable_image(struct kc_conf *t, char *buf, size_t len)
{
    const char *img = kc_conf_image(t);
    const char *slash = strrchr(img, '/'), *colon = strrchr(img, ':'), *at = strchr(img, '@');
    size_t n = strlen(img);
    if (at)
        n = (size_t)(at - img);
    else if (colon && (!slash || colon > slash))
        n = (size_t)(colon - img);
    snprintf(buf, len, "%.*s:404", (int)n, img);
    return buf;
}

static json_t *get_rs(struct kc_conf *t, const char *name)
{
    json_t *rs = NULL; /* owned, returned */
    if (kc_conf_call(t, "GET", NULL, NULL, &rs, "/apis/apps/v1/namespaces/%s/replicasets/%s",
                     kc_conf_ns(t), name) != 200) {
        json_decref(rs);
        return NULL;
    }
    return rs;
}

/* The name of the Deployment's new ReplicaSet (upstream's GetNewReplicaSet) into buf; false
 * when it has none yet. */
static bool new_rs_name(struct kc_conf *t, const char *deployment, char *buf, size_t len)
{
    json_t *d = get_deployment(t, deployment), *new_rs = NULL; /* owned; borrowed */
    int old = 0;
    json_t *list = d ? replica_sets_of(t, d, &new_rs, &old) : NULL; /* owned */
    *buf = 0;
    if (new_rs)
        snprintf(buf, len, "%s", kc_json_str(new_rs, "metadata.name") ?: "");
    json_decref(d);
    json_decref(list);
    return *buf != 0;
}

struct new_rs_want {
    const char *deployment;
    char name[254]; /* out */
};

static bool find_new_rs(struct kc_conf *t, void *arg)
{
    struct new_rs_want *w = arg;
    return new_rs_name(t, w->deployment, w->name, sizeof w->name);
}

/* What a ReplicaSet's fields must be: -1 for any. */
struct rs_want {
    const char *name;
    long long spec, status, available;
    bool desired; /* upstream's waitForReplicaSetDesiredReplicas: observed, status = spec */
};

static bool rs_state(struct kc_conf *t, void *arg)
{
    struct rs_want *w = arg;
    json_t *rs = get_rs(t, w->name); /* owned */
    long long spec = kc_json_int(rs, "spec.replicas", -2);
    long long status = kc_json_int(rs, "status.replicas", 0);
    bool ok =
        rs && (w->spec < 0 || spec == w->spec) && (w->status < 0 || status == w->status) &&
        (w->available < 0 || kc_json_int(rs, "status.availableReplicas", 0) == w->available) &&
        (!w->desired || (status == spec && kc_json_int(rs, "status.observedGeneration", -1) >=
                                               kc_json_int(rs, "metadata.generation", 0)));
    json_decref(rs);
    return ok;
}

/* Upstream's waitForObservedDeployment. */
static bool observed(struct kc_conf *t, void *name)
{
    json_t *d = get_deployment(t, name); /* owned */
    bool ok = d && kc_json_int(d, "status.observedGeneration", -1) >=
                       kc_json_int(d, "metadata.generation", 0);
    json_decref(d);
    return ok;
}

/* ---- deployment should support proportional scaling ---- */

static void to_unpullable(struct kc_conf *t, json_t *d)
{
    char img[512];
    json_t *c0 = json_array_get(kc_json_path(d, "spec.template.spec.containers"), 0);
    json_object_set_new(c0, "image", json_string(unpullable_image(t, img, sizeof img)));
}

static void to_30(struct kc_conf *t, json_t *d)
{
    (void)t;
    json_object_set_new(kc_json_ensure_obj(d, "spec"), "replicas", json_integer(30));
}

/* A RollingUpdate Deployment of 10 (maxSurge 3, maxUnavailable 2) is rolled to an image
 * that never runs: the first ReplicaSet MUST come to 8 (10 - 2) available, the second to 5
 * (10 + 3 - 8) replicas with none available. Scaled to 30 in that state, the 20 more
 * replicas MUST be shared in proportion: 20 for the first, 13 for the second. */
static void proportional_scaling(struct kc_conf *t)
{
    const char *name = "webserver-deployment";
    char first[254] = "", second[254] = "";
    if (!kc_conf_require_containers(t))
        return; /* the new ReplicaSet must be stuck on an image that cannot be pulled */
    json_t *d = new_deployment(t, name, 10, "{\"name\":\"httpd\"}", "httpd", WEBSERVER_IMAGE,
                               "RollingUpdate");
    if (d)
        json_object_set_new(kc_json_ensure_obj(kc_json_ensure_obj(d, "spec"), "strategy"),
                            "rollingUpdate",
                            json_pack("{s:i, s:i}", "maxSurge", 3, "maxUnavailable", 2));
    int code = create(t, "deployments", d, NULL);
    REQUIRE(t, code == 201, "creating Deployment %s: HTTP %d", name, code);
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, observed, (void *)name), "deployment %s not observed",
            name);
    struct pods_want w = {"name%3Dhttpd", 10};
    REQUIRE(t, kc_conf_wait(t, 3 * WAIT_MS, pods_running, &w),
            "error in waiting for pods to come up");
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, complete, (void *)name), "deployment %s did not complete",
            name);
    REQUIRE(t, new_rs_name(t, name, first, sizeof first), "deployment %s has no ReplicaSet", name);
    code = update_deployment(t, name, to_unpullable);
    REQUIRE(t, code == 200, "updating deployment %s with a non-existent image: HTTP %d", name,
            code);
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, observed, (void *)name), "deployment %s not observed",
            name);
    struct rs_want f = {first, 8, -1, 8, false};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, rs_state, &f),
            "first rollout's replicaset %s never had .spec.replicas = .status.availableReplicas "
            "= 8",
            first);
    f = (struct rs_want){first, 8, -1, -1, true};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, rs_state, &f),
            "first rollout's replicaset %s never had its desired replicas", first);
    struct new_rs_want nw = {name, ""};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, find_new_rs, &nw), "deployment %s has no new ReplicaSet",
            name);
    snprintf(second, sizeof second, "%s", nw.name);
    REQUIRE(t, strcmp(first, second) != 0, "the new ReplicaSet is still %s", first);
    struct rs_want s = {second, 5, -1, 0, true};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, rs_state, &s),
            "second rollout's replicaset %s never had .spec.replicas = 5 (all of them, none "
            "available)",
            second);
    json_t *dep = get_deployment(t, name); /* owned */
    long long avail = kc_json_int(dep, "status.availableReplicas", -1);
    json_decref(dep);
    REQUIRE(t, avail >= 8, "observed %lld available replicas, less than min required 8", avail);
    code = update_deployment(t, name, to_30);
    REQUIRE(t, code == 200, "scaling up deployment %s to 30: HTTP %d", name, code);
    f = (struct rs_want){first, 20, -1, -1, false};
    EXPECT(t, kc_conf_wait(t, WAIT_MS, rs_state, &f),
           "first rollout's replicaset %s does not have .spec.replicas = 20", first);
    s = (struct rs_want){second, 13, -1, -1, false};
    EXPECT(t, kc_conf_wait(t, WAIT_MS, rs_state, &s),
           "second rollout's replicaset %s does not have .spec.replicas = 13", second);
}

/* ---- deployment should support rollover ---- */

static void to_agnhost(struct kc_conf *t, json_t *d)
{
    json_t *c0 = json_array_get(kc_json_path(d, "spec.template.spec.containers"), 0);
    json_object_set_new(c0, "name", json_string("agnhost"));
    json_object_set_new(c0, "image", json_string(AGNHOST_IMAGE));
}

/* upstream's waitForDeploymentUpdatedReplicasGTE */
static bool updated_gte_1(struct kc_conf *t, void *name)
{
    json_t *d = get_deployment(t, name); /* owned */
    bool ok =
        d && kc_json_int(d, "status.updatedReplicas", 0) >= 1 &&
        kc_json_int(d, "status.observedGeneration", -1) >= kc_json_int(d, "metadata.generation", 0);
    json_decref(d);
    return ok;
}

struct rolling {
    const char *name;
    long long max_total, min_available; /* replicas + maxSurge, replicas - maxUnavailable */
    char err[256];                      /* the first breach seen */
};

/* upstream's waitForDeploymentCompleteAndCheckRolling: complete, and on the way never more
 * pods than max_total nor fewer available than min_available. */
static bool complete_rolling(struct kc_conf *t, void *arg)
{
    struct rolling *r = arg;
    json_t *d = get_deployment(t, r->name); /* owned */
    long long total = kc_json_int(d, "status.replicas", 0);
    long long avail = kc_json_int(d, "status.availableReplicas", 0);
    if (d && !r->err[0] && total > r->max_total)
        snprintf(r->err, sizeof r->err, "total pods created: %lld, more than the max allowed: %lld",
                 total, r->max_total);
    if (d && !r->err[0] && avail < r->min_available)
        snprintf(r->err, sizeof r->err, "%lld pods available, less than the min required: %lld",
                 avail, r->min_available);
    json_decref(d);
    return complete(t, (void *)r->name);
}

/* A ReplicaSet's pods are adopted by a Deployment (maxUnavailable 0, maxSurge 1,
 * minReadySeconds 10) rolling to an image that never runs: both ReplicaSets MUST have one
 * replica. Rolled over again to a good image before that finishes, the Deployment MUST
 * complete (its new pod available after minReadySeconds) within maxSurge and
 * maxUnavailable, and both earlier ReplicaSets MUST be scaled to 0. */
static void rollover(struct kc_conf *t)
{
    const char *rs_name = "test-rollover-controller";
    const char *name = "test-rollover-deployment";
    char bad[512], mid[254] = "";
    if (!kc_conf_require_containers(t))
        return; /* the rollout must be stuck on an image that cannot be pulled */
    unpullable_image(t, bad, sizeof bad);
    json_t *rs = kc_conf_json(
        t,
        "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"name\":\"rollover-pod\",\"pod\":\"httpd\"}},"
        "\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"name\":\"rollover-pod\",\"pod\":"
        "\"httpd\"}},\"template\":{\"metadata\":{\"labels\":{"
        "\"name\":\"rollover-pod\",\"pod\":\"httpd\"}},\"spec\":{\"terminationGracePeriodSeconds\":"
        "0,\"containers\":[{\"name\":\"httpd\",\"image\":\"%s\",\"command\":[\"sleep\","
        "\"3600\"]}]}}}}",
        rs_name, WEBSERVER_IMAGE);
    int code = create(t, "replicasets", rs, NULL);
    REQUIRE(t, code == 201, "creating ReplicaSet %s: HTTP %d", rs_name, code);
    struct pods_want w = {"name%3Drollover-pod", 1};
    REQUIRE(t, kc_conf_wait(t, 3 * WAIT_MS, pods_running, &w),
            "error in waiting for pods to come up");
    struct rs_want ready = {rs_name, 1, 1, 1, true};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, rs_state, &ready), "replica set %s never became ready",
            rs_name);
    json_t *d = new_deployment(t, name, 1, "{\"name\":\"rollover-pod\"}", "redis-slave", bad,
                               "RollingUpdate");
    if (d) {
        json_t *spec = kc_json_ensure_obj(d, "spec");
        json_object_set_new(kc_json_ensure_obj(spec, "strategy"), "rollingUpdate",
                            json_pack("{s:i, s:i}", "maxUnavailable", 0, "maxSurge", 1));
        json_object_set_new(spec, "minReadySeconds", json_integer(10));
    }
    code = create(t, "deployments", d, NULL);
    REQUIRE(t, code == 201, "creating Deployment %s: HTTP %d", name, code);
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, updated_gte_1, (void *)name),
            "deployment %s never had an updated replica", name);
    struct revision_want rw = {name, "1", bad};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, revision_and_image, &rw),
            "deployment %s is not at revision 1 with image %s", name, bad);
    /* both ReplicaSets with one replica created (status may trail the spec by a sync) */
    struct rs_want one = {rs_name, 1, 1, -1, false};
    EXPECT(t, kc_conf_wait(t, WAIT_MS, rs_state, &one),
           "old replica set %s does not have 1 replica", rs_name);
    REQUIRE(t, new_rs_name(t, name, mid, sizeof mid), "deployment %s has no new ReplicaSet", name);
    one.name = mid;
    EXPECT(t, kc_conf_wait(t, WAIT_MS, rs_state, &one),
           "new replica set %s does not have 1 replica", mid);
    code = update_deployment(t, name, to_agnhost);
    REQUIRE(t, code == 200, "rolling over deployment %s: HTTP %d", name, code);
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, observed, (void *)name), "deployment %s not observed",
            name);
    rw = (struct revision_want){name, "2", AGNHOST_IMAGE};
    REQUIRE(t, kc_conf_wait(t, WAIT_MS, revision_and_image, &rw),
            "deployment %s is not at revision 2 with image %s", name, AGNHOST_IMAGE);
    struct rolling r = {name, 2, 1, ""};
    REQUIRE(t, kc_conf_wait(t, 3 * WAIT_MS, complete_rolling, &r), "deployment %s did not complete",
            name);
    EXPECT(t, !r.err[0], "deployment %s: %s", name, r.err);
    struct rs_want zero = {rs_name, 0, 0, -1, false};
    EXPECT(t, kc_conf_wait(t, WAIT_MS, rs_state, &zero), "old replica set %s was not scaled to 0",
           rs_name);
    zero.name = mid;
    EXPECT(t, kc_conf_wait(t, WAIT_MS, rs_state, &zero),
           "replica set %s (rolled over) was not scaled to 0", mid);
}

const struct kc_conf_test kc_conf_tests_deployment[] = {
    {"[sig-apps] Deployment Deployment should have a working scale subresource [Conformance]",
     scale_subresource, 0},
    {"[sig-apps] Deployment should validate Deployment Status endpoints [Conformance]",
     status_endpoints, 0},
    {"[sig-apps] Deployment RollingUpdateDeployment should delete old pods and create new ones "
     "[Conformance]",
     rolling_update, 0},
    {"[sig-apps] Deployment RecreateDeployment should delete old pods and create new ones "
     "[Conformance]",
     recreate, 0},
    {"[sig-apps] Deployment deployment should delete old replica sets [Conformance]",
     cleanup_policy, 0},
    {"[sig-apps] Deployment should run the lifecycle of a Deployment [Conformance]", lifecycle, 0},
    {"[sig-apps] Deployment deployment should support proportional scaling [Conformance]",
     proportional_scaling, 0},
    {"[sig-apps] Deployment deployment should support rollover [Conformance]", rollover, 0},
    {NULL, NULL, 0},
};
