/* [sig-api-machinery] FieldValidation (test/e2e/apimachinery/field_validation.go upstream) and
 * Servers with support for API chunking (chunking.go). Upstream lists PodTemplates, which kubec
 * does not serve; the re-expression lists ConfigMaps (nothing else makes ConfigMaps in the test's
 * namespace). Servers with support for Table transformation (table_conversion.go). */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOTAL 400
#define WORKERS 20

struct creator {
    struct kc_client *client;
    const char *ns;
    atomic_int next;
    atomic_int failed; /* the index that could not be made + 1, or 0 */
};

/* Makes template-NNNN ConfigMaps until all are made, each tried up to 4 times (as upstream). */
static void *create_some(void *arg)
{
    struct creator *c = arg;
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", c->ns);
    for (int i; (i = atomic_fetch_add(&c->next, 1)) < TOTAL;) {
        char name[32];
        snprintf(name, sizeof name, "template-%04d", i);
        json_t *cm = json_pack("{s:{s:s}, s:{s:s}}", "metadata", "name", name, "data", "test",
                               "test2"); /* owned */
        bool ok = false;
        for (int tries = 3; tries >= 0 && !ok; tries--)
            ok = kc_client_do(c->client, "POST", path, cm, NULL, NULL) == 201;
        json_decref(cm);
        if (!ok) {
            int none = 0;
            atomic_compare_exchange_strong(&c->failed, &none, i + 1);
        }
    }
    return NULL;
}

/* Paged lists with random limits MUST return at most limit items, all pages at the first
 * page's resourceVersion, remainingItemCount consistent with what is left, every object once
 * in order; one list with limit TOTAL+1 MUST return them all. */
static void chunks(struct kc_conf *t)
{
    struct creator c = {.client = kc_conf_client(t), .ns = kc_conf_ns(t)};
    pthread_t th[WORKERS];
    int n = 0;
    for (; n < WORKERS; n++)
        if (pthread_create(&th[n], NULL, create_some, &c) != 0)
            break;
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    REQUIRE(t, n > 0, "cannot start creator threads");
    REQUIRE(t, !atomic_load(&c.failed), "Unable to create template %d, exiting",
            atomic_load(&c.failed) - 1);
    unsigned seed = (unsigned)time(NULL);
    for (int round = 0; round < 3 && !kc_conf_failed(t); round++) {
        int found = 0;
        char last_rv[64] = "", cont[1024] = "";
        for (;;) {
            int limit = rand_r(&seed) % (TOTAL / 10) + 1;
            char esc[1536];
            json_t *list = NULL; /* owned */
            int code = kc_conf_call(t, "GET", NULL, NULL, &list,
                                    "/api/v1/namespaces/%s/configmaps?limit=%d%s%s", kc_conf_ns(t),
                                    limit, cont[0] ? "&continue=" : "",
                                    cont[0] ? kc_client_query_escape(esc, sizeof esc, cont) : "");
            if (code != 200) {
                kc_conf_fail_at(
                    t, __FILE__, __LINE__,
                    "failed to list configmaps in namespace: %s, given limit: %d: HTTP %d",
                    kc_conf_ns(t), limit, code);
                json_decref(list);
                return;
            }
            json_t *items = json_object_get(list, "items");
            const char *rv = kc_json_str(list, "metadata.resourceVersion") ?: "";
            const char *next = kc_json_str(list, "metadata.continue") ?: "";
            json_t *remaining =
                json_object_get(json_object_get(list, "metadata"), "remainingItemCount");
            kc_conf_log(t, "Retrieved %zu/%d results with rv %s and continue %s",
                        json_array_size(items), limit, rv, next);
            EXPECT(t, (int)json_array_size(items) <= limit, "%zu items for limit %d",
                   json_array_size(items), limit);
            if (!last_rv[0])
                snprintf(last_rv, sizeof last_rv, "%s", rv);
            EXPECT(t, !strcmp(rv, last_rv), "page at resourceVersion %s, the first page at %s", rv,
                   last_rv);
            if (!next[0])
                EXPECT(t, !remaining || json_is_null(remaining),
                       "remainingItemCount on the last page");
            else
                EXPECT(t,
                       json_is_integer(remaining) && json_integer_value(remaining) +
                                                             (json_int_t)json_array_size(items) +
                                                             found ==
                                                         TOTAL,
                       "remainingItemCount %lld + %zu items + %d found is not %d",
                       (long long)json_integer_value(remaining), json_array_size(items), found,
                       TOTAL);
            size_t i;
            json_t *item;
            json_array_foreach (items, i, item) {
                char want[32];
                snprintf(want, sizeof want, "template-%04d", found);
                const char *name = kc_json_str(item, "metadata.name") ?: "";
                if (strcmp(name, want) != 0) {
                    kc_conf_fail_at(t, __FILE__, __LINE__, "item %s, want %s", name, want);
                    json_decref(list);
                    return;
                }
                found++;
            }
            bool more = next[0] != 0;
            snprintf(cont, sizeof cont, "%s", next);
            json_decref(list);
            if (!more)
                break;
        }
        EXPECT(t, found == TOTAL, "found %d objects in pages, want %d", found, TOTAL);
    }
    json_t *all = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &all, "/api/v1/namespaces/%s/configmaps?limit=%d",
                            kc_conf_ns(t), TOTAL + 1);
    EXPECT(t, code == 200, "failed to list configmaps with limit %d: HTTP %d", TOTAL + 1, code);
    EXPECT(t, json_array_size(json_object_get(all, "items")) == TOTAL, "%zu items at once, want %d",
           json_array_size(json_object_get(all, "items")), TOTAL);
    json_decref(all);
}

