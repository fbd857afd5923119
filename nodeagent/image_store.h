/* The node agent's image store: images pulled from a registry on loopback (the OCI
 * distribution API) or read from local OCI image layouts, verified by digest and unpacked
 * once into a read-only rootfs that containers share as their overlay lower dir.
 *
 * On disk (root): an OCI image layout of its own (oci-layout, index.json naming every
 * reference it holds, blobs/sha256/<hex>), plus images/<config-hex>/rootfs, the unpacked
 * layers. Blobs and rootfs trees are built under root/tmp and renamed into place, so a
 * crash never leaves a half-written blob or image behind a name; index.json is replaced
 * by rename as well. IfNotPresent and Never therefore work offline and across restarts.
 */
#ifndef KUBEC_NODEAGENT_IMAGE_STORE_H
#define KUBEC_NODEAGENT_IMAGE_STORE_H

#include <jansson.h>
#include <stddef.h>

struct kc_image_store;

/* root: directory for blobs and unpacked images (created; made absolute). registry:
 * "127.0.0.1:5000", used as a mirror for every image whose reference has no explicit
 * registry host or names docker.io (NULL: none). References naming a loopback registry
 * (localhost, 127.x.x.x, [::1], with an optional port) are pulled from it directly over
 * plain HTTP; any other registry host is refused (this node has no way out).
 * layouts: a directory holding OCI image layouts (each subdirectory one layout), searched
 * before the registry (NULL: none); see kc_oci_layout_find() in image_internal.h for the
 * names a layout's index.json may use. Returns NULL (printed to stderr) when root cannot
 * be created. */
struct kc_image_store *kc_image_store_new(const char *root, const char *registry,
                                          const char *layouts);
/* Frees the handle (nothing on disk changes). NULL is a no-op. No kc_image_ensure() may
 * be running. */
void kc_image_store_free(struct kc_image_store *s);

struct kc_image {
    char ref[512];          /* normalised reference, e.g. docker.io/library/busybox:latest */
    char image_id[600];     /* what containerStatuses[].imageID shows: "<repo>@sha256:<digest>",
                             * the digest of what the reference resolved to (manifest or index) */
    char rootfs[4096];      /* unpacked, read-only lower dir shared by containers */
    char config_digest[80]; /* "sha256:<hex>" of the image config (crictl's image id) */
    json_t *config;         /* the image config's "config" object (Entrypoint, Cmd, Env, WorkingDir,
                             * User, ExposedPorts; {} when the image has none); owned: one reference,
                             * dropped by kc_image_release() */
};

enum kc_image_err {
    KC_IMAGE_OK = 0,
    KC_IMAGE_ERR_PULL,        /* ErrImagePull */
    KC_IMAGE_ERR_NEVER_PULL,  /* ErrImageNeverPull */
    KC_IMAGE_ERR_INVALID_NAME /* InvalidImageName */
};

/* Makes the image available honouring pull_policy ("Always", "IfNotPresent", "Never";
 * NULL or "" = the Kubernetes default: Always for ":latest" or no tag and no digest, else
 * IfNotPresent). Thread-safe: concurrent calls for the same reference pull once and share
 * the outcome. On success fills *out (release it with kc_image_release()). On error
 * returns the enum, leaves *out empty (config NULL) and writes a message like the
 * kubelet's into msg, e.g.
 *   InvalidImageName: Failed to apply default image tag "A": couldn't parse image
 *                     reference "A": invalid reference format: repository name (library/A)
 *                     must be lowercase
 *   ErrImageNeverPull: Container image "x" is not present with pull policy of Never
 *   ErrImagePull: failed to pull and unpack image "docker.io/library/nosuch:latest":
 *                 failed to resolve reference "docker.io/library/nosuch:latest":
 *                 docker.io/library/nosuch:latest: not found */
enum kc_image_err kc_image_ensure(struct kc_image_store *s, const char *image,
                                  const char *pull_policy, struct kc_image *out, char *msg,
                                  size_t msglen);
/* Drops config. Safe on an already released or zeroed image. */
void kc_image_release(struct kc_image *img);
/* The Kubernetes reason for an error: "ErrImagePull", "ErrImageNeverPull",
 * "InvalidImageName" ("" for KC_IMAGE_OK). */
const char *kc_image_err_reason(enum kc_image_err e);

#endif
