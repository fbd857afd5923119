/* Writing images: in-memory tar layers, reproducible gzip, OCI layouts (the demo image
 * and the unit tests' images), and pushing a layout's image to a registry. */
#include "nodeagent/image_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- tar and gzip in memory ---- */

struct membuf {
    char *data;
    size_t len, cap;
    bool failed;
};

static la_ssize_t membuf_write(struct archive *a, void *ud, const void *data, size_t n)
{
    struct membuf *m = ud;
    if (m->len + n > m->cap) {
        size_t cap = m->cap ? m->cap : 1 << 16;
        while (cap < m->len + n)
            cap *= 2;
        char *nd = realloc(m->data, cap);
        if (!nd) {
            m->failed = true;
            archive_set_error(a, ENOMEM, "out of memory");
            return -1;
        }
        m->data = nd;
        m->cap = cap;
    }
    memcpy(m->data + m->len, data, n);
    m->len += n;
    return (la_ssize_t)n;
}

struct kc_tarw {
    struct archive *a;
    struct membuf out;
};

struct kc_tarw *kc_tarw_new(void)
{
    struct kc_tarw *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->a = archive_write_new();
    if (!t->a || archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
        archive_write_open(t->a, &t->out, NULL, membuf_write, NULL) != ARCHIVE_OK) {
        kc_tarw_free(t);
        return NULL;
    }
    return t;
}

int kc_tarw_add(struct kc_tarw *t, const char *path, char type, unsigned mode, const void *data,
                size_t len, const char *link)
{
    struct archive_entry *e = archive_entry_new();
    if (!e)
        return -1;
    archive_entry_set_pathname(e, path);
    archive_entry_set_perm(e, (mode_t)mode);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    archive_entry_set_mtime(e, 0, 0);
    switch (type) {
    case 'f':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, (la_int64_t)len);
        break;
    case 'd':
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
    case 'l':
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, link);
        break;
    case 'h':
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, link);
        archive_entry_set_size(e, 0);
        break;
    case 'p':
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    default:
        archive_entry_free(e);
        return -1;
    }
    int rc = archive_write_header(t->a, e) == ARCHIVE_OK ? 0 : -1;
    if (rc == 0 && type == 'f' && len > 0 && archive_write_data(t->a, data, len) != (la_ssize_t)len)
        rc = -1;
    archive_entry_free(e);
    return rc;
}

int kc_tarw_finish(struct kc_tarw *t, void **tar, size_t *len)
{
    int rc = archive_write_close(t->a) == ARCHIVE_OK && !t->out.failed ? 0 : -1;
    if (rc == 0) {
        *tar = t->out.data;
        *len = t->out.len;
        t->out.data = NULL;
    }
    kc_tarw_free(t);
    return rc;
}

void kc_tarw_free(struct kc_tarw *t)
{
    if (!t)
        return;
    if (t->a)
        archive_write_free(t->a);
    free(t->out.data);
    free(t);
}

int kc_gzip(const void *in, size_t len, void **out, size_t *outlen)
{
    struct membuf m = {0};
    struct archive *a = archive_write_new();
    struct archive_entry *e = archive_entry_new();
    int rc = -1;
    if (!a || !e)
        goto out;
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_size(e, (la_int64_t)len);
    /* raw format: just the data; no timestamp in the gzip header and no padding after
     * it, so the same input always compresses to the same bytes. Level 6, zlib's default:
     * level 9 takes twice the time for 0.3% less on busybox. */
    if (archive_write_set_format_raw(a) != ARCHIVE_OK ||
        archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_filter_option(a, "gzip", "compression-level", "6") != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &m, NULL, membuf_write, NULL) != ARCHIVE_OK ||
        archive_write_header(a, e) != ARCHIVE_OK)
        goto out;
    if (len > 0 && archive_write_data(a, in, len) != (la_ssize_t)len)
        goto out;
    if (archive_write_close(a) != ARCHIVE_OK || m.failed)
        goto out;
    *out = m.data;
    *outlen = m.len;
    m.data = NULL;
    rc = 0;
