/* Event recorder: callers queue events; one thread sends them. Repeats of an event for
 * the same object, reason and message are folded into the first (count, lastTimestamp)
 * as client-go's event correlator does, so a controller retrying a failing action does
 * not flood the API. */
#include "client/events.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RECORDER_QUEUE_MAX 1000
#define FOLD_WINDOW_SECONDS 600
/* client-go's EventSourceObjectSpamFilter: per source and involved object, a token bucket
 * of 25 events refilled at one per five minutes; events beyond it are dropped. A
 * ReplicaSet creating 10,000 pods records 25 SuccessfulCreate events, not 10,000. */
#define SPAM_BURST 25.0
#define SPAM_REFILL_PER_S (1.0 / 300.0)
#define SPAM_KEYS_MAX 4096 /* upstream's LRU size; here the map is cleared when full */

struct pending {
    json_t *event; /* owned */
    struct pending *next;
};

struct kc_recorder {
    struct kc_client *c;
    char *component;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct pending *head, *tail;
    size_t len;
    int stop;
    pthread_t thread;
    /* fold key -> {name, namespace, count, first, at} */
    json_t *seen;
    /* spam key -> [tokens, last refill (monotonic s)]; guarded by mu */
    json_t *spam;
};

static json_t *take(struct kc_recorder *r)
{
    pthread_mutex_lock(&r->mu);
    while (!r->head && !r->stop)
        pthread_cond_wait(&r->cv, &r->mu);
    json_t *ev = NULL;
    if (r->head) {
        struct pending *p = r->head;
        r->head = p->next;
        if (!r->head)
            r->tail = NULL;
        r->len--;
        ev = p->event;
        free(p);
    }
    pthread_mutex_unlock(&r->mu);
    return ev;
}

/* Sends one event, folding repeats. ev is owned by the caller. */
static void send_event(struct kc_recorder *r, json_t *ev)
{
    char key[2048];
    const char *ns = kc_json_str(ev, "metadata.namespace");
    snprintf(key, sizeof key, "%s|%s|%s|%s", kc_json_str(ev, "involvedObject.uid") ?: "",
             kc_json_str(ev, "involvedObject.name") ?: "", kc_json_str(ev, "reason") ?: "",
             kc_json_str(ev, "message") ?: "");
    json_t *prev = json_object_get(r->seen, key);
    time_t now = time(NULL);
    if (prev &&
        now - (time_t)json_integer_value(json_object_get(prev, "at")) < FOLD_WINDOW_SECONDS) {
        long long count = json_integer_value(json_object_get(prev, "count")) + 1;
        json_t *patch = json_pack("{s:I,s:O}", "count", (json_int_t)count, "lastTimestamp",
                                  json_object_get(ev, "lastTimestamp"));
        int rc = kc_patch(r->c, &KC_GVR_EVENTS, ns, kc_json_str(prev, "name"), NULL,
                          "application/merge-patch+json", patch, NULL);
        json_decref(patch);
        if (rc == 200) {
            json_object_set_new(prev, "count", json_integer(count));
            json_object_set_new(prev, "at", json_integer(now));
            return;
        }
        /* gone (expired or deleted): create anew */
    }
    int rc = kc_create(r->c, &KC_GVR_EVENTS, ns, ev, NULL); /* the answer is not needed */
    if (rc == 201 || rc == 200) {
        if (json_object_size(r->seen) > 4096)
            json_object_clear(r->seen); /* bounded memory; folding restarts */
        json_object_set_new(r->seen, key,
                            json_pack("{s:s,s:I,s:I}", "name",
                                      kc_json_str(ev, "metadata.name") ?: "", "count",
                                      (json_int_t)1, "at", (json_int_t)now));
    }
}

static void *recorder_main(void *arg)
{
    struct kc_recorder *r = arg;
    json_t *ev;
    while ((ev = take(r)) != NULL) {
        send_event(r, ev);
        json_decref(ev);
    }
    return NULL;
}

struct kc_recorder *kc_recorder_new(struct kc_client *c, const char *component)
{
    struct kc_recorder *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->c = c;
    r->component = strdup(component);
    r->seen = json_object();
    r->spam = json_object();
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->cv, NULL);
    if (pthread_create(&r->thread, NULL, recorder_main, r) != 0) {
        json_decref(r->seen);
        json_decref(r->spam);
        free(r->component);
        free(r);
        return NULL;
    }
    return r;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Takes a token from the bucket of (our component, obj); false when it is empty (spam).
 * r->mu held. */
