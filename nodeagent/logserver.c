/* The node agent's log server; see logserver.h for the layout it reads and its security.
 *
 * A request is checked as the kubelet's getContainerLogs checks it (names, then the query
 * decoded and validated as PodLogOptions, then the pod and container), the log file of the
 * run is opened, and the response body is produced by a reader callback: records are
 * parsed, partial (P) records joined into one line, and what the options let through is
 * written out. With follow, the reader waits at the end of the file for more until the run
 * has ended (its .exit exists), a newer run started, the pod directory is gone, the client
 * went away or the server stops.
 *
 * Errors are plain text with the kubelet's codes and words: 404 for an unknown pod or
 * container, 400 for a previous run that does not exist, 400/422 for a bad query. */
#include "nodeagent/logserver.h"

#include "nodeagent/execserver.h"
#include "nodeagent/mhd_text.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define READ_CHUNK (64 * 1024)
#define FOLLOW_POLL_MS 100
#define NO_SINCE INT64_MIN

struct kc_logserver {
    struct MHD_Daemon *d;
    char *root;
    int port;
    struct kc_exec_ctl ctl; /* ctl.stopping also ends follow streams */
    struct kc_runtime *rt;  /* for exec (execserver.c); NULL: none */
};

/* ---- names and times ---- */

static bool is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* RFC 1123 label: what namespaces and container names are. */
static bool valid_label(const char *s, size_t n)
{
    if (n == 0 || n > 63 || !is_alnum_lower(s[0]) || !is_alnum_lower(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum_lower(s[i]) && s[i] != '-')
            return false;
    return true;
}

/* RFC 1123 subdomain: what pod names are; never "." or "..", never a '/'. */
static bool valid_subdomain(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    const char *p = s;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (!valid_label(p, len))
            return false;
        if (!dot)
            return true;
        p = dot + 1;
    }
}

static bool valid_uid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
            return false;
    return true;
}

static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* RFC 3339 with an optional fraction (Go's RFC3339NanoLenient) into nanoseconds since the
 * epoch. Returns 0 or -1. */
static int parse_time(const char *s, size_t n, int64_t *out)
{
    if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    struct tm tm = {0};
    int year = digits(s, 4), mon = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), min = digits(s + 14, 2), sec = digits(s + 17, 2);
    if (year < 0 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 ||
        min < 0 || min > 59 || sec < 0 || sec > 60)
        return -1;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    size_t i = 19;
    int64_t frac = 0;
    if (i < n && s[i] == '.') {
        int nd = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 9)
                frac = frac * 10 + (s[i] - '0');
        if (nd == 0)
            return -1;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t offset = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh = digits(s + i + 1, 2), om = digits(s + i + 4, 2);
        if (oh < 0 || om < 0 || oh > 23 || om > 59)
            return -1;
        offset = (oh * 3600 + om * 60) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return -1;
    }
    if (i != n)
        return -1;
    time_t t = timegm(&tm);
    *out = ((int64_t)t - offset) * 1000000000 + frac;
    return 0;
}

/* Go's RFC3339NanoFixed in UTC: "2006-01-02T15:04:05.000000000Z" (31 bytes with NUL). */
static void format_time(int64_t ns, char *buf, size_t n)
{
    int64_t secs = ns / 1000000000, nanos = ns % 1000000000;
    if (nanos < 0) {
        nanos += 1000000000;
        secs--;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)nanos);
}

/* ---- CRI records ---- */

struct record {
    int64_t ts;
    bool partial;
    const char *text; /* points into the line */
    size_t len;
};

/* Parses one line (without its newline) as `<time> <stream> <tag>[:<more tags>] <text>`.
 * Returns 0, or -1 for a line that is not a CRI record (skipped, as the kubelet does). */
