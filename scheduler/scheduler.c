/* The scheduling loop. One thread pops a pending pod, runs the algorithm on the locked
 * cache, assumes the pod on the chosen node and hands the binding to a pool of binder
 * threads, so the next decision starts while the apiserver writes the last one (and
 * already sees it, through the assumed pod). */
#include "scheduler/scheduler.h"

#include "client/events.h"
#include "client/informer.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"
#include "scheduler/cache.h"
#include "scheduler/queue.h"
#include "scheduler/sched.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LAT_BUCKETS 12
static const double lat_le[LAT_BUCKETS] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                           0.01,   0.025,   0.05,   0.1,   0.5,    1};

/* A decision waiting to be written: bind, or report unschedulable. */
struct job {
    char *ns, *name, *uid, *node; /* node NULL: unschedulable, msg holds why */
    char *msg;
    json_t *pod; /* for events; owned */
    struct job *next;
};

struct kc_scheduler {
    struct kc_client *client;
    char *name;
    int nbinders;
    struct kc_informer *pods, *nodes;
    struct kc_sched_cache *cache;
    struct kc_sched_queue *queue;
    struct kc_recorder *rec;
    pthread_t loop;
    pthread_t *binders;
    int started;
    volatile int stop;

    pthread_mutex_t jmu;
    pthread_cond_t jcv;
    struct job *jhead, *jtail;

