/* [sig-api-machinery] Watchers (test/e2e/apimachinery/watch.go upstream). Each watch runs on
 * a thread of its own through kc_client_watch and records its events; the test waits for the
 * events it expects. A watch upstream opens "now" (no resourceVersion); here it opens at the
 * resourceVersion of a list made just before, which is the same point in time without the race
 * of not knowing when the stream is established. Upstream checks that a watch did NOT see an
 * event by waiting 10 s after each step; here every such check is made once at the end, over
 * everything the watch received, after the last step had time to arrive. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LABEL_KEY "watch-this-configmap"

struct watch {
    struct kc_client *client;
    char path[768];
    pthread_t thread;
    bool running;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    json_t *events; /* owned: [{"type":..., "object":...}] */
    size_t cursor;  /* the next event expect_event looks at */
    atomic_int stop;
    bool ended;
    int code;
};

static int on_event(void *ctx, const char *type, json_t *object)
{
    struct watch *w = ctx;
    pthread_mutex_lock(&w->mu);
    json_array_append_new(w->events, json_pack("{s:s, s:O}", "type", type, "object", object));
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return atomic_load(&w->stop);
}

static void *watch_thread(void *arg)
{
    struct watch *w = arg;
    int code = kc_client_watch(w->client, w->path, on_event, w);
    pthread_mutex_lock(&w->mu);
    w->ended = true;
    w->code = code;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* The resourceVersion of the list of ConfigMaps in the test's namespace, into rv. */
static bool list_rv(struct kc_conf *t, char *rv, size_t len)
{
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list, "/api/v1/namespaces/%s/configmaps",
                            kc_conf_ns(t));
    snprintf(rv, len, "%s", kc_json_str(list, "metadata.resourceVersion") ?: "");
    json_decref(list);
    if (code != 200 || !rv[0]) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "listing ConfigMaps: HTTP %d", code);
        return false;
    }
    return true;
}

/* Starts a watch on the namespace's ConfigMaps from rv, selecting label LABEL_KEY in
 * (values, comma separated) when values is not NULL. */
static bool watch_start(struct kc_conf *t, struct watch *w, const char *rv, const char *values)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    w->events = json_array();
    w->client = kc_conf_client(t);
    char sel[256] = "", esc[384];
    if (values) {
        snprintf(sel, sizeof sel, LABEL_KEY " in (%s)", values);
        kc_client_query_escape(esc, sizeof esc, sel);
        snprintf(sel, sizeof sel, "&labelSelector=%s", esc);
    }
    snprintf(w->path, sizeof w->path,
             "/api/v1/namespaces/%s/configmaps?watch=1&resourceVersion=%s&timeoutSeconds=120%s",
             kc_conf_ns(t), rv, sel);
    kc_conf_log(t, "WATCH %s", w->path);
    if (pthread_create(&w->thread, NULL, watch_thread, w) != 0) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "cannot start a watch thread");
        return false;
    }
    w->running = true;
    return true;
}

