/* Internals of the image store, shared by its files, `kubec image`, the unit tests and
 * the fuzz target: reference parsing, OCI JSON handling (no I/O), digests, the registry
 * client, layer unpacking and OCI layout writing. */
#ifndef KUBEC_NODEAGENT_IMAGE_INTERNAL_H
#define KUBEC_NODEAGENT_IMAGE_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- references (image_ref.c) ---- */

/* A reference normalised as Docker does: "busybox" is docker.io/library/busybox:latest. */
struct kc_image_ref {
    char domain[256]; /* "docker.io", "127.0.0.1:5000", "localhost" */
    char path[256];   /* repository path: "library/busybox" */
    char tag[130];    /* "" when the reference has none (before defaulting) */
    char digest[80];  /* "sha256:<64 hex>", or "" */
    char name[260];   /* domain/path (at most 255 characters) */
    char full[512];   /* name[:tag][@digest], with ":latest" when it had neither */
};

/* Parses s like distribution/reference's ParseNormalizedNamed. Returns 0, or -1 with err
 * set to that library's message ("invalid reference format", "invalid reference format:
 * repository name (library/A) must be lowercase", "repository name must not be more than
 * 255 characters", "invalid checksum digest format", ...). Only sha256 digests are
 * accepted (others: "unsupported digest algorithm"). */
int kc_image_ref_parse(const char *s, struct kc_image_ref *r, char *err, size_t errlen);
/* "Always" when the tag is "latest" or there is neither tag nor digest, as the API server
 * defaults imagePullPolicy; else "IfNotPresent". */
const char *kc_image_ref_default_policy(const struct kc_image_ref *r);
/* The tag to pull: the digest when pinned, else the tag (or "latest"). Borrowed. */
const char *kc_image_ref_target(const struct kc_image_ref *r);
/* True for localhost, 127.x.x.x and [::1], with or without a port. */
bool kc_image_host_is_loopback(const char *domain);
/* True for "sha256:" followed by exactly 64 lowercase hex digits. */
bool kc_image_digest_valid(const char *d);

/* snprintf for error messages, which may be cut short (a message is not worth failing
 * for). */
void kc_image_errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- digests (image_oci.c) ---- */

