/* The apiserver's shared state, passed explicitly to every handler. */
#ifndef KUBEC_SERVER_H
#define KUBEC_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct kc_storage;
struct kc_watch_hub;
struct kc_ipalloc;
struct kc_portalloc;

struct kc_server_options {
    const char *data_dir;
    const char *bind_address;
    int port;
    const char *service_cidr; /* --service-cluster-ip-range */
    int node_port_min, node_port_max;
    uint64_t watch_window;   /* revisions of history kept for watch resume */
    size_t max_body;         /* bytes; larger request bodies get 413 */
    int min_request_timeout; /* seconds; watch timeouts default to [t, 2t) */
    int no_sync;             /* tests/benchmarks only */
    /* secure serving */
    int secure_port;         /* 0 = off */
    const char *secure_bind; /* --bind-address */
    /* --advertise-address: the address the `kubernetes` Service's endpoints name */
    const char *advertise_address;
    const char *cert_dir; /* where generated certificates live */
    const char *tls_cert_file, *tls_key_file, *client_ca_file;
    int anonymous_auth;        /* requests without credentials become system:anonymous */
    int max_inflight;          /* --max-requests-inflight (reads), 0 = no limit */
    int max_mutating_inflight; /* --max-mutating-requests-inflight */
    /* --namespace-finalizer=controller: leave Terminating namespaces to the controller
     * manager's namespace controller instead of emptying them in-process (0 = inprocess) */
    int namespace_finalizer_controller;
};

struct kc_server {
    struct kc_server_options opt;
    struct kc_storage *storage;
    struct kc_watch_hub *hub;
    struct kc_ipalloc *cluster_ips;
    struct kc_portalloc *node_ports;
    time_t started;
    volatile int stopping;
    int background;                  /* running background jobs (namespace finalizers); atomic */
    int inflight, mutating_inflight; /* requests being served; atomic */
};

/* Opens storage, creates the bootstrap objects (the four system namespaces and the
 * `kubernetes` Service) and rebuilds the allocators. Returns 0 or -1 with err. */
int kc_server_init(struct kc_server *srv, const struct kc_server_options *opt, char *err,
                   size_t errlen);
void kc_server_destroy(struct kc_server *srv);

#endif