/* Ends the watch: it stops at its next event (the caller makes one), or at its timeout. */
static void watch_stop(struct watch *w)
{
    if (w->running) {
        atomic_store(&w->stop, 1);
        pthread_join(w->thread, NULL);
        w->running = false;
    }
    json_decref(w->events);
    w->events = NULL;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

/* Whether event e is of type and (when object is not NULL) of that object: same name,
 * resourceVersion, labels and data. */
static bool same_object(const json_t *o, const json_t *object)
{
    const json_t *m1 = json_object_get(o, "metadata"), *m2 = json_object_get(object, "metadata");
    return json_equal(json_object_get(m1, "name"), json_object_get(m2, "name")) &&
           json_equal(json_object_get(m1, "resourceVersion"),
                      json_object_get(m2, "resourceVersion")) &&
           (json_equal(json_object_get(m1, "labels"), json_object_get(m2, "labels")) ||
            (!json_object_size(json_object_get(m1, "labels")) &&
             !json_object_size(json_object_get(m2, "labels")))) &&
           (json_equal(json_object_get(o, "data"), json_object_get(object, "data")) ||
            (!json_object_size(json_object_get(o, "data")) &&
             !json_object_size(json_object_get(object, "data"))));
}

static bool event_matches(const json_t *e, const char *type, const json_t *object)
{
    if (strcmp(kc_json_str(e, "type") ?: "", type) != 0)
        return false;
    return !object || same_object(json_object_get(e, "object"), object);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits up to timeout_ms for an event matching type/object at or after the cursor, skipping
 * others (as upstream's waitForEvent); the cursor moves past it. Returns the event's object (a
 * new reference) or NULL. */
static json_t *wait_event(struct watch *w, const char *type, const json_t *object, int timeout_ms)
{
    struct timespec until;
    deadline_in(&until, timeout_ms);
    json_t *found = NULL; /* owned */
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->cursor < json_array_size(w->events)) {
            json_t *e = json_array_get(w->events, w->cursor++);
            if (event_matches(e, type, object)) {
                found = json_incref(json_object_get(e, "object"));
                goto out;
            }
        }
        if (w->ended || pthread_cond_timedwait(&w->cv, &w->mu, &until) != 0)
            break;
    }
out:
    pthread_mutex_unlock(&w->mu);
    return found;
}

#define EXPECT_EVENT(t, w, wname, type, object)                                                    \
    do {                                                                                           \
        json_t *got_ = wait_event((w), (type), (object), 60000);                                   \
        EXPECT((t), got_, "timed out waiting for a %s notification%s%s on watch %s", (type),       \
               (object) ? " of " : "", (object) ? kc_json_str((object), "metadata.name") : "",     \
               (wname));                                                                           \
        json_decref(got_);                                                                         \
    } while (0)

/* Fails when the watch received an event of that object name (any type). */
static void expect_none_of(struct kc_conf *t, struct watch *w, const char *wname, const char *name)
{
    pthread_mutex_lock(&w->mu);
    size_t i;
    json_t *e;
    json_array_foreach (w->events, i, e) {
        if (!strcmp(kc_json_str(e, "object.metadata.name") ?: "", name))
            kc_conf_fail_at(t, __FILE__, __LINE__, "unexpected %s notification of %s on watch %s",
                            kc_json_str(e, "type") ?: "?", name, wname);
    }
    pthread_mutex_unlock(&w->mu);
}

static json_t *create_cm(struct kc_conf *t, const char *name, const char *label)
{
    json_t *cm = label ? kc_conf_json(t,
                                      "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"" LABEL_KEY
                                      "\":\"%s\"}}}",
                                      name, label)
                       : kc_conf_json(t, "{\"metadata\":{\"name\":\"%s\"}}", name);
    json_t *out = NULL; /* owned, returned */
    int code = cm ? kc_conf_call(t, "POST", cm, NULL, &out, "/api/v1/namespaces/%s/configmaps",
                                 kc_conf_ns(t))
                  : -1;
    json_decref(cm);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "failed to create configmap %s in namespace %s: HTTP %d", name,
                        kc_conf_ns(t), code);
        json_decref(out);
        return NULL;
    }
    return out;
}

/* Get, change (data key=value, or the label's value when key is NULL) and update. Returns the
 * updated object (a new reference) or NULL. */
static json_t *update_cm(struct kc_conf *t, const char *name, const char *key, const char *value)
{
    json_t *cm = NULL, *out = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &cm, "/api/v1/namespaces/%s/configmaps/%s",
                            kc_conf_ns(t), name);
    if (code == 200) {
        json_t *meta = json_object_get(cm, "metadata");
        if (key) {
            if (!json_is_object(json_object_get(cm, "data")))
                json_object_set_new(cm, "data", json_object());
            json_object_set_new(json_object_get(cm, "data"), key, json_string(value));
        } else {
            if (!json_is_object(json_object_get(meta, "labels")))
                json_object_set_new(meta, "labels", json_object());
            json_object_set_new(json_object_get(meta, "labels"), LABEL_KEY, json_string(value));
        }
        code = kc_conf_call(t, "PUT", cm, NULL, &out, "/api/v1/namespaces/%s/configmaps/%s",
                            kc_conf_ns(t), name);
    }
    json_decref(cm);
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "failed to update configmap %s in namespace %s: HTTP %d", name,
                        kc_conf_ns(t), code);
        json_decref(out);
        return NULL;
    }
    return out;
}