struct kc_sha256;
struct kc_sha256 *kc_sha256_new(void);
void kc_sha256_update(struct kc_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" (72 bytes with the NUL) and frees h. */
void kc_sha256_final(struct kc_sha256 *h, char out[72]);
void kc_sha256_free(struct kc_sha256 *h);
void kc_sha256_buf(const void *data, size_t len, char out[72]);

/* ---- OCI documents (image_oci.c; no I/O) ---- */

#define KC_OCI_LAYOUT_FILE "{\"imageLayoutVersion\":\"1.0.0\"}"
#define KC_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define KC_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define KC_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define KC_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define KC_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define KC_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define KC_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define KC_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
/* What a registry must be told we accept (2.8 answers 404 for an OCI manifest without
 * the OCI type here). */
#define KC_MANIFEST_ACCEPT                                                                         \
    KC_MT_OCI_MANIFEST ", " KC_MT_DOCKER_MANIFEST ", " KC_MT_OCI_INDEX ", " KC_MT_DOCKER_LIST
#define KC_ANN_REF_NAME "org.opencontainers.image.ref.name"
#define KC_ANN_CONTAINERD_NAME "io.containerd.image.name"
/* Largest manifest, index or config we read (registries cap manifests at 4 MiB). */
#define KC_OCI_MAX_DOC (4 << 20)

struct kc_oci_desc {
    char media_type[128];
    char digest[80];
    long long size;
};

struct kc_oci_manifest {
    struct kc_oci_desc config;
    size_t nlayers;
    struct kc_oci_desc *layers; /* owned; kc_oci_manifest_release() */
};

enum kc_oci_kind { KC_OCI_KIND_UNKNOWN = 0, KC_OCI_KIND_MANIFEST, KC_OCI_KIND_INDEX };

/* A descriptor object: mediaType, a valid sha256 digest, a size >= 0. 0 or -1 (err). */
int kc_oci_desc_parse(const json_t *j, struct kc_oci_desc *d, char *err, size_t errlen);
/* What a manifest body is, from its mediaType or else the media type it was served or
 * described with (may be NULL); a body with "manifests" and no type counts as an index. */
enum kc_oci_kind kc_oci_kind_of(const json_t *doc, const char *media_type);
/* Parses an image manifest (OCI or Docker schema 2). 0 or -1 (err). */
int kc_oci_manifest_parse(const char *body, size_t len, struct kc_oci_manifest *m, char *err,
                          size_t errlen);
void kc_oci_manifest_release(struct kc_oci_manifest *m);
/* From an index or manifest list: the linux/amd64 manifest. 0, or -1 (err: "no match for
 * platform in manifest: not found" when there is none). */
int kc_oci_index_pick(const char *body, size_t len, struct kc_oci_desc *out, char *err,
                      size_t errlen);
/* Checks an image config against its manifest (rootfs.diff_ids, one per layer, each a
 * valid digest) and returns a new reference to the whole config in *out. 0 or -1. */
int kc_oci_config_parse(const char *body, size_t len, size_t nlayers, json_t **out, char *err,
                        size_t errlen);
/* The config's rootfs.diff_ids[i] (borrowed from config), or NULL. */
const char *kc_oci_config_diff_id(const json_t *config, size_t i);
/* Finds ref in an OCI layout's index.json (dirname: the layout directory's base name).
 * A manifest descriptor matches when its annotations say
 *  - io.containerd.image.name or org.opencontainers.image.ref.name is a reference that
 *    normalises to the same name and tag ("docker.io/library/busybox:latest",
 *    "busybox:latest", "library/busybox:latest" all name busybox:latest), or
 *  - org.opencontainers.image.ref.name is just the tag (as umoci writes it) and dirname
 *    is the repository's last path component (layouts/busybox holding "latest"), or
 *    dirname is NULL (the caller named the layout itself, as `kubec image push` does);
 *  - for a reference pinned by digest, the descriptor's digest is that digest.
 * Returns 0 with *out set, or -1. */
int kc_oci_layout_find(const json_t *index, const struct kc_image_ref *ref, const char *dirname,
                       struct kc_oci_desc *out);

/* ---- files (image_store.c) ---- */

/* Reads a whole file of at most max bytes: 0 with *data (malloc'd, NUL-terminated) and
 * *len, or -1 with errno set (EFBIG when larger). */
int kc_image_read_file(const char *path, size_t max, char **data, size_t *len);
/* Writes data to path through a temporary file in the same directory, fsync and rename.
 * 0 or -1 (errno). */
int kc_image_write_file_atomic(const char *path, const void *data, size_t len);
/* snprintf for paths: -1 (errno ENAMETOOLONG) when the result does not fit. */
int kc_image_pathf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* mkdir -p with mode 0755. 0 or -1 (errno). */
int kc_image_mkdirs(const char *path);

/* ---- registry client (image_registry.c) ---- */

struct kc_registry;
/* host: "127.0.0.1:5000"; plain HTTP. NULL on allocation failure. */
struct kc_registry *kc_registry_open(const char *host);
void kc_registry_close(struct kc_registry *r);
#define KC_REGISTRY_NOT_FOUND 1
/* GET /v2/<repo>/manifests/<ref>. 0 with *body (malloc'd), *len, the served media type
 * and Docker-Content-Digest ("" when absent); KC_REGISTRY_NOT_FOUND on 404; -1 (err). */
int kc_registry_get_manifest(struct kc_registry *r, const char *repo, const char *ref, char **body,
                             size_t *len, char *media_type, size_t mtlen, char *digest,
                             size_t digestlen, char *err, size_t errlen);
/* GET /v2/<repo>/blobs/<digest>, following redirects, handing each chunk to sink (which
 * returns 0, or -1 to stop the transfer). 0, KC_REGISTRY_NOT_FOUND, or -1 (err). */
int kc_registry_get_blob(struct kc_registry *r, const char *repo, const char *digest,
                         int (*sink)(void *ctx, const void *data, size_t len), void *ctx, char *err,
                         size_t errlen);
/* Pushes the file at path as blob digest (HEAD first: a blob already there is skipped).
 * 0, or -1 (err). *skipped tells whether it was already there. */
int kc_registry_push_blob(struct kc_registry *r, const char *repo, const char *digest,
                          const char *path, long long size, bool *skipped, char *err,
                          size_t errlen);
/* PUT /v2/<repo>/manifests/<ref> with the exact bytes. 0, or -1 (err, also when the
 * registry's Docker-Content-Digest differs from the body's). */
int kc_registry_put_manifest(struct kc_registry *r, const char *repo, const char *ref,
                             const char *media_type, const void *body, size_t len, char *err,
                             size_t errlen);

/* ---- unpacking (image_unpack.c) ---- */

/* Applies the layer blob at layer_path (a tar, gzip- or zstd-compressed or not) onto the
 * directory rootfd: OCI whiteouts first (".wh.<name>" removes that name, ".wh..wh..opq"
 * empties its directory: both only touch what lower layers put there), then regular
 * files, directories, symlinks, hard links and FIFOs with modes, mtimes and (as root)
 * numeric owners; device nodes and sockets are skipped. An entry whose path is absolute,
 * has a ".." component or leads through a symlink or non-directory is an error, so no
 * entry is ever written outside rootfd. When diff_id is not NULL the uncompressed stream
 * must hash to it. first: no lower layer (the whiteout pass is skipped). 0 or -1 (err). */
int kc_image_apply_layer(int rootfd, const char *layer_path, const char *diff_id, bool first,
                         char *err, size_t errlen);
/* Removes path and everything under it without following symlinks. 0 or -1 (errno). */
int kc_image_rm_tree(const char *path);

/* ---- writing images and layouts (image_build.c) ---- */

/* An in-memory tar built with libarchive (pax restricted: plain ustar headers unless a
 * name is long), for layers. */
struct kc_tarw;
struct kc_tarw *kc_tarw_new(void);
/* Adds one entry with uid/gid 0 and mtime 0. type: 'f' file (data/len), 'd' directory,
 * 'l' symlink to link, 'h' hard link to link, 'p' FIFO. 0 or -1. */
int kc_tarw_add(struct kc_tarw *t, const char *path, char type, unsigned mode, const void *data,
                size_t len, const char *link);
/* Ends the archive and hands over the bytes (malloc'd) to *tar; frees t. 0 or -1. */
int kc_tarw_finish(struct kc_tarw *t, void **tar, size_t *len);
void kc_tarw_free(struct kc_tarw *t);
/* gzip with a fixed header (no name, mtime 0): same input, same bytes. 0 or -1. */
int kc_gzip(const void *in, size_t len, void **out, size_t *outlen);

struct kc_image_layer_src {
    const void *tar; /* uncompressed tar */
    size_t len;
    bool gzip; /* store as tar+gzip (else plain tar) */
};
/* Writes an image into the OCI layout at dir (created, or added to): one blob per layer,
 * the image config (os linux, architecture amd64, the given "config" object, rootfs
 * diff_ids, one history entry per layer saying created_by, created at the epoch), the
 * manifest, and an index.json entry annotated with ref's tag
 * (org.opencontainers.image.ref.name) and its normalised name
 * (io.containerd.image.name), replacing an entry of the same name. The same inputs give
 * the same bytes, hence the same digest. manifest_digest (80 bytes) receives the
 * manifest's digest. 0 or -1 (err). */
int kc_image_layout_write(const char *dir, const char *ref, const struct kc_image_layer_src *layers,
                          size_t nlayers, const json_t *config, const char *created_by,
                          char *manifest_digest, char *err, size_t errlen);
/* Builds the demo image (busybox-static from busybox_path, /bin/serve-hostname) into the
 * layout; /bin/nc is the file nc_path (images/demo_nc.c: UDP, the rest handed to busybox)
 * or, when NULL, busybox's applet. 0 or -1 (err). */
int kc_image_build_demo(const char *layout, const char *busybox_path, const char *nc_path,
                        const char *ref, char *manifest_digest, char *err, size_t errlen);
/* Pushes the image that ref names in the layout (see kc_oci_layout_find(), dirname NULL)
 * to the registry as repository ref's path and tag. Prints one line per blob when
 * verbose. 0 or -1 (err). */
int kc_image_push(const char *layout, const char *ref, const char *registry, bool verbose,
                  char *manifest_digest, char *err, size_t errlen);

#endif
