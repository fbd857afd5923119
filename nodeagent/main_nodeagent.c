/* `kubec nodeagent`: flags, the runtime, registration, heartbeats and pods. */
#include "client/component.h"
#include "nodeagent/agent.h"
#include "nodeagent/image_store.h"
#include "nodeagent/lifecycle.h"
#include "nodeagent/logserver.h"
#include "nodeagent/network.h"
#include "nodeagent/proxy.h"

#include "nodeagent/cmd.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kubec nodeagent [flags]\n\n"
            "kubec's kubelet: registers its Node, renews its Lease, runs the pods bound to it.\n\n"
            "flags:\n"
            "  --kubeconfig FILE                   kubeconfig to reach the apiserver\n"
            "  --master URL                        apiserver URL (overrides the kubeconfig's)\n"
            "  --node-name NAME                    the node (default: the host name); with\n"
            "                                      --simulate-nodes, the prefix of NAME-0, ...\n"
            "  --runtime NAME                      oci (crun; the default as root), process\n"
            "                                      (plain child processes) or simulated\n"
            "  --root-dir DIR                      pods, logs (/var/lib/kubec/nodeagent/NODE)\n"
            "  --image-dir DIR                     image store (/var/lib/kubec/images)\n"
            "  --image-registry HOST:PORT          a registry on loopback serving every image\n"
            "  --image-layouts DIR                 OCI image layouts, searched first\n"
            "  --crun PATH                         the OCI runtime (crun)\n"
            "  --cluster-dns IP                    oci: the cluster DNS server for the pods'\n"
            "                                      resolv.conf (none: the image's own)\n"
            "  --cluster-domain DOMAIN             their search path (cluster.local)\n"
            "  --node-netns NAME                   oci: the node's network namespace\n"
            "                                      (kubec-NODE); made if missing\n"
            "  --node-ip IP                        oci: the node's address on the fabric\n"
            "  --fabric-bridge NAME                oci: the host bridge joining nodes (kubec0)\n"
            "  --fabric-gateway CIDR               oci: its address (10.250.0.1/24)\n"
            "  --proxy BOOL                        oci: the Service dataplane, nftables rules in\n"
            "                                      the node's namespace (true)\n"
            "  --service-cidr CIDR                 oci: the apiserver's service range, routed\n"
            "                                      to cni0 and from the host (10.96.0.0/12)\n"
            "  --cluster-cidr CIDR                 oci: pod addresses; other sources of\n"
            "                                      Service traffic are masqueraded\n"
            "                                      (10.244.0.0/16)\n"
            "  --cleanup                           stop and remove every pod of the node, its\n"
            "                                      network namespace and routes, then exit\n"
            "  --simulate-nodes N                  serve N simulated nodes from this process\n"
            "  --simulate-ready-delay D            simulated containers are ready after D (0s)\n"
            "  --capacity-cpu Q / --capacity-memory Q / --capacity-pods N\n"
            "                                      what the node offers (4, 8Gi, 110)\n"
            "  --node-lease-duration-seconds N     (40)\n"
            "  --node-lease-renew-interval D       (10s)\n"
            "  --node-status-report-frequency D    Ready heartbeat in node status (1m)\n"
            "  --workers N                         pod workers (8)\n"
            "  --kubelet-port N                    serve container logs and exec on the node's\n"
            "                                      address, port N (10250; 0: no log server)\n"
            "  --kubelet-address IP                where to serve them (oci: the node IP in the\n"
            "                                      node's namespace; otherwise 127.0.0.1)\n"
            "  --help                              this text\n");
}

/* --cleanup: everything a previous agent of this node left (containers, mounts, pod
 * namespaces, cgroups, the node's namespace and routes) goes, without the API. */
