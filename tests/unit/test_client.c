/* The client library's parts that need no server: work queue semantics (de-duplication,
 * no concurrent processing of one key, delays and back-off), kubeconfig loading, paths. */
#include "check.h"

#include "client/client.h"
#include "client/informer.h"
#include "client/pool.h"
#include "client/workqueue.h"
#include "lib/timeutil.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_dedupe(void)
{
    struct kc_workqueue *q = kc_wq_new("t");
    kc_wq_add(q, "a");
    kc_wq_add(q, "b");
    kc_wq_add(q, "a");
    CHECK_INT(kc_wq_len(q), 2);
    char *k = kc_wq_get(q);
    CHECK_STR(k, "a");
    /* added again while processing: not handed out twice, queued again on done */
    kc_wq_add(q, "a");
    CHECK_INT(kc_wq_len(q), 1);
    char *k2 = kc_wq_get(q);
    CHECK_STR(k2, "b");
    CHECK_INT(kc_wq_len(q), 0);
    kc_wq_done(q, k);
    CHECK_INT(kc_wq_len(q), 1);
    char *k3 = kc_wq_get(q);
    CHECK_STR(k3, "a");
    kc_wq_done(q, k2);
    kc_wq_done(q, k3);
    free(k);
    free(k2);
    free(k3);
    kc_wq_free(q);
}

static void test_delay_and_backoff(void)
{
    struct kc_workqueue *q = kc_wq_new("t");
    double t0 = now_s();
    kc_wq_add_after(q, "late", 120);
    kc_wq_add_after(q, "early", 30);
    CHECK_INT(kc_wq_len(q), 0);
    char *k = kc_wq_get(q);
    double t1 = now_s();
    CHECK_STR(k, "early");
    CHECK(t1 - t0 >= 0.025);
    kc_wq_done(q, k);
    free(k);
    k = kc_wq_get(q);
    CHECK_STR(k, "late");
    CHECK(now_s() - t0 >= 0.115);
    kc_wq_done(q, k);
    free(k);

    /* back-off doubles per failure: 5, 10, 20, 40 ms */
    for (int i = 0; i < 4; i++) {
        double s = now_s();
        kc_wq_add_rate_limited(q, "f");
        k = kc_wq_get(q);
        double took = now_s() - s;
        CHECK(took >= 0.005 * (1 << i) * 0.9);
        kc_wq_done(q, k);
        free(k);
    }
    CHECK_INT(kc_wq_num_requeues(q, "f"), 4);
    kc_wq_forget(q, "f");
    CHECK_INT(kc_wq_num_requeues(q, "f"), 0);

    /* metrics name the queue */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    kc_wq_write_metrics(q, f);
    fclose(f);
    CHECK(strstr(buf, "workqueue_work_duration_seconds_count{name=\"t\"} 6") != NULL);
    CHECK(strstr(buf, "workqueue_retries_total{name=\"t\"} 4") != NULL);
    free(buf);

    kc_wq_shutdown(q);
    CHECK(kc_wq_get(q) == NULL);
    kc_wq_free(q);
}

static void test_kubeconfig(void)
{
    char dir[] = "/tmp/kubec-client-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256], tok[256];
    snprintf(path, sizeof path, "%s/kc", dir);
    snprintf(tok, sizeof tok, "%s/token", dir);
    FILE *f = fopen(tok, "w");
    fputs("abc123\n", f);
    fclose(f);
    f = fopen(path, "w");
    fputs("apiVersion: v1\nkind: Config\n"
          "clusters:\n- name: other\n  cluster:\n    server: https://10.0.0.1:6443\n"
          "- name: c\n  cluster:\n    server: http://127.0.0.1:1/\n"
          "contexts:\n- name: x\n  context:\n    cluster: c\n    user: u\n"
          "current-context: x\n"
          "users:\n- name: u\n  user:\n    tokenFile: token\n",
          f);
    fclose(f);
    char err[256];
    struct kc_client *c = NULL;
    CHECK_INT(kc_client_from_kubeconfig(path, &c, err, sizeof err), 0);
    /* nothing listens on port 1: a transport failure after retries is -1 */
    json_t *out = NULL;
    if (c) {
        kc_client_shutdown(c); /* no retry waits in a unit test */
        CHECK_INT(kc_get(c, &KC_GVR_PODS, "default", "p", &out), -1);
        CHECK(out == NULL);
        kc_client_free(c);
    }
    f = fopen(path, "w");
    fputs("apiVersion: v1\nkind: Config\nclusters: []\n", f);
    fclose(f);
    CHECK_INT(kc_client_from_kubeconfig(path, &c, err, sizeof err), -1);
    CHECK(strstr(err, "no server") != NULL);
    CHECK_INT(kc_client_from_kubeconfig("/nonexistent/kc", &c, err, sizeof err), -1);
    unlink(path);
    unlink(tok);
    rmdir(dir);
}