static int parse_record(const char *p, size_t n, struct record *r)
{
    const char *end = p + n;
    const char *sp = memchr(p, ' ', n);
    if (!sp || parse_time(p, (size_t)(sp - p), &r->ts) != 0)
        return -1;
    const char *stream = sp + 1;
    sp = memchr(stream, ' ', (size_t)(end - stream));
    if (!sp)
        return -1;
    size_t slen = (size_t)(sp - stream);
    if (!(slen == 6 && (memcmp(stream, "stdout", 6) == 0 || memcmp(stream, "stderr", 6) == 0)))
        return -1;
    const char *tag = sp + 1;
    sp = memchr(tag, ' ', (size_t)(end - tag));
    if (!sp)
        return -1;
    const char *colon = memchr(tag, ':', (size_t)(sp - tag));
    size_t tlen = (size_t)((colon ? colon : sp) - tag);
    r->partial = tlen == 1 && tag[0] == 'P';
    r->text = sp + 1;
    r->len = (size_t)(end - r->text);
    return 0;
}

/* ---- one response stream ---- */

struct stream {
    struct kc_logserver *ls;
    int fd;      /* the run's log file */
    int conn_fd; /* the client's socket, watched for a hang-up; -1 when unknown */
    char poddir[PATH_MAX], ctrdir[PATH_MAX];
    long run;
    bool follow, timestamps;
    int64_t since;        /* NO_SINCE, or lines older than this are left out */
    long long remain;     /* limitBytes still allowed, -1 for no limit */
    long long skip_lines; /* tailLines: lines left out at the start */

    char *in; /* bytes read but not parsed yet: the start of an incomplete record */
    size_t in_len, in_cap;
    bool line_open; /* inside a line continued by P records */
    bool line_shown;
    bool done;

    char *out; /* bytes produced but not yet handed to libmicrohttpd */
    size_t out_len, out_off, out_cap;
};

static void grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    char *nb = realloc(*buf, c);
    if (!nb)
        abort();
    *buf = nb;
    *cap = c;
}

/* Appends to the output, cut at limitBytes; reaching the limit ends the stream. */
static void out_add(struct stream *s, const char *p, size_t n)
{
    if (s->done)
        return;
    if (s->remain >= 0 && (long long)n >= s->remain) {
        n = (size_t)s->remain;
        s->done = true;
    }
    if (s->remain >= 0)
        s->remain -= (long long)n;
    if (s->out_off == s->out_len)
        s->out_off = s->out_len = 0;
    grow(&s->out, &s->out_cap, s->out_len + n);
    memcpy(s->out + s->out_len, p, n);
    s->out_len += n;
}

/* One record: a line starts with its first record (which decides, by tailLines and the
 * since time, whether the line is shown, and gives its timestamp) and ends with an F
 * record. `complete` is false for a record cut by the end of the file. */
static void handle_record(struct stream *s, const struct record *r, bool complete)
{
    if (!s->line_open) {
        s->line_open = true;
        s->line_shown = s->skip_lines == 0 && (s->since == NO_SINCE || r->ts >= s->since);
        if (s->line_shown && s->timestamps) {
            char ts[40];
            format_time(r->ts, ts, sizeof ts);
            size_t tl = strlen(ts);
            ts[tl++] = ' ';
            out_add(s, ts, tl);
        }
    }
    if (s->line_shown)
        out_add(s, r->text, r->len);
    if (!r->partial || !complete) {
        if (s->line_shown && complete)
            out_add(s, "\n", 1);
        else if (!s->line_shown && s->skip_lines > 0)
            s->skip_lines--;
        s->line_open = false;
    }
}

/* Parses the complete records in s->in; with `final`, also what is left (the end of a file
 * that will not grow any more). */
static void parse_input(struct stream *s, bool final)
{
    size_t off = 0;
    while (off < s->in_len && !s->done) {
        char *nl = memchr(s->in + off, '\n', s->in_len - off);
        if (!nl && !final)
            break;
        size_t n = nl ? (size_t)(nl - (s->in + off)) : s->in_len - off;
        struct record r;
        if (parse_record(s->in + off, n, &r) == 0)
            handle_record(s, &r, nl != NULL);
        off += n + (nl ? 1 : 0);
    }
    if (s->done)
        off = s->in_len;
    memmove(s->in, s->in + off, s->in_len - off);
    s->in_len -= off;
}

