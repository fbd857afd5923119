/* The image store: kc_image_ensure() and the content store behind it.
 *
 * root/
 *   oci-layout, index.json   an OCI layout naming every reference pulled (annotations
 *                            io.containerd.image.name = the normalised reference,
 *                            org.opencontainers.image.ref.name = its tag)
 *   blobs/sha256/<hex>       manifests, indexes, configs and layers, each verified
 *   images/<config-hex>/rootfs   the unpacked layers
 *   tmp/<pid>.*              work in progress, renamed into place when complete
 *   .lock                    flock'd while index.json is rewritten
 *
 * A pull fetches the reference's manifest (or index, then the linux/amd64 manifest), the
 * config and the missing layers into blobs/, records the reference in index.json and
 * unpacks the layers once per config. Concurrent callers wanting the same reference share
 * one "flight": the first does the work, the others wait for its outcome.
 */
#include "nodeagent/image_store.h"
#include "nodeagent/image_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

struct flight {
    struct flight *next;
    char ref[512];
    bool done;
    int refs; /* the leader and its waiters; the last one out frees it */
    enum kc_image_err rc;
    char msg[2048];
};

struct kc_image_store {
    char root[PATH_MAX];
    char registry[256];     /* "" when none */
    char layouts[PATH_MAX]; /* "" when none */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct flight *flights;
};

/* ---- files ---- */

