/* The simulated runtime: no processes. A started pod's containers are running from the
 * start time and ready after the configured delay, as kwok's nodes report them, so one
 * agent process can stand in for thousands of nodes. */
#include "nodeagent/runtime.h"

#include "lib/jsonx.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sim_runtime {
    struct kc_runtime base;
    int ready_delay_ms;
    pthread_mutex_t mu;
    json_t *pods; /* uid -> {"started": t} */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Starts the pod the first time it is seen, then reports its containers running, ready
 * once the delay has passed. */
static int sim_sync(struct kc_runtime *rt, const json_t *pod, const char *ip,
                    struct kc_container_state *out, int max, struct kc_pod_report *report)
{
    (void)ip;
    struct sim_runtime *s = (struct sim_runtime *)rt;
    const char *uid = kc_json_str(pod, "metadata.uid");
    if (!uid)
        return -1;
    double now = now_s();
    pthread_mutex_lock(&s->mu);
    json_t *p = json_object_get(s->pods, uid);
    if (!p) {
        p = json_pack("{s:f}", "started", now);
        json_object_set_new(s->pods, uid, p);
    }
    double started = json_real_value(json_object_get(p, "started"));
    pthread_mutex_unlock(&s->mu);
    bool ready = (now - started) * 1000.0 >= s->ready_delay_ms;
    int n = 0;
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "spec.containers"), i, c) {
        if (n >= max)
            break;
        struct kc_container_state *st = &out[n++];
        memset(st, 0, sizeof *st);
        snprintf(st->name, sizeof st->name, "%s", kc_json_str(c, "name") ?: "");
        snprintf(st->id, sizeof st->id, "simulated://%.40s-%.60s", uid, st->name);
        st->state = KC_C_RUNNING;
        st->started = true;
        st->ready = ready;
        st->started_at = started;
    }
    report->n = n;
    report->sandbox = true;
    report->initialized = true;
    if (!ready)
        report->requeue_ms = (long)((started - now) * 1000.0) + s->ready_delay_ms + 1;
    return 0;
}

static int sim_stop(struct kc_runtime *rt, const json_t *pod, long grace_seconds)
{
    (void)grace_seconds; /* nothing runs, so nothing needs the grace period */
    struct sim_runtime *s = (struct sim_runtime *)rt;
    const char *uid = kc_json_str(pod, "metadata.uid");
    pthread_mutex_lock(&s->mu);
    if (uid)
        json_object_del(s->pods, uid);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static json_t *sim_list(struct kc_runtime *rt)
{
    struct sim_runtime *s = (struct sim_runtime *)rt;
    json_t *out = json_array();
    const char *uid;
    json_t *v;
    pthread_mutex_lock(&s->mu);
    json_object_foreach (s->pods, uid, v)
        json_array_append_new(out, json_string(uid));
    pthread_mutex_unlock(&s->mu);
    return out;
}

static void sim_forget(struct kc_runtime *rt, const char *uid)
{
    struct sim_runtime *s = (struct sim_runtime *)rt;
    pthread_mutex_lock(&s->mu);
    json_object_del(s->pods, uid);
    pthread_mutex_unlock(&s->mu);
}

static void sim_destroy(struct kc_runtime *rt)
{
    struct sim_runtime *s = (struct sim_runtime *)rt;
    json_decref(s->pods);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct kc_runtime_ops sim_ops = {"simulated", sim_sync,   sim_stop,
                                              sim_list,    sim_forget, NULL,
                                              sim_destroy, NULL /* no processes to exec in */};

struct kc_runtime *kc_runtime_sim_new(int ready_delay_ms)
{
    struct sim_runtime *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base.ops = &sim_ops;
    s->ready_delay_ms = ready_delay_ms;
    pthread_mutex_init(&s->mu, NULL);
    s->pods = json_object();
    return &s->base;
}