/* Reads what the file has now. Returns the byte count (0 at its current end) or -1. */
static ssize_t read_more(struct stream *s)
{
    grow(&s->in, &s->in_cap, s->in_len + READ_CHUNK);
    ssize_t n;
    do
        n = read(s->fd, s->in + s->in_len, READ_CHUNK);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        s->in_len += (size_t)n;
    return n;
}

static bool exists(const char *dir, long run, const char *ext)
{
    char p[PATH_MAX + 32];
    struct stat st;
    snprintf(p, sizeof p, "%s/%ld.%s", dir, run, ext);
    return stat(p, &st) == 0;
}

/* A followed run is over when it wrote its exit file, a newer run started, or the pod's
 * directory was removed. */
static bool run_over(const struct stream *s)
{
    struct stat st;
    return exists(s->ctrdir, s->run, "exit") || exists(s->ctrdir, s->run + 1, "log") ||
           stat(s->poddir, &st) != 0;
}

/* Waits up to FOLLOW_POLL_MS; false when the client hung up or the server stops. */
static bool wait_a_little(struct stream *s)
{
    if (s->ls->ctl.stopping)
        return false;
    if (s->conn_fd < 0) {
        struct timespec ts = {0, FOLLOW_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
        return !s->ls->ctl.stopping;
    }
    struct pollfd p = {.fd = s->conn_fd, .events = POLLRDHUP};
    int r = poll(&p, 1, FOLLOW_POLL_MS);
    if (r > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
        return false;
    return !s->ls->ctl.stopping;
}

/* Produces output until there is some or the stream ends. Returns false at the end. */
static bool fill(struct stream *s)
{
    while (s->out_off == s->out_len) {
        if (s->done)
            return false;
        /* checked before reading, so that everything written before the exit file is read */
        bool over = !s->follow || run_over(s);
        ssize_t n = read_more(s);
        if (n > 0) {
            parse_input(s, false);
            continue;
        }
        if (n < 0 || over) {
            parse_input(s, true);
            s->done = true;
            continue;
        }
        if (!wait_a_little(s))
            return false;
    }
    return true;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct stream *s = cls;
    if (!fill(s))
        return MHD_CONTENT_READER_END_OF_STREAM;
    size_t n = s->out_len - s->out_off;
    if (n > max)
        n = max;
    memcpy(buf, s->out + s->out_off, n);
    s->out_off += n;
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    struct stream *s = cls;
    if (s->fd >= 0)
        close(s->fd);
    free(s->in);
    free(s->out);
    free(s);
}

/* Logical lines in the file from its start to its current end (complete lines only while
 * following: a trailing incomplete one is still to come). */
static long long count_lines(int fd, bool follow)
{
    char *buf = malloc(READ_CHUNK);
    char *carry = NULL;
    size_t carry_len = 0, carry_cap = 0;
    long long lines = 0;
    bool open = false;
    ssize_t n;
    if (!buf)
        abort();
    while ((n = read(fd, buf, READ_CHUNK)) > 0) {
        grow(&carry, &carry_cap, carry_len + (size_t)n);
        memcpy(carry + carry_len, buf, (size_t)n);
        carry_len += (size_t)n;
        size_t off = 0;
        char *nl;
        while ((nl = memchr(carry + off, '\n', carry_len - off))) {
            struct record r;
            if (parse_record(carry + off, (size_t)(nl - (carry + off)), &r) == 0) {
                open = r.partial;
                if (!r.partial)
                    lines++;
            }
            off = (size_t)(nl - carry) + 1;
        }
        memmove(carry, carry + off, carry_len - off);
        carry_len -= off;
    }
    struct record r;
    if (!follow && (open || (carry_len && parse_record(carry, carry_len, &r) == 0)))
        lines++;
    free(carry);
    free(buf);
    return lines;
}

/* ---- locating the files ---- */

/* <root>/<ns>_<pod>_<uid>: the given uid, or without one the most recently changed
 * directory of that namespace and name. Returns 0 or -1. */
static int find_pod_dir(const char *root, const char *ns, const char *pod, const char *uid,
                        char *out, size_t outlen)
{
    struct stat st;
    if (uid && *uid) {
        snprintf(out, outlen, "%s/%s_%s_%s", root, ns, pod, uid);
        return stat(out, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
    }
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s_%s_", ns, pod);
    size_t pl = strlen(prefix);
    DIR *d = opendir(root);
    if (!d)
        return -1;
    struct dirent *e;
    time_t best = 0;
    int ret = -1;
    while ((e = readdir(d))) {
        /* names never contain '_', so the prefix cannot match another pod's directory */
        if (strncmp(e->d_name, prefix, pl) != 0 || !valid_uid(e->d_name + pl))
            continue;
        char p[PATH_MAX];
        snprintf(p, sizeof p, "%s/%s", root, e->d_name);
        if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode))
            continue;
        if (ret != 0 || st.st_mtime >= best) {
            best = st.st_mtime;
            snprintf(out, outlen, "%s", p);
            ret = 0;
        }
    }
    closedir(d);
    return ret;
}

/* The highest N with an N.log, or -1. */
static long current_run(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    long best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char canon[32];
        errno = 0;
        long n = strtol(e->d_name, &end, 10);
        snprintf(canon, sizeof canon, "%ld.log", n);
        /* only names the runtime writes ("7.log", not "07.log") */
        if (errno == 0 && strcmp(e->d_name, canon) == 0 && n > best)
            best = n;
    }
    closedir(d);
    return best;
}

