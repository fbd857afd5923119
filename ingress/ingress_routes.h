/* The routing table of the Ingress controller: the rules of every served Ingress, and the
 * lookup of a request's host and path (networking.k8s.io/v1 semantics).
 *
 * Matching (see README.md "Routing"):
 *  - hosts: a rule with an exact host beats a wildcard rule ("*.foo.com": one leftmost
 *    label), which beats a rule without host; when no path of the most specific host
 *    matches, the less specific hosts are tried in turn;
 *  - paths: Exact (equal strings), Prefix (element-wise on '/', trailing '/' ignored),
 *    ImplementationSpecific (as Prefix); the longest rule path wins, Exact before Prefix
 *    at equal length, then the older Ingress (the order of ing_routes_add_ingress calls);
 *  - no match: the first spec.defaultBackend added, else no backend (404).
 *
 * Not thread-safe: built by one thread, then only read. Strings are copied. */
#ifndef KUBEC_INGRESS_ROUTES_H
#define KUBEC_INGRESS_ROUTES_H

#include <jansson.h>
#include <stddef.h>

/* A Service backend of a rule. `resolved` belongs to whoever built the table around it
 * (the proxy's endpoint set); the table never touches it. */
struct ing_backend_ref {
    char *ns, *service;
    int port_number; /* 0 when the port is named */
    char *port_name; /* NULL when numbered */
    void *resolved;
};

struct ing_routes;

struct ing_routes *ing_routes_new(void);
void ing_routes_free(struct ing_routes *r);

/* Adds the rules and default backend of one v1 Ingress (borrowed). Rules without a service
 * backend (resource backends) are skipped. 0, or -1 on allocation failure. */
int ing_routes_add_ingress(struct ing_routes *r, const json_t *ing);

/* The backend for a request: host lowercased without port ("" when absent), path without
 * query. NULL when nothing matches (answer 404). Borrowed from the table. */
struct ing_backend_ref *ing_routes_match(const struct ing_routes *r, const char *host,
                                         const char *path);

/* Every distinct backend reference of the table, for the caller to resolve: fn is called
 * once per rule and default backend. */
void ing_routes_foreach_backend(struct ing_routes *r,
                                void (*fn)(void *ctx, struct ing_backend_ref *b), void *ctx);
size_t ing_routes_len(const struct ing_routes *r);

/* Exposed for the unit tests. */
int ing_host_matches(const char *rule_host, const char *host);
/* exact: 1 for pathType Exact. Returns the match length (>= 0), or -1. */
int ing_path_matches(const char *rule_path, int exact, const char *path);

/* ---- which Ingresses this controller serves ---- */
struct ing_class_opts {
    const char *class_name; /* our IngressClass name ("kubec") */
    const char *controller; /* "kubec.io/ingress-controller" */
};

/* True when this controller serves ing, given every IngressClass (array, borrowed):
 * spec.ingressClassName naming a class of our controller (or naming our class while no
 * such object exists); else the legacy annotation kubernetes.io/ingress.class equal to
 * our class name; else (no class at all) when one of our classes is the default one, or
 * when no IngressClass exists. */
int ing_class_serves(const json_t *ing, const json_t *classes, const struct ing_class_opts *o);

#endif