static bool delete_cm(struct kc_conf *t, const char *name)
{
    int code = kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s/configmaps/%s",
                            kc_conf_ns(t), name);
    if (code != 200 && code != 202) {
        kc_conf_fail_at(t, __FILE__, __LINE__,
                        "failed to delete configmap %s in namespace %s: HTTP %d", name,
                        kc_conf_ns(t), code);
        return false;
    }
    return true;
}

/* Makes an event that each watch selecting label value sees, so that a stopping watch ends. */
static void kick(struct kc_conf *t, const char *label)
{
    char name[64];
    kc_conf_unique(t, "kick", name, sizeof name);
    json_t *cm = label ? kc_conf_json(t,
                                      "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"" LABEL_KEY
                                      "\":\"%s\"}}}",
                                      name, label)
                       : kc_conf_json(t, "{\"metadata\":{\"name\":\"%s\"}}", name);
    if (cm)
        kc_conf_call(t, "POST", cm, NULL, NULL, "/api/v1/namespaces/%s/configmaps", kc_conf_ns(t));
    json_decref(cm);
}

static void stop_all(struct kc_conf *t, struct watch *w, size_t n, const char *const *kicks,
                     size_t nkicks)
{
    for (size_t i = 0; i < n; i++)
        atomic_store(&w[i].stop, 1);
    for (size_t i = 0; i < nkicks; i++)
        kick(t, kicks[i]);
    for (size_t i = 0; i < n; i++)
        watch_stop(&w[i]);
}

#define LABEL_A "multiple-watchers-A"
#define LABEL_B "multiple-watchers-B"

/* Watches on label A, label B and A-or-B see the add, updates and delete of the ConfigMaps
 * they select, and only those. */
static void add_update_delete(struct kc_conf *t)
{
    struct watch w[3];
    size_t started = 0;
    char rv[64];
    json_t *a = NULL, *b = NULL; /* owned */
    if (!list_rv(t, rv, sizeof rv))
        return;
    if (!watch_start(t, &w[0], rv, LABEL_A))
        goto out;
    started++;
    if (!watch_start(t, &w[1], rv, LABEL_B))
        goto out;
    started++;
    if (!watch_start(t, &w[2], rv, LABEL_A "," LABEL_B))
        goto out;
    started++;
    struct watch *wa = &w[0], *wb = &w[1], *wab = &w[2];

    a = create_cm(t, "e2e-watch-test-configmap-a", LABEL_A);
    if (!a)
        goto out;
    EXPECT_EVENT(t, wa, "A", "ADDED", a);
    EXPECT_EVENT(t, wab, "A or B", "ADDED", a);
    for (int i = 1; i <= 2; i++) {
        json_decref(a);
        a = update_cm(t, "e2e-watch-test-configmap-a", "mutation", i == 1 ? "1" : "2");
        if (!a)
            goto out;
        EXPECT_EVENT(t, wa, "A", "MODIFIED", a);
        EXPECT_EVENT(t, wab, "A or B", "MODIFIED", a);
    }
    if (!delete_cm(t, "e2e-watch-test-configmap-a"))
        goto out;
    EXPECT_EVENT(t, wa, "A", "DELETED", NULL);
    EXPECT_EVENT(t, wab, "A or B", "DELETED", NULL);

    b = create_cm(t, "e2e-watch-test-configmap-b", LABEL_B);
    if (!b)
        goto out;
    EXPECT_EVENT(t, wb, "B", "ADDED", b);
    EXPECT_EVENT(t, wab, "A or B", "ADDED", b);
    if (!delete_cm(t, "e2e-watch-test-configmap-b"))
        goto out;
    EXPECT_EVENT(t, wb, "B", "DELETED", NULL);
    EXPECT_EVENT(t, wab, "A or B", "DELETED", NULL);

    sleep(2); /* time for any wrong notification to arrive */
    expect_none_of(t, wb, "B", "e2e-watch-test-configmap-a");
    expect_none_of(t, wa, "A", "e2e-watch-test-configmap-b");
out:
    stop_all(t, w, started, (const char *const[]){LABEL_A, LABEL_B}, 2);
    json_decref(a);
    json_decref(b);
}

