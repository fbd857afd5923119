/* Applying image layers to a rootfs with libarchive, without ever writing outside it.
 *
 * Every path is handled relative to directory file descriptors: an entry's parent is
 * reached from the rootfs one component at a time with O_NOFOLLOW | O_DIRECTORY, so a
 * symlink the image made (or anything else that is not a directory) on the way is an
 * error instead of a way out, and the final component is created with *at() calls that
 * do not follow it either. libarchive's own disk writer is not used because it resolves
 * paths from the process's working directory, which a multi-threaded agent cannot chdir.
 *
 * A layer is read twice: first for its whiteouts, which delete what lower layers put
 * there (so they can never hide the layer's own entries, whatever their order in the
 * tar), then for its entries. The second pass decompresses once (libarchive's raw format)
 * and feeds the tar reader from that stream, hashing it on the way for the diff_id.
 */
#include "nodeagent/image_internal.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define WH_META ".wh..wh."

/* ---- paths ---- */

/* Normalises a tar path: drops "." components, empty components and trailing slashes.
 * -1 for an absolute path, a ".." component, or one too long. */
static int normalize(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    if (!in || in[0] == '/')
        return -1;
    const char *p = in;
    while (*p) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (o + n + 2 > outlen)
                return -1;
            if (o)
                out[o++] = '/';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        if (*p == '/')
            p++;
    }
    out[o] = 0;
    return 0;
}

/* Splits a normalised path in place into its parent ("" at the top) and last component. */
static void split_last(char *path, const char **parent, const char **base)
{
    char *slash = strrchr(path, '/');
    if (slash) {
        *slash = 0;
        *parent = path;
        *base = slash + 1;
    } else {
        *parent = "";
        *base = path;
    }
}

/* Opens the directory at the normalised relative path under rootfd, one component at a
 * time, never following a symlink; create makes missing directories (0755). Returns a new
 * descriptor, or -1 (errno: ELOOP or ENOTDIR when the way leads through something that is
 * not a directory). */
static int walk(int rootfd, const char *rel, bool create)
{
    int fd = fcntl(rootfd, F_DUPFD_CLOEXEC, 0);
    char comp[NAME_MAX + 1];
    const char *p = rel;
    while (fd >= 0 && *p) {
        size_t n = strcspn(p, "/");
        if (n > NAME_MAX) {
            close(fd);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(comp, p, n);
        comp[n] = 0;
        p += n;
        if (*p == '/')
            p++;
        int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0 && errno == ENOENT && create) {
            if (mkdirat(fd, comp, 0755) != 0 && errno != EEXIST) {
                int e = errno;
                close(fd);
                errno = e;
                return -1;
            }
            next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        int e = errno;
        close(fd);
        errno = e;
        fd = next;
    }
    return fd;
}

/* ---- removal ---- */

static int rm_at(int dirfd, const char *name);

/* Removes everything inside the directory fd (which stays open and in place). */
static int empty_dir(int fd)
{
    int dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup_fd < 0)
        return -1;
    DIR *d = fdopendir(dup_fd);
    if (!d) {
        close(dup_fd);
        return -1;
    }
    int rc = 0, e = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (rm_at(fd, de->d_name) != 0 && errno != ENOENT) {
            rc = -1;
            e = errno;
        }
    }
    closedir(d);
    errno = e;
    return rc;
}

/* Removes name under dirfd, a whole tree when it is a directory, following no symlink. */
static int rm_at(int dirfd, const char *name)
{
    if (unlinkat(dirfd, name, 0) == 0)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -1;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    /* a read-only directory could not be emptied by a non-root owner */
    (void)fchmod(fd, 0700);
    int rc = empty_dir(fd);
    int e = errno;
    close(fd);
    if (rc != 0) {
        errno = e;
        return -1;
    }
    return unlinkat(dirfd, name, AT_REMOVEDIR);
}

int kc_image_rm_tree(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    char *slash = strrchr(buf, '/');
    const char *dir = ".", *base = buf;
    if (slash) {
        *slash = 0;
        dir = slash == buf ? "/" : buf;
        base = slash + 1;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -1;
    int rc = rm_at(dfd, base);
    int e = errno;
    close(dfd);
    if (rc != 0 && e == ENOENT)
        return 0;
    errno = e;
    return rc;
}

/* What is at name before an entry replaces it: absent (0), a directory kept because the
 * entry is a directory too (1), or removed (0); -1 on error. */
static int clear_for(int dirfd, const char *name, bool entry_is_dir)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        if (entry_is_dir)
            return 1;
        return rm_at(dirfd, name);
    }
    return unlinkat(dirfd, name, 0);
}

