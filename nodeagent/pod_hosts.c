/* A pod's host name and its kubelet-managed /etc/hosts. See pod_hosts.h. */
#include "nodeagent/pod_hosts.h"

#include "lib/jsonx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kc_pod_hostname(const json_t *pod, char *out, size_t len)
{
    const char *h = kc_json_str(pod, "spec.hostname");
    if (!h || !*h)
        h = kc_json_str(pod, "metadata.name") ?: "";
    snprintf(out, len < 64 ? len : 64, "%s", h);
    size_t n = strlen(out);
    while (n > 0 && (out[n - 1] == '-' || out[n - 1] == '.'))
        out[--n] = 0;
}

char *kc_pod_hosts_content(const json_t *pod, const char *ip, const char *domain)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    char host[64];
    kc_pod_hostname(pod, host, sizeof host);
    fprintf(f, "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost "
               "ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\n"
               "fe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n");
    const char *sub = kc_json_str(pod, "spec.subdomain");
    if (sub && *sub)
        fprintf(f, "%s\t%s.%s.%s.svc.%s\t%s\n", ip, host, sub,
                kc_json_str(pod, "metadata.namespace") ?: "default", domain, host);
    else
        fprintf(f, "%s\t%s\n", ip, host);
    const json_t *aliases = kc_json_path(pod, "spec.hostAliases");
    if (json_array_size(aliases))
        fprintf(f, "\n# Entries added by HostAliases.\n");
    size_t i, j;
    json_t *a, *h;
    json_array_foreach (aliases, i, a) {
        fprintf(f, "%s", kc_json_str(a, "ip") ?: "");
        json_array_foreach (json_object_get(a, "hostnames"), j, h)
            fprintf(f, "\t%s", json_string_value(h) ?: "");
        fprintf(f, "\n");
    }
    fclose(f);
    return buf;
}
