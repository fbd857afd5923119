/* Events as controllers record them: core/v1 Events that `kubectl describe` shows, named
 * "<object>.<unique suffix>", with involvedObject, reason, message, source.component,
 * first/lastTimestamp and count. Repeats of the same (object, reason, message) within ten
 * minutes bump count and lastTimestamp instead of creating a new Event. As client-go's
 * spam filter, a source records at most 25 events about one object, then one every five
 * minutes. Sent by a background thread so callers never wait for the apiserver; when its
 * queue is full, events are dropped. */
#ifndef KUBEC_CLIENT_EVENTS_H
#define KUBEC_CLIENT_EVENTS_H

#include "client/client.h"

struct kc_recorder;

/* component: "deployment-controller", "replicaset-controller", ... (source.component). */
struct kc_recorder *kc_recorder_new(struct kc_client *c, const char *component);
/* obj borrowed (kind, apiVersion, namespace, name, uid, resourceVersion are copied).
 * type: "Normal" or "Warning". */
void kc_event(struct kc_recorder *r, const json_t *obj, const char *type, const char *reason,
              const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Sends what is queued, then stops. */
void kc_recorder_free(struct kc_recorder *r);

#endif
