/* Storage and watch hub: CAS semantics, revisions, the change log window, consistent
 * pagination at an older revision, restart with replay, and group commit under
 * concurrent writers. */
#include "apiserver/storage/storage.h"
#include "apiserver/watch/watch_hub.h"
#include "check.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static json_t *obj(const char *name, int v)
{
    return json_pack("{s:s, s:{s:s}, s:i}", "kind", "ConfigMap", "metadata", "name", name, "v", v);
}

static int put(struct kc_storage *s, enum kc_write_type t, const char *key, json_t *o,
               uint64_t expect)
{
    struct kc_write w = {.type = t, .key = key, .obj = o, .expect_rev = expect};
    return kc_storage_write(s, &w);
}

struct collected {
    char names[64][64];
    int n;
};

static int collect(void *ctx, const char *key, const char *json, size_t len, uint64_t rev)
{
    struct collected *c = ctx;
    json_t *o = json_loadb(json, len, 0, NULL);
    snprintf(c->names[c->n++], 64, "%s=%lld",
             json_string_value(json_object_get(json_object_get(o, "metadata"), "name")),
             (long long)json_integer_value(json_object_get(o, "v")));
    json_decref(o);
    return c->n >= 64;
}

struct writer_arg {
    struct kc_storage *s;
    int id;
    int ok;
};

static void *writer(void *p)
{
    struct writer_arg *a = p;
    for (int i = 0; i < 50; i++) {
        char key[64];
        snprintf(key, sizeof key, "/registry/core/configmaps/w/%d-%d", a->id, i);
        json_t *o = obj(key, i);
        if (put(a->s, KC_WRITE_CREATE, key, o, 0) == 0)
            a->ok++;
        json_decref(o);
    }
    return NULL;
}

struct waiter_arg {
    struct kc_watch_hub *hub;
    uint64_t after;
    int n;
    long ms;
};

