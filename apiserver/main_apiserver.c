/* `kubec apiserver`: flags, start-up and graceful shutdown on SIGTERM/SIGINT. */
#include "apiserver/alloc.h"
#include "apiserver/auth/authz.h"
#include "apiserver/http/http_mhd.h"
#include "apiserver/http/http_tls.h"
#include "apiserver/master_endpoints.h"
#include "apiserver/server.h"
#include "apiserver/strategy/strategy.h"
#include "apiserver/tls/certs.h"
#include "apiserver/watch/watch_hub.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int kc_apiserver_main(int argc, char **argv);

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: kubec apiserver [flags]\n\n"
        "Serves the Kubernetes API over HTTPS (TLS, ALPN h2 and http/1.1) and plain HTTP on\n"
        "loopback, storing objects in LMDB.\n\n"
        "flags:\n"
        "  --data-dir DIR                     where the LMDB environment lives (default "
        "./kubec-data)\n"
        "  --insecure-bind-address ADDR       address of the plain-HTTP listener (default "
        "127.0.0.1)\n"
        "  --insecure-port PORT               port of the plain-HTTP listener (default 8080; 0 "
        "turns\n"
        "                                     it off)\n"
        "  --secure-port PORT                 port of the HTTPS listener (default off)\n"
        "  --bind-address ADDR                address of the HTTPS listener (default 127.0.0.1)\n"
        "  --cert-dir DIR                     where generated certificates live (default "
        "DATA/pki);\n"
        "                                     kubeconfigs for admin, the controller manager "
        "and the\n"
        "                                     scheduler are written beside the data\n"
        "  --advertise-address IP             the address the `kubernetes` Service's endpoints\n"
        "                                     name (default: --bind-address, or 127.0.0.1)\n"
        "  --tls-cert-file FILE               serving certificate (default: generated)\n"
        "  --tls-private-key-file FILE        its key\n"
        "  --client-ca-file FILE              CA that signs client certificates (default: the\n"
        "                                     generated CA)\n"
        "  --token-auth-file FILE             static bearer tokens, CSV: "
        "token,user,uid,\"group1,group2\"\n"
        "  --anonymous-auth                   serve unauthenticated HTTPS requests as\n"
        "                                     system:anonymous (default: refuse with 401)\n"
        "  --max-requests-inflight N          concurrent reads before 429 (default 400)\n"
        "  --max-mutating-requests-inflight N concurrent writes before 429 (default 200)\n"
        "  --service-cluster-ip-range CIDR    Service ClusterIP range (default 10.96.0.0/12)\n"
        "  --service-node-port-range MIN-MAX  NodePort range (default 30000-32767)\n"
        "  --watch-window N                   revisions of history kept for watch resume and\n"
        "                                     paginated lists (default 10000)\n"
        "  --min-request-timeout SECONDS      watches without timeoutSeconds end after a random\n"
        "                                     time in [N, 2N) (default 1800)\n"
        "  --max-request-body-bytes N         larger bodies get 413 (default 3145728)\n"
        "  --namespace-finalizer MODE         who empties and finalizes a deleted namespace:\n"
        "                                     inprocess (this server, the default) or controller\n"
        "                                     (`kubec controllers`, as upstream)\n"
        "  --default-not-ready-toleration-seconds N\n"
        "                                     tolerationSeconds added to every pod for the\n"
        "                                     not-ready:NoExecute taint (default 300)\n"
        "  --default-unreachable-toleration-seconds N\n"
        "                                     the same for unreachable:NoExecute (default 300)\n"
        "  --unsafe-no-fsync                  skip fsync on commit (benchmarks only; loses\n"
        "                                     acknowledged writes on power loss)\n"
        "  -h, --help                         this text\n");
}

