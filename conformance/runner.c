/* `kubec conformance`: runs the selected conformance tests against a cluster, several at a
 * time, and reports them like the upstream tooling: a line per test, a summary
 * "N passed, N failed, N skipped", and JUnit XML. */
#include "conformance/conformance.h"

#include "lib/jsonx.h"

#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

int kc_conformance_main(int argc, char **argv);

enum outcome { NOT_RUN, PASSED, FAILED, SKIPPED };

struct kc_conf {
    const struct kc_conf_test *test;
    struct kc_client *client;
    char ns[64];
    enum outcome outcome;
    char *message; /* the first failure, or why it was skipped */
    char *log;     /* kc_conf_log lines */
    size_t loglen;
    double seconds;
    int index;
    const char *image;     /* --image */
    char variants[2][256]; /* kc_conf_image_variant's */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void random_suffix(char *buf, size_t n)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789"; /* as upstream's names */
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)rand();
    for (size_t i = 0; i + 1 < n && i < sizeof r; i++) {
        buf[i] = alphabet[r[i] % (sizeof alphabet - 1)];
        buf[i + 1] = 0;
    }
}

struct kc_client *kc_conf_client(struct kc_conf *t)
{
    return t->client;
}
const char *kc_conf_ns(struct kc_conf *t)
{
    return t->ns;
}
bool kc_conf_failed(const struct kc_conf *t)
{
    return t->outcome == FAILED;
}

const char *kc_conf_unique(struct kc_conf *t, const char *prefix, char *buf, size_t len)
{
    char r[6];
    (void)t;
    random_suffix(r, sizeof r);
    snprintf(buf, len, "%s-%s", prefix, r);
    return buf;
}

static char *vformat(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        return NULL;
    return s;
}

void kc_conf_fail_at(struct kc_conf *t, const char *file, int line, const char *fmt, ...)
{
    if (t->outcome == FAILED)
        return; /* the first failure is the one that explains */
    va_list ap;
    va_start(ap, fmt);
    char *m = vformat(fmt, ap);
    va_end(ap);
    const char *base = strrchr(file, '/');
    free(t->message);
    t->message = NULL;
    if (asprintf(&t->message, "%s\n  at %s:%d", m ? m : "?", base ? base + 1 : file, line) < 0)
        t->message = NULL;
    free(m);
    t->outcome = FAILED;
}

void kc_conf_skip(struct kc_conf *t, const char *why)
{
    if (t->outcome == FAILED)
        return;
    free(t->message);
    t->message = strdup(why);
    t->outcome = SKIPPED;
}

void kc_conf_log(struct kc_conf *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *m = vformat(fmt, ap);
    va_end(ap);
    if (!m)
        return;
    size_t n = strlen(m);
    char *grown = realloc(t->log, t->loglen + n + 2);
    if (grown) {
        t->log = grown;
        memcpy(t->log + t->loglen, m, n);
        t->loglen += n;
        t->log[t->loglen++] = '\n';
        t->log[t->loglen] = 0;
    }
    free(m);
}

json_t *kc_conf_json(struct kc_conf *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vformat(fmt, ap);
    va_end(ap);
    json_error_t e;
    json_t *j = text ? json_loads(text, 0, &e) : NULL;
    if (!j)
        kc_conf_fail_at(t, __FILE__, __LINE__, "test bug: bad JSON (%s): %s",
                        text ? e.text : "no memory", text ? text : "");
    free(text);
    return j;
}

int kc_conf_call(struct kc_conf *t, const char *method, const json_t *body,
                 const char *content_type, json_t **out, const char *path_fmt, ...)
{
    va_list ap;
    va_start(ap, path_fmt);
    char *path = vformat(path_fmt, ap);
    va_end(ap);
    json_t *answer = NULL; /* owned */
    int code = path ? kc_client_do(t->client, method, path, body, content_type, &answer) : -1;
    kc_conf_log(t, "%s %s -> %d", method, path ? path : "?", code);
    free(path);
    if (out)
        *out = answer;
    else
        json_decref(answer);
    return code;
}

bool kc_conf_wait(struct kc_conf *t, int timeout_ms, bool (*cond)(struct kc_conf *, void *),
                  void *arg)
{
    double end = now_s() + timeout_ms / 1000.0;
    for (;;) {
        if (cond(t, arg))
            return true;
        if (now_s() > end)
            return false;
        usleep(100 * 1000);
    }
}