static int kc_agent_cleanup(struct kc_agent *a)
{
    const struct kc_agent_options *o = &a->opt;
    if (strcmp(o->runtime, "simulated") != 0) {
        struct kc_driver *d;
        char state[1100], cg[300];
        snprintf(state, sizeof state, "%s/crun", o->root_dir);
        snprintf(cg, sizeof cg, "kubec-%s", o->node_name);
        if (strcmp(o->runtime, "oci") == 0)
            d = kc_driver_oci_new(o->crun, state, cg, a->net);
        else
            d = kc_driver_process_new();
        struct kc_runtime *rt = d ? kc_runtime_real_new(d, o->root_dir, NULL, NULL) : NULL;
        if (rt) {
            json_t *uids = rt->ops->list_pods(rt);
            size_t i;
            json_t *u;
            json_array_foreach (uids, i, u)
                rt->ops->forget_pod(rt, json_string_value(u));
            json_decref(uids);
            rt->ops->destroy(rt);
        }
        free(d);
        /* (unified is one of the entries of /sys/fs/cgroup on a hybrid host) */
        kc_oci_remove_cgroups(cg, 3000);
        kc_remove_tree(o->root_dir);
    }
    if (a->net) {
        /* (the namespace's deletion takes the table too; this covers a namespace that
         * outlives the agent) */
        kc_proxy_delete_table(a->net, "kubec");
        kc_netnode_service_route_down(a->net, o->service_cidr);
        kc_netnode_down(a->net);
    }
    return 0;
}