static void test_paths(void)
{
    char p[256];
    CHECK_STR(kc_client_path(p, sizeof p, &KC_GVR_PODS, "ns1", "p", "status"),
              "/api/v1/namespaces/ns1/pods/p/status");
    CHECK_STR(kc_client_path(p, sizeof p, &KC_GVR_DEPLOYMENTS, NULL, NULL, NULL),
              "/apis/apps/v1/deployments");
    CHECK_STR(kc_client_path(p, sizeof p, &KC_GVR_NODES, "ignored", "n1", NULL),
              "/api/v1/nodes/n1");
    CHECK_STR(kc_client_query_escape(p, sizeof p, "app=demo,tier in (a b)"),
              "app%3Ddemo%2Ctier%20in%20%28a%20b%29");
    json_t *pod = json_pack("{s:{s:s,s:s}}", "metadata", "namespace", "ns", "name", "n");
    CHECK_STR(kc_object_key(p, sizeof p, pod), "ns/n");
    json_decref(pod);
    char ns[64], name[64];
    kc_key_split("a/b", ns, sizeof ns, name, sizeof name);
    CHECK_STR(ns, "a");
    CHECK_STR(name, "b");
    kc_key_split("node1", ns, sizeof ns, name, sizeof name);
    CHECK_STR(ns, "");
    CHECK_STR(name, "node1");
}

static void test_durations(void)
{
    CHECK_INT(kc_duration_parse_ms("500ms"), 500);
    CHECK_INT(kc_duration_parse_ms("40s"), 40000);
    CHECK_INT(kc_duration_parse_ms("1m30s"), 90000);
    CHECK_INT(kc_duration_parse_ms("2h"), 7200000);
    CHECK_INT(kc_duration_parse_ms("1.5s"), 1500);
    CHECK_INT(kc_duration_parse_ms("5"), 5000);
    CHECK_INT(kc_duration_parse_ms(""), -1);
    CHECK_INT(kc_duration_parse_ms("3x"), -1);
    CHECK_INT(kc_duration_parse_ms("-1s"), -1);
    CHECK_INT(kc_duration_parse_ms("s"), -1);
}

/* ---- the parallel-call pool ---- */

struct pool_arg {
    int calls[200];
};

static void count_call(void *arg, int i)
{
    struct pool_arg *a = arg;
    __atomic_add_fetch(&a->calls[i], 1, __ATOMIC_RELAXED);
    usleep(100); /* let the other threads take some */
}

struct batch_thread {
    struct kc_pool *pool;
    struct pool_arg arg;
};

static void *run_batch(void *p)
{
    struct batch_thread *b = p;
    kc_pool_run(b->pool, 200, count_call, &b->arg);
    return NULL;
}

static void test_pool(void)
{
    /* every index once, with threads, without (the caller alone), and two batches at once */
    for (int threads = 0; threads <= 4; threads += 4) {
        struct kc_pool *pool = kc_pool_new(threads);
        CHECK(pool != NULL);
        struct batch_thread b[2] = {{pool, {{0}}}, {pool, {{0}}}};
        pthread_t t[2];
        for (int k = 0; k < 2; k++)
            pthread_create(&t[k], NULL, run_batch, &b[k]);
        for (int k = 0; k < 2; k++)
            pthread_join(t[k], NULL);
        int once = 0;
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 200; i++)
                once += b[k].arg.calls[i] == 1;
        CHECK_INT(once, 400);
        kc_pool_free(pool);
    }
    kc_pool_run(NULL, 0, count_call, NULL); /* nothing to do */
}

int main(void)
{
    test_pool();
    test_durations();
    test_dedupe();
    test_delay_and_backoff();
    test_kubeconfig();
    test_paths();
    CHECK_DONE();
}