int kc_image_read_file(const char *path, size_t max, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    if ((unsigned long long)st.st_size > max) {
        close(fd);
        errno = EFBIG;
        return -1;
    }
    size_t n = (size_t)st.st_size, got = 0;
    char *buf = malloc(n + 1);
    if (!buf) {
        close(fd);
        errno = ENOMEM;
        return -1;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(buf);
        errno = EIO;
        return -1;
    }
    buf[n] = 0;
    *data = buf;
    *len = n;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int kc_image_write_file_atomic(const char *path, const void *data, size_t len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (write_all(fd, data, len) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return -1;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return -1;
    }
    return 0;
}

int kc_image_pathf(char *out, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(out, n, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= n) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int kc_image_mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0755) != 0 && errno != EEXIST)
                return -1;
            *p = c;
            if (!c)
                break;
        }
    }
    struct stat st;
    if (stat(buf, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

static void blob_path(const struct kc_image_store *s, const char *digest, char *out, size_t n)
{
    kc_image_pathf(out, n, "%s/blobs/sha256/%s", s->root, digest + 7);
}

static bool blob_exists(const struct kc_image_store *s, const char *digest)
{
    char p[PATH_MAX];
    struct stat st;
    blob_path(s, digest, p, sizeof p);
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- writing verified blobs ---- */

struct blob_writer {
    int fd;
    char tmp[PATH_MAX];
    char final[PATH_MAX];
    struct kc_sha256 *hash;
    long long written, want;
    char digest[80];
};

static int bw_open(const struct kc_image_store *s, const struct kc_oci_desc *d,
                   struct blob_writer *bw, char *err, size_t errlen)
{
    memset(bw, 0, sizeof *bw);
    bw->fd = -1;
    bw->want = d->size;
    snprintf(bw->digest, sizeof bw->digest, "%s", d->digest);
    blob_path(s, d->digest, bw->final, sizeof bw->final);
    kc_image_pathf(bw->tmp, sizeof bw->tmp, "%s/tmp/%d.blob.XXXXXX", s->root, (int)getpid());
    bw->fd = mkostemp(bw->tmp, O_CLOEXEC);
    bw->hash = kc_sha256_new();
    if (bw->fd < 0 || !bw->hash) {
        kc_image_errf(err, errlen, "blob %s: cannot create %s: %s", d->digest, bw->tmp,
                      strerror(errno));
        if (bw->fd >= 0) {
            close(bw->fd);
            unlink(bw->tmp);
        }
        kc_sha256_free(bw->hash);
        return -1;
    }
    return 0;
}

static int bw_sink(void *ctx, const void *data, size_t len)
{
    struct blob_writer *bw = ctx;
    if (bw->written + (long long)len > bw->want)
        return -1;
    if (write_all(bw->fd, data, len) != 0)
        return -1;
    kc_sha256_update(bw->hash, data, len);
    bw->written += (long long)len;
    return 0;
}

static void bw_abort(struct blob_writer *bw)
{
    if (bw->fd >= 0) {
        close(bw->fd);
        unlink(bw->tmp);
        bw->fd = -1;
    }
    kc_sha256_free(bw->hash);
    bw->hash = NULL;
}

/* Checks size and digest, then renames the blob into place. */
static int bw_commit(struct blob_writer *bw, char *err, size_t errlen)
{
    char got[72];
    if (bw->written != bw->want) {
        kc_image_errf(err, errlen, "blob %s: got %lld bytes, its descriptor says %lld", bw->digest,
                      bw->written, bw->want);
        bw_abort(bw);
        return -1;
    }
    kc_sha256_final(bw->hash, got);
    bw->hash = NULL;
    if (strcmp(got, bw->digest) != 0) {
        kc_image_errf(err, errlen, "blob %s: digest mismatch: content is %s", bw->digest, got);
        bw_abort(bw);
        return -1;
    }
    if (fchmod(bw->fd, 0644) != 0 || fsync(bw->fd) != 0 || rename(bw->tmp, bw->final) != 0) {
        kc_image_errf(err, errlen, "blob %s: %s", bw->digest, strerror(errno));
        bw_abort(bw);
        return -1;
    }
    close(bw->fd);
    bw->fd = -1;
    return 0;
}

static int store_bytes(const struct kc_image_store *s, const struct kc_oci_desc *d,
                       const void *data, size_t len, char *err, size_t errlen)
{
    struct blob_writer bw;
    if (blob_exists(s, d->digest))
        return 0;
    if (bw_open(s, d, &bw, err, errlen) != 0)
        return -1;
    if (bw_sink(&bw, data, len) != 0) {
        kc_image_errf(err, errlen, "blob %s: got more than the %lld bytes its descriptor says",
                      d->digest, d->size);
        bw_abort(&bw);
        return -1;
    }
    return bw_commit(&bw, err, errlen);
}

/* ---- sources: a registry repository or an OCI layout directory ---- */

struct source {
    struct kc_registry *reg; /* with repo */
    const char *repo;
    char layout[PATH_MAX]; /* when reg is NULL */
};

/* A manifest or index by descriptor, verified against it. body is malloc'd. */
static int src_get_doc(const struct source *src, const struct kc_oci_desc *d, char **body,
                       size_t *len, char *err, size_t errlen)
{
    char got[72];
    *body = NULL;
    if (d->size > KC_OCI_MAX_DOC) {
        kc_image_errf(err, errlen, "%s: %lld bytes is too large for a manifest", d->digest,
                      d->size);
        return -1;
    }
    if (src->reg) {
        char mt[128], dcd[128];
        int r = kc_registry_get_manifest(src->reg, src->repo, d->digest, body, len, mt, sizeof mt,
                                         dcd, sizeof dcd, err, errlen);
        if (r == KC_REGISTRY_NOT_FOUND)
            kc_image_errf(err, errlen, "%s: not found", d->digest);
        if (r != 0)
            return -1;
    } else {
        char p[PATH_MAX];
        kc_image_pathf(p, sizeof p, "%s/blobs/sha256/%s", src->layout, d->digest + 7);
        if (kc_image_read_file(p, KC_OCI_MAX_DOC, body, len) != 0) {
            kc_image_errf(err, errlen, "%s: %s", p, strerror(errno));
            return -1;
        }
    }
    kc_sha256_buf(*body, *len, got);
    if (strcmp(got, d->digest) != 0 || (long long)*len != d->size) {
        kc_image_errf(err, errlen, "%s: digest mismatch: content is %s (%zu bytes, %lld expected)",
                      d->digest, got, *len, d->size);
        free(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

/* Copies a config or layer blob into the store unless it is there already. */
static int src_fetch_blob(const struct kc_image_store *s, const struct source *src,
                          const struct kc_oci_desc *d, char *err, size_t errlen)
{
    struct blob_writer bw;
    if (blob_exists(s, d->digest))
        return 0;
    if (bw_open(s, d, &bw, err, errlen) != 0)
        return -1;
    if (src->reg) {
        int r = kc_registry_get_blob(src->reg, src->repo, d->digest, bw_sink, &bw, err, errlen);
        if (r == KC_REGISTRY_NOT_FOUND)
            kc_image_errf(err, errlen, "blob %s: not found", d->digest);
        if (r != 0) {
            bw_abort(&bw);
            return -1;
        }
    } else {
        char p[PATH_MAX], buf[1 << 16];
        kc_image_pathf(p, sizeof p, "%s/blobs/sha256/%s", src->layout, d->digest + 7);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            kc_image_errf(err, errlen, "blob %s: %s: %s", d->digest, p, strerror(errno));
            bw_abort(&bw);
            return -1;
        }
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {
            if (bw_sink(&bw, buf, (size_t)n) != 0) {
                n = -2;
                break;
            }
        }
        close(fd);
        if (n < 0) {
            if (n == -2)
                kc_image_errf(err, errlen,
                              "blob %s: larger than the %lld bytes its descriptor says", d->digest,
                              d->size);
            else
                kc_image_errf(err, errlen, "blob %s: read %s: %s", d->digest, p, strerror(errno));
            bw_abort(&bw);
            return -1;
        }
    }
    return bw_commit(&bw, err, errlen);
}

/* Copies what top describes (an index or a manifest) and everything it needs into the
 * store; the top document's bytes are given, already verified against top. */
static int copy_image(const struct kc_image_store *s, const struct source *src,
                      const struct kc_oci_desc *top, const char *body, size_t len, char *err,
                      size_t errlen)
{
    int rc = -1;
    char *child = NULL;
    size_t child_len = 0;
    struct kc_oci_manifest m = {0};
    json_t *doc = json_loadb(body, len, 0, NULL);
    enum kc_oci_kind kind = kc_oci_kind_of(doc, top->media_type);
    json_decref(doc);
    if (store_bytes(s, top, body, len, err, errlen) != 0)
        goto out;
    const char *mbody = body;
    size_t mlen = len;
    if (kind == KC_OCI_KIND_INDEX) {
        struct kc_oci_desc md;
        if (kc_oci_index_pick(body, len, &md, err, errlen) != 0 ||
            src_get_doc(src, &md, &child, &child_len, err, errlen) != 0 ||
            store_bytes(s, &md, child, child_len, err, errlen) != 0)
            goto out;
        mbody = child;
        mlen = child_len;
    } else if (kind != KC_OCI_KIND_MANIFEST) {
        kc_image_errf(err, errlen, "%s is neither an image manifest nor an index", top->digest);
        goto out;
    }
    if (kc_oci_manifest_parse(mbody, mlen, &m, err, errlen) != 0)
        goto out;
    if (m.config.size > KC_OCI_MAX_DOC) {
        kc_image_errf(err, errlen, "config %s: %lld bytes is too large", m.config.digest,
                      m.config.size);
        goto out;
    }
    if (src_fetch_blob(s, src, &m.config, err, errlen) != 0)
        goto out;
    for (size_t i = 0; i < m.nlayers; i++)
        if (src_fetch_blob(s, src, &m.layers[i], err, errlen) != 0)
            goto out;
    rc = 0;
out:
    kc_oci_manifest_release(&m);
    free(child);
    return rc;
}

/* ---- index.json: reference -> top descriptor ---- */

static json_t *index_load(const struct kc_image_store *s)
{
    char p[PATH_MAX], *data;
    size_t len;
    kc_image_pathf(p, sizeof p, "%s/index.json", s->root);
    if (kc_image_read_file(p, 64 << 20, &data, &len) != 0)
        return NULL;
    json_t *doc = json_loadb(data, len, 0, NULL);
    free(data);
    if (!json_is_array(json_object_get(doc, "manifests"))) {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

/* The digest index.json records for the reference; 0 or -1. */
static int index_lookup(const struct kc_image_store *s, const char *full, char *digest,
                        size_t digestlen)
{
    json_t *doc = index_load(s);
    size_t i;
    json_t *d;
    int rc = -1;
    json_array_foreach (json_object_get(doc, "manifests"), i, d) {
        const char *name = json_string_value(
            json_object_get(json_object_get(d, "annotations"), KC_ANN_CONTAINERD_NAME));
        const char *dg = json_string_value(json_object_get(d, "digest"));
        if (name && strcmp(name, full) == 0 && kc_image_digest_valid(dg)) {
            snprintf(digest, digestlen, "%s", dg);
            rc = 0;
            break;
        }
    }
    json_decref(doc);
    return rc;
}

static int index_record(const struct kc_image_store *s, const struct kc_image_ref *ref,
                        const struct kc_oci_desc *top, char *err, size_t errlen)
{
    char p[PATH_MAX];
    int rc = -1;
    kc_image_pathf(p, sizeof p, "%s/.lock", s->root);
    int lfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lfd < 0 || flock(lfd, LOCK_EX) != 0) {
        kc_image_errf(err, errlen, "lock %s: %s", p, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    json_t *doc = index_load(s);
    if (!doc)
        doc = json_pack("{s:i, s:[]}", "schemaVersion", 2, "manifests");
    json_t *list = json_object_get(doc, "manifests");
    for (size_t i = json_array_size(list); i-- > 0;) {
        const char *name = json_string_value(json_object_get(
            json_object_get(json_array_get(list, i), "annotations"), KC_ANN_CONTAINERD_NAME));
        if (name && strcmp(name, ref->full) == 0)
            json_array_remove(list, i);
    }
    json_t *ann = json_pack("{s:s}", KC_ANN_CONTAINERD_NAME, ref->full);
    if (ref->tag[0] || !ref->digest[0])
        json_object_set_new(ann, KC_ANN_REF_NAME, json_string(ref->tag[0] ? ref->tag : "latest"));
    json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:o}", "mediaType",
                                          top->media_type[0] ? top->media_type : KC_MT_OCI_MANIFEST,
                                          "digest", top->digest, "size", (json_int_t)top->size,
                                          "annotations", ann));
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    kc_image_pathf(p, sizeof p, "%s/index.json", s->root);
    if (!text || kc_image_write_file_atomic(p, text, strlen(text)) != 0)
        kc_image_errf(err, errlen, "write %s: %s", p, strerror(errno));
    else
        rc = 0;
    free(text);
    json_decref(doc);
    flock(lfd, LOCK_UN);
    close(lfd);
    return rc;
}

/* ---- from the store to a kc_image ---- */

/* The image top (an index or manifest digest) names, read from the store: its manifest
 * and config. 0, or -1 with err when something is missing or invalid. */
struct local_image {
    struct kc_oci_manifest m;
    json_t *config; /* the whole image config; owned */
};

static int read_doc(const struct kc_image_store *s, const char *digest, char **body, size_t *len,
                    char *err, size_t errlen)
{
    char p[PATH_MAX], got[72];
    blob_path(s, digest, p, sizeof p);
    if (kc_image_read_file(p, KC_OCI_MAX_DOC, body, len) != 0) {
        kc_image_errf(err, errlen, "%s: %s", digest, strerror(errno));
        return -1;
    }
    /* blobs were verified when written; a cheap check catches a damaged store */
    kc_sha256_buf(*body, *len, got);
    if (strcmp(got, digest) != 0) {
        kc_image_errf(err, errlen, "stored blob %s is damaged", digest);
        free(*body);
        *body = NULL;
        return -1;
    }
    return 0;
}

static int local_open(const struct kc_image_store *s, const char *top, struct local_image *li,
                      char *err, size_t errlen)
{
    char *body = NULL, *mbody = NULL, *cbody = NULL;
    size_t len, mlen, clen;
    int rc = -1;
    memset(li, 0, sizeof *li);
    if (read_doc(s, top, &body, &len, err, errlen) != 0)
        goto out;
    json_t *doc = json_loadb(body, len, 0, NULL);
    enum kc_oci_kind kind = kc_oci_kind_of(doc, NULL);
    json_decref(doc);
    if (kind == KC_OCI_KIND_INDEX) {
        struct kc_oci_desc md;
        if (kc_oci_index_pick(body, len, &md, err, errlen) != 0 ||
            read_doc(s, md.digest, &mbody, &mlen, err, errlen) != 0)
            goto out;
    } else {
        mbody = body;
        mlen = len;
        body = NULL;
    }
    if (kc_oci_manifest_parse(mbody, mlen, &li->m, err, errlen) != 0 ||
        read_doc(s, li->m.config.digest, &cbody, &clen, err, errlen) != 0 ||
        kc_oci_config_parse(cbody, clen, li->m.nlayers, &li->config, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    if (rc != 0) {
        kc_oci_manifest_release(&li->m);
        json_decref(li->config);
        li->config = NULL;
    }
    free(body);
    free(mbody);
    free(cbody);
    return rc;
}

static void local_close(struct local_image *li)
{
    kc_oci_manifest_release(&li->m);
    json_decref(li->config);
    li->config = NULL;
}

static void rootfs_path(const struct kc_image_store *s, const struct local_image *li, char *out,
                        size_t n)
{
    kc_image_pathf(out, n, "%s/images/%s/rootfs", s->root, li->m.config.digest + 7);
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Can the image top names be served without fetching anything? */
static bool present(const struct kc_image_store *s, const char *top)
{
    struct local_image li;
    char err[512], rootfs[PATH_MAX];
    if (local_open(s, top, &li, err, sizeof err) != 0)
        return false;
    rootfs_path(s, &li, rootfs, sizeof rootfs);
    bool ok = true;
    if (!is_dir(rootfs))
        for (size_t i = 0; ok && i < li.m.nlayers; i++)
            ok = blob_exists(s, li.m.layers[i].digest);
    local_close(&li);
    return ok;
}

/* Unpacks the layers into tmp/, then renames the tree to images/<config-hex>. */
static int unpack(const struct kc_image_store *s, const struct local_image *li, char *err,
                  size_t errlen)
{
    char tmp[PATH_MAX], rootfs[PATH_MAX], final[PATH_MAX], layer[PATH_MAX], why[1024];
    int rootfd = -1, rc = -1;
    kc_image_pathf(tmp, sizeof tmp, "%s/tmp/%d.image.XXXXXX", s->root, (int)getpid());
    if (!mkdtemp(tmp)) {
        kc_image_errf(err, errlen, "mkdtemp %s: %s", tmp, strerror(errno));
        return -1;
    }
    kc_image_pathf(rootfs, sizeof rootfs, "%s/rootfs", tmp);
    if (chmod(tmp, 0755) != 0 || mkdir(rootfs, 0755) != 0 ||
        (rootfd = open(rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        kc_image_errf(err, errlen, "%s: %s", rootfs, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < li->m.nlayers; i++) {
        blob_path(s, li->m.layers[i].digest, layer, sizeof layer);
        if (kc_image_apply_layer(rootfd, layer, kc_oci_config_diff_id(li->config, i), i == 0, why,
                                 sizeof why) != 0) {
            kc_image_errf(err, errlen, "failed to extract layer %s: %s", li->m.layers[i].digest,
                          why);
            goto out;
        }
    }
    /* the tree must be on disk before its name says it is complete */
    if (syncfs(rootfd) != 0) {
        kc_image_errf(err, errlen, "syncfs %s: %s", rootfs, strerror(errno));
        goto out;
    }
    kc_image_pathf(final, sizeof final, "%s/images/%s", s->root, li->m.config.digest + 7);
    if (rename(tmp, final) != 0) {
        if (errno != EEXIST && errno != ENOTEMPTY) {
            kc_image_errf(err, errlen, "rename %s: %s", final, strerror(errno));
            goto out;
        }
        /* unpacked meanwhile by another caller: theirs is as good */
        kc_image_pathf(final, sizeof final, "%s/images/%s/rootfs", s->root,
                       li->m.config.digest + 7);
        if (!is_dir(final)) {
            kc_image_errf(err, errlen, "%s is missing from a damaged store", final);
            goto out;
        }
    } else {
        tmp[0] = 0;
    }
    rc = 0;
out:
    if (rootfd >= 0)
        close(rootfd);
    if (tmp[0])
        kc_image_rm_tree(tmp);
    return rc;
}

/* Fills out from the store, unpacking the image if needed. */
static int materialize(const struct kc_image_store *s, const struct kc_image_ref *ref,
                       const char *top, struct kc_image *out, char *err, size_t errlen)
{
    struct local_image li;
    char rootfs[PATH_MAX];
    if (local_open(s, top, &li, err, errlen) != 0)
        return -1;
    rootfs_path(s, &li, rootfs, sizeof rootfs);
    if (!is_dir(rootfs) && unpack(s, &li, err, errlen) != 0) {
        local_close(&li);
        return -1;
    }
    memset(out, 0, sizeof *out);
    snprintf(out->ref, sizeof out->ref, "%s", ref->full);
    snprintf(out->image_id, sizeof out->image_id, "%s@%s", ref->name, top);
    snprintf(out->rootfs, sizeof out->rootfs, "%s", rootfs);
    snprintf(out->config_digest, sizeof out->config_digest, "%s", li.m.config.digest);
    json_t *cfg = json_object_get(li.config, "config");
    out->config = json_is_object(cfg) ? json_incref(cfg) : json_object();
    local_close(&li);
    return 0;
}

/* ---- pulling ---- */

static int find_in_layouts(const struct kc_image_store *s, const struct kc_image_ref *ref,
                           struct source *src, struct kc_oci_desc *top)
{
    struct dirent **names = NULL;
    int n = scandir(s->layouts, &names, NULL, alphasort);
    int rc = -1;
    for (int i = 0; i < n; i++) {
        const char *d = names[i]->d_name;
        char p[PATH_MAX], *data = NULL;
        size_t len;
        if (rc == 0 || d[0] == '.')
            continue;
        kc_image_pathf(p, sizeof p, "%s/%s/index.json", s->layouts, d);
        if (kc_image_read_file(p, 64 << 20, &data, &len) != 0)
            continue;
        json_t *index = json_loadb(data, len, 0, NULL);
        free(data);
        if (kc_oci_layout_find(index, ref, d, top) == 0) {
            kc_image_pathf(src->layout, sizeof src->layout, "%s/%s", s->layouts, d);
            rc = 0;
        } else if (ref->digest[0]) {
            /* pinned: any layout holding that manifest will do, listed or not */
            struct stat st;
            kc_image_pathf(p, sizeof p, "%s/%s/blobs/sha256/%s", s->layouts, d, ref->digest + 7);
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                kc_image_pathf(src->layout, sizeof src->layout, "%s/%s", s->layouts, d);
                memset(top, 0, sizeof *top);
                snprintf(top->digest, sizeof top->digest, "%s", ref->digest);
                top->size = st.st_size;
                rc = 0;
            }
        }
        json_decref(index);
    }
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* Fetches ref into the store and records it; top receives what it resolved to. The
 * message in err is the part after `failed to pull and unpack image "REF": `. */
static int pull(struct kc_image_store *s, const struct kc_image_ref *ref, struct kc_oci_desc *top,
                char *err, size_t errlen)
{
    struct source src = {0};
    char *body = NULL, why[1024];
    size_t len = 0;
    int rc = -1;
    if (s->layouts[0] && find_in_layouts(s, ref, &src, top) == 0) {
        if (src_get_doc(&src, top, &body, &len, why, sizeof why) != 0) {
            kc_image_errf(err, errlen, "failed to copy from layout %s: %s", src.layout, why);
            goto out;
        }
    } else {
        const char *host = NULL;
        if (strcmp(ref->domain, "docker.io") == 0)
            host = s->registry[0] ? s->registry : NULL;
        else if (kc_image_host_is_loopback(ref->domain))
            host = ref->domain;
        if (!host) {
            if (strcmp(ref->domain, "docker.io") == 0)
                kc_image_errf(err, errlen,
                              "failed to resolve reference \"%s\": no image layout names it and no "
                              "registry mirror for docker.io is configured",
                              ref->full);
            else
                kc_image_errf(err, errlen,
                              "failed to resolve reference \"%s\": registry %s is not reachable "
                              "from this node (only loopback registries and the docker.io mirror "
                              "are)",
                              ref->full, ref->domain);
            goto out;
        }
        src.reg = kc_registry_open(host);
        src.repo = ref->path;
        if (!src.reg) {
            kc_image_errf(err, errlen, "out of memory");
            goto out;
        }
        char mt[128], dcd[128], got[72];
        int r = kc_registry_get_manifest(src.reg, ref->path, kc_image_ref_target(ref), &body, &len,
                                         mt, sizeof mt, dcd, sizeof dcd, why, sizeof why);
        if (r == KC_REGISTRY_NOT_FOUND) {
            kc_image_errf(err, errlen, "failed to resolve reference \"%s\": %s: not found",
                          ref->full, ref->full);
            goto out;
        }
        if (r != 0) {
            kc_image_errf(err, errlen, "failed to resolve reference \"%s\": %s", ref->full, why);
            goto out;
        }
        kc_sha256_buf(body, len, got);
        const char *want = ref->digest[0] ? ref->digest : dcd;
        if (want[0] && strcmp(want, got) != 0) {
            kc_image_errf(err, errlen,
                          "failed to resolve reference \"%s\": manifest digest mismatch: the "
                          "registry says %s, the content is %s",
                          ref->full, want, got);
            goto out;
        }
        json_t *doc = json_loadb(body, len, 0, NULL);
        const char *jmt = json_string_value(json_object_get(doc, "mediaType"));
        memset(top, 0, sizeof *top);
        snprintf(top->media_type, sizeof top->media_type, "%s", jmt && *jmt ? jmt : mt);
        json_decref(doc);
        snprintf(top->digest, sizeof top->digest, "%s", got);
        top->size = (long long)len;
    }
    if (!top->media_type[0]) {
        json_t *doc = json_loadb(body, len, 0, NULL);
        snprintf(top->media_type, sizeof top->media_type, "%s",
                 kc_oci_kind_of(doc, NULL) == KC_OCI_KIND_INDEX ? KC_MT_OCI_INDEX
                                                                : KC_MT_OCI_MANIFEST);
        json_decref(doc);
    }
    if (copy_image(s, &src, top, body, len, why, sizeof why) != 0) {
        kc_image_errf(err, errlen, "failed to copy: %s", why);
        goto out;
    }
    char known[80];
    bool recorded =
        index_lookup(s, ref->full, known, sizeof known) == 0 && strcmp(known, top->digest) == 0;
    if (!recorded && index_record(s, ref, top, why, sizeof why) != 0) {
        kc_image_errf(err, errlen, "%s", why);
        goto out;
    }
    rc = 0;
out:
    free(body);
    kc_registry_close(src.reg);
    return rc;
}

/* Pull and unpack, once for all concurrent callers of the same reference. */
static enum kc_image_err pull_once(struct kc_image_store *s, const struct kc_image_ref *ref,
                                   char *msg, size_t msglen)
{
    pthread_mutex_lock(&s->mu);
    struct flight *f;
    for (f = s->flights; f; f = f->next)
        if (strcmp(f->ref, ref->full) == 0)
            break;
    if (f) {
        f->refs++;
        while (!f->done)
            pthread_cond_wait(&s->cv, &s->mu);
    } else {
        f = calloc(1, sizeof *f);
        if (!f) {
            pthread_mutex_unlock(&s->mu);
            kc_image_errf(msg, msglen, "out of memory");
            return KC_IMAGE_ERR_PULL;
        }
        snprintf(f->ref, sizeof f->ref, "%s", ref->full);
        f->refs = 1;
        f->next = s->flights;
        s->flights = f;
        pthread_mutex_unlock(&s->mu);

        struct kc_oci_desc top;
        struct kc_image img = {0};
        char why[1024];
        f->rc = KC_IMAGE_OK;
        if (pull(s, ref, &top, why, sizeof why) != 0 ||
            materialize(s, ref, top.digest, &img, why, sizeof why) != 0) {
            f->rc = KC_IMAGE_ERR_PULL;
            kc_image_errf(f->msg, sizeof f->msg, "failed to pull and unpack image \"%s\": %s",
                          ref->full, why);
        }
        kc_image_release(&img);

        pthread_mutex_lock(&s->mu);
        f->done = true;
        for (struct flight **pp = &s->flights; *pp; pp = &(*pp)->next) {
            if (*pp == f) {
                *pp = f->next;
                break;
            }
        }
        pthread_cond_broadcast(&s->cv);
    }
    enum kc_image_err rc = f->rc;
    if (rc != KC_IMAGE_OK)
        kc_image_errf(msg, msglen, "%s", f->msg);
    if (--f->refs == 0)
        free(f);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

enum kc_image_err kc_image_ensure(struct kc_image_store *s, const char *image,
                                  const char *pull_policy, struct kc_image *out, char *msg,
                                  size_t msglen)
{
    struct kc_image_ref ref;
    char why[1024], top[80];
    memset(out, 0, sizeof *out);
    if (msglen)
        msg[0] = 0;
    if (kc_image_ref_parse(image, &ref, why, sizeof why) != 0) {
        kc_image_errf(msg, msglen,
                      "Failed to apply default image tag \"%s\": couldn't parse image reference "
                      "\"%s\": %s",
                      image, image, why);
        return KC_IMAGE_ERR_INVALID_NAME;
    }
    const char *policy =
        pull_policy && *pull_policy ? pull_policy : kc_image_ref_default_policy(&ref);
    bool always = strcmp(policy, "Always") == 0, never = strcmp(policy, "Never") == 0;
    if (!always && !never && strcmp(policy, "IfNotPresent") != 0) {
        kc_image_errf(msg, msglen, "unknown image pull policy \"%s\"", policy);
        return KC_IMAGE_ERR_PULL;
    }
    if (!always) {
        bool have = false;
        if (ref.digest[0]) {
            snprintf(top, sizeof top, "%s", ref.digest);
            have = present(s, top);
        } else if (index_lookup(s, ref.full, top, sizeof top) == 0) {
            have = present(s, top);
        }
        if (have) {
            if (materialize(s, &ref, top, out, why, sizeof why) == 0)
                return KC_IMAGE_OK;
            kc_image_errf(msg, msglen, "failed to pull and unpack image \"%s\": %s", ref.full, why);
            return KC_IMAGE_ERR_PULL;
        }
        if (never) {
            kc_image_errf(msg, msglen,
                          "Container image \"%s\" is not present with pull policy of Never", image);
            return KC_IMAGE_ERR_NEVER_PULL;
        }
    }
    enum kc_image_err rc = pull_once(s, &ref, msg, msglen);
    if (rc != KC_IMAGE_OK)
        return rc;
    /* the flight recorded the reference; read back what it resolved to */
    if (ref.digest[0])
        snprintf(top, sizeof top, "%s", ref.digest);
    else if (index_lookup(s, ref.full, top, sizeof top) != 0) {
        kc_image_errf(msg, msglen, "failed to pull and unpack image \"%s\": lost from the index",
                      ref.full);
        return KC_IMAGE_ERR_PULL;
    }
    if (materialize(s, &ref, top, out, why, sizeof why) != 0) {
        kc_image_errf(msg, msglen, "failed to pull and unpack image \"%s\": %s", ref.full, why);
        return KC_IMAGE_ERR_PULL;
    }
    return KC_IMAGE_OK;
}

void kc_image_release(struct kc_image *img)
{
    if (!img)
        return;
    json_decref(img->config);
    img->config = NULL;
}

const char *kc_image_err_reason(enum kc_image_err e)
{
    switch (e) {
    case KC_IMAGE_OK:
        return "";
    case KC_IMAGE_ERR_PULL:
        return "ErrImagePull";
    case KC_IMAGE_ERR_NEVER_PULL:
        return "ErrImageNeverPull";
    case KC_IMAGE_ERR_INVALID_NAME:
        return "InvalidImageName";
    }
    return "ErrImagePull";
}

/* ---- the store ---- */

/* Work left in tmp/ by processes that are gone (a crash mid-pull). */
static void sweep_tmp(const struct kc_image_store *s)
{
    char dir[PATH_MAX];
    kc_image_pathf(dir, sizeof dir, "%s/tmp", s->root);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (de->d_name[0] == '.' || *end != '.' || pid <= 0)
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;
        char p[PATH_MAX];
        kc_image_pathf(p, sizeof p, "%s/%s", dir, de->d_name);
        kc_image_rm_tree(p);
    }
    closedir(d);
}

struct kc_image_store *kc_image_store_new(const char *root, const char *registry,
                                          const char *layouts)
{
    char p[PATH_MAX];
    struct kc_image_store *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    const char *subdirs[] = {"", "/blobs/sha256", "/images", "/tmp"};
    for (size_t i = 0; i < sizeof subdirs / sizeof *subdirs; i++) {
        if (kc_image_pathf(p, sizeof p, "%s%s", root, subdirs[i]) != 0 || kc_image_mkdirs(p) != 0) {
            fprintf(stderr, "image store: cannot create %s: %s\n", p, strerror(errno));
            free(s);
            return NULL;
        }
    }
    /* room for the longest path below root or a layout */
    if (!realpath(root, s->root) || strlen(s->root) > 2048 || (layouts && strlen(layouts) > 2048)) {
        fprintf(stderr, "image store: %s: %s\n", root,
                s->root[0] ? "path too long" : strerror(errno));
        free(s);
        return NULL;
    }
    kc_image_pathf(p, sizeof p, "%s/oci-layout", s->root);
    if (access(p, F_OK) != 0 &&
        kc_image_write_file_atomic(p, KC_OCI_LAYOUT_FILE, strlen(KC_OCI_LAYOUT_FILE)) != 0) {
        fprintf(stderr, "image store: cannot write %s: %s\n", p, strerror(errno));
        free(s);
        return NULL;
    }
    snprintf(s->registry, sizeof s->registry, "%s", registry ? registry : "");
    snprintf(s->layouts, sizeof s->layouts, "%s", layouts ? layouts : "");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    sweep_tmp(s);
    return s;
}

void kc_image_store_free(struct kc_image_store *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}
