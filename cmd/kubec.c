/* kubec: one binary, several components (`kubec apiserver`, later `kubec up`, ...). */
#include "cmd/up.h"

#include <stdio.h>
#include <string.h>

int kc_apiserver_main(int argc, char **argv);
int kc_controllers_main(int argc, char **argv);
int kc_scheduler_main(int argc, char **argv);
int kc_nodeagent_main(int argc, char **argv);
int kc_shim_main(int argc, char **argv);
int kc_image_main(int argc, char **argv);
int kc_dns_main(int argc, char **argv);
int kc_conformance_main(int argc, char **argv);
int kc_ingress_main(int argc, char **argv);

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *help;
};

static const struct command commands[] = {
    {"up", kc_up_main, "a whole cluster: apiserver, controllers, scheduler, nodes, ingress"},
    {"down", kc_down_main, "stops the cluster `kubec up --detach` started"},
    {"apiserver", kc_apiserver_main, "the API server (LMDB storage, HTTPS with HTTP/2)"},
    {"controllers", kc_controllers_main,
     "the controller manager (deployments, replicasets, GC, endpoints, namespaces, nodes)"},
    {"scheduler", kc_scheduler_main, "the scheduler (filters, scores, pods/binding)"},
    {"nodeagent", kc_nodeagent_main, "the node agent (registration, heartbeats, pods)"},
    {"conformance", kc_conformance_main,
     "runs kubec's re-expression of upstream conformance tests against a cluster"},
    {"dns", kc_dns_main, "the cluster DNS server (Services and pods under cluster.local)"},
    {"shim", kc_shim_main, "one container run (started by the node agent)"},
    {"ingress", kc_ingress_main, "the Ingress controller (HTTP/1.1 and HTTP/2 reverse proxy)"},
    {"image", kc_image_main, "images: build the demo image, push to a registry, pull into a store"},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: kubec <command> [flags]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`kubec <command> --help` lists the flags of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "kubec: unknown command %s\n\n", argv[1]);
    usage(stderr);
    return 2;
}
