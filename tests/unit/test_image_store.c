/* The node agent's image store: reference normalisation (good and bad names, the kubelet's
 * messages), OCI documents, layout lookup, importing from a layout, whiteouts and opaque
 * directories across two layers, layers that try to write outside the rootfs, digest and
 * diff_id mismatches, pull policies served from the store alone, an index picking
 * linux/amd64, and concurrent callers. Layers are built here with libarchive. */
#include "check.h"
#include "nodeagent/image_internal.h"
#include "nodeagent/image_store.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static char tmpdir[PATH_MAX];

/* snprintf for the test's paths, which always fit */
#define PATHF(buf, ...) ((void)kc_image_pathf(buf, sizeof buf, __VA_ARGS__))

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- references ---- */

struct good {
    const char *in, *full, *domain, *path, *tag, *digest, *policy;
};

static void test_refs(void)
{
    static const struct good good[] = {
        {"busybox", "docker.io/library/busybox:latest", "docker.io", "library/busybox", "", "",
         "Always"},
        {"busybox:1.36", "docker.io/library/busybox:1.36", "docker.io", "library/busybox", "1.36",
         "", "IfNotPresent"},
        {"jweissig/alpine-k8s-pod-lb-demo", "docker.io/jweissig/alpine-k8s-pod-lb-demo:latest",
         "docker.io", "jweissig/alpine-k8s-pod-lb-demo", "", "", "Always"},
        {"docker.io/busybox", "docker.io/library/busybox:latest", "docker.io", "library/busybox",
         "", "", "Always"},
        {"index.docker.io/library/busybox:latest", "docker.io/library/busybox:latest", "docker.io",
         "library/busybox", "latest", "", "Always"},
        {"127.0.0.1:5000/x/y:t", "127.0.0.1:5000/x/y:t", "127.0.0.1:5000", "x/y", "t", "",
         "IfNotPresent"},
        {"localhost/x", "localhost/x:latest", "localhost", "x", "", "", "Always"},
        {"localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000/a/b/c:v1.2-rc_3", "localhost:5000",
         "a/b/c", "v1.2-rc_3", "", "IfNotPresent"},
        {"busybox@sha256:" HEX64, "docker.io/library/busybox@sha256:" HEX64, "docker.io",
         "library/busybox", "", "sha256:" HEX64, "IfNotPresent"},
        {"busybox:1.0@sha256:" HEX64, "docker.io/library/busybox:1.0@sha256:" HEX64, "docker.io",
         "library/busybox", "1.0", "sha256:" HEX64, "IfNotPresent"},
        {"busybox:latest@sha256:" HEX64, "docker.io/library/busybox:latest@sha256:" HEX64,
         "docker.io", "library/busybox", "latest", "sha256:" HEX64, "Always"},
        {"Example.com/bar", "Example.com/bar:latest", "Example.com", "bar", "", "", "Always"},
        {"[::1]:5000/x:Tag_1", "[::1]:5000/x:Tag_1", "[::1]:5000", "x", "Tag_1", "",
         "IfNotPresent"},
        {"a_b/c__d/e--f.g", "docker.io/a_b/c__d/e--f.g:latest", "docker.io", "a_b/c__d/e--f.g", "",
         "", "Always"},
        /* one component: never a host, even with a ':' (Docker's rule) */
        {"localhost:5000", "docker.io/library/localhost:5000", "docker.io", "library/localhost",
         "5000", "", "IfNotPresent"},
    };
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        struct kc_image_ref r;
        char err[256] = "";
        int rc = kc_image_ref_parse(good[i].in, &r, err, sizeof err);
        CHECK_INT(rc, 0);
        if (rc != 0) {
            fprintf(stderr, "  %s: %s\n", good[i].in, err);
            continue;
        }
        CHECK_STR(r.full, good[i].full);
        CHECK_STR(r.domain, good[i].domain);
        CHECK_STR(r.path, good[i].path);
        CHECK_STR(r.tag, good[i].tag);
        CHECK_STR(r.digest, good[i].digest);
        CHECK_STR(kc_image_ref_default_policy(&r), good[i].policy);
    }

    char long_name[400];
    memset(long_name, 'a', 300);
    long_name[300] = 0;
    char long_tag[200] = "x:";
    memset(long_tag + 2, 't', 129);
    long_tag[131] = 0;
    static const char *bad[][2] = {
        {"", "invalid reference format"},
        {"BusyBox",
         "invalid reference format: repository name (library/BusyBox) must be lowercase"},
        {"jweissig/Demo:1", "invalid reference format: repository name (jweissig/Demo) must be "
                            "lowercase"},
        {"busybox:", "invalid reference format"},
        {"bus box", "invalid reference format"},
        {"busybox:a:b", "invalid reference format"},
        {"a/../b", "invalid reference format"},
        {"-x", "invalid reference format"},
        {"x-", "invalid reference format"},
        {"a__-b", "invalid reference format"},
        {"a///b", "invalid reference format"},
        {"http://x/y", "invalid reference format"},
        {"busybox@sha256:abc", "invalid reference format"},
        {"busybox@@sha256:" HEX64, "invalid reference format"},
        {"busybox@sha256:" HEX64 "@sha256:" HEX64, "invalid reference format"},
        {"busybox@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         "invalid checksum digest format"},
        {"busybox@sha256:0123456789abcdef0123456789abcdef", "invalid checksum digest length"},
        {"busybox@md5:0123456789abcdef0123456789abcdef", "unsupported digest algorithm"},
        {HEX64, "invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings"},
        {"Example.com:x/bar", "invalid reference format"},
        {"EX_AMPLE/x", "repository name must be lowercase"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct kc_image_ref r;
        char err[256] = "";
        CHECK_INT(kc_image_ref_parse(bad[i][0], &r, err, sizeof err), -1);
        CHECK_STR(err, bad[i][1]);
    }
    struct kc_image_ref r;
    char err[256], name[600];
    PATHF(name, "x/%s", long_name);
    CHECK_INT(kc_image_ref_parse(name, &r, err, sizeof err), -1);
    CHECK_STR(err, "repository name must not be more than 255 characters");
    CHECK_INT(kc_image_ref_parse(long_tag, &r, err, sizeof err), -1);

    CHECK(kc_image_host_is_loopback("127.0.0.1:5000"));
    CHECK(kc_image_host_is_loopback("127.1.2.3"));
    CHECK(kc_image_host_is_loopback("localhost"));
    CHECK(kc_image_host_is_loopback("[::1]:5000"));
    CHECK(!kc_image_host_is_loopback("docker.io"));
    CHECK(!kc_image_host_is_loopback("128.0.0.1:5000"));
    CHECK(!kc_image_host_is_loopback("127.0.0.1.example.com"));
    CHECK(kc_image_digest_valid("sha256:" HEX64));
    CHECK(!kc_image_digest_valid("sha256:" HEX64 "0"));
    CHECK(!kc_image_digest_valid("sha512:" HEX64));
}

/* ---- OCI documents ---- */

static void test_documents(void)
{
    char err[256];
    struct kc_oci_desc d;
    const char *index =
        "{\"schemaVersion\":2,\"mediaType\":\"" KC_MT_OCI_INDEX "\",\"manifests\":["
        "{\"mediaType\":\"" KC_MT_OCI_MANIFEST "\",\"digest\":\"sha256:" HEX64 "\",\"size\":1,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}},"
        "{\"mediaType\":\"" KC_MT_DOCKER_MANIFEST "\",\"digest\":\"sha256:"
        "1111111111111111111111111111111111111111111111111111111111111111\",\"size\":7,"
        "\"platform\":{\"os\":\"linux\",\"architecture\":\"amd64\"}}]}";
    CHECK_INT(kc_oci_index_pick(index, strlen(index), &d, err, sizeof err), 0);
    CHECK_STR(d.digest, "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    CHECK_INT(d.size, 7);
    const char *arm = "{\"manifests\":[{\"mediaType\":\"" KC_MT_OCI_MANIFEST
                      "\",\"digest\":\"sha256:" HEX64 "\",\"size\":1,"
                      "\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";
    CHECK_INT(kc_oci_index_pick(arm, strlen(arm), &d, err, sizeof err), -1);
    CHECK_STR(err, "no match for platform in manifest: not found");
    json_t *j = json_loads(arm, 0, NULL);
    CHECK_INT(kc_oci_kind_of(j, NULL), KC_OCI_KIND_INDEX);
    json_decref(j);

    struct kc_oci_manifest m;
    const char *man =
        "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" KC_MT_OCI_CONFIG
        "\",\"digest\":\"sha256:" HEX64 "\",\"size\":3},\"layers\":["
        "{\"mediaType\":\"" KC_MT_OCI_LAYER_GZIP "\",\"digest\":\"sha256:" HEX64 "\",\"size\":5}]}";
    CHECK_INT(kc_oci_manifest_parse(man, strlen(man), &m, err, sizeof err), 0);
    CHECK_INT(m.nlayers, 1);
    CHECK_INT(m.layers[0].size, 5);
    kc_oci_manifest_release(&m);
    const char *bad[] = {
        "",
        "[]",
        "{\"schemaVersion\":2}",
        "{\"schemaVersion\":1,\"config\":{},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:x\",\"size\":1},\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" HEX64 "\",\"size\":-1},"
        "\"layers\":[]}",
        "{\"schemaVersion\":2,\"config\":{\"digest\":\"sha256:" HEX64 "\",\"size\":1},"
        "\"layers\":[{\"mediaType\":\"text/plain\",\"digest\":\"sha256:" HEX64 "\",\"size\":1}]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK_INT(kc_oci_manifest_parse(bad[i], strlen(bad[i]), &m, err, sizeof err), -1);

    json_t *cfg;
    const char *c1 = "{\"rootfs\":{\"diff_ids\":[\"sha256:" HEX64 "\"]},\"config\":{\"Cmd\":[]}}";
    CHECK_INT(kc_oci_config_parse(c1, strlen(c1), 1, &cfg, err, sizeof err), 0);
    CHECK_STR(kc_oci_config_diff_id(cfg, 0), "sha256:" HEX64);
    json_decref(cfg);
    CHECK_INT(kc_oci_config_parse(c1, strlen(c1), 2, &cfg, err, sizeof err), -1);

    /* layout lookups: the names an index.json may use */
    json_t *idx = json_pack(
        "{s:[{s:s, s:s, s:i, s:{s:s}}, {s:s, s:s, s:i, s:{s:s}}, {s:s, s:s, s:i, s:{s:s}}]}",
        "manifests", "mediaType", KC_MT_OCI_MANIFEST, "digest",
        "sha256:1111111111111111111111111111111111111111111111111111111111111111", "size", 1,
        "annotations", KC_ANN_REF_NAME, "v1", "mediaType", KC_MT_OCI_MANIFEST, "digest",
        "sha256:2222222222222222222222222222222222222222222222222222222222222222", "size", 2,
        "annotations", KC_ANN_REF_NAME, "busybox:1.36", "mediaType", KC_MT_OCI_MANIFEST, "digest",
        "sha256:3333333333333333333333333333333333333333333333333333333333333333", "size", 3,
        "annotations", KC_ANN_CONTAINERD_NAME, "docker.io/library/nginx:latest");
    struct kc_image_ref r;
    kc_image_ref_parse("x/demo:v1", &r, err, sizeof err);
    CHECK_INT(kc_oci_layout_find(idx, &r, "demo", &d), 0);
    CHECK_INT(d.size, 1);
    CHECK_INT(kc_oci_layout_find(idx, &r, "other", &d), -1);
    CHECK_INT(kc_oci_layout_find(idx, &r, NULL, &d), 0);
    kc_image_ref_parse("docker.io/library/busybox:1.36", &r, err, sizeof err);
    CHECK_INT(kc_oci_layout_find(idx, &r, "whatever", &d), 0);
    CHECK_INT(d.size, 2);
    kc_image_ref_parse("nginx", &r, err, sizeof err);
    CHECK_INT(kc_oci_layout_find(idx, &r, "x", &d), 0);
    CHECK_INT(d.size, 3);
    kc_image_ref_parse("nginx:1", &r, err, sizeof err);
    CHECK_INT(kc_oci_layout_find(idx, &r, "x", &d), -1);
    kc_image_ref_parse(
        "foo@sha256:2222222222222222222222222222222222222222222222222222222222222222", &r, err,
        sizeof err);
    CHECK_INT(kc_oci_layout_find(idx, &r, "x", &d), 0);
    CHECK_INT(d.size, 2);
    json_decref(idx);
}

/* ---- helpers for images ---- */

static void path_of(char *out, size_t n, const char *rel)
{
    (void)kc_image_pathf(out, n, "%s/%s", tmpdir, rel);
}

/* A tar built from a compact list: "f path mode content", "d path mode", "l path target",
 * "h path target", "p path". */
struct ent {
    char type;
    const char *path;
    unsigned mode;
    const char *arg;
};

static void make_tar(const struct ent *e, size_t n, void **tar, size_t *len)
{
    struct kc_tarw *t = kc_tarw_new();
    for (size_t i = 0; i < n; i++) {
        const char *data = e[i].type == 'f' ? e[i].arg : NULL;
        CHECK_INT(kc_tarw_add(t, e[i].path, e[i].type, e[i].mode, data, data ? strlen(data) : 0,
                              e[i].type == 'f' ? NULL : e[i].arg),
                  0);
    }
    CHECK_INT(kc_tarw_finish(t, tar, len), 0);
}

/* Writes an image of the given layers to layouts/<dir> as ref. */
static void write_image(const char *dir, const char *ref, const struct ent *l1, size_t n1,
                        const struct ent *l2, size_t n2, char *digest)
{
    void *t1 = NULL, *t2 = NULL;
    size_t len1 = 0, len2 = 0;
    char p[PATH_MAX], err[512] = "";
    make_tar(l1, n1, &t1, &len1);
    struct kc_image_layer_src layers[2] = {{t1, len1, true}, {NULL, 0, false}};
    if (l2) {
        make_tar(l2, n2, &t2, &len2);
        layers[1] = (struct kc_image_layer_src){t2, len2, false}; /* plain tar too */
    }
    json_t *cfg = json_pack("{s:[s], s:[s]}", "Cmd", "/bin/sh", "Env", "A=1");
    PATHF(p, "%s/layouts/%s", tmpdir, dir);
    int rc =
        kc_image_layout_write(p, ref, layers, l2 ? 2 : 1, cfg, "test", digest, err, sizeof err);
    CHECK_INT(rc, 0);
    if (rc)
        fprintf(stderr, "  layout_write: %s\n", err);
    json_decref(cfg);
    free(t1);
    free(t2);
}

static bool exists_at(const char *root, const char *rel)
{
    char p[PATH_MAX];
    struct stat st;
    PATHF(p, "%s/%s", root, rel);
    return lstat(p, &st) == 0;
}

static mode_t mode_at(const char *root, const char *rel)
{
    char p[PATH_MAX];
    struct stat st;
    PATHF(p, "%s/%s", root, rel);
    return lstat(p, &st) == 0 ? st.st_mode : 0;
}

static char *read_at(const char *root, const char *rel)
{
    char p[PATH_MAX], *data = NULL;
    size_t len;
    PATHF(p, "%s/%s", root, rel);
    if (kc_image_read_file(p, 1 << 20, &data, &len) != 0)
        return strdup("(missing)");
    return data;
}

static void check_file(const char *root, const char *rel, const char *want)
{
    char *got = read_at(root, rel);
    CHECK_STR(got, want);
    free(got);
}

/* ---- whiteouts and opaque directories ---- */

static void test_whiteouts(void)
{
    char store_dir[PATH_MAX], layouts[PATH_MAX], digest[80], msg[1024];
    path_of(store_dir, sizeof store_dir, "store");
    path_of(layouts, sizeof layouts, "layouts");
    static const struct ent l1[] = {
        {'d', "a", 0755, NULL},
        {'f', "a/keep", 0640, "keep\n"},
        {'f', "a/gone", 0644, "gone\n"},
        {'h', "a/hard", 0, "a/keep"},
        {'d', "c", 0755, NULL},
        {'f', "c/old", 0644, "old\n"},
        {'d', "c/olddir", 0755, NULL},
        {'f', "c/olddir/x", 0644, "x\n"},
        {'d', "d/sub", 0755, NULL}, /* parent d created implicitly */
        {'f', "d/sub/file", 0644, "file\n"},
        {'f', "e", 0644, "e was a file\n"},
        {'d', "g", 0700, NULL},
        {'f', "g/h", 0644, "h\n"},
        {'l', "ln", 0777, "a/keep"},
        {'p', "fifo", 0600, NULL},
        {'d', "ro", 0555, NULL},
        {'f', "ro/f", 0444, "ro\n"},
    };
    static const struct ent l2[] = {
        {'f', "./a/.wh.gone", 0644, ""},
        {'f', ".wh.ln", 0644, ""},
        {'f', "c/+early", 0644, "early\n"}, /* sorts before the opaque marker */
        {'f', "c/.wh..wh..opq", 0644, ""},
        {'f', "c/new", 0644, "new\n"},
        {'f', "d/.wh.sub", 0644, ""},
        {'f', "d/sub/again", 0644, "again\n"}, /* same layer: survives the whiteout */
        {'d', "e", 0750, NULL},                /* a directory replaces the file */
        {'f', "e/f", 0644, "f\n"},
        {'f', "g", 0600, "g is a file now\n"}, /* a file replaces the directory */
        {'f', "ro/.wh.f", 0644, ""},
        {'f', "ro/g", 0644, "g\n"},
        {'f', ".wh.nothing-there", 0644, ""},
        {'f', "a/.wh..wh.plnk", 0644, ""}, /* aufs metadata: ignored */
    };
    write_image("wh", "test/wh:1", l1, sizeof l1 / sizeof *l1, l2, sizeof l2 / sizeof *l2, digest);

    struct kc_image_store *s = kc_image_store_new(store_dir, NULL, layouts);
    CHECK(s != NULL);
    struct kc_image img;
    enum kc_image_err rc = kc_image_ensure(s, "test/wh:1", NULL, &img, msg, sizeof msg);
    CHECK_INT(rc, KC_IMAGE_OK);
    if (rc != KC_IMAGE_OK) {
        fprintf(stderr, "  ensure: %s\n", msg);
        kc_image_store_free(s);
        return;
    }
    const char *r = img.rootfs;
    CHECK_STR(img.ref, "docker.io/test/wh:1");
    char want_id[200];
    PATHF(want_id, "docker.io/test/wh@%s", digest);
    CHECK_STR(img.image_id, want_id);
    CHECK_STR(json_string_value(json_array_get(json_object_get(img.config, "Cmd"), 0)), "/bin/sh");
    check_file(r, "a/keep", "keep\n");
    CHECK_INT(mode_at(r, "a/keep") & 07777, 0640);
    CHECK(!exists_at(r, "a/gone"));
    CHECK(!exists_at(r, "a/.wh.gone"));
    check_file(r, "a/hard", "keep\n");
    struct stat s1, s2;
    char p1[PATH_MAX], p2[PATH_MAX];
    PATHF(p1, "%s/a/keep", r);
    PATHF(p2, "%s/a/hard", r);
    CHECK(stat(p1, &s1) == 0 && stat(p2, &s2) == 0 && s1.st_ino == s2.st_ino);
    CHECK(!exists_at(r, "ln"));
    CHECK(!exists_at(r, "c/old"));
    CHECK(!exists_at(r, "c/olddir"));
    check_file(r, "c/+early", "early\n");
    check_file(r, "c/new", "new\n");
    CHECK(!exists_at(r, "c/.wh..wh..opq"));
    CHECK(!exists_at(r, "d/sub/file"));
    check_file(r, "d/sub/again", "again\n");
    CHECK(S_ISDIR(mode_at(r, "e")));
    CHECK_INT(mode_at(r, "e") & 07777, 0750);
    check_file(r, "e/f", "f\n");
    CHECK(S_ISREG(mode_at(r, "g")));
    check_file(r, "g", "g is a file now\n");
    CHECK(S_ISFIFO(mode_at(r, "fifo")));
    CHECK_INT(mode_at(r, "ro") & 07777, 0555);
    CHECK(!exists_at(r, "ro/f"));
    check_file(r, "ro/g", "g\n");
    CHECK(!exists_at(r, "a/.wh..wh.plnk"));
    /* mtimes come from the tar (0), directories' too, after their children were written */
    struct stat st;
    PATHF(p1, "%s/e", r);
    CHECK(stat(p1, &st) == 0 && st.st_mtime == 0);
    PATHF(p1, "%s/a/keep", r);
    CHECK(stat(p1, &st) == 0 && st.st_mtime == 0);
    kc_image_release(&img);

    /* IfNotPresent (the default for a tag other than latest) from the store alone: no
     * layouts, no registry, also after a restart */
    kc_image_store_free(s);
    s = kc_image_store_new(store_dir, NULL, NULL);
    rc = kc_image_ensure(s, "test/wh:1", NULL, &img, msg, sizeof msg);
    CHECK_INT(rc, KC_IMAGE_OK);
    kc_image_release(&img);
    rc = kc_image_ensure(s, "docker.io/test/wh:1", "Never", &img, msg, sizeof msg);
    CHECK_INT(rc, KC_IMAGE_OK);
    kc_image_release(&img);
    /* by digest too */
    char pinned[300];
    PATHF(pinned, "test/wh@%s", digest);
    rc = kc_image_ensure(s, pinned, "Never", &img, msg, sizeof msg);
    CHECK_INT(rc, KC_IMAGE_OK);
    CHECK_STR(img.image_id, want_id);
    kc_image_release(&img);
    /* Always needs a source */
    rc = kc_image_ensure(s, "test/wh:1", "Always", &img, msg, sizeof msg);
    CHECK_INT(rc, KC_IMAGE_ERR_PULL);
    CHECK_STR(msg, "failed to pull and unpack image \"docker.io/test/wh:1\": failed to resolve "
                   "reference \"docker.io/test/wh:1\": no image layout names it and no registry "
                   "mirror for docker.io is configured");
    CHECK(img.config == NULL);
    /* the unpacked tree is rebuilt from the stored layers when it is gone */
    char images[PATH_MAX];
    PATHF(images, "%s/store/images", tmpdir);
    CHECK_INT(kc_image_rm_tree(images), 0);
    CHECK_INT(mkdir(images, 0755), 0);
    rc = kc_image_ensure(s, "test/wh:1", "IfNotPresent", &img, msg, sizeof msg);
    CHECK_INT(rc, KC_IMAGE_OK);
    check_file(img.rootfs, "c/new", "new\n");
    kc_image_release(&img);
    kc_image_store_free(s);
}

/* ---- pull policies and names ---- */

static void test_policies(void)
{
    char store_dir[PATH_MAX], msg[1024];
    path_of(store_dir, sizeof store_dir, "store");
    struct kc_image_store *s = kc_image_store_new(store_dir, "127.0.0.1:1", NULL);
    struct kc_image img;
    CHECK_INT(kc_image_ensure(s, "nosuch:1", "Never", &img, msg, sizeof msg),
              KC_IMAGE_ERR_NEVER_PULL);
    CHECK_STR(msg, "Container image \"nosuch:1\" is not present with pull policy of Never");
    CHECK_INT(kc_image_ensure(s, "Bad/Name", NULL, &img, msg, sizeof msg),
              KC_IMAGE_ERR_INVALID_NAME);
    CHECK_STR(msg, "Failed to apply default image tag \"Bad/Name\": couldn't parse image reference "
                   "\"Bad/Name\": invalid reference format: repository name (Name) must be "
                   "lowercase");
    CHECK_INT(kc_image_ensure(s, "a b", NULL, &img, msg, sizeof msg), KC_IMAGE_ERR_INVALID_NAME);
    CHECK_STR(msg, "Failed to apply default image tag \"a b\": couldn't parse image reference "
                   "\"a b\": invalid reference format");
    CHECK_STR(kc_image_err_reason(KC_IMAGE_ERR_INVALID_NAME), "InvalidImageName");
    /* a registry nobody listens on: a pull error naming the request */
    CHECK_INT(kc_image_ensure(s, "nosuch:1", NULL, &img, msg, sizeof msg), KC_IMAGE_ERR_PULL);
    CHECK(strstr(msg, "failed to pull and unpack image \"docker.io/library/nosuch:1\": failed to "
                      "resolve reference \"docker.io/library/nosuch:1\": failed to do request: "
                      "GET \"http://127.0.0.1:1/v2/library/nosuch/manifests/1\"") == msg);
    /* only loopback registries are contacted */
    CHECK_INT(kc_image_ensure(s, "quay.io/x/y:1", NULL, &img, msg, sizeof msg), KC_IMAGE_ERR_PULL);
    CHECK(strstr(msg, "registry quay.io is not reachable") != NULL);
    CHECK_INT(kc_image_ensure(s, "x:1", "Sometimes", &img, msg, sizeof msg), KC_IMAGE_ERR_PULL);
    kc_image_store_free(s);
}

/* ---- hostile layers ---- */

static void expect_rejected(const char *name, const struct ent *l1, size_t n1, const struct ent *l2,
                            size_t n2, const char *why)
{
    char store_dir[PATH_MAX], layouts[PATH_MAX], digest[80], msg[1024], ref[128];
    path_of(store_dir, sizeof store_dir, "store");
    path_of(layouts, sizeof layouts, "layouts");
    PATHF(ref, "test/%s:1", name);
    write_image(name, ref, l1, n1, l2, n2, digest);
    struct kc_image_store *s = kc_image_store_new(store_dir, NULL, layouts);
    struct kc_image img;
    enum kc_image_err rc = kc_image_ensure(s, ref, NULL, &img, msg, sizeof msg);
    CHECK_INT(rc, KC_IMAGE_ERR_PULL);
    if (!strstr(msg, why)) {
        CHECK(!"rejection message");
        fprintf(stderr, "  %s: want \"%s\" in: %s\n", name, why, msg);
    }
    kc_image_release(&img);
    kc_image_store_free(s);
}

static void test_escapes(void)
{
    char outside[PATH_MAX], victim[PATH_MAX], target[PATH_MAX];
    path_of(outside, sizeof outside, "outside");
    CHECK_INT(mkdir(outside, 0755), 0);
    PATHF(victim, "%s/victim", outside);
    CHECK_INT(kc_image_write_file_atomic(victim, "intact\n", 7), 0);

    /* a directory symlink the image made, then a file through it (same layer) */
    struct ent sym_then_file[] = {
        {'l', "evil", 0777, outside},
        {'f', "evil/pwned", 0644, "pwned\n"},
    };
    expect_rejected("symdir", sym_then_file, 2, NULL, 0, "symlink or not a directory");
    /* the same across layers, with a relative way out */
    struct ent sym_rel[] = {{'l', "up", 0777, "../../../../../../../../.."}};
    char rel_target[PATH_MAX];
    PATHF(rel_target, "up%s/pwned", outside);
    struct ent through[] = {{'f', rel_target, 0644, "pwned\n"}};
    expect_rejected("symrel", sym_rel, 1, through, 1, "symlink or not a directory");
    struct ent dotdot[] = {{'f', "a/../../pwned", 0644, "x"}};
    expect_rejected("dotdot", dotdot, 1, NULL, 0, "absolute path or \"..\" component");
    PATHF(target, "%s/pwned", outside);
    struct ent absolute[] = {{'f', target, 0644, "x"}};
    expect_rejected("absolute", absolute, 1, NULL, 0, "absolute path or \"..\" component");
    struct ent hard_out[] = {{'h', "hl", 0, "../../outside/victim"}};
    expect_rejected("hardout", hard_out, 1, NULL, 0, "hard link target");
    char pwned[PATH_MAX];
    PATHF(pwned, "%s/pwned", outside);
    CHECK(access(pwned, F_OK) != 0);

    /* a symlink replaced by a file of the same name: the file replaces the link, the
     * link's target is untouched; a whiteout through a symlink deletes nothing */
    char store_dir[PATH_MAX], layouts[PATH_MAX], digest[80], msg[1024];
    path_of(store_dir, sizeof store_dir, "store");
    path_of(layouts, sizeof layouts, "layouts");
    struct ent l1[] = {{'l', "s", 0777, victim}, {'l', "w", 0777, outside}};
    struct ent l2[] = {{'f', "s", 0644, "replaced\n"}, {'f', "w/.wh.victim", 0644, ""}};
    write_image("replace", "test/replace:1", l1, 2, l2, 2, digest);
    struct kc_image_store *s = kc_image_store_new(store_dir, NULL, layouts);
    struct kc_image img;
    CHECK_INT(kc_image_ensure(s, "test/replace:1", NULL, &img, msg, sizeof msg), KC_IMAGE_OK);
    if (img.config) {
        CHECK(S_ISREG(mode_at(img.rootfs, "s")));
        check_file(img.rootfs, "s", "replaced\n");
        CHECK(S_ISLNK(mode_at(img.rootfs, "w")));
    }
    kc_image_release(&img);
    kc_image_store_free(s);
    check_file(outside, "victim", "intact\n");
}

/* ---- digests ---- */

static void test_digests(void)
{
    char store_dir[PATH_MAX], layouts[PATH_MAX], digest[80], msg[1024], p[PATH_MAX];
    path_of(store_dir, sizeof store_dir, "store-digest");
    path_of(layouts, sizeof layouts, "layouts");
    struct ent l1[] = {{'f', "hello", 0644, "hello, world\n"}};
    write_image("tampered", "test/tampered:1", l1, 1, NULL, 0, digest);
    /* flip one byte of the layer blob, keeping its size */
    PATHF(p, "%s/tampered/blobs/sha256/%s", layouts, digest + 7);
    char *man;
    size_t len;
    CHECK_INT(kc_image_read_file(p, 1 << 20, &man, &len), 0);
    struct kc_oci_manifest m = {0};
    char err[256];
    CHECK_INT(kc_oci_manifest_parse(man, len, &m, err, sizeof err), 0);
    free(man);
    if (m.nlayers == 1) {
        PATHF(p, "%s/tampered/blobs/sha256/%s", layouts, m.layers[0].digest + 7);
        int fd = open(p, O_RDWR);
        CHECK(fd >= 0);
        unsigned char c;
        CHECK(pread(fd, &c, 1, 20) == 1);
        c ^= 0xff;
        CHECK(pwrite(fd, &c, 1, 20) == 1);
        close(fd);
    }
    struct kc_image_store *s = kc_image_store_new(store_dir, NULL, layouts);
    struct kc_image img;
    CHECK_INT(kc_image_ensure(s, "test/tampered:1", NULL, &img, msg, sizeof msg),
              KC_IMAGE_ERR_PULL);
    CHECK(strstr(msg, "digest mismatch") != NULL);
    /* nothing half-done is left: no blob under the layer's name, tmp/ empty */
    char blob[PATH_MAX];
    PATHF(blob, "%s/blobs/sha256/%s", store_dir, m.layers[0].digest + 7);
    CHECK(access(blob, F_OK) != 0);
    PATHF(p, "%s/tmp", store_dir);
    CHECK(rmdir(p) == 0 && mkdir(p, 0755) == 0);
    kc_image_store_free(s);
    kc_oci_manifest_release(&m);

    /* a manifest whose bytes do not match its name in index.json */
    write_image("badman", "test/badman:1", l1, 1, NULL, 0, digest);
    PATHF(p, "%s/badman/blobs/sha256/%s", layouts, digest + 7);
    CHECK_INT(kc_image_read_file(p, 1 << 20, &man, &len), 0);
    man[len - 1] = ' '; /* same size, other bytes */
    CHECK_INT(kc_image_write_file_atomic(p, man, len), 0);
    free(man);
    s = kc_image_store_new(store_dir, NULL, layouts);
    CHECK_INT(kc_image_ensure(s, "test/badman:1", NULL, &img, msg, sizeof msg), KC_IMAGE_ERR_PULL);
    CHECK(strstr(msg, "digest mismatch") != NULL);
    kc_image_store_free(s);

    /* the uncompressed stream must hash to the config's diff_id */
    void *tar;
    size_t tarlen;
    make_tar(l1, 1, &tar, &tarlen);
    PATHF(p, "%s/layer.tar", tmpdir);
    CHECK_INT(kc_image_write_file_atomic(p, tar, tarlen), 0);
    char good[72];
    kc_sha256_buf(tar, tarlen, good);
    free(tar);
    char root[PATH_MAX];
    PATHF(root, "%s/difftest", tmpdir);
    CHECK_INT(mkdir(root, 0755), 0);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY);
    CHECK_INT(kc_image_apply_layer(rootfd, p, "sha256:" HEX64, true, err, sizeof err), -1);
    CHECK(strstr(err, "the config says sha256:" HEX64) != NULL);
    CHECK_INT(kc_image_apply_layer(rootfd, p, good, true, err, sizeof err), 0);
    check_file(root, "hello", "hello, world\n");
    close(rootfd);
    /* not a tar at all */
    CHECK_INT(kc_image_write_file_atomic(p, "garbage, not a tar archive", 26), 0);
    rootfd = open(root, O_RDONLY | O_DIRECTORY);
    CHECK_INT(kc_image_apply_layer(rootfd, p, NULL, false, err, sizeof err), -1);
    close(rootfd);
}

/* ---- owners, special bits, devices, long names ---- */

static void add_raw(struct archive *a, const char *path, mode_t type, mode_t perm, int uid, int gid,
                    const char *data)
{
    struct archive_entry *e = archive_entry_new();
    archive_entry_set_pathname(e, path);
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, 1700000000, 123456789);
    archive_entry_set_size(e, data ? (la_int64_t)strlen(data) : 0);
    if (type == AE_IFCHR)
        archive_entry_set_rdev(e, makedev(1, 3));
    CHECK_INT(archive_write_header(a, e), ARCHIVE_OK);
    if (data)
        CHECK(archive_write_data(a, data, strlen(data)) == (la_ssize_t)strlen(data));
    archive_entry_free(e);
}

static void test_owners(void)
{
    char p[PATH_MAX], root[PATH_MAX], err[256], longname[300];
    PATHF(p, "%s/owners.tar", tmpdir);
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    CHECK_INT(archive_write_open_filename(a, p), ARCHIVE_OK);
    memset(longname, 'n', 200);
    memcpy(longname, "deep/", 5);
    longname[200] = 0;
    add_raw(a, "./", AE_IFDIR, 0755, 0, 0, NULL);
    add_raw(a, "./home/", AE_IFDIR, 0750, 1234, 5678, NULL);
    add_raw(a, "./home/file", AE_IFREG, 0640, 1234, 5678, "mine\n");
    add_raw(a, "./usr/bin/su", AE_IFREG, 04755, 0, 0, "#!/bin/sh\n");
    add_raw(a, "./dev/null", AE_IFCHR, 0666, 0, 0, NULL);
    add_raw(a, longname, AE_IFREG, 0644, 0, 0, "long\n");
    CHECK_INT(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    PATHF(root, "%s/owners", tmpdir);
    CHECK_INT(mkdir(root, 0700), 0);
    int rootfd = open(root, O_RDONLY | O_DIRECTORY);
    CHECK_INT(kc_image_apply_layer(rootfd, p, NULL, true, err, sizeof err), 0);
    close(rootfd);
    struct stat st;
    PATHF(p, "%s/home/file", root);
    CHECK(stat(p, &st) == 0);
    if (geteuid() == 0) {
        CHECK_INT(st.st_uid, 1234);
        CHECK_INT(st.st_gid, 5678);
        PATHF(p, "%s/home", root);
        CHECK(stat(p, &st) == 0 && st.st_uid == 1234 && st.st_gid == 5678);
    }
    CHECK_INT(st.st_mtim.tv_sec, 1700000000);
    CHECK_INT(st.st_mtim.tv_nsec, 123456789);
    CHECK_INT(mode_at(root, "usr/bin/su") & 07777, 04755);
    CHECK_INT(mode_at(root, "home") & 07777, 0750);
    CHECK_INT(mode_at(root, "") & 07777, 0755); /* "./" sets the rootfs's own mode */
    CHECK(!exists_at(root, "dev/null"));        /* device nodes are the runtime's business */
    check_file(root, longname, "long\n");
}

/* ---- an index picking linux/amd64 ---- */

static void test_index(void)
{
    char store_dir[PATH_MAX], layouts[PATH_MAX], amd[80], arm[80], msg[1024], p[PATH_MAX];
    path_of(store_dir, sizeof store_dir, "store");
    path_of(layouts, sizeof layouts, "layouts");
    struct ent la[] = {{'f', "arch", 0644, "amd64\n"}};
    struct ent lb[] = {{'f', "arch", 0644, "arm64\n"}};
    write_image("multi", "test/multi:amd", la, 1, NULL, 0, amd);
    write_image("multi", "test/multi:arm", lb, 1, NULL, 0, arm);
    json_t *index =
        json_pack("{s:i, s:s, s:[{s:s, s:s, s:i, s:{s:s, s:s}}, {s:s, s:s, s:i, s:{s:s, s:s}}]}",
                  "schemaVersion", 2, "mediaType", KC_MT_OCI_INDEX, "manifests", "mediaType",
                  KC_MT_OCI_MANIFEST, "digest", arm, "size", 0, "platform", "os", "linux",
                  "architecture", "arm64", "mediaType", KC_MT_OCI_MANIFEST, "digest", amd, "size",
                  0, "platform", "os", "linux", "architecture", "amd64");
    /* sizes: the manifests' real sizes */
    for (int i = 0; i < 2; i++) {
        json_t *d = json_array_get(json_object_get(index, "manifests"), (size_t)i);
        struct stat st;
        PATHF(p, "%s/multi/blobs/sha256/%s", layouts,
              json_string_value(json_object_get(d, "digest")) + 7);
        CHECK(stat(p, &st) == 0);
        json_object_set_new(d, "size", json_integer(st.st_size));
    }
    char *text = json_dumps(index, JSON_COMPACT);
    char idx_digest[72];
    kc_sha256_buf(text, strlen(text), idx_digest);
    PATHF(p, "%s/multi/blobs/sha256/%s", layouts, idx_digest + 7);
    CHECK_INT(kc_image_write_file_atomic(p, text, strlen(text)), 0);
    json_t *top = json_pack("{s:i, s:[{s:s, s:s, s:I, s:{s:s}}]}", "schemaVersion", 2, "manifests",
                            "mediaType", KC_MT_OCI_INDEX, "digest", idx_digest, "size",
                            (json_int_t)strlen(text), "annotations", KC_ANN_REF_NAME, "v2");
    char *top_text = json_dumps(top, JSON_COMPACT);
    PATHF(p, "%s/multi/index.json", layouts);
    CHECK_INT(kc_image_write_file_atomic(p, top_text, strlen(top_text)), 0);

    struct kc_image_store *s = kc_image_store_new(store_dir, NULL, layouts);
    struct kc_image img;
    CHECK_INT(kc_image_ensure(s, "test/multi:v2", NULL, &img, msg, sizeof msg), KC_IMAGE_OK);
    if (img.config) {
        check_file(img.rootfs, "arch", "amd64\n");
        char want[200];
        PATHF(want, "docker.io/test/multi@%s", idx_digest);
        CHECK_STR(img.image_id, want); /* the index's digest, as the kubelet shows it */
    }
    kc_image_release(&img);
    kc_image_store_free(s);
    free(text);
    free(top_text);
    json_decref(index);
    json_decref(top);
}

/* ---- concurrency ---- */

struct racer {
    struct kc_image_store *s;
    enum kc_image_err rc;
    char rootfs[PATH_MAX];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    struct kc_image img;
    char msg[1024];
    r->rc = kc_image_ensure(r->s, "test/race:latest", NULL, &img, msg, sizeof msg);
    if (r->rc == KC_IMAGE_OK)
        snprintf(r->rootfs, sizeof r->rootfs, "%s", img.rootfs);
    kc_image_release(&img);
    return NULL;
}

static void test_concurrent(void)
{
    char store_dir[PATH_MAX], layouts[PATH_MAX], digest[80], p[PATH_MAX];
    path_of(store_dir, sizeof store_dir, "store-race");
    path_of(layouts, sizeof layouts, "layouts");
    struct ent l1[] = {{'d', "bin", 0755, NULL}, {'f', "bin/x", 0755, "#!/bin/sh\n"}};
    write_image("race", "test/race", l1, 2, NULL, 0, digest);
    struct kc_image_store *s = kc_image_store_new(store_dir, NULL, layouts);
    struct racer r[8];
    pthread_t th[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (struct racer){.s = s};
        pthread_create(&th[i], NULL, race, &r[i]);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(r[i].rc, KC_IMAGE_OK);
        CHECK_STR(r[i].rootfs, r[0].rootfs);
    }
    check_file(r[0].rootfs, "bin/x", "#!/bin/sh\n");
    /* one image directory, nothing left in tmp/ */
    PATHF(p, "%s/tmp", store_dir);
    CHECK(rmdir(p) == 0);
    kc_image_store_free(s);
}

int main(void)
{
    PATHF(tmpdir, "/tmp/kubec-test-image-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    umask(022);
    test_refs();
    test_documents();
    test_whiteouts();
    test_policies();
    test_escapes();
    test_digests();
    test_owners();
    test_index();
    test_concurrent();
    if (kc_image_rm_tree(tmpdir) != 0)
        fprintf(stderr, "cannot remove %s: %s\n", tmpdir, strerror(errno));
    CHECK_DONE();
}