long kc_conf_list_len(struct kc_conf *t, const char *path)
{
    json_t *list = NULL; /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &list, "%s", path);
    long n = code == 200 ? (long)json_array_size(json_object_get(list, "items")) : -1;
    json_decref(list);
    return n;
}

bool kc_conf_list_empty(struct kc_conf *t, void *path)
{
    return kc_conf_list_len(t, path) == 0;
}

int kc_conf_add_status_condition(struct kc_conf *t, const char *path, json_t *cond)
{
    int code = -1;
    for (int tries = 0; tries < 20; tries++) {
        json_t *obj = NULL; /* owned */
        code = kc_conf_call(t, "GET", NULL, NULL, &obj, "%s", path);
        if (code == 200) {
            json_t *status = kc_json_ensure_obj(obj, "status"); /* borrowed */
            json_t *conds = json_object_get(status, "conditions");
            if (!json_is_array(conds)) {
                conds = json_array();
                json_object_set_new(status, "conditions", conds);
            }
            json_array_append(conds, cond);
            code = kc_conf_call(t, "PUT", obj, NULL, NULL, "%s/status", path);
        }
        json_decref(obj);
        if (code != 409)
            break;
    }
    json_decref(cond);
    return code;
}

bool kc_conf_condition_seen(struct kc_conf *t, void *arg)
{
    const struct kc_conf_cond_want *w = arg;
    json_t *obj = NULL; /* owned */
    bool found = kc_conf_call(t, "GET", NULL, NULL, &obj, "%s", w->path) == 200;
    json_t *labels = json_object_get(json_object_get(obj, "metadata"), "labels");
    for (int i = 0; found && w->labels && w->labels[i]; i += 2)
        found = !strcmp(json_string_value(json_object_get(labels, w->labels[i])) ?: "",
                        w->labels[i + 1]);
    bool has = false;
    size_t i;
    json_t *cond;
    json_array_foreach (kc_json_path(obj, "status.conditions"), i, cond)
        if (!strcmp(kc_json_str(cond, "type") ?: "", w->type) &&
            (!w->reason || !strcmp(kc_json_str(cond, "reason") ?: "", w->reason)) &&
            (!w->message || !strcmp(kc_json_str(cond, "message") ?: "", w->message)))
            has = true;
    json_decref(obj);
    return found && has;
}

void kc_conf_status_round(struct kc_conf *t, const char *path, const char *what,
                          const char *const *labels)
{
    const char *ns = kc_conf_ns(t);
    const char *name = strrchr(path, '/') + 1;
    json_t *st = NULL; /* owned */
    json_t *patch = kc_conf_json(t, "{\"status\":{\"conditions\":[{\"type\":"
                                    "\"StatusPatched\",\"status\":\"True\"}]}}"); /* owned */
    int code = kc_conf_call(t, "GET", NULL, NULL, &st, "%s/status", path);
    EXPECT(t, code == 200 && !strcmp(kc_json_str(st, "metadata.name") ?: "", name),
           "Failed to fetch the status of %s %s in namespace %s: HTTP %d", what, name, ns, code);
    code = kc_conf_add_status_condition(t, path,
                                        json_pack("{s:s,s:s,s:s,s:s}", "type", "StatusUpdate",
                                                  "status", "True", "reason", "E2E", "message",
                                                  "Set from e2e test"));
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to update status: HTTP %d", code);
        goto out;
    }
    struct kc_conf_cond_want updated = {path, labels, "StatusUpdate", "E2E", "Set from e2e test"};
    EXPECT(t, kc_conf_wait(t, 60000, kc_conf_condition_seen, &updated),
           "failed to locate %s %s in namespace %s with the updated status", what, name, ns);
    code = patch ? kc_conf_call(t, "PATCH", patch, "application/merge-patch+json", NULL,
                                "%s/status", path)
                 : -1;
    if (code != 200) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "Failed to patch status: HTTP %d", code);
        goto out;
    }
    struct kc_conf_cond_want patched = {path, labels, "StatusPatched", NULL, NULL};
    EXPECT(t, kc_conf_wait(t, 60000, kc_conf_condition_seen, &patched),
           "failed to locate %s %s in namespace %s with the patched status", what, name, ns);
out:
    json_decref(st);
    json_decref(patch);
}

int kc_conf_raw(struct kc_conf *t, const char *method, struct kc_client_raw *r,
                const char *path_fmt, ...)
{
    va_list ap;
    va_start(ap, path_fmt);
    char *path = vformat(path_fmt, ap);
    va_end(ap);
    int code = path ? kc_client_raw(t->client, method, path, r) : -1;
    kc_conf_log(t, "%s %s (Accept: %s) -> %d", method, path ? path : "?",
                r->accept ? r->accept : "application/json", code);
    free(path);
    return code;
}