/* The highest run below `current` that ended (has its N.exit), or -1. */
static long previous_run(const char *dir, long current)
{
    for (long n = current - 1; n >= 0; n--)
        if (exists(dir, n, "exit"))
            return n;
    return -1;
}

/* ---- the request ---- */

struct query {
    bool follow, previous, timestamps;
    long long tail, limit; /* -1 when absent */
    int64_t since;         /* NO_SINCE when absent */
};

static bool parse_int64(const char *v, long long *out)
{
    char *end;
    if (!v || !*v || isspace((unsigned char)v[0]))
        return false;
    errno = 0;
    *out = strtoll(v, &end, 10);
    return errno == 0 && *end == 0;
}

/* Go's query conversion of a bool: anything but "0" and "false" is true. */
static bool query_bool(struct MHD_Connection *c, const char *key)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v && strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

/* The kubelet's decoding and validation of PodLogOptions: 400 when a value does not
 * parse, 422 when it is out of range, 0 when fine. */
static int parse_query(struct MHD_Connection *c, struct query *q)
{
    const char *tail = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tail");
    const char *tail_lines = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "tailLines");
    const char *limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limitBytes");
    const char *since_s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sinceSeconds");
    const char *since_t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "sinceTime");
    long long ss = 0;
    memset(q, 0, sizeof *q);
    q->tail = q->limit = -1;
    q->since = NO_SINCE;
    q->follow = query_bool(c, "follow");
    q->previous = query_bool(c, "previous");
    q->timestamps = query_bool(c, "timestamps");
    /* the old "tail" parameter wins over tailLines; "all" is the same as none */
    if (tail && *tail)
        tail_lines = strcmp(tail, "all") == 0 ? NULL : tail;
    if ((tail_lines && *tail_lines && !parse_int64(tail_lines, &q->tail)) ||
        (limit && *limit && !parse_int64(limit, &q->limit)) ||
        (since_s && *since_s && !parse_int64(since_s, &ss)) ||
        (since_t && *since_t && parse_time(since_t, strlen(since_t), &q->since) != 0))
        return 400;
    bool has_ss = since_s && *since_s, has_st = since_t && *since_t;
    if ((tail_lines && *tail_lines && q->tail < 0) || (limit && *limit && q->limit < 1) ||
        (has_ss && has_st) || (has_ss && ss < 1))
        return 422;
    if (has_ss) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        q->since = ((int64_t)now.tv_sec - ss) * 1000000000 + now.tv_nsec;
    }
    return 0;
}

/* Splits "<pfx>NS/POD/CTR" ("/containerLogs/", "/exec/") into its three names (copied
 * into the fixed fields). Returns false when the path is something else. */