/* A Deployment POSTed with fieldValidation=Strict and an unknown metadata field MUST be refused
 * with a strict decoding error naming the field. */
static void unknown_metadata(struct kc_conf *t)
{
    json_t *dep = kc_conf_json(
        t, "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"my-dep\","
           "\"unknownMeta\":\"foo\",\"labels\":{\"app\":\"nginx\"}},\"spec\":{\"selector\":"
           "{\"matchLabels\":{\"app\":\"nginx\"}},\"template\":{\"metadata\":{\"labels\":"
           "{\"app\":\"nginx\"}},\"spec\":{\"containers\":[{\"name\":\"nginx\",\"image\":"
           "\"nginx:latest\"}]}}}}"); /* owned */
    json_t *out = NULL;               /* owned */
    REQUIRE(t, dep, "no object");
    int code =
        kc_conf_call(t, "POST", dep, NULL, &out,
                     "/apis/apps/v1/namespaces/%s/deployments?fieldManager=field_validation_mgr"
                     "&fieldValidation=Strict",
                     kc_conf_ns(t));
    const char *msg = kc_json_str(out, "message") ?: "";
    EXPECT(t,
           code >= 400 &&
               strstr(msg, "strict decoding error: unknown field \"metadata.unknownMeta\""),
           "error missing unknown metadata field, got: HTTP %d %s", code, msg);
    json_decref(dep);
    json_decref(out);
}

/* ---- an expired continue token ---- */

#define CHURN_WORKERS 8
#define CHURN_BATCH 200        /* writes per worker between two looks at the token */
#define EXPIRE_MS (600 * 1000) /* upstream: twice the storage's 5 min compaction interval */

struct churner {
    struct kc_client *client;
    char path[256]; /* its Lease */
    int failed;     /* the HTTP status of a failed write, or 0 */
};

/* CHURN_BATCH merge patches of the worker's Lease, each one revision of the store. */
static void *churn_some(void *arg)
{
    struct churner *c = arg;
    for (int i = 0; i < CHURN_BATCH && !c->failed; i++) {
        char holder[32];
        snprintf(holder, sizeof holder, "holder-%d", i);
        json_t *patch = json_pack("{s:{s:s}}", "spec", "holderIdentity", holder); /* owned */
        int code =
            kc_client_do(c->client, "PATCH", c->path, patch, "application/merge-patch+json", NULL);
        json_decref(patch);
        if (code != 200)
            c->failed = code;
    }
    return NULL;
}

/* One page of the ConfigMaps after token (NULL: the first) with limit TOTAL/10. The HTTP
 * status; *out (owned by the caller) gets the answer. */
static int list_page(struct kc_conf *t, const char *token, json_t **out)
{
    char esc[1536];
    return kc_conf_call(t, "GET", NULL, NULL, out, "/api/v1/namespaces/%s/configmaps?limit=%d%s%s",
                        kc_conf_ns(t), TOTAL / 10, token ? "&continue=" : "",
                        token ? kc_client_query_escape(esc, sizeof esc, token) : "");
}

/* remainingItemCount is absent on the last page and, elsewhere, counts what is left. */
static void check_remaining(struct kc_conf *t, const json_t *list, int before)
{
    const char *next = kc_json_str(list, "metadata.continue") ?: "";
    json_t *remaining = kc_json_path(list, "metadata.remainingItemCount");
    int items = (int)json_array_size(json_object_get(list, "items"));
    if (!*next)
        EXPECT(t, !remaining, "remainingItemCount on the last page");
    else
        EXPECT(t,
               json_is_integer(remaining) &&
                   json_integer_value(remaining) + items + before == TOTAL,
               "remainingItemCount %lld + %d items + %d before is not %d",
               (long long)json_integer_value(remaining), items, before, TOTAL);
}