    pthread_mutex_t mmu; /* metrics */
    unsigned long scheduled, unschedulable, errors, bind_errors;
    unsigned long lat[LAT_BUCKETS], lat_count;
    double lat_sum;
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- who is ours ---- */

static bool responsible(struct kc_scheduler *s, const json_t *pod)
{
    const char *sn = kc_json_str(pod, "spec.schedulerName");
    return strcmp(sn && *sn ? sn : "default-scheduler", s->name) == 0;
}

static bool pending(const json_t *pod)
{
    const char *node = kc_json_str(pod, "spec.nodeName");
    const char *phase = kc_json_str(pod, "status.phase");
    if (node && *node)
        return false;
    if (phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
        return false;
    return kc_json_path(pod, "metadata.deletionTimestamp") == NULL;
}

static bool assigned(const json_t *pod)
{
    const char *node = kc_json_str(pod, "spec.nodeName");
    return node && *node;
}

static bool phase_done(const json_t *pod)
{
    const char *phase = kc_json_str(pod, "status.phase");
    return phase && (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0);
}

/* ---- informer handlers ---- */

static void on_pod_add(void *ctx, const json_t *pod)
{
    struct kc_scheduler *s = ctx;
    char key[512];
    kc_object_key(key, sizeof key, pod);
    if (assigned(pod)) {
        kc_sched_cache_set_pod(s->cache, pod);
        /* a pod on a node can satisfy a waiting pod's affinity */
        kc_sq_move_all_to_active(s->queue);
    } else if (pending(pod) && responsible(s, pod))
        kc_sq_add(s->queue, key);
}

static void on_pod_update(void *ctx, const json_t *old_pod, const json_t *pod)
{
    struct kc_scheduler *s = ctx;
    char key[512];
    kc_object_key(key, sizeof key, pod);
    if (assigned(pod)) {
        kc_sched_cache_set_pod(s->cache, pod);
        if (!assigned(old_pod)) {
            kc_sq_delete(s->queue, key); /* bound: by us or someone else */
            /* a newly placed pod can satisfy a waiting pod's (anti-)affinity terms */
            kc_sq_move_all_to_active(s->queue);
        }
        /* a pod finishing frees its node */
        if (!phase_done(old_pod) && phase_done(pod))
            kc_sq_move_all_to_active(s->queue);
        return;
    }
    if (!pending(pod) || !responsible(s, pod)) {
        kc_sq_delete(s->queue, key);
        return;
    }
    /* Our own condition writes must not make the pod look new. */
    if (!kc_json_only_status_changed(old_pod, pod))
        kc_sq_add(s->queue, key);
}

static void on_pod_delete(void *ctx, const json_t *pod)
{
    struct kc_scheduler *s = ctx;
    char key[512];
    kc_object_key(key, sizeof key, pod);
    kc_sq_delete(s->queue, key);
    if (assigned(pod)) {
        kc_sched_cache_remove_pod(s->cache, key);
        kc_sq_move_all_to_active(s->queue); /* room freed */
    }
}

static void on_node_add(void *ctx, const json_t *node)
{
    struct kc_scheduler *s = ctx;
    kc_sched_cache_set_node(s->cache, node);
    kc_sq_move_all_to_active(s->queue);
}

static void on_node_update(void *ctx, const json_t *old_node, const json_t *node)
{
    struct kc_scheduler *s = ctx;
    kc_sched_cache_set_node(s->cache, node);
    /* Heartbeats change only status conditions' times; what can make a pod fit is in
     * labels, taints, unschedulable or allocatable. */
    if (!kc_json_equal(kc_json_path(old_node, "metadata.labels"),
                       kc_json_path(node, "metadata.labels")) ||
        !kc_json_equal(json_object_get(old_node, "spec"), json_object_get(node, "spec")) ||
        !kc_json_equal(kc_json_path(old_node, "status.allocatable"),
                       kc_json_path(node, "status.allocatable")))
        kc_sq_move_all_to_active(s->queue);
}

static void on_node_delete(void *ctx, const json_t *node)
{
    struct kc_scheduler *s = ctx;
    kc_sched_cache_remove_node(s->cache, kc_json_str(node, "metadata.name"));
}

/* ---- jobs for binder threads ---- */

static void job_push(struct kc_scheduler *s, struct job *j)
{
    pthread_mutex_lock(&s->jmu);
    if (s->jtail)
        s->jtail->next = j;
    else
        s->jhead = j;
    s->jtail = j;
    pthread_cond_signal(&s->jcv);
    pthread_mutex_unlock(&s->jmu);
}

static struct job *job_pop(struct kc_scheduler *s)
{
    pthread_mutex_lock(&s->jmu);
    while (!s->jhead && !s->stop)
        pthread_cond_wait(&s->jcv, &s->jmu);
    struct job *j = s->jhead;
    if (j) {
        s->jhead = j->next;
        if (!s->jhead)
            s->jtail = NULL;
    }
    pthread_mutex_unlock(&s->jmu);
    return j;
}

static void job_free(struct job *j)
{
    free(j->ns);
    free(j->name);
    free(j->uid);
    free(j->node);
    free(j->msg);
    json_decref(j->pod);
    free(j);
}

static void do_bind(struct kc_scheduler *s, struct job *j)
{
    char path[600], key[512];
    json_t *out = NULL;
    snprintf(key, sizeof key, "%s/%s", j->ns, j->name);
    json_t *b = json_pack("{s:s,s:s,s:{s:s,s:s,s:s},s:{s:s,s:s,s:s}}", "apiVersion", "v1", "kind",
                          "Binding", "metadata", "name", j->name, "namespace", j->ns, "uid",
                          j->uid ? j->uid : "", "target", "apiVersion", "v1", "kind", "Node",
                          "name", j->node);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/binding", j->ns, j->name);
    int rc = kc_client_do(s->client, "POST", path, b, NULL, &out);
    json_decref(b);
    if (rc == 201 || rc == 200) {
        kc_event(s->rec, j->pod, "Normal", "Scheduled", "Successfully assigned %s/%s to %s", j->ns,
                 j->name, j->node);
    } else {
        /* Someone else bound it, it is gone, or the apiserver failed: undo the assumption
         * and, if the pod still waits, try again after a back-off. */
        kc_sched_cache_forget(s->cache, key);
        pthread_mutex_lock(&s->mmu);
        s->bind_errors++;
        pthread_mutex_unlock(&s->mmu);
        json_t *cur = kc_informer_get(s->pods, key);
        if (cur && pending(cur))
            kc_sq_add_backoff(s->queue, key);
        else
            kc_sq_delete(s->queue, key);
        json_decref(cur);
        if (rc != 404 && rc != 409)
            fprintf(stderr, "scheduler: binding %s to %s: %d\n", key, j->node, rc);
    }
    json_decref(out);
}

/* FailedScheduling: an event, and the PodScheduled=False condition when its message
 * changed (so repeated failures do not rewrite the pod). */
static void do_unschedulable(struct kc_scheduler *s, struct job *j)
{
    kc_event(s->rec, j->pod, "Warning", "FailedScheduling", "%s", j->msg);
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(j->pod, "status.conditions"), i, c) {
        const char *t = kc_json_str(c, "type");
        if (t && strcmp(t, "PodScheduled") == 0 && kc_json_str(c, "message") &&
            strcmp(kc_json_str(c, "message"), j->msg) == 0 &&
            strcmp(kc_json_str(c, "status") ?: "", "False") == 0)
            return;
    }
    char now[40];
    kc_time_rfc3339(time(NULL), now, sizeof now);
    json_t *patch = json_pack("{s:{s:[{s:s,s:s,s:s,s:s,s:n,s:s}]}}", "status", "conditions", "type",
                              "PodScheduled", "status", "False", "reason", "Unschedulable",
                              "message", j->msg, "lastProbeTime", "lastTransitionTime", now);
    json_t *out = NULL;
    kc_patch(s->client, &KC_GVR_PODS, j->ns, j->name, "status",
             "application/strategic-merge-patch+json", patch, &out);
    json_decref(patch);
    json_decref(out);
}

static void *binder_main(void *arg)
{
    struct kc_scheduler *s = arg;
    struct job *j;
    while ((j = job_pop(s)) != NULL) {
        if (j->node)
            do_bind(s, j);
        else
            do_unschedulable(s, j);
        job_free(j);
    }
    return NULL;
}

/* ---- the scheduling loop ---- */

static void observe(struct kc_scheduler *s, double secs, int result)
{
    pthread_mutex_lock(&s->mmu);
    if (result == 0)
        s->scheduled++;
    else if (result == 1)
        s->unschedulable++;
    else
        s->errors++;
    s->lat_count++;
    s->lat_sum += secs;
    for (int i = 0; i < LAT_BUCKETS; i++)
        if (secs <= lat_le[i])
            s->lat[i]++;
    pthread_mutex_unlock(&s->mmu);
}

static struct job *new_job(const json_t *pod)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->ns = strdup(kc_json_str(pod, "metadata.namespace") ?: "default");
    j->name = strdup(kc_json_str(pod, "metadata.name") ?: "");
    const char *uid = kc_json_str(pod, "metadata.uid");
    j->uid = uid ? strdup(uid) : NULL;
    j->pod = json_incref((json_t *)pod);
    return j;
}

