/* Internal interface between the request router (api.c) and the verb handlers
 * (handlers_read.c, handlers_write.c). */
#ifndef KUBEC_API_INTERNAL_H
#define KUBEC_API_INTERNAL_H

#include "apiserver/http/request.h"
#include "apiserver/resources.h"
#include "lib/status.h"

#include <jansson.h>
#include <stdbool.h>

struct kc_server;

/* What a resource URL names (k8s RequestInfo). */
struct kc_reqinfo {
    char group[64];
    char version[32];
    char ns[256];
    char resource[64];
    char name[256];
    char sub[32];
    bool has_ns;
    bool watch_prefix; /* legacy /watch/ path */
    const struct kc_resource *r;
};

/* Response helpers. json is borrowed. */
void kc_respond_json(struct kc_response *resp, int code, const json_t *json);
void kc_respond_status(struct kc_response *resp, const struct kc_status *st);
void kc_respond_text(struct kc_response *resp, int code, const char *ctype, const char *text);

/* Accept negotiation for Table output: returns true and the Table version ("v1" or
 * "v1beta1") when the client asked for meta.k8s.io Tables. */
bool kc_wants_table(const struct kc_request *req, const char **version);

/* Decodes the request body as an object of the resource's kind (JSON or Kubernetes
 * protobuf). *out is a new reference. 400/413/415 with st on failure. */
int kc_decode_body(const struct kc_request *req, const struct kc_resource *r, json_t **out,
                   struct kc_status *st);
/* The same; the paths of duplicate fields (unless fieldValidation is Ignore) are written to
 * dup, one a line, for the caller to refuse (Strict, with the unknown fields) or warn of. */
int kc_decode_body_dup(const struct kc_request *req, const struct kc_resource *r, json_t **out,
                       char *dup, size_t dupn, struct kc_status *st);
/* The request's Content-Type without parameters ("application/json"), "" when absent. */
void kc_req_media_type(const struct kc_request *req, char *buf, size_t n);
/* Parses a plain JSON object body (subresources: scale, binding): 413 when too large,
 * 400 when not a JSON object. *out is a new reference. */
int kc_decode_json_object(const struct kc_request *req, json_t **out, struct kc_status *st);
/* Parses dryRun ("All" or empty). */
int kc_parse_dry_run(const struct kc_request *req, bool *dry, struct kc_status *st);

void kc_handle_get(struct kc_server *srv, const struct kc_request *req, const struct kc_reqinfo *ri,
                   struct kc_response *resp);
void kc_handle_list(struct kc_server *srv, const struct kc_request *req,
                    const struct kc_reqinfo *ri, struct kc_response *resp);
void kc_handle_watch(struct kc_server *srv, const struct kc_request *req,
                     const struct kc_reqinfo *ri, struct kc_response *resp);
void kc_handle_create(struct kc_server *srv, const struct kc_request *req,
                      const struct kc_reqinfo *ri, struct kc_response *resp);
void kc_handle_update(struct kc_server *srv, const struct kc_request *req,
                      const struct kc_reqinfo *ri, struct kc_response *resp);
void kc_handle_patch(struct kc_server *srv, const struct kc_request *req,
                     const struct kc_reqinfo *ri, struct kc_response *resp);
void kc_handle_delete(struct kc_server *srv, const struct kc_request *req,
                      const struct kc_reqinfo *ri, struct kc_response *resp);
void kc_handle_deletecollection(struct kc_server *srv, const struct kc_request *req,
                                const struct kc_reqinfo *ri, struct kc_response *resp);
void kc_handle_binding(struct kc_server *srv, const struct kc_request *req,
                       const struct kc_reqinfo *ri, struct kc_response *resp);
/* GET pods/NAME/log (pods_log.c): the node agent's container log, streamed. */
void kc_handle_pod_log(struct kc_server *srv, const struct kc_request *req,
                       const struct kc_reqinfo *ri, struct kc_response *resp);
/* GET|POST pods/NAME/exec (pods_exec.c): a WebSocket upgrade relayed to the node agent;
 * pods/NAME/attach is refused there. */
void kc_handle_pod_exec(struct kc_server *srv, const struct kc_request *req,
                        const struct kc_reqinfo *ri, struct kc_response *resp);

/* Shared by the pod subresources that reach a container (pods_log.c). */
/* upstream's validateContainer: the container asked (NULL: none), or the only one; 400
 * otherwise. *out is borrowed from pod or asked. */
int kc_pod_choose_container(const json_t *pod, const char *name, const char *asked,
                            const char **out, struct kc_status *st);
/* "host:port" of the node agent of node_name: its InternalIP and
 * status.daemonEndpoints.kubeletEndpoint.Port (10250 when unset). */
int kc_pod_agent_address(struct kc_server *srv, const char *node_name, char *hostport, size_t n,
                         struct kc_status *st);

/* Parsed list options shared by list, watch and deletecollection. */
struct kc_selector;
struct kc_list_opts {
    struct kc_selector *label; /* owned */
    struct kc_selector *field; /* owned */
};
int kc_parse_selectors(const struct kc_request *req, const struct kc_resource *r,
                       struct kc_list_opts *o, struct kc_status *st);
void kc_list_opts_release(struct kc_list_opts *o);
bool kc_list_opts_match(const struct kc_list_opts *o, const json_t *obj);

#endif