static bool split_path(const char *url, const char *pfx, char ns[256], char pod[256], char ctr[256])
{
    char *fields[3] = {ns, pod, ctr};
    if (strncmp(url, pfx, strlen(pfx)) != 0)
        return false;
    const char *p = url + strlen(pfx);
    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(p, "/");
        if (n >= 256)
            return false;
        memcpy(fields[i], p, n);
        fields[i][n] = 0;
        p += n;
        if (i < 2) {
            if (*p != '/')
                return false;
            p++;
        }
    }
    return *p == 0 || strcmp(p, "/") == 0;
}

/* con_cls of a request being read: answered once the whole request is in. */
static int request_marker;

/* The kubelet's /exec/NS/POD/CTR: the pod found as for logs, the rest in execserver.c. */
static enum MHD_Result serve_exec(struct kc_logserver *ls, struct MHD_Connection *conn,
                                  const char *method, const char *ns, const char *pod,
                                  const char *ctr, void **con_cls)
{
    const char *uid = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "podUID");
    char poddir[PATH_MAX];
    if (!*pod || !*ctr || !*ns)
        return kc_mhd_text(conn, 400, "{\"message\": \"Missing %s.\"}",
                           !*pod   ? "podID"
                           : !*ctr ? "container name"
                                   : "podNamespace");
    if (!valid_label(ns, strlen(ns)) || !valid_subdomain(pod) || (uid && *uid && !valid_uid(uid)) ||
        find_pod_dir(ls->root, ns, pod, uid, poddir, sizeof poddir) != 0)
        return kc_mhd_text(conn, 404, "pod does not exist");
    if (!valid_label(ctr, strlen(ctr)))
        return kc_mhd_text(conn, 500, "container not found (\"%s\")", ctr);
    return kc_exec_serve(conn, method, ls->rt, strrchr(poddir, '_') + 1, ctr, &ls->ctl, con_cls);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    struct kc_logserver *ls = cls;
    if (!*con_cls) {
        *con_cls = &request_marker;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0; /* a GET has no body worth reading */
        return MHD_YES;
    }
    char ns[256], pod[256], ctr[256];
    if (split_path(url, "/exec/", ns, pod, ctr)) {
        *con_cls = NULL; /* an exec session may take its place */
        return serve_exec(ls, conn, method, ns, pod, ctr, con_cls);
    }
    if (!split_path(url, "/containerLogs/", ns, pod, ctr))
        return kc_mhd_text(conn, 404, "404 page not found\n");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return kc_mhd_text(conn, 405, "405: Method Not Allowed");
    if (!*pod)
        return kc_mhd_text(conn, 400, "{\"message\": \"Missing podID.\"}");
    if (!*ctr)
        return kc_mhd_text(conn, 400, "{\"message\": \"Missing container name.\"}");
    if (!*ns)
        return kc_mhd_text(conn, 400, "{\"message\": \"Missing podNamespace.\"}");
    struct query q;
    int bad = parse_query(conn, &q);
    if (bad == 400)
        return kc_mhd_text(conn, 400, "{\"message\": \"Unable to decode query.\"}");
    if (bad == 422)
        return kc_mhd_text(conn, 422, "{\"message\": \"Invalid request.\"}");

    const char *uid = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "podUID");
    char poddir[PATH_MAX], ctrdir[PATH_MAX];
    /* names that cannot be a pod's are no pod's: never looked up on disk */
    if (!valid_label(ns, strlen(ns)) || !valid_subdomain(pod) || (uid && *uid && !valid_uid(uid)) ||
        find_pod_dir(ls->root, ns, pod, uid, poddir, sizeof poddir) != 0)
        return kc_mhd_text(conn, 404, "pod \"%s\" does not exist", pod);
    struct stat st;
    if (!valid_label(ctr, strlen(ctr)) ||
        (size_t)snprintf(ctrdir, sizeof ctrdir, "%s/%s", poddir, ctr) >= sizeof ctrdir ||
        stat(ctrdir, &st) != 0 || !S_ISDIR(st.st_mode))
        return kc_mhd_text(conn, 404, "container \"%s\" not found in pod \"%s\"", ctr, pod);
    long run = current_run(ctrdir);
    if (run < 0)
        return kc_mhd_text(conn, 400,
                           "container \"%s\" in pod \"%s\" is waiting to start - no logs yet", ctr,
                           pod);
    if (q.previous) {
        run = previous_run(ctrdir, run);
        if (run < 0)
            return kc_mhd_text(conn, 400,
                               "previous terminated container \"%s\" in pod \"%s\" not found", ctr,
                               pod);
    }
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/%ld.log", ctrdir, run);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kc_mhd_text(conn, 500, "failed to open log file \"%s/%ld.log\": %s", ctr, run,
                           strerror(errno));

    struct stream *s = calloc(1, sizeof *s);
    if (!s)
        abort();
    s->ls = ls;
    s->fd = fd;
    s->run = run;
    s->follow = q.follow;
    s->timestamps = q.timestamps;
    s->since = q.since;
    s->remain = q.limit;
    snprintf(s->poddir, sizeof s->poddir, "%s", poddir);
    snprintf(s->ctrdir, sizeof s->ctrdir, "%s", ctrdir);
    if (q.tail >= 0) {
        long long lines = count_lines(fd, q.follow);
        s->skip_lines = lines > q.tail ? lines - q.tail : 0;
        lseek(fd, 0, SEEK_SET);
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->conn_fd = ci ? ci->connect_fd : -1;
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024, stream_read, s, stream_free);
    if (!r) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
    enum MHD_Result ret = MHD_queue_response(conn, 200, r);
    MHD_destroy_response(r);
    return ret;
}