static void schedule_pod(struct kc_scheduler *s, const char *key)
{
    json_t *pod = kc_informer_get(s->pods, key);
    if (!pod || !pending(pod) || !responsible(s, pod)) {
        kc_sq_delete(s->queue, key);
        json_decref(pod);
        return;
    }
    char msg[2048];
    struct kc_sched_pod p;
    double t0 = mono();
    kc_sched_pod_init(&p, pod);
    const struct kc_sched_snapshot *snap = kc_sched_cache_lock(s->cache);
    int idx = snap->n ? kc_sched_schedule_one(&p, snap, msg, sizeof msg) : -1;
    if (!snap->n)
        snprintf(msg, sizeof msg, "no nodes available to schedule pods");
    char *node = idx >= 0 ? strdup(snap->nodes[idx]->name) : NULL;
    kc_sched_cache_unlock(s->cache);
    if (node) {
        /* Only this thread decides, so nothing can be placed between the decision and
         * the assumption. */
        /* The informer's pod with spec.nodeName set: copies of the object and its spec,
         * sharing the rest (the cache only reads pods). */
        json_t *assumed = json_copy(pod), *spec = json_object_get(pod, "spec");
        json_object_set_new(assumed, "spec",
                            json_is_object(spec) ? json_copy(spec) : json_object());
        json_object_set_new(json_object_get(assumed, "spec"), "nodeName", json_string(node));
        kc_sched_cache_assume(s->cache, assumed); /* takes the reference */
    }
    kc_sched_pod_release(&p);
    observe(s, mono() - t0, node ? 0 : 1);
    struct job *j = new_job(pod);
    if (j) {
        if (node) {
            j->node = node;
            node = NULL;
        } else {
            j->msg = strdup(msg);
            kc_sq_add_unschedulable(s->queue, key);
        }
        job_push(s, j);
    }
    free(node);
    json_decref(pod);
}

static void *loop_main(void *arg)
{
    struct kc_scheduler *s = arg;
    char *key;
    while ((key = kc_sq_pop(s->queue)) != NULL) {
        schedule_pod(s, key);
        free(key);
    }
    return NULL;
}

/* ---- lifecycle ---- */

struct kc_scheduler *kc_scheduler_new(struct kc_client *c, const struct kc_scheduler_options *o)
{
    struct kc_scheduler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->client = c;
    s->name = strdup(o->scheduler_name ? o->scheduler_name : "default-scheduler");
    s->nbinders = o->binders > 0 ? o->binders : 16;
    s->cache = kc_sched_cache_new();
    s->queue = kc_sq_new();
    pthread_mutex_init(&s->jmu, NULL);
    pthread_cond_init(&s->jcv, NULL);
    pthread_mutex_init(&s->mmu, NULL);
    s->pods = kc_informer_new(c, &KC_GVR_PODS, NULL, NULL, NULL);
    s->nodes = kc_informer_new(c, &KC_GVR_NODES, NULL, NULL, NULL);
    struct kc_informer_handlers ph = {on_pod_add, on_pod_update, on_pod_delete, s};
    struct kc_informer_handlers nh = {on_node_add, on_node_update, on_node_delete, s};
    kc_informer_add_handlers(s->pods, &ph);
    kc_informer_add_handlers(s->nodes, &nh);
    return s;
}