#define LABEL_FROM_RV "from-resource-version"

/* A watch opened at the resourceVersion of the first of two updates sees the second update
 * and the delete, nothing before. */
static void from_resource_version(struct kc_conf *t)
{
    const char *name = "e2e-watch-test-resource-version";
    json_t *cm = NULL, *first = NULL, *second = NULL; /* owned */
    struct watch w;
    bool started = false;
    cm = create_cm(t, name, LABEL_FROM_RV);
    if (!cm || !(first = update_cm(t, name, "mutation", "1")) ||
        !(second = update_cm(t, name, "mutation", "2")) || !delete_cm(t, name))
        goto out;
    const char *rv = kc_json_str(first, "metadata.resourceVersion") ?: "";
    if (!watch_start(t, &w, rv, LABEL_FROM_RV))
        goto out;
    started = true;
    json_t *got = wait_event(&w, "MODIFIED", NULL, 60000); /* owned */
    EXPECT(t, got && same_object(got, second),
           "the first notification from resourceVersion %s is not the second update (rv %s), but "
           "rv %s",
           rv, kc_json_str(second, "metadata.resourceVersion") ?: "?",
           got ? kc_json_str(got, "metadata.resourceVersion") ?: "?" : "(none)");
    json_decref(got);
    EXPECT_EVENT(t, &w, "from rv", "DELETED", NULL);
    pthread_mutex_lock(&w.mu);
    json_t *e0 = json_array_get(w.events, 0);
    EXPECT(t, e0 && !strcmp(kc_json_str(e0, "type") ?: "", "MODIFIED"),
           "the watch from resourceVersion %s began with a %s notification", rv,
           e0 ? kc_json_str(e0, "type") ?: "?" : "(none)");
    pthread_mutex_unlock(&w.mu);
out:
    if (started)
        stop_all(t, &w, 1, (const char *const[]){LABEL_FROM_RV}, 1);
    json_decref(cm);
    json_decref(first);
    json_decref(second);
}

#define LABEL_RESTART "watch-closed-and-restarted"

/* A watch closed after two notifications and reopened at the resourceVersion of the last one
 * sees the changes made while it was closed. */
static void restart_from_last(struct kc_conf *t)
{
    const char *name = "e2e-watch-test-watch-closed";
    json_t *cm = NULL, *second = NULL, *last = NULL; /* owned */
    struct watch w1, w2;
    bool started1 = false, started2 = false;
    char rv[64];
    if (!list_rv(t, rv, sizeof rv) || !watch_start(t, &w1, rv, LABEL_RESTART))
        goto out;
    started1 = true;
    cm = create_cm(t, name, LABEL_RESTART);
    json_t *first = cm ? update_cm(t, name, "mutation", "1") : NULL; /* owned */
    json_decref(first);
    if (!first)
        goto out;
    EXPECT_EVENT(t, &w1, "first", "ADDED", cm);
    last = wait_event(&w1, "MODIFIED", NULL, 60000);
    if (!last) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "timed out waiting for second watch notification");
        goto out;
    }
    stop_all(t, &w1, 1, (const char *const[]){LABEL_RESTART}, 1);
    started1 = false;
    second = update_cm(t, name, "mutation", "2");
    if (!second)
        goto out;
    if (!watch_start(t, &w2, kc_json_str(last, "metadata.resourceVersion") ?: "", LABEL_RESTART))
        goto out;
    started2 = true;
    if (!delete_cm(t, name))
        goto out;
    EXPECT_EVENT(t, &w2, "restarted", "MODIFIED", second);
    EXPECT_EVENT(t, &w2, "restarted", "DELETED", NULL);
