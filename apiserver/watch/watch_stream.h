/* One client's watch: the initial events (when asked for), then the hub's events that
 * match the resource, namespace and selectors, framed as JSON lines. */
#ifndef KUBEC_WATCH_STREAM_H
#define KUBEC_WATCH_STREAM_H

#include "apiserver/resources.h"
#include "apiserver/table.h"
#include "lib/status.h"

#include <stdbool.h>

struct kc_server;
struct kc_selector;
struct kc_watch_stream;

struct kc_watch_params {
    const struct kc_resource *r;
    const char *ns;            /* NULL or "" = all namespaces */
    struct kc_selector *label; /* owned by the stream afterwards; may be NULL */
    struct kc_selector *field; /* likewise */
    const char *rv;            /* resourceVersion parameter or NULL */
    bool bookmarks;            /* allowWatchBookmarks */
    int send_initial;          /* sendInitialEvents: -1 unset, 0 false, 1 true */
    long timeout_seconds;      /* 0 = server default */
    bool table;                /* Table-formatted events */
    const char *table_version; /* "v1" or "v1beta1" */
    enum kc_include_object include;
};

/* Opens a watch. On failure (410 for a too old revision) returns -1 with st, and frees
 * the selectors. */
int kc_watch_open(struct kc_server *srv, struct kc_watch_params *p, struct kc_watch_stream **out,
                  struct kc_status *st);

/* What label and field selectors on r can see of obj: a new object holding only
 * metadata.name, metadata.namespace, metadata.labels and r's field-selector paths (values
 * shared with obj, which must stay unmodified). Writers hand it to the storage for the
 * event of an update (kc_write.prev_attrs), as upstream's watch cache keeps the labels and
 * fields of the previous object. */
json_t *kc_watch_attrs(const struct kc_resource *r, const json_t *obj);

#endif
