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
    json_t *pods; /* uid -> {"started": t, "containers": [names]} */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int sim_start(struct kc_runtime *rt, const json_t *pod, const char *ip, char *reason,
                     size_t reasonlen, char *msg, size_t msglen)
{
    (void)ip, (void)reason, (void)reasonlen, (void)msg, (void)msglen;
    struct sim_runtime *s = (struct sim_runtime *)rt;
    const char *uid = kc_json_str(pod, "metadata.uid");
    if (!uid)
        return -1;
    json_t *names = json_array();
    size_t i;
    json_t *c;
    json_array_foreach (kc_json_path(pod, "spec.containers"), i, c)
        json_array_append_new(names, json_string(kc_json_str(c, "name") ?: ""));
    pthread_mutex_lock(&s->mu);
    if (!json_object_get(s->pods, uid))
        json_object_set_new(s->pods, uid,
                            json_pack("{s:f,s:o}", "started", now_s(), "containers", names));
    else
        json_decref(names);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static int sim_state(struct kc_runtime *rt, const char *uid, struct kc_container_state *out,
                     int max)
{
    struct sim_runtime *s = (struct sim_runtime *)rt;
    int n = -1;
    pthread_mutex_lock(&s->mu);
    json_t *p = json_object_get(s->pods, uid);
    if (p) {
        double started = json_real_value(json_object_get(p, "started"));
        bool ready = (now_s() - started) * 1000.0 >= s->ready_delay_ms;
        size_t i;
        json_t *name;
        n = 0;
        json_array_foreach (json_object_get(p, "containers"), i, name) {
            if (n >= max)
                break;
            struct kc_container_state *c = &out[n++];
            memset(c, 0, sizeof *c);
            snprintf(c->name, sizeof c->name, "%s", json_string_value(name));
            snprintf(c->id, sizeof c->id, "simulated://%.40s-%.60s", uid, c->name);
            c->running = true;
            c->started = true;
            c->ready = ready;
            c->started_at = started;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

static int sim_stop(struct kc_runtime *rt, const char *uid, long grace_seconds)
{
    (void)grace_seconds; /* nothing runs, so nothing needs the grace period */
    struct sim_runtime *s = (struct sim_runtime *)rt;
    pthread_mutex_lock(&s->mu);
    json_object_del(s->pods, uid);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void sim_destroy(struct kc_runtime *rt)
{
    struct sim_runtime *s = (struct sim_runtime *)rt;
    json_decref(s->pods);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static const struct kc_runtime_ops sim_ops = {"simulated", sim_start, sim_state, sim_stop,
                                              sim_destroy};

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