/* ---- one layer ---- */

struct dirmeta {
    char *path; /* normalised; "" is the rootfs itself */
    mode_t mode;
    bool set_mtime;
    struct timespec mtime;
};

struct layer {
    int rootfd;
    bool as_root;
    uid_t euid;
    gid_t egid;
    /* the last entry's parent directory, open: consecutive entries mostly share it */
    char cached[PATH_MAX];
    int cached_fd;
    char *err;
    size_t errlen;
    struct dirmeta *dirs; /* modes and mtimes set once the layer's entries are written */
    size_t ndirs, capdirs;
    /* the second pass: raw (decompressed) stream feeding the tar reader */
    struct archive *raw;
    struct kc_sha256 *hash;
    char buf[1 << 16];
};

static int fail(struct layer *l, const char *entry, const char *what)
{
    kc_image_errf(l->err, l->errlen, "layer entry \"%s\": %s", entry, what);
    return -1;
}

static int failno(struct layer *l, const char *entry, const char *what)
{
    kc_image_errf(l->err, l->errlen, "layer entry \"%s\": %s: %s", entry, what, strerror(errno));
    return -1;
}

static int push_dir(struct layer *l, const char *path, mode_t mode, bool set_mtime,
                    struct timespec mtime)
{
    if (l->ndirs == l->capdirs) {
        size_t cap = l->capdirs ? l->capdirs * 2 : 64;
        struct dirmeta *nd = realloc(l->dirs, cap * sizeof *nd);
        if (!nd)
            return -1;
        l->dirs = nd;
        l->capdirs = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return -1;
    l->dirs[l->ndirs++] = (struct dirmeta){copy, mode, set_mtime, mtime};
    return 0;
}

static int defer_dir(struct layer *l, const char *path, struct archive_entry *e)
{
    struct timespec mtime = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    return push_dir(l, path, archive_entry_mode(e) & 07777, true, mtime);
}

/* Without root, a read-only directory a lower layer made cannot take new entries or lose
 * old ones: open it up for the layer and restore its mode at the end. (Root needs no
 * write permission, and so never changes a mode here.) */
static void make_writable(struct layer *l, int fd, const char *path)
{
    struct stat st;
    if (l->as_root || fstat(fd, &st) != 0 || (st.st_mode & 0700) == 0700)
        return;
    if (push_dir(l, path, st.st_mode & 07777, false, st.st_mtim) == 0)
        (void)fchmod(fd, (st.st_mode & 07777) | 0700);
}

/* Directory modes and mtimes, deepest (latest) first, so writing children earlier
 * neither fails on a read-only directory nor moves a directory's mtime afterwards. Modes
 * make_writable() changed are restored first, so what the layer declares wins. */
static void apply_dir_meta(struct layer *l)
{
    for (int declared = 0; declared < 2; declared++) {
        for (size_t i = l->ndirs; i-- > 0;) {
            struct dirmeta *d = &l->dirs[i];
            if (d->set_mtime != (declared == 1))
                continue;
            int fd;
            if (!d->path[0]) {
                fd = fcntl(l->rootfd, F_DUPFD_CLOEXEC, 0);
            } else {
                char path[PATH_MAX];
                const char *parent, *base;
                snprintf(path, sizeof path, "%s", d->path);
                split_last(path, &parent, &base);
                int pfd = walk(l->rootfd, parent, false);
                fd = pfd < 0 ? -1
                             : openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (pfd >= 0)
                    close(pfd);
            }
            if (fd < 0)
                continue; /* replaced later in the layer by something else */
            (void)fchmod(fd, d->mode);
            struct timespec ts[2] = {d->mtime, d->mtime};
            if (d->set_mtime)
                (void)futimens(fd, ts);
            close(fd);
        }
    }
    for (size_t i = 0; i < l->ndirs; i++)
        free(l->dirs[i].path);
    l->ndirs = 0;
}

static const char *entry_path(struct archive_entry *e)
{
    const char *p = archive_entry_pathname(e);
    return p ? p : archive_entry_pathname_utf8(e);
}

/* Pass 1: the layer's whiteouts against what lower layers left. */
static int apply_whiteouts(struct layer *l, const char *layer_path)
{
    int rc = -1;
    struct archive *a = archive_read_new();
    archive_read_support_filter_all(a);
    archive_read_support_format_tar(a);
    if (archive_read_open_filename(a, layer_path, 1 << 16) != ARCHIVE_OK) {
        kc_image_errf(l->err, l->errlen, "%s", archive_error_string(a));
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            kc_image_errf(l->err, l->errlen, "%s", archive_error_string(a));
            goto out;
        }
        const char *raw_path = entry_path(e);
        char path[PATH_MAX];
        if (normalize(raw_path, path, sizeof path) != 0) {
            fail(l, raw_path ? raw_path : "", "absolute path or \"..\" component");
            goto out;
        }
        const char *parent, *base;
        split_last(path, &parent, &base);
        if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) != 0)
            continue;
        int pfd = walk(l->rootfd, parent, false);
        if (pfd < 0)
            continue; /* nothing below a missing directory, and never through a symlink */
        make_writable(l, pfd, parent);
        int wr = 0;
        if (strcmp(base, WH_OPAQUE) == 0) {
            wr = empty_dir(pfd);
        } else if (strncmp(base, WH_META, strlen(WH_META)) != 0) {
            const char *target = base + strlen(WH_PREFIX);
            if (!target[0] || strcmp(target, ".") == 0 || strcmp(target, "..") == 0) {
                close(pfd);
                fail(l, raw_path, "invalid whiteout");
                goto out;
            }
            wr = rm_at(pfd, target);
            if (wr != 0 && errno == ENOENT)
                wr = 0;
        }
        close(pfd);
        if (wr != 0) {
            failno(l, raw_path, "whiteout");
            goto out;
        }
    }
    rc = 0;