out:
    if (e)
        archive_entry_free(e);
    if (a)
        archive_write_free(a);
    free(m.data);
    return rc;
}

/* ---- OCI layouts ---- */

static int write_blob(const char *dir, const void *data, size_t len, char *digest, char *err,
                      size_t errlen)
{
    char p[PATH_MAX];
    struct stat st;
    kc_sha256_buf(data, len, digest);
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", dir, digest + 7);
    if (stat(p, &st) == 0 && st.st_size == (off_t)len)
        return 0; /* content addressed: already there */
    if (kc_image_write_file_atomic(p, data, len) != 0) {
        kc_image_errf(err, errlen, "write %s: %s", p, strerror(errno));
        return -1;
    }
    return 0;
}

static json_t *descriptor(const char *media_type, const char *digest, size_t size)
{
    return json_pack("{s:s, s:s, s:I}", "mediaType", media_type, "digest", digest, "size",
                     (json_int_t)size);
}

/* Compact with sorted keys: the same document always serialises to the same bytes. */
static char *dump_stable(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
}

int kc_image_layout_write(const char *dir, const char *refstr,
                          const struct kc_image_layer_src *layers, size_t nlayers,
                          const json_t *config, const char *created_by, char *manifest_digest,
                          char *err, size_t errlen)
{
    struct kc_image_ref ref;
    char p[PATH_MAX], digest[72], why[256];
    int rc = -1;
    void *gz = NULL;
    char *text = NULL, *data = NULL;
    json_t *diff_ids = json_array(), *history = json_array(), *ldescs = json_array();
    json_t *cfg = NULL, *manifest = NULL, *index = NULL;
    if (kc_image_ref_parse(refstr, &ref, why, sizeof why) != 0) {
        kc_image_errf(err, errlen, "invalid reference \"%s\": %s", refstr, why);
        goto out;
    }
    snprintf(p, sizeof p, "%s/blobs/sha256", dir);
    if (kc_image_mkdirs(p) != 0) {
        kc_image_errf(err, errlen, "mkdir %s: %s", p, strerror(errno));
        goto out;
    }
    snprintf(p, sizeof p, "%s/oci-layout", dir);
    if (kc_image_write_file_atomic(p, KC_OCI_LAYOUT_FILE, strlen(KC_OCI_LAYOUT_FILE)) != 0) {
        kc_image_errf(err, errlen, "write %s: %s", p, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < nlayers; i++) {
        const void *blob = layers[i].tar;
        size_t blen = layers[i].len;
        kc_sha256_buf(layers[i].tar, layers[i].len, digest);
        json_array_append_new(diff_ids, json_string(digest));
        if (layers[i].gzip) {
            free(gz);
            gz = NULL;
            if (kc_gzip(layers[i].tar, layers[i].len, &gz, &blen) != 0) {
                kc_image_errf(err, errlen, "gzip layer %zu failed", i);
                goto out;
            }
            blob = gz;
        }
        if (write_blob(dir, blob, blen, digest, err, errlen) != 0)
            goto out;
        json_array_append_new(
            ldescs,
            descriptor(layers[i].gzip ? KC_MT_OCI_LAYER_GZIP : KC_MT_OCI_LAYER, digest, blen));
        json_array_append_new(history, json_pack("{s:s, s:s}", "created", "1970-01-01T00:00:00Z",
                                                 "created_by", created_by));
    }
    cfg = json_pack("{s:s, s:s, s:s, s:O, s:{s:s, s:O}, s:O}", "architecture", "amd64", "os",
                    "linux", "created", "1970-01-01T00:00:00Z", "config", config, "rootfs", "type",
                    "layers", "diff_ids", diff_ids, "history", history);
    text = cfg ? dump_stable(cfg) : NULL;
    if (!text || write_blob(dir, text, strlen(text), digest, err, errlen) != 0)
        goto out;
    manifest =
        json_pack("{s:i, s:s, s:o, s:O}", "schemaVersion", 2, "mediaType", KC_MT_OCI_MANIFEST,
                  "config", descriptor(KC_MT_OCI_CONFIG, digest, strlen(text)), "layers", ldescs);
    free(text);
    text = manifest ? dump_stable(manifest) : NULL;
    if (!text || write_blob(dir, text, strlen(text), digest, err, errlen) != 0)
        goto out;
    snprintf(manifest_digest, 80, "%s", digest);

    /* index.json: add this image, replacing one of the same name */
    size_t ilen;
    snprintf(p, sizeof p, "%s/index.json", dir);
    if (kc_image_read_file(p, 64 << 20, &data, &ilen) == 0)
        index = json_loadb(data, ilen, 0, NULL);
    if (!json_is_array(json_object_get(index, "manifests"))) {
        json_decref(index);
        index = json_pack("{s:i, s:[]}", "schemaVersion", 2, "manifests");
    }
    const char *tag = ref.tag[0] ? ref.tag : "latest";
    json_t *list = json_object_get(index, "manifests");
    for (size_t i = json_array_size(list); i-- > 0;) {
        json_t *ann = json_object_get(json_array_get(list, i), "annotations");
        const char *cname = json_string_value(json_object_get(ann, KC_ANN_CONTAINERD_NAME));
        const char *rname = json_string_value(json_object_get(ann, KC_ANN_REF_NAME));
        if ((cname && strcmp(cname, ref.full) == 0) || (!cname && rname && !strcmp(rname, tag)))
            json_array_remove(list, i);
    }
    json_t *d = descriptor(KC_MT_OCI_MANIFEST, digest, strlen(text));
    json_object_set_new(
        d, "annotations",
        json_pack("{s:s, s:s}", KC_ANN_REF_NAME, tag, KC_ANN_CONTAINERD_NAME, ref.full));
    json_array_append_new(list, d);
    free(text);
    text = dump_stable(index);
    if (!text || kc_image_write_file_atomic(p, text, strlen(text)) != 0) {
        kc_image_errf(err, errlen, "write %s: %s", p, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    free(gz);
    free(text);
    free(data);
    json_decref(diff_ids);
    json_decref(history);
    json_decref(ldescs);
    json_decref(cfg);
    json_decref(manifest);
    json_decref(index);
    return rc;
}

/* ---- the demo image ---- */

/* The demo's only program: serves the container's hostname (the pod name) over HTTP.
 * POD_IP and TMPDIR let it run without its own network namespace or rootfs. */
static const char serve_hostname[] =
    "#!/bin/sh\n"
    "# Serves this container's hostname (the pod name) on port ${PORT:-5005}.\n"
    "# POD_IP, when set, is the only address bound (for runtimes without a network\n"
    "# namespace); TMPDIR is where the page is written.\n"
    "h=${HOSTNAME:-$(hostname)}\n"
    "d=${TMPDIR:-/tmp}/www.$$\n"
    "mkdir -p \"$d\" || exit 1\n"
    "printf '%s\\n' \"$h\" >\"$d/index.html\" || exit 1\n"
    "# httpd runs as a child: the shell, PID 1, ends on SIGTERM (PID 1 without a\n"
    "# handler would ignore it and every stop would last the whole grace period).\n"
    "httpd -f -p \"${POD_IP:+$POD_IP:}${PORT:-5005}\" -h \"$d\" &\n"
    "pid=$!\n"
    "trap 'kill $pid 2>/dev/null; exit 0' TERM INT\n"
    "wait $pid\n";

static const char etc_passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                                 "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
static const char etc_group[] = "root:x:0:\n"
                                "nogroup:x:65534:\n";

/* Runs argv and returns its standard output (malloc'd, NUL-terminated). */
static char *capture(char *const argv[], char *err, size_t errlen)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        kc_image_errf(err, errlen, "pipe: %s", strerror(errno));
        return NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        kc_image_errf(err, errlen, "fork: %s", strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        return NULL;
    }
    if (pid == 0) {
        dup2(pfd[1], 1);
        execv(argv[0], argv);
        _exit(127);
    }
    close(pfd[1]);
    struct membuf m = {0};
    char buf[4096];
    ssize_t n;
    while ((n = read(pfd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0 && membuf_write(NULL, &m, buf, (size_t)n) < 0)
            break;
    }
    close(pfd[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (m.failed || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        membuf_write(NULL, &m, "", 1) < 0) {
        kc_image_errf(err, errlen, "%s --list failed", argv[0]);
        free(m.data);
        return NULL;
    }
    return m.data;
}

/* busybox-static is built with FEATURE_SH_STANDALONE: its sh runs an applet of a command's
 * name without looking at PATH, so a /bin/nc of our own is reached only by its path. The
 * demo image's copy therefore has its nc applet renamed "nb" (in the applet name table,
 * where "nb" keeps its place between nameif and netstat: lookups, which bisect the sorted
 * names, still work) and `nc` in a script finds /bin/nc, which hands TCP to `busybox nb`.
 * true when done; false, busybox untouched, when the table is not laid out as expected. */
static bool rename_nc_applet(char *busybox, size_t len)
{
    static const char names[] = "\0nameif\0nc\0netstat\0";
    size_t nlen = sizeof names - 1;
    char *at = memmem(busybox, len, names, nlen);
    if (!at || memmem(at + 1, len - (size_t)(at + 1 - busybox), names, nlen))
        return false;
    at[9] = 'b'; /* "\0nameif\0n" is 9 bytes: the 'c' of nc */
    return true;
}

struct demo_entry {
    char path[128];
    char type;
    unsigned mode;
    const void *data;
    size_t len;
    const char *link;
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct demo_entry *)a)->path, ((const struct demo_entry *)b)->path);
}

int kc_image_build_demo(const char *layout, const char *busybox_path, const char *nc_path,
                        const char *ref, char *manifest_digest, char *err, size_t errlen)
{
    int rc = -1;
    char *busybox = NULL, *list = NULL, *nc = NULL;
    size_t bblen = 0, nclen = 0, n = 0;
    struct demo_entry *ents = NULL;
    struct kc_tarw *t = NULL;
    void *tar = NULL;
    size_t tarlen = 0;
    json_t *config = NULL;
    if (kc_image_read_file(busybox_path, 64 << 20, &busybox, &bblen) != 0) {
        kc_image_errf(err, errlen, "read %s: %s", busybox_path, strerror(errno));
        goto out;
    }
    if (nc_path && kc_image_read_file(nc_path, 64 << 20, &nc, &nclen) != 0) {
        kc_image_errf(err, errlen, "read %s: %s", nc_path, strerror(errno));
        goto out;
    }
    if (nc && !rename_nc_applet(busybox, bblen)) {
        fprintf(stderr,
                "warning: %s: no \"nameif nc netstat\" in its applet names: /bin/nc is busybox's "
                "(no UDP)\n",
                busybox_path);
        free(nc);
        nc = NULL;
    }
    char *argv[] = {(char *)busybox_path, "--list", NULL};
    if (!(list = capture(argv, err, errlen)))
        goto out;
    size_t cap = 32;
    for (const char *c = list; *c; c++)
        cap += *c == '\n';
    ents = calloc(cap, sizeof *ents);
    if (!ents) {
        kc_image_errf(err, errlen, "out of memory");
        goto out;
    }
#define ADD(p, ty, m, d, l, lk)                                                                    \
    do {                                                                                           \
        snprintf(ents[n].path, sizeof ents[n].path, "%s", p);                                      \
        ents[n].type = ty, ents[n].mode = m, ents[n].data = d, ents[n].len = l;                    \
        ents[n].link = lk;                                                                         \
        n++;                                                                                       \
    } while (0)
    ADD("bin", 'd', 0755, NULL, 0, NULL);
    ADD("bin/busybox", 'f', 0755, busybox, bblen, NULL);
    if (nc)
        ADD("bin/nc", 'f', 0755, nc, nclen, NULL);
    ADD("bin/serve-hostname", 'f', 0755, serve_hostname, strlen(serve_hostname), NULL);
    ADD("dev", 'd', 0755, NULL, 0, NULL);
    ADD("etc", 'd', 0755, NULL, 0, NULL);
    ADD("etc/group", 'f', 0644, etc_group, strlen(etc_group), NULL);
    ADD("etc/passwd", 'f', 0644, etc_passwd, strlen(etc_passwd), NULL);
    ADD("proc", 'd', 0755, NULL, 0, NULL);
    ADD("root", 'd', 0700, NULL, 0, NULL);
    ADD("sys", 'd', 0755, NULL, 0, NULL);
    ADD("tmp", 'd', 01777, NULL, 0, NULL);
    /* one symlink per applet */
    for (char *p = list; *p && n < cap;) {
        char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        char name[100];
        if (l > 0 && l < sizeof name) {
            snprintf(name, sizeof name, "%.*s", (int)l, p);
            if (!strchr(name, '/') && strcmp(name, "busybox") && strcmp(name, "serve-hostname") &&
                !(nc && !strcmp(name, "nc"))) {
                char path[128];
                snprintf(path, sizeof path, "bin/%s", name);
                ADD(path, 'l', 0777, NULL, 0, "busybox");
            }
        }
        p += l + (nl ? 1 : 0);
    }
#undef ADD
    qsort(ents, n, sizeof *ents, entry_cmp);
    if (!(t = kc_tarw_new())) {
        kc_image_errf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (kc_tarw_add(t, ents[i].path, ents[i].type, ents[i].mode, ents[i].data, ents[i].len,
                        ents[i].link) != 0) {
            kc_image_errf(err, errlen, "tar: cannot add %s", ents[i].path);
            goto out;
        }
    }
    int fin = kc_tarw_finish(t, &tar, &tarlen);
    t = NULL;
    if (fin != 0) {
        kc_image_errf(err, errlen, "tar: cannot finish the layer");
        goto out;
    }
    config = json_pack("{s:[s], s:[s], s:{s:{}}, s:s}", "Entrypoint", "/bin/serve-hostname", "Env",
                       "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "ExposedPorts", "5005/tcp",
                       "WorkingDir", "/");
    struct kc_image_layer_src layer = {tar, tarlen, true};
    rc =
        kc_image_layout_write(layout, ref, &layer, 1, config,
                              nc ? "kubec image build-demo: busybox-static, /bin/nc (UDP) and "
                                   "/bin/serve-hostname"
                                 : "kubec image build-demo: busybox-static and /bin/serve-hostname",
                              manifest_digest, err, errlen);
out:
    kc_tarw_free(t);
    free(tar);
    free(busybox);
    free(nc);
    free(list);
    free(ents);
    json_decref(config);
    return rc;
}

/* ---- push ---- */

/* Pushes the document desc names (a manifest with its blobs, or an index with its
 * manifests) under tag_or_digest. */
static int push_doc(struct kc_registry *reg, const char *layout, const char *repo,
                    const struct kc_oci_desc *desc, const char *tag_or_digest, bool verbose,
                    int depth, char *err, size_t errlen)
{
    char p[PATH_MAX], got[72];
    char *body = NULL;
    size_t len;
    int rc = -1;
    struct kc_oci_manifest m = {0};
    json_t *doc = NULL;
    snprintf(p, sizeof p, "%s/blobs/sha256/%s", layout, desc->digest + 7);
    if (kc_image_read_file(p, KC_OCI_MAX_DOC, &body, &len) != 0) {
        kc_image_errf(err, errlen, "read %s: %s", p, strerror(errno));
        goto out;
    }
    kc_sha256_buf(body, len, got);
    if (strcmp(got, desc->digest) != 0) {
        kc_image_errf(err, errlen, "%s: digest mismatch: content is %s", p, got);
        goto out;
    }
    doc = json_loadb(body, len, 0, NULL);
    enum kc_oci_kind kind = kc_oci_kind_of(doc, desc->media_type);
    const char *mt = json_string_value(json_object_get(doc, "mediaType"));
    if (!mt || !*mt)
        mt = desc->media_type[0]
                 ? desc->media_type
                 : (kind == KC_OCI_KIND_INDEX ? KC_MT_OCI_INDEX : KC_MT_OCI_MANIFEST);
    if (kind == KC_OCI_KIND_INDEX) {
        if (depth > 2) {
            kc_image_errf(err, errlen, "%s: indexes nested too deep", desc->digest);
            goto out;
        }
        size_t i;
        json_t *d;
        json_array_foreach (json_object_get(doc, "manifests"), i, d) {
            struct kc_oci_desc child;
            char why[256];
            if (kc_oci_desc_parse(d, &child, why, sizeof why) != 0) {
                kc_image_errf(err, errlen, "%s: %s", desc->digest, why);
                goto out;
            }
            if (push_doc(reg, layout, repo, &child, child.digest, verbose, depth + 1, err,
                         errlen) != 0)
                goto out;
        }
    } else if (kind == KC_OCI_KIND_MANIFEST) {
        if (kc_oci_manifest_parse(body, len, &m, err, errlen) != 0)
            goto out;
        for (size_t i = 0; i <= m.nlayers; i++) {
            const struct kc_oci_desc *b = i == 0 ? &m.config : &m.layers[i - 1];
            bool skipped;
            snprintf(p, sizeof p, "%s/blobs/sha256/%s", layout, b->digest + 7);
            if (kc_registry_push_blob(reg, repo, b->digest, p, b->size, &skipped, err, errlen) != 0)
                goto out;
            if (verbose)
                printf("%s: %s\n", b->digest, skipped ? "already there" : "pushed");
        }
    } else {
        kc_image_errf(err, errlen, "%s is neither a manifest nor an index", desc->digest);
        goto out;
    }
    if (kc_registry_put_manifest(reg, repo, tag_or_digest, mt, body, len, err, errlen) != 0)
        goto out;
    rc = 0;
out:
    kc_oci_manifest_release(&m);
    json_decref(doc);
    free(body);
    return rc;
}

int kc_image_push(const char *layout, const char *refstr, const char *registry, bool verbose,
                  char *manifest_digest, char *err, size_t errlen)
{
    struct kc_image_ref ref;
    struct kc_oci_desc top;
    char p[PATH_MAX], why[256], *data = NULL;
    size_t len;
    int rc = -1;
    json_t *index = NULL;
    struct kc_registry *reg = NULL;
    if (kc_image_ref_parse(refstr, &ref, why, sizeof why) != 0) {
        kc_image_errf(err, errlen, "invalid reference \"%s\": %s", refstr, why);
        goto out;
    }
    snprintf(p, sizeof p, "%s/index.json", layout);
    if (kc_image_read_file(p, 64 << 20, &data, &len) != 0 ||
        !(index = json_loadb(data, len, 0, NULL))) {
        kc_image_errf(err, errlen, "read %s: %s", p, errno ? strerror(errno) : "not JSON");
        goto out;
    }
    if (kc_oci_layout_find(index, &ref, NULL, &top) != 0) {
        kc_image_errf(err, errlen, "%s: no image named %s", layout, ref.full);
        goto out;
    }
    if (!(reg = kc_registry_open(registry))) {
        kc_image_errf(err, errlen, "out of memory");
        goto out;
    }
    if (push_doc(reg, layout, ref.path, &top, kc_image_ref_target(&ref), verbose, 0, err, errlen) !=
        0)
        goto out;
    snprintf(manifest_digest, 80, "%s", top.digest);
    rc = 0;
out:
    kc_registry_close(reg);
    json_decref(index);
    free(data);
    return rc;
}
