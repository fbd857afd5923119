/* A pod's host name and the /etc/hosts the kubelet writes for it (kubelet_pods.go:
 * GeneratePodHostNameAndDomain, managedHostsFileContent). */
#ifndef KUBEC_NODEAGENT_POD_HOSTS_H
#define KUBEC_NODEAGENT_POD_HOSTS_H

#include <jansson.h>
#include <stddef.h>

/* spec.hostname, else the pod's name; cut to 63 characters and then of a trailing '-' or
 * '.', as upstream. */
void kc_pod_hostname(const json_t *pod, char *out, size_t len);

/* The hosts file of pod (borrowed) with address ip, in a new string: the localhost
 * lines, the pod's own line (with its FQDN <hostname>.<subdomain>.<ns>.svc.<domain> first
 * when spec.subdomain is set), then spec.hostAliases, one line per IP. */
char *kc_pod_hosts_content(const json_t *pod, const char *ip, const char *domain);

#endif
