/* `kubec nodeagent`: flags, the runtime, registration, heartbeats and pods. */
#include "client/component.h"
#include "nodeagent/agent.h"
#include "nodeagent/logserver.h"

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
            "  --runtime NAME                      simulated (real runtimes come next)\n"
            "  --simulate-nodes N                  serve N simulated nodes from this process\n"
            "  --simulate-ready-delay D            simulated containers are ready after D (0s)\n"
            "  --capacity-cpu Q / --capacity-memory Q / --capacity-pods N\n"
            "                                      what the node offers (4, 8Gi, 110)\n"
            "  --node-lease-duration-seconds N     (40)\n"
            "  --node-lease-renew-interval D       (10s)\n"
            "  --node-status-report-frequency D    Ready heartbeat in node status (1m)\n"
            "  --workers N                         pod workers (8)\n"
            "  --root-dir DIR                      the agent's files; container logs in DIR/logs\n"
            "                                      (/var/lib/kubec/nodeagent/NODE-NAME)\n"
            "  --kubelet-port N                    serve container logs on the node's address,\n"
            "                                      port N (10250; 0: no log server)\n"
            "  --help                              this text\n");
}

int kc_nodeagent_main(int argc, char **argv)
{
    struct kc_component_flags cf;
    kc_component_flags_init(&cf, "unused");
    static char host[128];
    gethostname(host, sizeof host - 1);
    struct kc_agent_options o = {.node_name = host,
                                 .runtime = "simulated",
                                 .cpu = "4",
                                 .memory = "8Gi",
                                 .pods = "110",
                                 .ephemeral_storage = "100Gi",
                                 .lease_duration_s = 40,
                                 .lease_renew_ms = 10000,
                                 .status_report_ms = 60000,
                                 .workers = 8,
                                 .kubelet_port = 10250};
    for (int i = 1; i < argc; i++) {
        char name[64];
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
            o.runtime = val;
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
        else if (strcmp(name, "workers") == 0)
            o.workers = atoi(val) > 0 ? atoi(val) : 1;
        else if (strcmp(name, "root-dir") == 0)
            o.root_dir = val;
        else if (strcmp(name, "kubelet-port") == 0)
            o.kubelet_port = atoi(val);
        else {
            fprintf(stderr, "nodeagent: unknown flag --%s (see --help)\n", name);
            return 2;
        }
        if (dur && (*dur = (int)kc_flag_duration("nodeagent", name, val)) < 0)
            return 2;
    }
    static char root_dir[4096];
    if (!o.root_dir) {
        snprintf(root_dir, sizeof root_dir, "/var/lib/kubec/nodeagent/%s", o.node_name);
        o.root_dir = root_dir;
    }
    if (strcmp(o.runtime, "simulated") != 0) {
        fprintf(stderr, "nodeagent: runtime %s is not available yet (simulated is)\n", o.runtime);
        return 2;
    }

    struct kc_agent *a = calloc(1, sizeof *a);
    a->opt = o;
    if (kc_component_connect("nodeagent", &cf, "kubec-nodeagent/0.1", &a->client) != 0)
        return 1;
    kc_component_block_signals();
    a->rt = kc_runtime_sim_new(o.sim_ready_delay_ms);
    a->rec = kc_recorder_new(a->client, "kubelet");
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
        /* simulated nodes get distinct addresses from the 10.1.0.0/16 documentation of
         * their index; a real node reports loopback until networking lands */
        snprintf(n->internal_ip, sizeof n->internal_ip, "10.1.%d.%d", (i / 250) % 256, i % 250 + 1);
        pthread_mutex_init(&n->mu, NULL);
        json_object_set_new(a->node_index, name, json_integer(i));
    }
    /* logs: one server on the node's address; simulated nodes share one on every address */
    char logs[4200], err[256];
    snprintf(logs, sizeof logs, "%s/logs", o.root_dir);
    if (o.kubelet_port > 0 &&
        !kc_logserver_serve(logs, o.simulate_nodes > 0 ? "0.0.0.0" : a->nodes[0].internal_ip,
                            o.kubelet_port, err, sizeof err))
        fprintf(stderr, "nodeagent: no log server: %s\n", err);
    a->node_inf = kc_informer_new(a->client, &KC_GVR_NODES, NULL, NULL, NULL);
    if (kc_agent_register_nodes(a) != 0 || kc_agent_start_heartbeat(a) != 0 ||
        kc_agent_start_pods(a) != 0) {
        fprintf(stderr, "nodeagent: could not start\n");
        return 1;
    }
    fprintf(stderr, "nodeagent: %d node(s) registered, runtime %s\n", a->nnodes, a->rt->ops->name);
    int sig = kc_component_wait_signal();
    fprintf(stderr, "nodeagent: signal %d, stopping\n", sig);
    /* Pods keep running (and stay bound) across an agent restart, as with the kubelet. */
    a->stop = 1;
    kc_wq_shutdown(a->q);
    kc_client_shutdown(a->client);
    _exit(0);
}