/* Releases what an exec request left in con_cls (its session). */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    if (*con_cls && *con_cls != &request_marker)
        kc_exec_session_free(*con_cls);
    *con_cls = NULL;
}

/* ---- lifecycle ---- */

int kc_logserver_listen(const char *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof ss);
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1)
            goto bad;
        len = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, addr, &a4->sin_addr) != 1)
            goto bad;
        len = sizeof *a4;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 128) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
bad:
    errno = EINVAL;
    return -1;
}

struct kc_logserver *kc_logserver_start(const char *logs_root, int listen_fd, char *err,
                                        size_t errlen)
{
    struct kc_logserver *ls = calloc(1, sizeof *ls);
    if (!ls)
        abort();
    ls->root = strdup(logs_root);
    if (!ls->root)
        abort();
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (getsockname(listen_fd, (struct sockaddr *)&ss, &sl) == 0)
        ls->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
    ls->d =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_POLL | MHD_USE_ERROR_LOG | MHD_ALLOW_UPGRADE,
                         0, NULL, NULL, on_request, ls, MHD_OPTION_LISTEN_SOCKET, listen_fd,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, ls, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)1000, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0,
                         MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256 * 1024), MHD_OPTION_END);
    if (!ls->d) {
        snprintf(err, errlen, "cannot start the log server on port %d", ls->port);
        close(listen_fd);
        free(ls->root);
        free(ls);
        return NULL;
    }
    return ls;
}

struct kc_logserver *kc_logserver_serve(const char *logs_root, const char *addr, int port,
                                        char *err, size_t errlen)
{
    int fd = kc_logserver_listen(addr, port);
    if (fd < 0) {
        snprintf(err, errlen, "cannot listen on %s:%d: %s", addr, port, strerror(errno));
        return NULL;
    }
    return kc_logserver_start(logs_root, fd, err, errlen);
}

void kc_logserver_set_runtime(struct kc_logserver *ls, struct kc_runtime *rt)
{
    ls->rt = rt;
}

int kc_logserver_port(const struct kc_logserver *ls)
{
    return ls->port;
}

void kc_logserver_stop(struct kc_logserver *ls)
{
    if (!ls)
        return;
    ls->ctl.stopping = 1;
    /* exec sessions notice within a second; libmicrohttpd wants upgraded connections
     * closed before it stops */
    for (int i = 0; i < 30 && __atomic_load_n(&ls->ctl.sessions, __ATOMIC_SEQ_CST) > 0; i++) {
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(ls->d);
    free(ls->root);
    free(ls);
}