out:
    if (started1)
        stop_all(t, &w1, 1, (const char *const[]){LABEL_RESTART}, 1);
    if (started2)
        stop_all(t, &w2, 1, (const char *const[]){LABEL_RESTART}, 1);
    json_decref(cm);
    json_decref(second);
    json_decref(last);
}

#define LABEL_CHANGED "label-changed-and-restored"

/* An object whose label stops matching the selector is a DELETED notification; changes while
 * it does not match are not seen; matching again is an ADDED notification. */
static void selector_deletion(struct kc_conf *t)
{
    const char *name = "e2e-watch-test-label-changed";
    json_t *cm = NULL, *first = NULL, *changed = NULL, *second = NULL, *restored = NULL,
           *third = NULL; /* owned */
    struct watch w;
    bool started = false;
    char rv[64];
    if (!list_rv(t, rv, sizeof rv) || !watch_start(t, &w, rv, LABEL_CHANGED))
        goto out;
    started = true;
    if (!(cm = create_cm(t, name, LABEL_CHANGED)) ||
        !(first = update_cm(t, name, "mutation", "1")) ||
        !(changed = update_cm(t, name, NULL, "wrong-value")))
        goto out;
    EXPECT_EVENT(t, &w, "label", "ADDED", cm);
    EXPECT_EVENT(t, &w, "label", "MODIFIED", first);
    EXPECT_EVENT(t, &w, "label", "DELETED", NULL);
    if (!(second = update_cm(t, name, "mutation", "2")) ||
        !(restored = update_cm(t, name, NULL, LABEL_CHANGED)) ||
        !(third = update_cm(t, name, "mutation", "3")) || !delete_cm(t, name))
        goto out;
    EXPECT_EVENT(t, &w, "label", "ADDED", restored);
    EXPECT_EVENT(t, &w, "label", "MODIFIED", third);
    EXPECT_EVENT(t, &w, "label", "DELETED", NULL);
    pthread_mutex_lock(&w.mu);
    size_t i;
    json_t *e;
    json_array_foreach (w.events, i, e) {
        const char *erv = kc_json_str(e, "object.metadata.resourceVersion") ?: "";
        EXPECT(t, strcmp(erv, kc_json_str(second, "metadata.resourceVersion") ?: "") != 0,
               "unexpected %s notification of the update made while the object did not meet the "
               "selector (rv %s)",
               kc_json_str(e, "type") ?: "?", erv);
    }
    pthread_mutex_unlock(&w.mu);
out:
    if (started)
        stop_all(t, &w, 1, (const char *const[]){LABEL_CHANGED}, 1);
    json_decref(cm);
    json_decref(first);
    json_decref(changed);
    json_decref(second);
    json_decref(restored);
    json_decref(third);
}

/* ---- concurrent watches ---- */

#define ITERATIONS 100

struct producer {
    struct kc_client *client;
    char ns[64];
    atomic_int stop;
    int failed_code; /* the first unexpected HTTP status, or 0 */
};

/* Creates, updates and deletes ConfigMaps cm-N every 5 ms or more until stopped (as upstream's
 * produceConfigMapEvents). */
static void *produce(void *arg)
{
    struct producer *p = arg;
    int existing[4096], n = 0, next = 0;
    unsigned seed = (unsigned)time(NULL);
    char path[256];
    while (!atomic_load(&p->stop) && next < 4096) {
        int op = n == 0 ? 0 : rand_r(&seed) % 3;
        json_t *cm = NULL; /* owned */
        int code = 0, want = 0;
        if (op == 0) {
            char nm[32];
            snprintf(nm, sizeof nm, "cm-%d", next);
            cm = json_pack("{s:{s:s}}", "metadata", "name", nm);
            snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", p->ns);
            code = kc_client_do(p->client, "POST", path, cm, NULL, NULL);
            want = 201;
            existing[n++] = next++;
        } else {
            int idx = rand_r(&seed) % n;
            snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps/cm-%d", p->ns,
                     existing[idx]);
            if (op == 1) {
                char nm[32];
                snprintf(nm, sizeof nm, "cm-%d", existing[idx]);
                cm = json_pack("{s:{s:s}}", "metadata", "name", nm);
                code = kc_client_do(p->client, "PUT", path, cm, NULL, NULL);
            } else {
                code = kc_client_do(p->client, "DELETE", path, NULL, NULL, NULL);
                existing[idx] = existing[--n];
            }
            want = 200;
        }
        json_decref(cm);
        if (code != want && !p->failed_code)
            p->failed_code = code;
        usleep(5000);
    }
    return NULL;
}

