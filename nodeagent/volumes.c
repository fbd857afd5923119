/* emptyDir volumes: <pod dir>/volumes/<name>, bind-mounted at each mountPath, as the
 * kubelet keeps pods/<uid>/volumes/kubernetes.io~empty-dir/<name>. The directory lives as
 * long as the pod's directory does, so a container's restarts see what its earlier runs
 * wrote. medium: Memory would be a tmpfs upstream; here it is the same directory (what a
 * container observes differs only in where the bytes are kept). */
#include "nodeagent/volumes.h"

#include "lib/jsonx.h"
#include "nodeagent/cmd.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* The volume of the pod named name (borrowed), NULL if none. */
static json_t *find_volume(const json_t *pod, const char *name)
{
    size_t i;
    json_t *v;
    json_array_foreach (kc_json_path(pod, "spec.volumes"), i, v)
        if (!strcmp(kc_json_str(v, "name") ?: "", name))
            return v;
    return NULL;
}

int kc_volume_mounts(const json_t *pod, const json_t *ctr, const char *pod_dir, json_t *mounts,
                     char *msg, size_t msglen)
{
    size_t i;
    json_t *vm;
    json_array_foreach (json_object_get(ctr, "volumeMounts"), i, vm) {
        const char *name = kc_json_str(vm, "name") ?: "";
        const char *dst = kc_json_str(vm, "mountPath") ?: "";
        json_t *vol = find_volume(pod, name); /* borrowed */
        if (!vol || !json_object_get(vol, "emptyDir") || dst[0] != '/')
            continue; /* other kinds are not provided (yet) */
        /* a volume's name is a DNS label: no '/' or ".." can leave the pod's directory */
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/volumes/%s", pod_dir, name);
        if (kc_mkdirs(dir, 0755) != 0) {
            snprintf(msg, msglen, "cannot create the directory of volume %s", name);
            return -1;
        }
        /* world-writable as the kubelet makes it: any user the container runs as may write */
        chmod(dir, 0777);
        json_t *opts = json_pack("[s,s]", "rbind", /* owned, stolen below */
                                 kc_json_bool(vm, "readOnly", false) ? "ro" : "rw");
        json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:o}", "destination", dst, "type",
                                                "bind", "source", dir, "options", opts));
    }
    return 0;
}