/* The HTTPS listener, with generated certificates and kubeconfigs unless given files. */
static int start_secure(struct kc_server *srv, struct kc_server_options *opt,
                        struct kc_tls_server **tls, char *err, size_t errlen)
{
    char dir[512], path[600], url[128], first_ip[16];
    const char *cert = opt->tls_cert_file, *key = opt->tls_key_file, *ca = opt->client_ca_file;
    struct kc_pki_paths pki;
    snprintf(dir, sizeof dir, "%s/pki", opt->data_dir);
    kc_ipalloc_first(srv->cluster_ips, first_ip);
    const char *dns[] = {"localhost",
                         "kubernetes",
                         "kubernetes.default",
                         "kubernetes.default.svc",
                         "kubernetes.default.svc.cluster.local",
                         NULL};
    const char *ips[] = {
        "127.0.0.1", first_ip,
        strcmp(opt->advertise_address, "127.0.0.1") ? opt->advertise_address : NULL,
        strcmp(opt->secure_bind, "0.0.0.0") && strcmp(opt->secure_bind, "127.0.0.1") &&
                strcmp(opt->secure_bind, opt->advertise_address)
            ? opt->secure_bind
            : NULL,
        NULL};
    if (kc_pki_ensure(opt->cert_dir ? opt->cert_dir : dir, dns, ips, &pki, err, errlen) != 0)
        return -1;
    if (!cert || !key) {
        cert = pki.server_crt;
        key = pki.server_key;
    }
    if (!ca)
        ca = pki.ca_crt;
    snprintf(url, sizeof url, "https://%s:%d",
             strcmp(opt->secure_bind, "0.0.0.0") ? opt->secure_bind : "127.0.0.1",
             opt->secure_port);
    snprintf(path, sizeof path, "%s/admin.kubeconfig", opt->data_dir);
    if (kc_kubeconfig_write(path, url, pki.ca_crt, pki.admin_crt, pki.admin_key, "kubernetes-admin",
                            err, errlen) != 0)
        return -1;
    snprintf(path, sizeof path, "%s/kubeconfig", opt->data_dir);
    if (kc_kubeconfig_write(path, url, pki.ca_crt, pki.admin_crt, pki.admin_key, "kubernetes-admin",
                            err, errlen) != 0)
        return -1;
    /* Each component gets its own identity, bound by RBAC to what it needs. */
    static const struct {
        const char *file, *cn;
    } components[] = {{"controller-manager", "system:kube-controller-manager"},
                      {"scheduler", "system:kube-scheduler"}};
    for (size_t i = 0; i < sizeof components / sizeof *components; i++) {
        char crt[600], ckey[600];
        if (kc_pki_ensure_client(opt->cert_dir ? opt->cert_dir : dir, components[i].file,
                                 components[i].cn, NULL, crt, ckey, sizeof crt, err, errlen) != 0)
            return -1;
        snprintf(path, sizeof path, "%s/%s.kubeconfig", opt->data_dir, components[i].file);
        if (kc_kubeconfig_write(path, url, pki.ca_crt, crt, ckey, components[i].cn, err, errlen) !=
            0)
            return -1;
    }
    return kc_tls_start(srv, opt->secure_bind, opt->secure_port, cert, key, ca, tls, err, errlen);
}