out:
    archive_read_free(a);
    return rc;
}

static la_ssize_t feed_tar(struct archive *tar, void *ud, const void **buf)
{
    struct layer *l = ud;
    la_ssize_t n = archive_read_data(l->raw, l->buf, sizeof l->buf);
    if (n < 0) {
        archive_set_error(tar, EIO, "%s", archive_error_string(l->raw));
        return -1;
    }
    if (l->hash)
        kc_sha256_update(l->hash, l->buf, (size_t)n);
    *buf = l->buf;
    return n;
}

/* Numeric owners as the tar says, when running as root; a file just created already has
 * ours, which usually is what the tar says (0:0). */
static void set_owner(struct layer *l, int dirfd, const char *name, int fd, bool fresh,
                      struct archive_entry *e)
{
    if (!l->as_root)
        return;
    uid_t uid = (uid_t)archive_entry_uid(e);
    gid_t gid = (gid_t)archive_entry_gid(e);
    if (fresh && uid == l->euid && gid == l->egid)
        return;
    if (fd >= 0)
        (void)fchown(fd, uid, gid);
    else
        (void)fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW);
}

static void drop_cache(struct layer *l)
{
    if (l->cached_fd >= 0)
        close(l->cached_fd);
    l->cached_fd = -1;
    l->cached[0] = 0;
}

/* The cached directory is about to go when path, or a directory above it, is replaced. */
static void drop_cache_under(struct layer *l, const char *path)
{
    size_t n = strlen(path);
    if (l->cached_fd >= 0 && strncmp(l->cached, path, n) == 0 &&
        (l->cached[n] == 0 || l->cached[n] == '/'))
        drop_cache(l);
}

/* The parent directory of an entry (borrowed: owned by the cache), made if missing. */
static int parent_fd(struct layer *l, const char *parent)
{
    if (l->cached_fd >= 0 && strcmp(l->cached, parent) == 0)
        return l->cached_fd;
    drop_cache(l);
    int fd = walk(l->rootfd, parent, true);
    if (fd < 0)
        return -1;
    make_writable(l, fd, parent);
    snprintf(l->cached, sizeof l->cached, "%s", parent);
    l->cached_fd = fd;
    return fd;
}