/* The next event of the watch after its cursor, within 10 s: its object (new reference). */
static json_t *next_event(struct watch *w)
{
    struct timespec until;
    deadline_in(&until, 10000);
    json_t *found = NULL; /* owned */
    pthread_mutex_lock(&w->mu);
    while (w->cursor >= json_array_size(w->events) && !w->ended &&
           pthread_cond_timedwait(&w->cv, &w->mu, &until) == 0)
        ;
    if (w->cursor < json_array_size(w->events))
        found = json_incref(json_object_get(json_array_get(w->events, w->cursor++), "object"));
    pthread_mutex_unlock(&w->mu);
    return found;
}

/* Watches started, one after another, from the resourceVersion of each event the first watch
 * receives all receive the following events with the same resourceVersions in the same
 * order. */
static void concurrent_order(struct kc_conf *t)
{
    struct watch *w = calloc(ITERATIONS, sizeof *w);
    struct producer p = {.client = kc_conf_client(t)};
    pthread_t producer;
    bool producing = false;
    size_t started = 0;
    char rv[64];
    if (!w || !list_rv(t, rv, sizeof rv))
        goto out;
    snprintf(p.ns, sizeof p.ns, "%s", kc_conf_ns(t));
    if (pthread_create(&producer, NULL, produce, &p) != 0) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "cannot start the producer thread");
        goto out;
    }
    producing = true;
    for (int i = 0; i < ITERATIONS && !kc_conf_failed(t); i++) {
        if (!watch_start(t, &w[i], rv, NULL))
            break;
        started++;
        json_t *e = next_event(&w[0]); /* owned */
        if (!e) {
            kc_conf_fail_at(t, __FILE__, __LINE__, "timed out waiting for watch event");
            break;
        }
        snprintf(rv, sizeof rv, "%s", kc_json_str(e, "metadata.resourceVersion") ?: "");
        json_decref(e);
        for (size_t j = 1; j < started; j++) {
            e = next_event(&w[j]);
            const char *got = e ? kc_json_str(e, "metadata.resourceVersion") ?: "" : NULL;
            if (!got)
                kc_conf_fail_at(t, __FILE__, __LINE__, "timed out waiting for watch event");
            else
                EXPECT(t, !strcmp(got, rv), "resource version mismatch, expected %s but got %s", rv,
                       got);
            json_decref(e);
        }
    }
out:
    if (producing) {
        for (size_t i = 0; i < started; i++)
            atomic_store(&w[i].stop, 1);
        atomic_store(&p.stop, 1);
        pthread_join(producer, NULL);
        EXPECT(t, p.failed_code == 0, "a ConfigMap write of the producer failed: HTTP %d",
               p.failed_code);
    }
    if (w)
        stop_all(t, w, started, (const char *const[]){NULL}, started ? 1 : 0);
    free(w);
}

const struct kc_conf_test kc_conf_tests_watch[] = {
    {"[sig-api-machinery] Watchers should observe add, update, and delete watch notifications on "
     "configmaps [Conformance]",
     add_update_delete, 0},
    {"[sig-api-machinery] Watchers should be able to start watching from a specific resource "
     "version [Conformance]",
     from_resource_version, 0},
    {"[sig-api-machinery] Watchers should be able to restart watching from the last resource "
     "version observed by the previous watch [Conformance]",
     restart_from_last, 0},
    {"[sig-api-machinery] Watchers should observe an object deletion if it stops meeting the "
     "requirements of the selector [Conformance]",
     selector_deletion, 0},
    {"[sig-api-machinery] Watchers should receive events on concurrent watches in same order "
     "[Conformance]",
     concurrent_order, 0},
    {NULL, NULL, 0},
};
