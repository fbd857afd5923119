/* The C client every kubec component shares: kubeconfig, REST calls over libcurl
 * (HTTP/2 over TLS, HTTP/1.1 on the plain loopback port), retries with back-off.
 *
 * Thread safety: one struct kc_client may be used from any number of threads at once;
 * each thread gets its own libcurl handle (and so its own kept-alive connection).
 *
 * Ownership: every json_t ** out parameter receives a NEW reference (caller decrefs), or
 * NULL. json_t * inputs are BORROWED.
 *
 * Return convention: the HTTP status code (200, 201, 404, 409, ...) once the server
 * answered, or -1 when no answer could be had (connection refused after all retries,
 * shutdown). On a non-2xx answer *out holds the Status object the server sent. */
#ifndef KUBEC_CLIENT_CLIENT_H
#define KUBEC_CLIENT_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct kc_client;

/* A resource: group ("" for core), version, plural resource, kind, namespaced. */
struct kc_gvr {
    const char *group;
    const char *version;
    const char *resource;
    const char *kind;
    bool namespaced;
};

/* The resources the components use. */
extern const struct kc_gvr KC_GVR_PODS, KC_GVR_NODES, KC_GVR_NAMESPACES, KC_GVR_SERVICES,
    KC_GVR_ENDPOINTS, KC_GVR_EVENTS, KC_GVR_CONFIGMAPS, KC_GVR_SECRETS, KC_GVR_SERVICEACCOUNTS,
    KC_GVR_REPLICASETS, KC_GVR_DEPLOYMENTS, KC_GVR_ENDPOINTSLICES, KC_GVR_LEASES, KC_GVR_INGRESSES,
    KC_GVR_INGRESSCLASSES;

/* Loads a kubeconfig (its current context): server, CA, client certificate and key (files
 * or -data), bearer token (token or tokenFile). An http:// server needs none of them. */
int kc_client_from_kubeconfig(const char *path, struct kc_client **out, char *err, size_t errlen);
/* A client for a plain-HTTP server URL ("http://127.0.0.1:8080"), no credentials. */
int kc_client_new_url(const char *url, struct kc_client **out, char *err, size_t errlen);
/* Identifies the component in User-Agent ("kubec-controller-manager/0.1"). Copied. */
void kc_client_set_user_agent(struct kc_client *c, const char *ua);
/* Makes every later call fail fast with -1 (shutdown); in-flight watches end too. */
void kc_client_shutdown(struct kc_client *c);
bool kc_client_is_shutdown(const struct kc_client *c);
void kc_client_free(struct kc_client *c);

/* A connection of the caller's own to the server, for a protocol the client does not speak
 * (WebSocket upgrades): TCP, and TLS with the CA and client certificate as for every call,
 * nothing sent yet. A CURL easy handle for curl_easy_send / curl_easy_recv (non-blocking:
 * CURLE_AGAIN), which the caller cleans up with curl_easy_cleanup; NULL when it cannot
 * connect. authority gets the server's host:port (for Host); *token the bearer token to
 * send, or NULL (borrowed from c). */
void *kc_client_connect(struct kc_client *c, char *authority, size_t len, const char **token);

/* The raw call: method, path with query ("/api/v1/namespaces/default/pods?limit=5"), body
 * (NULL for none) sent with content_type (NULL = application/json). Retries 429 and 5xx
 * (honouring Retry-After) and transport errors with exponential back-off, a few times. */
int kc_client_do(struct kc_client *c, const char *method, const char *path, const json_t *body,
                 const char *content_type, json_t **out);

/* A request whose answer is kept as text: custom Accept (aggregated discovery, Tables),
 * non-JSON answers (logs). No retries. */
struct kc_client_raw {
    const char *accept;       /* NULL: application/json */
    const char *body;         /* NULL: none */
    size_t body_len;          /* of body */
    const char *content_type; /* of body; NULL: application/json */
    char *answer;             /* out: the body, NUL-terminated, owned by the caller (free) */
    size_t answer_len;
    char answer_type[128]; /* out: the answer's Content-Type */
};
/* Returns the HTTP status, -1 on transport failure (r->answer NULL then). */
int kc_client_raw(struct kc_client *c, const char *method, const char *path,
                  struct kc_client_raw *r);

enum kc_client_flags {
    /* The caller has no use for metadata.managedFields of the objects in the answer (an
     * object, a List's items, a watch event's object): they are cut from the text before
     * it is parsed, which saves most of the parsing of a typical object. */
    KC_CLIENT_NO_MANAGED_FIELDS = 1 << 0,
};
/* kc_client_do with flags (enum kc_client_flags). */
int kc_client_do_flags(struct kc_client *c, const char *method, const char *path,
                       const json_t *body, const char *content_type, int flags, json_t **out);

/* Builds "/api/v1/namespaces/NS/pods/NAME/SUB" style paths into buf. ns, name and sub may
 * be NULL. Returns buf. */
char *kc_client_path(char *buf, size_t len, const struct kc_gvr *r, const char *ns,
                     const char *name, const char *sub);

/* Typed helpers. ns is ignored for cluster-scoped resources. */
int kc_get(struct kc_client *c, const struct kc_gvr *r, const char *ns, const char *name,
           json_t **out);
/* query: extra query string without '?' ("labelSelector=app%3Ddemo"), or NULL. Follows
 * `continue` so *out is one List with every item. */
int kc_list(struct kc_client *c, const struct kc_gvr *r, const char *ns, const char *query,
            json_t **out);
int kc_create(struct kc_client *c, const struct kc_gvr *r, const char *ns, const json_t *obj,
              json_t **out);
/* PUT of obj (name from metadata.name); sub NULL or "status" / "scale". */
int kc_update(struct kc_client *c, const struct kc_gvr *r, const char *ns, const json_t *obj,
              const char *sub, json_t **out);
/* patch_type: "application/merge-patch+json", "application/strategic-merge-patch+json",
 * "application/json-patch+json". sub may be NULL. */
int kc_patch(struct kc_client *c, const struct kc_gvr *r, const char *ns, const char *name,
             const char *sub, const char *patch_type, const json_t *patch, json_t **out);
/* propagation: NULL, "Background", "Foreground", "Orphan". uid/rv: NULL, or preconditions.
 * grace: -1 for the default. */
int kc_delete(struct kc_client *c, const struct kc_gvr *r, const char *ns, const char *name,
              const char *propagation, const char *uid_precondition, long grace, json_t **out);

/* Percent-encodes s for a query value into buf. Returns buf. */
char *kc_client_query_escape(char *buf, size_t len, const char *s);

/* ---- watch: a streaming GET with watch=1. ----
 * Calls on_event(ctx, type, object) for every event line ("ADDED", "MODIFIED", "DELETED",
 * "BOOKMARK", "ERROR"; object borrowed for the call) until the server ends the stream, the
 * callback returns non-zero, or the client shuts down. Returns the HTTP status of the
 * answer (200 when the stream ran), -1 on transport failure. No retries. */
typedef int (*kc_watch_fn)(void *ctx, const char *type, json_t *object);
int kc_client_watch(struct kc_client *c, const char *path, kc_watch_fn on_event, void *ctx);
/* kc_client_watch with flags (enum kc_client_flags). */
int kc_client_watch_flags(struct kc_client *c, const char *path, int flags, kc_watch_fn on_event,
                          void *ctx);

#endif