static int write_file(struct layer *l, struct archive *a, struct archive_entry *e, int pfd,
                      const char *base, const char *raw_path)
{
    const int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(pfd, base, flags, 0600);
    if (fd < 0 && errno == EEXIST && clear_for(pfd, base, false) == 0)
        fd = openat(pfd, base, flags, 0600);
    if (fd < 0)
        return failno(l, raw_path, "create");
    for (;;) {
        const void *buf;
        size_t size;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &size, &off);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            close(fd);
            return fail(l, raw_path, archive_error_string(a));
        }
        const char *p = buf;
        while (size > 0) {
            ssize_t w = pwrite(fd, p, size, (off_t)off);
            if (w < 0) {
                int e2 = errno;
                close(fd);
                errno = e2;
                return failno(l, raw_path, "write");
            }
            p += w;
            off += w;
            size -= (size_t)w;
        }
    }
    /* sparse files may end in a hole */
    if (archive_entry_size_is_set(e) && ftruncate(fd, (off_t)archive_entry_size(e)) != 0) {
        int e2 = errno;
        close(fd);
        errno = e2;
        return failno(l, raw_path, "truncate");
    }
    set_owner(l, pfd, base, fd, true, e);
    (void)fchmod(fd, archive_entry_mode(e) & 07777);
    struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                             {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    (void)futimens(fd, ts);
    close(fd);
    return 0;
}