const char *kc_conf_image(const struct kc_conf *t)
{
    return t->image;
}

const char *kc_conf_image_variant(struct kc_conf *t, int n)
{
    if (n <= 0)
        return t->image;
    if (n > 2)
        n = 2;
    if (!t->variants[n - 1][0]) {
        /* the same image under another spelling: name:latest, then registry/name:latest;
         * a reference that already has a tag or digest only gains the registry */
        const char *ref = t->image;
        const char *slash = strchr(ref, '/');
        bool host =
            slash && (memchr(ref, '.', (size_t)(slash - ref)) ||
                      memchr(ref, ':', (size_t)(slash - ref)) || !strncmp(ref, "localhost/", 10));
        const char *last = strrchr(ref, '/') ? strrchr(ref, '/') + 1 : ref;
        bool tagged = strchr(last, ':') || strchr(ref, '@');
        const char *lib = slash ? "" : "library/";
        char *v1 = t->variants[0], *v2 = t->variants[1];
        size_t l = sizeof t->variants[0];
        if (!tagged) {
            snprintf(v1, l, "%s:latest", ref);
            if (host)
                snprintf(v2, l, "%s:latest", ref); /* no other spelling: same as v1 */
            else
                snprintf(v2, l, "docker.io/%s%s:latest", lib, ref);
        } else {
            if (host)
                snprintf(v1, l, "%s", ref);
            else
                snprintf(v1, l, "docker.io/%s%s", lib, ref);
            snprintf(v2, l, "%s", v1);
        }
    }
    return t->variants[n - 1];
}

const char *kc_conf_reason(const json_t *answer)
{
    return kc_json_str(answer, "reason") ?: "";
}

/* ---- the run ---- */

struct run {
    struct kc_conf *tests;
    int n;
    atomic_int next;
    pthread_mutex_t mu; /* serial tests, output */
    pthread_rwlock_t serial;
    int done, passed, failed, skipped;
    const char *kubeconfig, *master;
    const char *image;
    bool verbose;
};

static int connect_client(const struct run *r, struct kc_client **c)
{
    char err[512];
    int rc = r->master ? kc_client_new_url(r->master, c, err, sizeof err)
                       : kc_client_from_kubeconfig(r->kubeconfig, c, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "conformance: %s\n", err);
    else
        kc_client_set_user_agent(*c, "kubec-conformance/0.1");
    return rc;
}

static void run_one(struct run *r, struct kc_conf *t)
{
    double t0 = now_s();
    char suffix[6];
    random_suffix(suffix, sizeof suffix);
    snprintf(t->ns, sizeof t->ns, "kc-conf-%d-%s", t->index + 1, suffix);
    if (connect_client(r, &t->client) != 0) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "cannot connect to the cluster");
        goto out;
    }
    json_t *ns = json_pack("{s:s, s:s, s:{s:s, s:{s:s}}}", "apiVersion", "v1", "kind", "Namespace",
                           "metadata", "name", t->ns, "labels", "e2e-framework",
                           "kubec-conformance"); /* owned */
    int code = kc_conf_call(t, "POST", ns, NULL, NULL, "/api/v1/namespaces");
    json_decref(ns);
    if (code != 201) {
        kc_conf_fail_at(t, __FILE__, __LINE__, "creating the test namespace %s: HTTP %d", t->ns,
                        code);
        goto out;
    }
    t->outcome = PASSED;
    if (!(t->test->flags & KC_CONF_CONTAINERS) || kc_conf_require_containers(t))
        t->test->run(t);
    /* the namespace and what is left in it go in the background, as upstream's framework */
    kc_conf_call(t, "DELETE", NULL, NULL, NULL, "/api/v1/namespaces/%s", t->ns);
