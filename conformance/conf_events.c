/* [sig-instrumentation] Events: core v1 events (test/e2e/instrumentation/core_events.go
 * upstream). */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <string.h>

static int create_event(struct kc_conf *t, const char *name, const char *label, const char *message)
{
    json_t *ev = kc_conf_json(t,
                              "{\"metadata\":{\"name\":\"%s\",\"labels\":{\"%s\":\"true\"}},"
                              "\"message\":\"%s\",\"reason\":\"Test\",\"type\":\"Normal\","
                              "\"count\":1,\"involvedObject\":{\"namespace\":\"%s\"}}",
                              name, label, message, kc_conf_ns(t));
    int code =
        ev ? kc_conf_call(t, "POST", ev, NULL, NULL, "/api/v1/namespaces/%s/events", kc_conf_ns(t))
           : -1;
    json_decref(ev);
    return code;
}

/* Whether the list of events of all namespaces by label testevent-constant=true has
 * event-test of the test's namespace (-1 when the list fails). */
static int listed(struct kc_conf *t)
{
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list,
                            "/api/v1/events?labelSelector=testevent-constant%%3Dtrue");
    int found = code == 200 ? 0 : -1;
    size_t i;
    json_t *item;
    json_array_foreach (json_object_get(list, "items"), i, item)
        if (!strcmp(kc_json_str(item, "metadata.name") ?: "", "event-test") &&
            !strcmp(kc_json_str(item, "metadata.namespace") ?: "", kc_conf_ns(t)))
            found = 1;
    json_decref(list);
    return found;
}

/* An Event MUST be creatable, listed across namespaces by label, patchable (its message),
 * fetchable, and deletable, after which it is no longer listed. */
static void lifecycle(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    int code = create_event(t, "event-test", "testevent-constant", "This is a test event");
    REQUIRE(t, code == 201, "failed to create test event: HTTP %d", code);
    REQUIRE(t, listed(t) == 1, "unable to find the test event");
    json_t *patch = kc_conf_json(t, "{\"message\":\"This is a test event - patched\"}");
    REQUIRE(t, patch, "no patch");
    code = kc_conf_call(t, "PATCH", patch, "application/strategic-merge-patch+json", NULL,
                        "/api/v1/namespaces/%s/events/event-test", ns);
    json_decref(patch);
    EXPECT(t, code == 200, "failed to patch the test event: HTTP %d", code);
    json_t *ev = NULL; /* owned */
    code = kc_conf_call(t, "GET", NULL, NULL, &ev, "/api/v1/namespaces/%s/events/event-test", ns);
    EXPECT(t, code == 200, "failed to fetch the test event: HTTP %d", code);
    EXPECT(t, !strcmp(kc_json_str(ev, "message") ?: "", "This is a test event - patched"),
           "test event message does not match patch message: %s",
           kc_json_str(ev, "message") ?: "(none)");
    json_decref(ev);
    code =
        kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s/events/event-test", ns);
    EXPECT(t, code == 200 || code == 202, "failed to delete the test event: HTTP %d", code);
    EXPECT(t, listed(t) == 0, "should not have found test event after deletion");
}

static bool none_listed(struct kc_conf *t, void *path)
{
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list, "%s", (const char *)path);
    bool empty = code == 200 && json_array_size(json_object_get(list, "items")) == 0;
    json_decref(list);
    return empty;
}

/* Three Events with a label MUST be listed by it, and after a delete of the collection by
 * it, no longer. */
static void delete_collection(struct kc_conf *t)
{
    const char *ns = kc_conf_ns(t);
    static const char *const names[] = {"test-event-1", "test-event-2", "test-event-3"};
    for (int i = 0; i < 3; i++) {
        char message[64];
        snprintf(message, sizeof message, "This is %s", names[i]);
        int code = create_event(t, names[i], "testevent-set", message);
        REQUIRE(t, code == 201, "failed to create event %s: HTTP %d", names[i], code);
    }
    char path[256];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/events?labelSelector=testevent-set%%3Dtrue",
             ns);
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list, "%s", path);
    size_t n = json_array_size(json_object_get(list, "items"));
    json_decref(list);
    REQUIRE(t, code == 200 && n == 3, "listing the events by label: HTTP %d, %zu items (want 3)",
            code, n);
    code = kc_conf_call(t, "DELETE", NULL, NULL, NULL,
                        "/api/v1/namespaces/%s/events?labelSelector=testevent-set%%3Dtrue", ns);
    REQUIRE(t, code == 200, "failed to delete the test events: HTTP %d", code);
    EXPECT(t, kc_conf_wait(t, 60000, none_listed, path), "events still listed after deletion");
}

const struct kc_conf_test kc_conf_tests_events[] = {
    {"[sig-instrumentation] Events should manage the lifecycle of an event [Conformance]",
     lifecycle, 0},
    {"[sig-instrumentation] Events should delete a collection of events [Conformance]",
     delete_collection, 0},
    {NULL, NULL, 0},
};