/* The first page's continue token MUST, once its revision has left the store's history,
 * be refused with 410 Expired and a Status holding a new token; that token MUST list the
 * rest at a newer resourceVersion, every later page at the same one, in order, to the end.
 * Upstream waits for etcd's periodic compaction; kubec keeps the last --watch-window
 * revisions, so the test writes (Lease updates, other objects than the ones listed) until
 * the token has expired, bounded by upstream's own wait. */
static void expired_continue(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    struct creator c = {.client = kc_conf_client(t), .ns = ns};
    pthread_t th[CHURN_WORKERS > WORKERS ? CHURN_WORKERS : WORKERS];
    int n = 0;
    for (; n < WORKERS; n++)
        if (pthread_create(&th[n], NULL, create_some, &c) != 0)
            break;
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    REQUIRE(t, n > 0, "cannot start creator threads");
    REQUIRE(t, !atomic_load(&c.failed), "Unable to create template %d, exiting",
            atomic_load(&c.failed) - 1);

    json_t *list = NULL; /* owned */
    int code = list_page(t, NULL, &list);
    if (code != 200) {
        json_decref(list);
        REQUIRE(t, false, "failed to list configmaps in namespace: %s, given limit: %d: HTTP %d",
                ns, TOTAL / 10, code);
    }
    check_remaining(t, list, 0);
    char first_token[1024], first_rv[32];
    snprintf(first_token, sizeof first_token, "%s", kc_json_str(list, "metadata.continue") ?: "");
    snprintf(first_rv, sizeof first_rv, "%s", kc_json_str(list, "metadata.resourceVersion") ?: "");
    json_decref(list);
    list = NULL;
    REQUIRE(t, first_token[0], "no continue token on the first page");

    struct churner ch[CHURN_WORKERS];
    for (int i = 0; i < CHURN_WORKERS; i++) {
        ch[i] = (struct churner){.client = kc_conf_client(t)};
        snprintf(ch[i].path, sizeof ch[i].path,
                 "/apis/coordination.k8s.io/v1/namespaces/%s/leases/churn-%d", ns, i);
        json_t *lease = json_pack("{s:{s:s+}, s:{}}", "metadata", "name", "churn-",
                                  ch[i].path + strlen(ch[i].path) - 1, "spec"); /* owned */
        code = kc_conf_call(t, "POST", lease, NULL, NULL,
                            "/apis/coordination.k8s.io/v1/namespaces/%s/leases", ns);
        json_decref(lease);
        REQUIRE(t, code == 201, "failed to create lease churn-%d: HTTP %d", i, code);
    }
    char token[1024] = "";
    long writes = 0;
    for (int waited = 0; waited < EXPIRE_MS;) {
        json_t *st = NULL; /* owned */
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        code = list_page(t, first_token, &st);
        if (code == 410) {
            EXPECT(t, !strcmp(kc_conf_reason(st), "Expired"), "410 with reason %s",
                   kc_conf_reason(st));
            snprintf(token, sizeof token, "%s", kc_json_str(st, "metadata.continue") ?: "");
            json_decref(st);
            REQUIRE(t, token[0], "expect non empty continue token");
            kc_conf_log(t, "Retrieved inconsistent continue %s after %ld writes", token, writes);
            break;
        }
        json_decref(st);
        REQUIRE(t, code == 200, "listing with the first token: HTTP %d", code);
        /* not expired yet: a batch of writes moves the store's history on */
        int m = 0;
        for (; m < CHURN_WORKERS; m++)
            if (pthread_create(&th[m], NULL, churn_some, &ch[m]) != 0)
                break;
        for (int i = 0; i < m; i++)
            pthread_join(th[i], NULL);
        REQUIRE(t, m > 0, "cannot start writer threads");
        for (int i = 0; i < m; i++)
            REQUIRE(t, !ch[i].failed, "updating %s: HTTP %d", ch[i].path, ch[i].failed);
        writes += (long)m * CHURN_BATCH;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        waited += (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
    }
    REQUIRE(t, token[0], "the first page's continue token did not expire after %ld writes", writes);

    code = list_page(t, token, &list);
    if (code != 200) {
        json_decref(list);
        REQUIRE(t, false,
                "failed to list configmaps in namespace: %s, given inconsistent continue token "
                "and limit: %d: HTTP %d",
                ns, TOTAL / 10, code);
    }
    char last_rv[32];
    snprintf(last_rv, sizeof last_rv, "%s", kc_json_str(list, "metadata.resourceVersion") ?: "");
    EXPECT(t, strcmp(last_rv, first_rv), "the inconsistent list is still at resourceVersion %s",
           first_rv);
    int found = TOTAL / 10;
    for (;;) {
        json_t *items = json_object_get(list, "items");
        EXPECT(t, json_array_size(items) <= TOTAL / 10, "%zu items for limit %d",
               json_array_size(items), TOTAL / 10);
        check_remaining(t, list, found);
        EXPECT(t, !strcmp(kc_json_str(list, "metadata.resourceVersion") ?: "", last_rv),
               "page at resourceVersion %s, want %s",
               kc_json_str(list, "metadata.resourceVersion") ?: "", last_rv);
        size_t i;
        json_t *item;
        json_array_foreach (items, i, item) {
            char want[32];
            snprintf(want, sizeof want, "template-%04d", found);
            const char *name = kc_json_str(item, "metadata.name") ?: "";
            if (strcmp(name, want)) {
                kc_conf_fail_at(t, __FILE__, __LINE__, "item %s, want %s", name, want);
                json_decref(list);
                return;
            }
            found++;
        }
        snprintf(token, sizeof token, "%s", kc_json_str(list, "metadata.continue") ?: "");
        json_decref(list);
        list = NULL;
        if (!token[0] || kc_conf_failed(t))
            break;
        code = list_page(t, token, &list);
        if (code != 200) {
            json_decref(list);
            REQUIRE(t, false,
                    "failed to list configmaps in namespace: %s, given limit: %d: HTTP %d", ns,
                    TOTAL / 10, code);
        }
    }
    EXPECT(t, found == TOTAL, "found %d objects in pages, want %d", found, TOTAL);
}

/* A SelfSubjectAccessReview has no Table form: asked for one only, the server MUST answer 406
 * (table_conversion.go upstream). */
static void table_406(struct kc_conf *t)
{
    static const char sar[] = "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
                              "\"SelfSubjectAccessReview\",\"spec\":{\"nonResourceAttributes\":"
                              "{\"path\":\"/\",\"verb\":\"get\"}}}";
    struct kc_client_raw r = {
        .accept = "application/json;as=Table;v=v1;g=meta.k8s.io",
        .body = sar,
        .body_len = sizeof sar - 1,
    };
    int code = kc_conf_raw(t, "POST", &r, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
    EXPECT(t, code == 406,
           "failed to return error when posting self subject access review to a backend that "
           "does not implement metadata: HTTP %d (want 406) %s",
           code, r.answer ? r.answer : "");
    free(r.answer);
}

/* A Deployment POSTed with fieldValidation=Strict, an unknown spec field and spec.replicas
 * twice MUST be refused with one strict decoding error naming both (the unknown field
 * first). The body is sent as text: a JSON object cannot hold the duplicate. */
static void unknown_duplicate(struct kc_conf *t)
{
    static const char body[] =
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"my-dep\","
        "\"labels\":{\"app\":\"nginx\"}},\"spec\":{\"unknownField\":\"foo\",\"replicas\":2,"
        "\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"nginx\"}},\"template\":{"
        "\"metadata\":{\"labels\":{\"app\":\"nginx\"}},\"spec\":{\"containers\":[{\"name\":"
        "\"nginx\",\"image\":\"nginx:latest\"}]}}}}";
    struct kc_client_raw r = {.body = body, .body_len = sizeof body - 1};
    int code = kc_conf_raw(t, "POST", &r,
                           "/apis/apps/v1/namespaces/%s/deployments?fieldManager="
                           "field_validation_mgr&fieldValidation=Strict",
                           kc_conf_ns(t));
    json_t *status = r.answer ? json_loads(r.answer, 0, NULL) : NULL; /* owned */
    const char *msg = kc_json_str(status, "message") ?: "";
    EXPECT(t,
           code >= 400 && strstr(msg, "strict decoding error: unknown field \"spec.unknownField\", "
                                      "duplicate field \"spec.replicas\""),
           "error missing unknown/duplicate field field, got: HTTP %d %s", code, msg);
    json_decref(status);
    free(r.answer);
}

const struct kc_conf_test kc_conf_tests_apimachinery[] = {
    {"[sig-api-machinery] FieldValidation should detect unknown and duplicate fields of a typed "
     "object [Conformance]",
     unknown_duplicate, 0},
    {"[sig-api-machinery] FieldValidation should detect unknown metadata fields of a typed object "
     "[Conformance]",
     unknown_metadata, 0},
    {"[sig-api-machinery] Servers with support for API chunking should return chunks of results "
     "for list calls [Conformance]",
     chunks, 0},
    {"[sig-api-machinery] Servers with support for API chunking should support continue listing "
     "from the last key if the original version has been compacted away, though the list is "
     "inconsistent [Slow] [Conformance]",
     expired_continue, 0},
    {"[sig-api-machinery] Servers with support for Table transformation should return a 406 for "
     "a backend which does not implement metadata [Conformance]",
     table_406, 0},
    {NULL, NULL, 0},
};