/* Waits (up to 2 s) for secrets after wa->after: how many came back, and how long it took. */
static void *secret_waiter(void *p)
{
    struct waiter_arg *wa = p;
    struct kc_event *ev[16];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    wa->n = kc_hub_wait(wa->hub, &wa->after, "/registry/core/secrets/", ev, 16, 2000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    wa->ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    for (int i = 0; i < wa->n; i++)
        kc_event_unref(ev[i]);
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/kubec-test-storage-XXXXXX";
    char err[256];
    if (!mkdtemp(dir))
        return 1;
    struct kc_watch_hub *hub = kc_hub_new(16);
    struct kc_storage_options opt = {.window = 16, .no_sync = true};
    struct kc_storage *s;
    CHECK(kc_storage_open_lmdb(dir, &opt, hub, &s, err, sizeof err) == 0);

    json_t *a = obj("a", 1);
    CHECK_INT(put(s, KC_WRITE_CREATE, "/registry/core/configmaps/ns/a", a, 0), KC_STORAGE_OK);
    CHECK_INT(kc_storage_revision(s), 1);
    CHECK_STR(json_string_value(json_object_get(json_object_get(a, "metadata"), "resourceVersion")),
              "1");
    json_t *a2 = obj("a", 2);
    CHECK_INT(put(s, KC_WRITE_CREATE, "/registry/core/configmaps/ns/a", a2, 0), KC_STORAGE_EXISTS);
    CHECK_INT(put(s, KC_WRITE_UPDATE, "/registry/core/configmaps/ns/a", a2, 5),
              KC_STORAGE_CONFLICT);
    CHECK_INT(put(s, KC_WRITE_UPDATE, "/registry/core/configmaps/ns/a", a2, 1), KC_STORAGE_OK);
    CHECK_INT(kc_storage_revision(s), 2);
    json_t *b = obj("b", 1);
    CHECK_INT(put(s, KC_WRITE_UPDATE, "/registry/core/configmaps/ns/b", b, 0),
              KC_STORAGE_NOT_FOUND);
    CHECK_INT(put(s, KC_WRITE_CREATE, "/registry/core/configmaps/ns/b", b, 0), KC_STORAGE_OK);
    json_t *c = obj("c", 1);
    CHECK_INT(put(s, KC_WRITE_CREATE, "/registry/core/configmaps/ns/c", c, 0), KC_STORAGE_OK);
    /* rev 4 now: a=2, b=1, c=1. Delete b, modify c. */
    json_t *b_last = obj("b", 1);
    CHECK_INT(put(s, KC_WRITE_DELETE, "/registry/core/configmaps/ns/b", b_last, 0), KC_STORAGE_OK);
    json_t *c2 = obj("c", 2);
    CHECK_INT(put(s, KC_WRITE_UPDATE, "/registry/core/configmaps/ns/c", c2, 0), KC_STORAGE_OK);
    json_t *d = obj("d", 1);
    CHECK_INT(put(s, KC_WRITE_CREATE, "/registry/core/configmaps/ns/d", d, 0), KC_STORAGE_OK);
    CHECK_INT(kc_storage_revision(s), 7);

    /* current listing */
    struct collected now = {0};
    uint64_t snap;
    CHECK_INT(kc_storage_list(s, "/registry/core/configmaps/ns/", NULL, 0, collect, &now, &snap),
              0);
    CHECK_INT(snap, 7);
    CHECK_INT(now.n, 3);
    CHECK_STR(now.names[0], "a=2");
    CHECK_STR(now.names[1], "c=2");
    CHECK_STR(now.names[2], "d=1");

    /* the same listing as of revision 4, and a page of it after "a" */
    struct collected old = {0};
    CHECK_INT(kc_storage_list(s, "/registry/core/configmaps/ns/", NULL, 4, collect, &old, &snap),
              0);
    CHECK_INT(snap, 4);
    CHECK_INT(old.n, 3);
    CHECK_STR(old.names[0], "a=2");
    CHECK_STR(old.names[1], "b=1");
    CHECK_STR(old.names[2], "c=1");
    struct collected page = {0};
    CHECK_INT(kc_storage_list(s, "/registry/core/configmaps/ns/", "/registry/core/configmaps/ns/a",
                              4, collect, &page, &snap),
              0);
    CHECK_INT(page.n, 2);
    CHECK_STR(page.names[0], "b=1");

    /* events in the hub: resume after revision 4 gives exactly 5, 6, 7 */
    struct kc_event *ev[16];
    uint64_t after = 4;
    int n = kc_hub_wait(hub, &after, NULL, ev, 16, 0);
    CHECK_INT(n, 3);
    if (n == 3) {
        CHECK_INT(ev[0]->type, KC_EVENT_DELETED);
        CHECK_INT(ev[1]->type, KC_EVENT_MODIFIED);
        CHECK_INT(ev[2]->type, KC_EVENT_ADDED);
        CHECK(strncmp(ev[2]->line, "{\"type\":\"ADDED\",\"object\":{", 26) == 0);
        CHECK(ev[1]->prev_text != NULL);
    }
    for (int i = 0; i < n; i++)
        kc_event_unref(ev[i]);
    CHECK_INT(after, 7);
    /* a prefix: only matching events, and the position moves past the others */
    json_t *m = obj("m", 1);
    CHECK_INT(put(s, KC_WRITE_CREATE, "/registry/core/secrets/ns/m", m, 0), KC_STORAGE_OK);
    json_decref(m);
    after = 4;
    n = kc_hub_wait(hub, &after, "/registry/core/secrets/", ev, 16, 0);
    CHECK_INT(n, 1);
    CHECK_INT(after, 8);
    for (int i = 0; i < n; i++)
        kc_event_unref(ev[i]);
    after = 4;
    CHECK_INT(kc_hub_wait(hub, &after, "/registry/core/pods/", ev, 16, 0), 0);
    CHECK_INT(after, 8);
    /* a blocked watcher wakes for its own prefix, and gets only that */
    struct waiter_arg wa0 = {hub, kc_storage_revision(s), 0, 0};
    pthread_t wt;
    pthread_create(&wt, NULL, secret_waiter, &wa0);
    usleep(50 * 1000);
    json_t *m2 = obj("m2", 1), *m3 = obj("m3", 1);
    CHECK_INT(put(s, KC_WRITE_CREATE, "/registry/core/configmaps/ns/m2", m2, 0), KC_STORAGE_OK);
    CHECK_INT(put(s, KC_WRITE_CREATE, "/registry/core/secrets/ns/m3", m3, 0), KC_STORAGE_OK);
    pthread_join(wt, NULL);
    CHECK_INT(wa0.n, 1);
    CHECK(wa0.ms < 1500); /* woken, not timed out */
    json_decref(m2);
    json_decref(m3);

    /* push past the window: old revisions expire for both lists and watches */
    for (int i = 0; i < 40; i++) {
        json_t *x = obj("x", i);
        CHECK_INT(put(s, KC_WRITE_UPDATE, "/registry/core/configmaps/ns/d", x, 0), KC_STORAGE_OK);
        json_decref(x);
    }
    struct collected gone = {0};
    CHECK_INT(kc_storage_list(s, "/registry/core/configmaps/ns/", NULL, 4, collect, &gone, &snap),
              KC_STORAGE_EXPIRED);
    after = 4;
    CHECK_INT(kc_hub_wait(hub, &after, NULL, ev, 16, 0), KC_HUB_EXPIRED);
    uint64_t rev_before = kc_storage_revision(s);
    CHECK_INT(kc_storage_oldest(s), rev_before - 16);

    /* concurrent writers share commits */
    pthread_t t[8];
    struct writer_arg wa[8];
    for (int i = 0; i < 8; i++) {
        wa[i] = (struct writer_arg){s, i, 0};
        pthread_create(&t[i], NULL, writer, &wa[i]);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += wa[i].ok;
    }
    CHECK_INT(ok, 400);
    struct kc_storage_stats stats;
    kc_storage_stats(s, &stats);
    printf("group commit: %llu writes in %llu commits\n", (unsigned long long)stats.writes,
           (unsigned long long)stats.commits);
    CHECK(stats.commits < stats.writes);
    uint64_t rev_after = kc_storage_revision(s);
    CHECK_INT(rev_after, rev_before + 400);

    /* restart: revision, objects and the retained window survive */
    kc_storage_close(s);
    kc_hub_free(hub);
    hub = kc_hub_new(16);
    CHECK(kc_storage_open_lmdb(dir, &opt, hub, &s, err, sizeof err) == 0);
    CHECK_INT(kc_storage_revision(s), rev_after);
    json_t *got = NULL;
    uint64_t mr = 0;
    CHECK_INT(kc_storage_get(s, "/registry/core/configmaps/ns/a", &got, &mr), 0);
    CHECK_INT(mr, 2);
    json_decref(got);
    after = rev_after - 2;
    n = kc_hub_wait(hub, &after, NULL, ev, 16, 0);
    CHECK_INT(n, 2);
    for (int i = 0; i < n; i++)
        kc_event_unref(ev[i]);
    after = rev_after - 20;
    CHECK_INT(kc_hub_wait(hub, &after, NULL, ev, 16, 0), KC_HUB_EXPIRED);

    kc_storage_close(s);
    kc_hub_free(hub);
    json_decref(a);
    json_decref(a2);
    json_decref(b);
    json_decref(b_last);
    json_decref(c);
    json_decref(c2);
    json_decref(d);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        return 1;
    CHECK_DONE();
}