int kc_scheduler_start(struct kc_scheduler *s)
{
    s->rec = kc_recorder_new(s->client, s->name);
    /* Nodes first, so pods found in the first list meet their nodes. */
    if (kc_informer_start(s->nodes) != 0)
        return -1;
    while (!kc_informer_wait_synced(s->nodes, 1000))
        if (kc_client_is_shutdown(s->client))
            return -1;
    if (kc_informer_start(s->pods) != 0)
        return -1;
    while (!kc_informer_wait_synced(s->pods, 1000))
        if (kc_client_is_shutdown(s->client))
            return -1;
    s->binders = calloc((size_t)s->nbinders, sizeof *s->binders);
    for (int i = 0; i < s->nbinders; i++)
        pthread_create(&s->binders[i], NULL, binder_main, s);
    pthread_create(&s->loop, NULL, loop_main, s);
    s->started = 1;
    return 0;
}

void kc_scheduler_stop(struct kc_scheduler *s)
{
    kc_sq_shutdown(s->queue);
    pthread_mutex_lock(&s->jmu);
    s->stop = 1;
    pthread_cond_broadcast(&s->jcv);
    pthread_mutex_unlock(&s->jmu);
    if (s->started) {
        pthread_join(s->loop, NULL);
        for (int i = 0; i < s->nbinders; i++)
            pthread_join(s->binders[i], NULL);
    }
    kc_informer_stop(s->pods);
    kc_informer_stop(s->nodes);
}

void kc_scheduler_write_metrics(struct kc_scheduler *s, FILE *f)
{
    size_t a = 0, b = 0, u = 0;
    kc_sq_sizes(s->queue, &a, &b, &u);
    pthread_mutex_lock(&s->mmu);
    fprintf(f,
            "# HELP scheduler_schedule_attempts_total Scheduling attempts by result.\n"
            "# TYPE scheduler_schedule_attempts_total counter\n"
            "scheduler_schedule_attempts_total{profile=\"%s\",result=\"scheduled\"} %lu\n"
            "scheduler_schedule_attempts_total{profile=\"%s\",result=\"unschedulable\"} %lu\n"
            "scheduler_schedule_attempts_total{profile=\"%s\",result=\"error\"} %lu\n",
            s->name, s->scheduled, s->name, s->unschedulable, s->name, s->errors);
    fprintf(f,
            "# HELP scheduler_binding_errors_total Bindings the apiserver refused.\n"
            "# TYPE scheduler_binding_errors_total counter\n"
            "scheduler_binding_errors_total %lu\n",
            s->bind_errors);
    fprintf(f, "# HELP scheduler_scheduling_attempt_duration_seconds Time to decide for a pod.\n"
               "# TYPE scheduler_scheduling_attempt_duration_seconds histogram\n");
    for (int i = 0; i < LAT_BUCKETS; i++)
        fprintf(f, "scheduler_scheduling_attempt_duration_seconds_bucket{le=\"%g\"} %lu\n",
                lat_le[i], s->lat[i]);
    fprintf(f,
            "scheduler_scheduling_attempt_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
            "scheduler_scheduling_attempt_duration_seconds_sum %.6f\n"
            "scheduler_scheduling_attempt_duration_seconds_count %lu\n",
            s->lat_count, s->lat_sum, s->lat_count);
    pthread_mutex_unlock(&s->mmu);
    fprintf(f,
            "# HELP scheduler_pending_pods Pending pods by queue.\n"
            "# TYPE scheduler_pending_pods gauge\n"
            "scheduler_pending_pods{queue=\"active\"} %zu\n"
            "scheduler_pending_pods{queue=\"backoff\"} %zu\n"
            "scheduler_pending_pods{queue=\"unschedulable\"} %zu\n",
            a, b, u);
    fprintf(f,
            "# HELP scheduler_cache_size Nodes and assumed pods in the cache.\n"
            "# TYPE scheduler_cache_size gauge\n"
            "scheduler_cache_size{type=\"nodes\"} %zu\n"
            "scheduler_cache_size{type=\"assumed_pods\"} %zu\n",
            kc_sched_cache_nodes(s->cache), kc_sched_cache_assumed(s->cache));
}