int kc_nodeagent_main(int argc, char **argv)
{
    struct kc_component_flags cf;
    kc_component_flags_init(&cf, "unused");
    static char host[128];
    gethostname(host, sizeof host - 1);
    struct kc_agent_options o = {.node_name = host,
                                 .runtime = geteuid() == 0 ? "oci" : "process",
                                 .image_dir = "/var/lib/kubec/images",
                                 .crun = "crun",
                                 .fabric_bridge = "kubec0",
                                 .fabric_gateway = "10.250.0.1/24",
                                 .cpu = "4",
                                 .memory = "8Gi",
                                 .pods = "110",
                                 .ephemeral_storage = "100Gi",
                                 .lease_duration_s = 40,
                                 .lease_renew_ms = 10000,
                                 .status_report_ms = 60000,
                                 .workers = 8,
                                 .kubelet_port = 10250,
                                 .proxy = true,
                                 .service_cidr = "10.96.0.0/12",
                                 .cluster_cidr = "10.244.0.0/16"};
    bool cleanup = false, runtime_set = false;
    const char *kubelet_addr = NULL;
    for (int i = 1; i < argc; i++) {
        char name[64];
        if (strcmp(argv[i], "--cleanup") == 0) {
            cleanup = true;
            continue;
        }
        /* a lone --proxy means true */
        if (strcmp(argv[i], "--proxy") == 0 &&
            (i + 1 >= argc || (strcmp(argv[i + 1], "true") && strcmp(argv[i + 1], "false"))))
            continue;
        const char *val;
        int r = kc_flag_next("nodeagent", argc, argv, &i, name, sizeof name, &val);
        if (r == 1) {
            usage(stdout);
            return 0;
        }
        if (r < 0)
            return 2;
        int *dur = NULL;
        if (strcmp(name, "kubeconfig") == 0 || strcmp(name, "master") == 0)
            kc_component_flag("nodeagent", &cf, name, val);
        else if (strcmp(name, "node-name") == 0)
            o.node_name = val;
        else if (strcmp(name, "runtime") == 0)
            o.runtime = val, runtime_set = true;
        else if (strcmp(name, "simulate-nodes") == 0)
            o.simulate_nodes = atoi(val);
        else if (strcmp(name, "simulate-ready-delay") == 0)
            dur = &o.sim_ready_delay_ms;
        else if (strcmp(name, "capacity-cpu") == 0)
            o.cpu = val;
        else if (strcmp(name, "capacity-memory") == 0)
            o.memory = val;
        else if (strcmp(name, "capacity-pods") == 0)
            o.pods = val;
        else if (strcmp(name, "node-lease-duration-seconds") == 0)
            o.lease_duration_s = atoi(val);
        else if (strcmp(name, "node-lease-renew-interval") == 0)
            dur = &o.lease_renew_ms;
        else if (strcmp(name, "node-status-report-frequency") == 0)
            dur = &o.status_report_ms;
        else if (strcmp(name, "root-dir") == 0)
            o.root_dir = val;
        else if (strcmp(name, "image-dir") == 0)
            o.image_dir = val;
        else if (strcmp(name, "image-registry") == 0)
            o.image_registry = val;
        else if (strcmp(name, "image-layouts") == 0)
            o.image_layouts = val;
        else if (strcmp(name, "crun") == 0)
            o.crun = val;
        else if (strcmp(name, "cluster-dns") == 0)
            o.cluster_dns = val;
        else if (strcmp(name, "cluster-domain") == 0)
            o.cluster_domain = val;
        else if (strcmp(name, "node-netns") == 0)
            o.node_netns = val;
        else if (strcmp(name, "node-ip") == 0)
            o.node_ip = val;
        else if (strcmp(name, "fabric-bridge") == 0)
            o.fabric_bridge = val;
        else if (strcmp(name, "fabric-gateway") == 0)
            o.fabric_gateway = val;
        else if (strcmp(name, "workers") == 0)
            o.workers = atoi(val) > 0 ? atoi(val) : 1;
        else if (strcmp(name, "kubelet-address") == 0)
            kubelet_addr = val;
        else if (strcmp(name, "kubelet-port") == 0)
            o.kubelet_port = atoi(val);
        else if (strcmp(name, "proxy") == 0)
            o.proxy = strcmp(val, "false") != 0;
        else if (strcmp(name, "service-cidr") == 0)
            o.service_cidr = val;
        else if (strcmp(name, "cluster-cidr") == 0)
            o.cluster_cidr = val;
        else {
            fprintf(stderr, "nodeagent: unknown flag --%s (see --help)\n", name);
            return 2;
        }
        if (dur && (*dur = (int)kc_flag_duration("nodeagent", name, val)) < 0)
            return 2;
    }
    if (o.simulate_nodes > 0 && !runtime_set)
        o.runtime = "simulated";
    bool sim = strcmp(o.runtime, "simulated") == 0, oci = strcmp(o.runtime, "oci") == 0;
    if (!sim && !oci && strcmp(o.runtime, "process") != 0) {
        fprintf(stderr, "nodeagent: unknown runtime %s (oci, process, simulated)\n", o.runtime);
        return 2;
    }
    if (!sim && o.simulate_nodes > 0) {
        fprintf(stderr, "nodeagent: --simulate-nodes needs --runtime simulated\n");
        return 2;
    }
    static char root_buf[1024], netns_buf[128];
    if (!o.root_dir) {
        snprintf(root_buf, sizeof root_buf, "/var/lib/kubec/nodeagent/%s", o.node_name);
        o.root_dir = root_buf;
    }
    if (oci && !o.node_netns) {
        snprintf(netns_buf, sizeof netns_buf, "kubec-%s", o.node_name);
        o.node_netns = netns_buf;
    }
    if (oci && !o.node_ip) {
        fprintf(stderr, "nodeagent: the oci runtime needs --node-ip (the node's address on "
                        "the fabric, e.g. 10.250.0.11)\n");
        return 2;
    }

    struct kc_agent *a = calloc(1, sizeof *a);
    a->opt = o;
    a->routes = json_object();
    if (oci) {
        a->net = calloc(1, sizeof *a->net);
        kc_netnode_init(a->net, o.node_netns, o.fabric_bridge, o.fabric_gateway, o.node_ip);
    }
    if (cleanup) {
        int rc = kc_agent_cleanup(a);
        json_decref(a->routes);
        free(a->net);
        free(a);
        return rc;
    }
    if (kc_component_connect("nodeagent", &cf, "kubec-nodeagent/0.1", &a->client) != 0)
        return 1;
    kc_component_block_signals();
    a->rec = kc_recorder_new(a->client, "kubelet");
    if (sim) {
        a->rt = kc_runtime_sim_new(o.sim_ready_delay_ms);
        snprintf(a->runtime_version, sizeof a->runtime_version, "simulated://0.1");
    } else {
        char err[512];
        if (a->net && kc_netnode_up(a->net, err, sizeof err) != 0) {
            fprintf(stderr, "nodeagent: node network: %s\n", err);
            return 1;
        }
        struct kc_image_store *images =
            kc_image_store_new(o.image_dir, o.image_registry, o.image_layouts);
        if (!images)
            return 1;
        struct kc_driver *d;
        if (oci) {
            char state[1100], cg[300];
            snprintf(state, sizeof state, "%s/crun", o.root_dir);
            snprintf(cg, sizeof cg, "kubec-%s", o.node_name);
            d = kc_driver_oci_new(o.crun, state, cg, a->net);
            if (d)
                kc_driver_oci_set_dns(d, o.cluster_dns, o.cluster_domain);
        } else {
            d = kc_driver_process_new();
        }
        a->rt = d ? kc_runtime_real_new(d, o.root_dir, images, a->rec) : NULL;
        snprintf(a->runtime_version, sizeof a->runtime_version, "process://0.1");
        if (oci) {
            /* "crun version 1.8.1" */
            char out[256], ver[64];
            char *ver_argv[] = {(char *)o.crun, "--version", NULL};
            if (kc_cmd_run(ver_argv, NULL, out, sizeof out, 5000) == 0 &&
                sscanf(out, "crun version %63s", ver) == 1)
                snprintf(a->runtime_version, sizeof a->runtime_version, "crun://%s", ver);
            else
                snprintf(a->runtime_version, sizeof a->runtime_version, "crun://unknown");
        }
        if (!a->rt) {
            fprintf(stderr, "nodeagent: cannot set up the %s runtime\n", o.runtime);
            return 1;
        }
        kc_env_api_init(&a->env, a->client, a->rec, o.node_name);
        kc_runtime_real_set_env(a->rt, &a->env.lookup);
    }

    a->nnodes = o.simulate_nodes > 0 ? o.simulate_nodes : 1;
    a->nodes = calloc((size_t)a->nnodes, sizeof *a->nodes);
    a->node_index = json_object();
    a->ips = json_object();
    pthread_mutex_init(&a->ips_mu, NULL);
    for (int i = 0; i < a->nnodes; i++) {
        struct kc_agent_node *n = &a->nodes[i];
        char name[256];
        if (o.simulate_nodes > 0)
            snprintf(name, sizeof name, "%s-%d", o.node_name, i);
        else
            snprintf(name, sizeof name, "%s", o.node_name);
        n->name = strdup(name);
        /* simulated nodes get distinct addresses from their index; a real node its fabric
         * address, or loopback with the process runtime */
        if (sim)
            snprintf(n->internal_ip, sizeof n->internal_ip, "10.1.%d.%d", (i / 250) % 256,
                     i % 250 + 1);
        else
            snprintf(n->internal_ip, sizeof n->internal_ip, "%s", oci ? o.node_ip : "127.0.0.1");
        pthread_mutex_init(&n->mu, NULL);
        json_object_set_new(a->node_index, name, json_integer(i));
    }
    /* logs: one server; with a node network namespace its socket is made in there, on the
     * node's address, which is where the apiserver finds it (InternalIP) */
    char logs[4200], err[256];
    snprintf(logs, sizeof logs, "%s/logs", o.root_dir);
    if (o.kubelet_port > 0) {
        const char *addr = kubelet_addr ? kubelet_addr : oci ? o.node_ip : "127.0.0.1";
        int fd = a->net && !kubelet_addr ? kc_netnode_listen(a->net, addr, o.kubelet_port)
                                         : kc_logserver_listen(addr, o.kubelet_port);
        struct kc_logserver *ls = fd < 0 ? NULL : kc_logserver_start(logs, fd, err, sizeof err);
        if (ls)
            kc_logserver_set_runtime(ls, a->rt); /* kubectl exec */
        else
            fprintf(stderr, "nodeagent: no log server on %s:%d: %s\n", addr, o.kubelet_port,
                    fd < 0 ? strerror(errno) : err);
    }
    a->node_inf = kc_informer_new(a->client, &KC_GVR_NODES, NULL, NULL, NULL);
    if (kc_agent_register_nodes(a) != 0 || kc_agent_start_heartbeat(a) != 0 ||
        kc_agent_start_pods(a) != 0) {
        fprintf(stderr, "nodeagent: could not start\n");
        return 1;
    }
    /* Services: nftables in the node's namespace, so only with the oci runtime (the
     * process runtime's pods live in the host namespace; see proxy.h) */
    if (a->net && o.proxy) {
        struct kc_proxy_options po = {"kubec", o.service_cidr, o.cluster_cidr, 50};
        a->proxy = kc_proxy_start(a->client, a->net, &po);
        if (!a->proxy) /* pods still run; only Services do not work on this node */
            fprintf(stderr, "nodeagent: no service proxy: Services get no rules on this node\n");
    }
    fprintf(stderr, "nodeagent: %d node(s) registered, runtime %s%s\n", a->nnodes, o.runtime,
            a->proxy ? ", services by nftables" : "");
    int sig = kc_component_wait_signal();
    fprintf(stderr, "nodeagent: signal %d, stopping\n", sig);
    /* Pods keep running (and stay bound) across an agent restart, as with the kubelet. */
    a->stop = 1;
    kc_wq_shutdown(a->q);
    kc_client_shutdown(a->client);
    kc_proxy_stop(a->proxy); /* after the shutdown, which ends its informers' watches */
    _exit(0);
}