static bool spam_allow(struct kc_recorder *r, const json_t *obj)
{
    char key[1024];
    static const char *const fields[] = {"kind", "metadata.namespace", "metadata.name",
                                         "metadata.uid", "apiVersion"};
    size_t n = (size_t)snprintf(key, sizeof key, "%s", r->component);
    for (size_t i = 0; i < sizeof fields / sizeof *fields && n < sizeof key; i++)
        n += (size_t)snprintf(key + n, sizeof key - n, "|%s", kc_json_str(obj, fields[i]) ?: "");
    double now = mono_s(), tokens = SPAM_BURST;
    json_t *b = json_object_get(r->spam, key);
    if (b) {
        double last = json_real_value(json_array_get(b, 1));
        tokens = json_real_value(json_array_get(b, 0)) + (now - last) * SPAM_REFILL_PER_S;
        if (tokens > SPAM_BURST)
            tokens = SPAM_BURST;
    } else if (json_object_size(r->spam) >= SPAM_KEYS_MAX) {
        json_object_clear(r->spam); /* bounded memory; the buckets start full again */
    }
    if (tokens < 1.0) {
        json_object_set_new(r->spam, key, json_pack("[f,f]", tokens, now));
        return false;
    }
    json_object_set_new(r->spam, key, json_pack("[f,f]", tokens - 1.0, now));
    return true;
}

void kc_event(struct kc_recorder *r, const json_t *obj, const char *type, const char *reason,
              const char *fmt, ...)
{
    if (!r || !obj)
        return;
    pthread_mutex_lock(&r->mu);
    /* a full queue drops the event below anyway: do not build it */
    bool allowed = !r->stop && r->len < RECORDER_QUEUE_MAX && spam_allow(r, obj);
    pthread_mutex_unlock(&r->mu);
    if (!allowed)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    const char *name = kc_json_str(obj, "metadata.name");
    const char *ns = kc_json_str(obj, "metadata.namespace");
    if (!name)
        return;
    if (!ns || !ns[0])
        ns = "default"; /* events about cluster-scoped objects live in default */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    char evname[512], stamp[40];
    /* "<object>.<nanoseconds in hex>", unique enough and as upstream names them */
    snprintf(evname, sizeof evname, "%s.%llx", name,
             (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec);
    kc_time_rfc3339(ts.tv_sec, stamp, sizeof stamp);

    json_t *involved = json_object();
    static const char *const fields[] = {"kind", "apiVersion"};
    for (size_t i = 0; i < 2; i++)
        if (kc_json_str(obj, fields[i]))
            json_object_set_new(involved, fields[i], json_string(kc_json_str(obj, fields[i])));
    json_object_set_new(involved, "name", json_string(name));
    if (kc_json_str(obj, "metadata.namespace"))
        json_object_set_new(involved, "namespace",
                            json_string(kc_json_str(obj, "metadata.namespace")));
    if (kc_json_str(obj, "metadata.uid"))
        json_object_set_new(involved, "uid", json_string(kc_json_str(obj, "metadata.uid")));
    if (kc_json_str(obj, "metadata.resourceVersion"))
        json_object_set_new(involved, "resourceVersion",
                            json_string(kc_json_str(obj, "metadata.resourceVersion")));

    json_t *ev = json_pack(
        "{s:s,s:s,s:{s:s,s:s},s:o,s:s,s:s,s:{s:s},s:s,s:s,s:i,s:s,s:s}", "apiVersion", "v1", "kind",
        "Event", "metadata", "name", evname, "namespace", ns, "involvedObject", involved, "reason",
        reason, "message", msg, "source", "component", r->component, "firstTimestamp", stamp,
        "lastTimestamp", stamp, "count", 1, "type", type, "reportingComponent", r->component);
    if (!ev)
        return;
    pthread_mutex_lock(&r->mu);
    if (r->stop || r->len >= RECORDER_QUEUE_MAX) {
        /* Dropping events beats blocking a controller on a slow apiserver. */
        pthread_mutex_unlock(&r->mu);
        json_decref(ev);
        return;
    }
    struct pending *p = malloc(sizeof *p);
    if (!p) {
        pthread_mutex_unlock(&r->mu);
        json_decref(ev);
        return;
    }
    p->event = ev;
    p->next = NULL;
    if (r->tail)
        r->tail->next = p;
    else
        r->head = p;
    r->tail = p;
    r->len++;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

void kc_recorder_free(struct kc_recorder *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    json_decref(r->seen);
    json_decref(r->spam);
    free(r->component);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->cv);
    free(r);
}