out:
    t->seconds = now_s() - t0;
    if (t->client)
        kc_client_free(t->client);
    t->client = NULL;
    pthread_mutex_lock(&r->mu);
    r->done++;
    const char *word = t->outcome == PASSED    ? "PASSED"
                       : t->outcome == SKIPPED ? "SKIPPED"
                                               : "FAILED";
    r->passed += t->outcome == PASSED;
    r->failed += t->outcome == FAILED;
    r->skipped += t->outcome == SKIPPED;
    printf("[%d/%d] [%s] (%.2fs) %s\n", r->done, r->n, word, t->seconds, t->test->name);
    if (t->outcome != PASSED && t->message)
        printf("  %s\n", t->message);
    if (t->outcome == FAILED && r->verbose && t->log) {
        printf("  requests:\n");
        for (char *line = t->log, *nl; line && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            printf("    %.*s\n", (int)(nl ? nl - line : (long)strlen(line)), line);
        }
    }
    fflush(stdout);
    pthread_mutex_unlock(&r->mu);
}

static void *worker(void *arg)
{
    struct run *r = arg;
    for (;;) {
        int i = atomic_fetch_add(&r->next, 1);
        if (i >= r->n)
            return NULL;
        struct kc_conf *t = &r->tests[i];
        bool serial = t->test->flags & KC_CONF_SERIAL;
        if (serial)
            pthread_rwlock_wrlock(&r->serial);
        else
            pthread_rwlock_rdlock(&r->serial);
        run_one(r, t);
        pthread_rwlock_unlock(&r->serial);
    }
}

static void xml_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            /* XML 1.0 has no place for other control characters */
            if ((unsigned char)*s < 0x20 && *s != '\n' && *s != '\t')
                fputc('?', f);
            else
                fputc(*s, f);
        }
    }
}

static int write_junit(const char *path, const struct run *r, double total)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "conformance: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    fprintf(f,
            "<testsuites tests=\"%d\" failures=\"%d\" disabled=\"%d\" errors=\"0\" "
            "time=\"%.3f\">\n",
            r->n, r->failed, r->skipped, total);
    fprintf(f,
            "  <testsuite name=\"Kubernetes e2e suite\" package=\"kubec-conformance\" "
            "tests=\"%d\" failures=\"%d\" skipped=\"%d\" errors=\"0\" time=\"%.3f\">\n",
            r->n, r->failed, r->skipped, total);
    for (int i = 0; i < r->n; i++) {
        const struct kc_conf *t = &r->tests[i];
        fprintf(f, "    <testcase name=\"");
        xml_escape(f, t->test->name);
        fprintf(f, "\" classname=\"Kubernetes e2e suite\" status=\"%s\" time=\"%.3f\"",
                t->outcome == PASSED    ? "passed"
                : t->outcome == SKIPPED ? "skipped"
                                        : "failed",
                t->seconds);
        if (t->outcome == PASSED) {
            fprintf(f, "></testcase>\n");
            continue;
        }
        fprintf(f, ">\n      <%s message=\"", t->outcome == SKIPPED ? "skipped" : "failure");
        xml_escape(f, t->message ? t->message : "");
        fprintf(f, "\"%s>", t->outcome == SKIPPED ? "" : " type=\"failed\"");
        if (t->outcome == FAILED) {
            xml_escape(f, t->message);
            if (t->log) {
                fputs("\n", f);
                xml_escape(f, t->log);
            }
        }
        fprintf(f, "</%s>\n    </testcase>\n", t->outcome == SKIPPED ? "skipped" : "failure");
    }
    fprintf(f, "  </testsuite>\n</testsuites>\n");
    return fclose(f) == 0 ? 0 : -1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: kubec conformance (--kubeconfig FILE | --master URL) [flags]\n\n"
               "Runs kubec's re-expression of the upstream conformance tests, each named as\n"
               "upstream, against any cluster.\n\n"
               "  --kubeconfig FILE      the cluster (its current context)\n"
               "  --master URL           a plain-HTTP apiserver instead\n"
               "  --focus REGEX          only tests whose name matches (POSIX extended)\n"
               "  --skip REGEX           not those whose name matches\n"
               "  --junit FILE           write JUnit XML there\n"
               "  --parallel N           tests at a time (4); [Serial] ones run alone\n"
               "  --image REF            the image of the tests' pods: busybox's applets\n"
               "                         (sh, env, cat, httpd, nc, nslookup, wget) (busybox)\n"
               "  --list                 print the selected tests' names and exit\n"
               "  --verbose              show every failed test's requests\n");
}