/* Pass 2: one entry. */
static int apply_entry(struct layer *l, struct archive *a, struct archive_entry *e)
{
    const char *raw_path = entry_path(e);
    char path[PATH_MAX];
    if (normalize(raw_path, path, sizeof path) != 0)
        return fail(l, raw_path ? raw_path : "", "absolute path or \"..\" component");
    mode_t type = archive_entry_filetype(e);
    const char *hardlink = archive_entry_hardlink(e);
    if (!path[0]) {
        /* the rootfs itself ("./") */
        if (type == AE_IFDIR && !hardlink && defer_dir(l, "", e) != 0)
            return fail(l, raw_path, "out of memory");
        return 0;
    }
    char full[PATH_MAX];
    snprintf(full, sizeof full, "%s", path);
    const char *parent, *base;
    split_last(path, &parent, &base);
    if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
        return 0; /* done in pass 1 */
    if (!hardlink && (type == AE_IFCHR || type == AE_IFBLK || type == AE_IFSOCK))
        return 0; /* the runtime provides /dev; sockets are not content */
    drop_cache_under(l, full);
    int pfd = parent_fd(l, parent);
    if (pfd < 0)
        return failno(l, raw_path, "parent is a symlink or not a directory");
    struct timespec ts[2] = {{archive_entry_mtime(e), archive_entry_mtime_nsec(e)},
                             {archive_entry_mtime(e), archive_entry_mtime_nsec(e)}};
    /* each kind is made first and only on EEXIST is the old entry cleared: most names
     * are new, and this saves a stat per entry */
    if (hardlink) {
        char target[PATH_MAX];
        if (normalize(hardlink, target, sizeof target) != 0 || !target[0])
            return fail(l, raw_path, "hard link target is absolute or has a \"..\" component");
        const char *tparent, *tbase;
        split_last(target, &tparent, &tbase);
        int tfd = walk(l->rootfd, tparent, false);
        if (tfd < 0)
            return failno(l, raw_path, "hard link target");
        int r = linkat(tfd, tbase, pfd, base, 0);
        if (r != 0 && errno == EEXIST && clear_for(pfd, base, false) == 0)
            r = linkat(tfd, tbase, pfd, base, 0);
        int e2 = errno;
        close(tfd);
        errno = e2;
        return r == 0 ? 0 : failno(l, raw_path, "hard link");
    }
    switch (type) {
    case AE_IFDIR: {
        int kept = 0;
        if (mkdirat(pfd, base, 0700) != 0) {
            if (errno != EEXIST || (kept = clear_for(pfd, base, true)) < 0 ||
                (kept == 0 && mkdirat(pfd, base, 0700) != 0))
                return failno(l, raw_path, "mkdir");
        }
        set_owner(l, pfd, base, -1, kept == 0, e);
        if (defer_dir(l, full, e) != 0)
            return fail(l, raw_path, "out of memory");
        return 0;
    }
    case AE_IFREG:
        return write_file(l, a, e, pfd, base, raw_path);
    case AE_IFLNK: {
        const char *target = archive_entry_symlink(e);
        if (!target)
            target = archive_entry_symlink_utf8(e);
        if (!target)
            return fail(l, raw_path, "symlink without a target");
        int r = symlinkat(target, pfd, base);
        if (r != 0 && errno == EEXIST && clear_for(pfd, base, false) == 0)
            r = symlinkat(target, pfd, base);
        if (r != 0)
            return failno(l, raw_path, "symlink");
        set_owner(l, pfd, base, -1, true, e);
        (void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    case AE_IFIFO: {
        int r = mkfifoat(pfd, base, 0600);
        if (r != 0 && errno == EEXIST && clear_for(pfd, base, false) == 0)
            r = mkfifoat(pfd, base, 0600);
        if (r != 0)
            return failno(l, raw_path, "mkfifo");
        set_owner(l, pfd, base, -1, true, e);
        (void)fchmodat(pfd, base, archive_entry_mode(e) & 07777, 0);
        (void)utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    default:
        return 0; /* nothing else has content worth keeping */
    }
}

static int apply_entries(struct layer *l, const char *layer_path, const char *diff_id)
{
    int rc = -1;
    struct archive *tar = NULL;
    l->raw = archive_read_new();
    archive_read_support_filter_all(l->raw);
    archive_read_support_format_raw(l->raw);
    archive_read_support_format_empty(l->raw);
    struct archive_entry *re;
    if (archive_read_open_filename(l->raw, layer_path, 1 << 16) != ARCHIVE_OK ||
        archive_read_next_header(l->raw, &re) < ARCHIVE_WARN) {
        kc_image_errf(l->err, l->errlen, "%s", archive_error_string(l->raw));
        goto out;
    }
    if (diff_id && !(l->hash = kc_sha256_new())) {
        kc_image_errf(l->err, l->errlen, "out of memory");
        goto out;
    }
    tar = archive_read_new();
    archive_read_support_format_tar(tar);
    archive_read_support_format_empty(tar);
    if (archive_read_open(tar, l, NULL, feed_tar, NULL) != ARCHIVE_OK) {
        kc_image_errf(l->err, l->errlen, "%s", archive_error_string(tar));
        goto out;
    }
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(tar, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            kc_image_errf(l->err, l->errlen, "%s", archive_error_string(tar));
            goto out;
        }
        if (apply_entry(l, tar, e) != 0)
            goto out;
    }
    apply_dir_meta(l);
    if (l->hash) {
        /* what follows the tar's end marker is part of the diff_id too */
        la_ssize_t n;
        while ((n = archive_read_data(l->raw, l->buf, sizeof l->buf)) > 0)
            kc_sha256_update(l->hash, l->buf, (size_t)n);
        if (n < 0) {
            kc_image_errf(l->err, l->errlen, "%s", archive_error_string(l->raw));
            goto out;
        }
        char got[72];
        kc_sha256_final(l->hash, got);
        l->hash = NULL;
        if (strcmp(got, diff_id) != 0) {
            kc_image_errf(l->err, l->errlen, "uncompressed layer is %s, the config says %s", got,
                          diff_id);
            goto out;
        }
    }
    rc = 0;
out:
    if (tar)
        archive_read_free(tar);
    archive_read_free(l->raw);
    l->raw = NULL;
    kc_sha256_free(l->hash);
    l->hash = NULL;
    return rc;
}

int kc_image_apply_layer(int rootfd, const char *layer_path, const char *diff_id, bool first,
                         char *err, size_t errlen)
{
    struct layer *l = calloc(1, sizeof *l);
    if (!l) {
        kc_image_errf(err, errlen, "out of memory");
        return -1;
    }
    l->rootfd = rootfd;
    l->cached_fd = -1;
    l->euid = geteuid();
    l->egid = getegid();
    l->as_root = l->euid == 0;
    l->err = err;
    l->errlen = errlen;
    int rc = 0;
    if (!first)
        rc = apply_whiteouts(l, layer_path);
    if (rc == 0)
        rc = apply_entries(l, layer_path, diff_id);
    drop_cache(l);
    for (size_t i = 0; i < l->ndirs; i++)
        free(l->dirs[i].path);
    free(l->dirs);
    free(l);
    return rc;
}