int kc_apiserver_main(int argc, char **argv)
{
    struct kc_server_options opt = {
        .data_dir = "kubec-data",
        .bind_address = "127.0.0.1",
        .port = 8080,
        .service_cidr = "10.96.0.0/12",
        .node_port_min = 30000,
        .node_port_max = 32767,
        .watch_window = 10000,
        .max_body = 3 * 1024 * 1024,
        .min_request_timeout = 1800,
        .max_inflight = 400,
        .max_mutating_inflight = 200,
    };
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, 'd'},
        {"insecure-bind-address", required_argument, NULL, 'b'},
        {"insecure-port", required_argument, NULL, 'p'},
        {"service-cluster-ip-range", required_argument, NULL, 's'},
        {"service-node-port-range", required_argument, NULL, 'n'},
        {"watch-window", required_argument, NULL, 'w'},
        {"min-request-timeout", required_argument, NULL, 't'},
        {"max-request-body-bytes", required_argument, NULL, 'm'},
        {"unsafe-no-fsync", no_argument, NULL, 'F'},
        {"secure-port", required_argument, NULL, 'S'},
        {"bind-address", required_argument, NULL, 'B'},
        {"advertise-address", required_argument, NULL, 'V'},
        {"cert-dir", required_argument, NULL, 'C'},
        {"tls-cert-file", required_argument, NULL, 'c'},
        {"tls-private-key-file", required_argument, NULL, 'k'},
        {"client-ca-file", required_argument, NULL, 'a'},
        {"anonymous-auth", no_argument, NULL, 'A'},
        {"token-auth-file", required_argument, NULL, 'T'},
        {"max-requests-inflight", required_argument, NULL, 'I'},
        {"max-mutating-requests-inflight", required_argument, NULL, 'M'},
        {"namespace-finalizer", required_argument, NULL, 'N'},
        {"default-not-ready-toleration-seconds", required_argument, NULL, 'R'},
        {"default-unreachable-toleration-seconds", required_argument, NULL, 'U'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    long long not_ready_tol = 300, unreachable_tol = 300;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            opt.data_dir = optarg;
            break;
        case 'b':
            opt.bind_address = optarg;
            break;
        case 'p':
            opt.port = atoi(optarg);
            break;
        case 's':
            opt.service_cidr = optarg;
            break;
        case 'n':
            if (sscanf(optarg, "%d-%d", &opt.node_port_min, &opt.node_port_max) != 2) {
                fprintf(stderr, "kubec apiserver: bad --service-node-port-range %s\n", optarg);
                return 2;
            }
            break;
        case 'w':
            opt.watch_window = strtoull(optarg, NULL, 10);
            break;
        case 't':
            opt.min_request_timeout = atoi(optarg);
            break;
        case 'm':
            opt.max_body = strtoull(optarg, NULL, 10);
            break;
        case 'F':
            opt.no_sync = 1;
            break;
        case 'S':
            opt.secure_port = atoi(optarg);
            break;
        case 'B':
            opt.secure_bind = optarg;
            break;
        case 'V':
            opt.advertise_address = optarg;
            break;
        case 'C':
            opt.cert_dir = optarg;
            break;
        case 'c':
            opt.tls_cert_file = optarg;
            break;
        case 'k':
            opt.tls_key_file = optarg;
            break;
        case 'a':
            opt.client_ca_file = optarg;
            break;
        case 'A':
            opt.anonymous_auth = 1;
            break;
        case 'R':
            not_ready_tol = atoll(optarg);
            break;
        case 'U':
            unreachable_tol = atoll(optarg);
            break;
        case 'I':
            opt.max_inflight = atoi(optarg);
            break;
        case 'M':
            opt.max_mutating_inflight = atoi(optarg);
            break;
        case 'N':
            if (strcmp(optarg, "inprocess") == 0) {
                opt.namespace_finalizer_controller = 0;
            } else if (strcmp(optarg, "controller") == 0) {
                opt.namespace_finalizer_controller = 1;
            } else {
                fprintf(stderr,
                        "kubec apiserver: bad --namespace-finalizer %s (inprocess or controller)\n",
                        optarg);
                return 2;
            }
            break;
        case 'T': {
            char terr[256];
            if (kc_tokens_load(optarg, terr, sizeof terr) != 0) {
                fprintf(stderr, "kubec apiserver: %s\n", terr);
                return 2;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kubec apiserver: unexpected argument %s\n", argv[optind]);
        return 2;
    }
    if (opt.port < 0 || opt.port > 65535 || opt.secure_port < 0 || opt.secure_port > 65535 ||
        (opt.port == 0 && opt.secure_port == 0)) {
        fprintf(stderr, "kubec apiserver: bad --insecure-port / --secure-port\n");
        return 2;
    }
    kc_default_toleration_seconds(not_ready_tol, unreachable_tol);
    if (!opt.secure_bind)
        opt.secure_bind = "127.0.0.1";
    /* upstream defaults to the bind address (or a host address when that is 0.0.0.0) */
    if (!opt.advertise_address)
        opt.advertise_address =
            opt.secure_port
                ? (strcmp(opt.secure_bind, "0.0.0.0") ? opt.secure_bind : "127.0.0.1")
                : (strcmp(opt.bind_address, "0.0.0.0") ? opt.bind_address : "127.0.0.1");

    /* SIGTERM and SIGINT are blocked in every thread (they inherit the mask) and taken by
     * sigwait below: with a handler, a signal landing on another thread would leave the
     * main thread waiting forever. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct kc_server srv;
    char err[512];
    if (kc_server_init(&srv, &opt, err, sizeof err) != 0) {
        fprintf(stderr, "kubec apiserver: %s\n", err);
        return 1;
    }
    struct kc_http_server *http = NULL;
    struct kc_tls_server *tls = NULL;
    /* The secure side first: once the plain port answers /healthz, the certificates and
     * kubeconfigs are all written. */
    if (opt.secure_port && start_secure(&srv, &opt, &tls, err, sizeof err) != 0) {
        fprintf(stderr, "kubec apiserver: %s\n", err);
        kc_server_destroy(&srv);
        return 1;
    }
    if (opt.port && kc_http_start(&srv, opt.bind_address, opt.port, &http, err, sizeof err) != 0) {
        fprintf(stderr, "kubec apiserver: %s\n", err);
        kc_tls_stop(tls);
        kc_server_destroy(&srv);
        return 1;
    }
    /* the `kubernetes` Service's endpoints, once this server answers */
    struct kc_master_endpoints *master_eps = kc_master_endpoints_start(&srv);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (opt.secure_port)
        fprintf(stderr, "kubec apiserver: serving on https://%s:%d (kubeconfig: %s/kubeconfig)\n",
                opt.secure_bind, opt.secure_port, opt.data_dir);
    fprintf(stderr, "kubec apiserver: serving on http://%s:%d (data in %s, ready in %.1f ms)\n",
            opt.port ? opt.bind_address : "-", opt.port, opt.data_dir,
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    fprintf(stderr, "kubec apiserver: signal %d, shutting down\n", sig);
    /* End watch streams first so connection threads can finish, then stop listening. */
    srv.stopping = 1;
    kc_hub_shutdown(srv.hub);
    kc_master_endpoints_stop(master_eps);
    kc_tls_stop(tls);
    kc_http_stop(http);
    kc_server_destroy(&srv);
    return 0;
}