int kc_conformance_main(int argc, char **argv)
{
    const char *focus = NULL, *skip = NULL, *junit = NULL;
    int parallel = 4;
    bool list = false;
    static struct run r; /* one run per process */
    regex_t focus_re, skip_re;
    const struct kc_conf_test **order = NULL; /* the selection, [Serial] last */
    int ret = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            list = true;
            continue;
        } else if (!strcmp(a, "--verbose")) {
            r.verbose = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "conformance: %s needs a value (see --help)\n", a);
            return 2;
        }
        i++;
        if (!strcmp(a, "--kubeconfig"))
            r.kubeconfig = v;
        else if (!strcmp(a, "--master"))
            r.master = v;
        else if (!strcmp(a, "--focus"))
            focus = v;
        else if (!strcmp(a, "--skip"))
            skip = v;
        else if (!strcmp(a, "--junit"))
            junit = v;
        else if (!strcmp(a, "--image"))
            r.image = v;
        else if (!strcmp(a, "--parallel")) {
            parallel = atoi(v);
            if (parallel < 1 || parallel > 64) {
                fprintf(stderr, "conformance: --parallel between 1 and 64\n");
                return 2;
            }
        } else {
            fprintf(stderr, "conformance: unknown flag %s (see --help)\n", a);
            return 2;
        }
    }
    if (!list && !r.kubeconfig && !r.master) {
        fprintf(stderr, "conformance: --kubeconfig or --master is needed\n");
        return 2;
    }
    if ((focus && regcomp(&focus_re, focus, REG_EXTENDED | REG_NOSUB) != 0) ||
        (skip && regcomp(&skip_re, skip, REG_EXTENDED | REG_NOSUB) != 0)) {
        fprintf(stderr, "conformance: bad regular expression\n");
        return 2;
    }
    int total = 0;
    for (int s = 0; kc_conf_suites[s]; s++)
        for (const struct kc_conf_test *t = kc_conf_suites[s]; t->name; t++)
            total++;
    r.tests = calloc((size_t)(total ? total : 1), sizeof *r.tests);
    order = calloc((size_t)(total ? total : 1), sizeof *order);
    if (!r.tests || !order)
        goto out;
    for (int s = 0; kc_conf_suites[s]; s++)
        for (const struct kc_conf_test *t = kc_conf_suites[s]; t->name; t++) {
            if (focus && regexec(&focus_re, t->name, 0, NULL, 0) != 0)
                continue;
            if (skip && regexec(&skip_re, t->name, 0, NULL, 0) == 0)
                continue;
            r.tests[r.n].test = t;
            r.tests[r.n].index = r.n;
            r.tests[r.n].image = r.image ? r.image : "busybox";
            r.n++;
        }
    /* [Serial] tests after the others, as ginkgo runs them: one waits for every test
     * running when it comes up, so mid-list each would hold the whole run behind the
     * slowest */
    for (int i = 0, w = 0, pass = 0; pass < 2; pass++, i = 0)
        for (; i < r.n; i++) {
            bool serial = r.tests[i].test->flags & KC_CONF_SERIAL;
            if (serial == (pass == 1))
                order[w++] = r.tests[i].test;
        }
    for (int i = 0; i < r.n; i++) {
        r.tests[i].test = order[i];
        r.tests[i].index = i;
    }
    if (list) {
        for (int i = 0; i < r.n; i++)
            printf("%s\n", r.tests[i].test->name);
        ret = 0;
        goto out;
    }
    printf("Running %d of %d specs (%d at a time)\n", r.n, total, parallel);
    fflush(stdout);
    pthread_mutex_init(&r.mu, NULL);
    pthread_rwlock_init(&r.serial, NULL);
    double t0 = now_s();
    pthread_t th[64];
    int started = 0;
    for (int i = 0; i < parallel && i < (r.n ? r.n : 1); i++)
        if (pthread_create(&th[i], NULL, worker, &r) == 0)
            started++;
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    double secs = now_s() - t0;
    printf("\nRan %d of %d Specs in %.3f seconds\n", r.n - r.skipped, total, secs);
    if (r.failed) {
        printf("Summarizing %d Failure%s:\n", r.failed, r.failed == 1 ? "" : "s");
        for (int i = 0; i < r.n; i++)
            if (r.tests[i].outcome == FAILED)
                printf("  [FAIL] %s\n", r.tests[i].test->name);
    }
    printf("%d passed, %d failed, %d skipped\n", r.passed, r.failed, r.skipped);
    ret = r.failed ? 1 : 0;
    if (junit && write_junit(junit, &r, secs) != 0)
        ret = 1;
out:
    for (int i = 0; i < r.n; i++) {
        free(r.tests[i].message);
        free(r.tests[i].log);
    }
    free(r.tests);
    free(order);
    if (focus)
        regfree(&focus_re);
    if (skip)
        regfree(&skip_re);
    return ret;
}
