/* A pod's volumes as its containers see them. Only emptyDir is provided: a directory of the
 * pod's, shared by its containers and kept across their restarts, gone with the pod. */
#ifndef KUBEC_NODEAGENT_VOLUMES_H
#define KUBEC_NODEAGENT_VOLUMES_H

#include <jansson.h>
#include <stddef.h>

/* Appends to mounts (an OCI config's "mounts" array) a bind mount for each of the
 * container's volumeMounts of an emptyDir volume of the pod, creating its directory under
 * pod_dir. pod and ctr are borrowed. 0, or -1 with msg set. */
int kc_volume_mounts(const json_t *pod, const json_t *ctr, const char *pod_dir, json_t *mounts,
                     char *msg, size_t msglen);

#endif
