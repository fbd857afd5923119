/* Leader election on a Lease. Expiry is judged as client-go judges it: by when this
 * process last saw the Lease record change (a local monotonic clock), not by comparing
 * renewTime with the local wall clock, so clock skew between hosts cannot elect two. */
#include "client/leader.h"

#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct kc_leader {
    struct kc_client *c;
    struct kc_leader_config cfg;
    char *ns, *name, *identity;
    pthread_t thread;
    volatile int stop;
    volatile int leader;
    /* what we last saw */
    char observed_rv[64];
    char observed_holder[256];
    double observed_at;
    double last_renew; /* monotonic time of our last successful renew */
};

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void now_micro(char *buf, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    kc_time_rfc3339_micro(&ts, buf, n);
}

/* Builds the spec we write when holding the Lease. */
static void fill_spec(struct kc_leader *l, json_t *spec, bool acquire)
{
    char now[64];
    now_micro(now, sizeof now);
    json_object_set_new(spec, "holderIdentity", json_string(l->identity));
    json_object_set_new(spec, "leaseDurationSeconds",
                        json_integer((l->cfg.lease_duration_ms + 999) / 1000));
    json_object_set_new(spec, "renewTime", json_string(now));
    if (acquire) {
        json_object_set_new(spec, "acquireTime", json_string(now));
        long long tr = json_integer_value(json_object_get(spec, "leaseTransitions"));
        json_object_set_new(spec, "leaseTransitions", json_integer(tr + 1));
    }
}

/* One round: try to acquire or renew. Returns true when we hold the Lease now. */
static bool try_acquire_or_renew(struct kc_leader *l)
{
    json_t *lease = NULL, *out = NULL;
    bool held = false;
    int rc = kc_get(l->c, &KC_GVR_LEASES, l->ns, l->name, &lease);
    if (rc == 404) {
        json_t *obj =
            json_pack("{s:s,s:s,s:{s:s,s:s},s:{}}", "apiVersion", "coordination.k8s.io/v1", "kind",
                      "Lease", "metadata", "name", l->name, "namespace", l->ns, "spec");
        json_t *spec = json_object_get(obj, "spec");
        json_object_set_new(spec, "leaseTransitions", json_integer(-1));
        fill_spec(l, spec, true);
        rc = kc_create(l->c, &KC_GVR_LEASES, l->ns, obj, &out);
        json_decref(obj);
        held = rc == 201 || rc == 200;
        goto out;
    }
    if (rc != 200 || !lease)
        goto out;
    const char *holder = kc_json_str(lease, "spec.holderIdentity");
    const char *rv = kc_json_str(lease, "metadata.resourceVersion");
    if (!holder)
        holder = "";
    if (!rv)
        rv = "";
    /* A changed record restarts the expiry clock. */
    if (strcmp(rv, l->observed_rv) != 0) {
        snprintf(l->observed_rv, sizeof l->observed_rv, "%s", rv);
        snprintf(l->observed_holder, sizeof l->observed_holder, "%s", holder);
        l->observed_at = mono();
    }
    long long dur = kc_json_int(lease, "spec.leaseDurationSeconds", 15);
    bool mine = strcmp(holder, l->identity) == 0;
    bool expired = holder[0] == 0 || mono() > l->observed_at + (double)dur;
    if (!mine && !expired)
        goto out;
    json_t *upd = json_deep_copy(lease);
    fill_spec(l, kc_json_ensure_obj(upd, "spec"), !mine);
    rc = kc_update(l->c, &KC_GVR_LEASES, l->ns, upd, NULL, &out);
    json_decref(upd);
    held = rc == 200;
out:
    if (held && out) {
        const char *nrv = kc_json_str(out, "metadata.resourceVersion");
        snprintf(l->observed_rv, sizeof l->observed_rv, "%s", nrv ? nrv : "");
        snprintf(l->observed_holder, sizeof l->observed_holder, "%s", l->identity);
        l->observed_at = mono();
    }
    json_decref(lease);
    json_decref(out);
    return held;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *leader_main(void *arg)
{
    struct kc_leader *l = arg;
    while (!l->stop) {
        bool held = try_acquire_or_renew(l);
        double now = mono();
        if (held) {
            l->last_renew = now;
            if (!l->leader) {
                l->leader = 1;
                fprintf(stderr, "leaderelection: %s acquired lease %s/%s\n", l->identity, l->ns,
                        l->name);
                if (l->cfg.on_started_leading)
                    l->cfg.on_started_leading(l->cfg.ctx);
            }
        } else if (l->leader && now - l->last_renew > l->cfg.renew_deadline_ms / 1000.0) {
            l->leader = 0;
            fprintf(stderr, "leaderelection: %s lost lease %s/%s\n", l->identity, l->ns, l->name);
            if (l->cfg.on_stopped_leading)
                l->cfg.on_stopped_leading(l->cfg.ctx);
        }
        for (int w = 0; w < l->cfg.retry_period_ms && !l->stop; w += 50)
            sleep_ms(50);
    }
    return NULL;
}

struct kc_leader *kc_leader_start(struct kc_client *c, const struct kc_leader_config *cfg)
{
    struct kc_leader *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->c = c;
    l->cfg = *cfg;
    l->ns = strdup(cfg->ns);
    l->name = strdup(cfg->name);
    l->identity = strdup(cfg->identity);
    if (l->cfg.lease_duration_ms <= 0)
        l->cfg.lease_duration_ms = 15000;
    if (l->cfg.renew_deadline_ms <= 0)
        l->cfg.renew_deadline_ms = 10000;
    if (l->cfg.retry_period_ms <= 0)
        l->cfg.retry_period_ms = 2000;
    if (pthread_create(&l->thread, NULL, leader_main, l) != 0) {
        free(l->ns);
        free(l->name);
        free(l->identity);
        free(l);
        return NULL;
    }
    return l;
}

bool kc_leader_is_leader(struct kc_leader *l)
{
    return l->leader != 0;
}

void kc_leader_stop(struct kc_leader *l)
{
    if (l->stop)
        return;
    l->stop = 1;
    pthread_join(l->thread, NULL);
    if (!l->leader)
        return;
    /* Release: an empty holder lets the next candidate take over at once. */
    json_t *lease = NULL, *out = NULL;
    if (kc_get(l->c, &KC_GVR_LEASES, l->ns, l->name, &lease) == 200 &&
        strcmp(kc_json_str(lease, "spec.holderIdentity") ? kc_json_str(lease, "spec.holderIdentity")
                                                         : "",
               l->identity) == 0) {
        json_t *spec = kc_json_ensure_obj(lease, "spec");
        json_object_set_new(spec, "holderIdentity", json_string(""));
        json_object_set_new(spec, "leaseDurationSeconds", json_integer(1));
        kc_update(l->c, &KC_GVR_LEASES, l->ns, lease, NULL, &out);
    }
    json_decref(lease);
    json_decref(out);
    l->leader = 0;
}

void kc_leader_free(struct kc_leader *l)
{
    if (!l)
        return;
    kc_leader_stop(l);
    free(l->ns);
    free(l->name);
    free(l->identity);
    free(l);
}
