/* The node agent's log server through real HTTP requests on loopback: CRI files written
 * into a temporary logs root are served decoded (partial records joined), with
 * timestamps, tailLines, limitBytes, sinceTime/sinceSeconds, previous, the kubelet's errors
 * (unknown pod or container, missing previous run, bad query, names that would leave the
 * root), the pod uid picking among recreated pods, and follow streams that end when the
 * run's exit file appears, a newer run starts or the pod directory goes, or when the server
 * stops. */
#include "check.h"

#include "nodeagent/logserver.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char root[256];
static int port;

struct body {
    char *p;
    size_t n;
};

static size_t on_data(char *p, size_t sz, size_t nm, void *arg)
{
    struct body *b = arg;
    size_t n = sz * nm;
    b->p = realloc(b->p, b->n + n + 1);
    memcpy(b->p + b->n, p, n);
    b->n += n;
    b->p[b->n] = 0;
    return n;
}

/* GETs path from the server; returns the status code and sets *out (malloc'd, "" when
 * empty). timeout_ms bounds the whole request (0: 10 s). */
static long get_timeout(const char *path, char **out, long timeout_ms)
{
    char url[1024];
    struct body b = {calloc(1, 1), 0};
    long code = 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 10000L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (curl_easy_perform(c) == CURLE_OK || timeout_ms)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(c);
    *out = b.p;
    return code;
}

static long get(const char *path, char **out)
{
    return get_timeout(path, out, 0);
}

static void mkdirs(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void mkdirs(const char *fmt, ...)
{
    char p[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof p, fmt, ap);
    va_end(ap);
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0755);
            *s = '/';
        }
    mkdir(p, 0755);
}

/* Writes (mode "w") or appends ("a") text to root/rel. */
static void put(const char *rel, const char *mode, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, mode);
    if (!f) {
        fprintf(stderr, "cannot write %s: %s\n", p, strerror(errno));
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* The runtime's way: the exit file appears by rename. */
static void put_exit(const char *rel)
{
    char tmp[512], p[512];
    snprintf(tmp, sizeof tmp, "%s/%s.tmp", root, rel);
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(tmp, "w");
    fputs("{\"exitCode\":0,\"finishedAt\":\"2024-01-01T00:01:00Z\",\"reason\":\"Completed\"}", f);
    fclose(f);
    rename(tmp, p);
}

#define POD "default_web_1111-aaaa"
#define LOG_ABC                                                                                    \
    "2024-01-01T00:00:01Z stdout F a\n"                                                            \
    "2024-01-01T00:00:02.5Z stderr F b\n"                                                          \
    "2024-01-01T00:00:03.123456789Z stdout F c\n"

static void setup(void)
{
    mkdirs("%s/" POD "/app", root);
    put(POD "/app/0.log", "w", LOG_ABC);
    /* partial records joined; a malformed line skipped */
    mkdirs("%s/" POD "/part", root);
    put(POD "/part/0.log", "w",
        "2024-01-01T00:00:01Z stdout P hel\n"
        "2024-01-01T00:00:01.5Z stdout P lo \n"
        "2024-01-01T00:00:02Z stdout F world\n"
        "not a record\n"
        "2024-01-01T00:00:03Z stdout F \n"
        "2024-01-01T00:00:04Z stdout F:x end\n");
    /* two runs: 0 ended, 1 current */
    mkdirs("%s/" POD "/restarted", root);
    put(POD "/restarted/0.log", "w", "2024-01-01T00:00:01Z stdout F first run\n");
    put_exit(POD "/restarted/0.exit");
    put(POD "/restarted/1.log", "w", "2024-01-01T00:00:05Z stdout F second run\n");
    /* the same pod name recreated: another uid */
    mkdirs("%s/default_web_2222-bbbb/app", root);
    put("default_web_2222-bbbb/app/0.log", "w", "2024-01-01T00:00:09Z stdout F new pod\n");
    /* a container directory without any run yet */
    mkdirs("%s/" POD "/waiting", root);
}

static void test_plain(void)
{
    char *b;
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa", &b), 200);
    CHECK_STR(b, "a\nb\nc\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&timestamps=true", &b), 200);
    CHECK_STR(b, "2024-01-01T00:00:01.000000000Z a\n"
                 "2024-01-01T00:00:02.500000000Z b\n"
                 "2024-01-01T00:00:03.123456789Z c\n");
    free(b);
    /* without a uid: the most recently changed directory of that name */
    CHECK_INT(get("/containerLogs/default/web/app", &b), 200);
    CHECK_STR(b, "new pod\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=2222-bbbb", &b), 200);
    CHECK_STR(b, "new pod\n");
    free(b);
}

static void test_options(void)
{
    char *b;
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&tailLines=2", &b), 200);
    CHECK_STR(b, "b\nc\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&tailLines=0", &b), 200);
    CHECK_STR(b, "");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&tailLines=9", &b), 200);
    CHECK_STR(b, "a\nb\nc\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&tail=1", &b), 200);
    CHECK_STR(b, "c\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&tail=all&tailLines=1", &b), 200);
    CHECK_STR(b, "a\nb\nc\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&limitBytes=3", &b), 200);
    CHECK_STR(b, "a\nb");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&limitBytes=3&timestamps=1", &b),
              200);
    CHECK_STR(b, "202");
    free(b);
    CHECK_INT(
        get("/containerLogs/default/web/app?podUID=1111-aaaa&sinceTime=2024-01-01T00:00:02Z", &b),
        200);
    CHECK_STR(b, "b\nc\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/"
                  "app?podUID=1111-aaaa&sinceTime=2024-01-01T01:00:02%2B01:00&tailLines=1",
                  &b),
              200);
    CHECK_STR(b, "c\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&sinceSeconds=60", &b), 200);
    CHECK_STR(b, "");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&follow=false", &b), 200);
    CHECK_STR(b, "a\nb\nc\n");
    free(b);
}

static void test_partial_and_previous(void)
{
    char *b;
    CHECK_INT(get("/containerLogs/default/web/part?podUID=1111-aaaa", &b), 200);
    CHECK_STR(b, "hello world\n\nend\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/part?podUID=1111-aaaa&timestamps=true", &b), 200);
    CHECK_STR(b, "2024-01-01T00:00:01.000000000Z hello world\n"
                 "2024-01-01T00:00:03.000000000Z \n"
                 "2024-01-01T00:00:04.000000000Z end\n");
    free(b);
    /* tailLines counts joined lines */
    CHECK_INT(get("/containerLogs/default/web/part?podUID=1111-aaaa&tailLines=3", &b), 200);
    CHECK_STR(b, "hello world\n\nend\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/restarted?podUID=1111-aaaa", &b), 200);
    CHECK_STR(b, "second run\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/restarted?podUID=1111-aaaa&previous=true", &b), 200);
    CHECK_STR(b, "first run\n");
    free(b);
    /* previous with follow ends at once: that run is over */
    CHECK_INT(
        get("/containerLogs/default/web/restarted?podUID=1111-aaaa&previous=true&follow=true", &b),
        200);
    CHECK_STR(b, "first run\n");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&previous=true", &b), 400);
    CHECK_STR(b, "previous terminated container \"app\" in pod \"web\" not found");
    free(b);
}

static void test_errors(void)
{
    char *b;
    CHECK_INT(get("/containerLogs/default/web/nope?podUID=1111-aaaa", &b), 404);
    CHECK_STR(b, "container \"nope\" not found in pod \"web\"");
    free(b);
    CHECK_INT(get("/containerLogs/default/other/app", &b), 404);
    CHECK_STR(b, "pod \"other\" does not exist");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=3333-cccc", &b), 404);
    CHECK_STR(b, "pod \"web\" does not exist");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/waiting?podUID=1111-aaaa", &b), 400);
    CHECK_STR(b, "container \"waiting\" in pod \"web\" is waiting to start - no logs yet");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&tailLines=x", &b), 400);
    CHECK_STR(b, "{\"message\": \"Unable to decode query.\"}");
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&tailLines=-1", &b), 422);
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&limitBytes=0", &b), 422);
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&sinceSeconds=1&sinceTime="
                  "2024-01-01T00:00:00Z",
                  &b),
              422);
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=1111-aaaa&sinceTime=yesterday", &b), 400);
    free(b);
    /* nothing outside the root, however the names are spelled */
    mkdirs("%s/default_web_1111-aaaa/app/x", root);
    CHECK_INT(get("/containerLogs/default/web/..?podUID=1111-aaaa", &b), 404);
    free(b);
    CHECK_INT(get("/containerLogs/default/web/app?podUID=../../etc", &b), 404);
    free(b);
    CHECK_INT(get("/containerLogs/../../etc/passwd", &b), 404);
    free(b);
    CHECK_INT(get("/containerLogs/default/web%2Fapp/x?podUID=1111-aaaa", &b), 404);
    free(b);
    CHECK_INT(get("/containerLogs/default/.web/app", &b), 404);
    free(b);
    CHECK_INT(get("/containerLogs/default/web", &b), 404);
    free(b);
    CHECK_INT(get("/other", &b), 404);
    free(b);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *writer_exit(void *arg)
{
    sleep_ms(300);
    put(POD "/follow/0.log", "a", "2024-01-01T00:00:02Z stdout F two\n");
    sleep_ms(200);
    put(POD "/follow/0.log", "a", "2024-01-01T00:00:03Z stderr P thr");
    sleep_ms(200);
    put(POD "/follow/0.log", "a", "ee-\n2024-01-01T00:00:04Z stderr F and a half\n");
    put_exit(POD "/follow/0.exit");
    return NULL;
}

static void *writer_restart(void *arg)
{
    sleep_ms(300);
    put(POD "/follow2/0.log", "a", "2024-01-01T00:00:02Z stdout F crash\n");
    put(POD "/follow2/1.log", "w", "2024-01-01T00:00:03Z stdout F again\n");
    return NULL;
}

static void *remover(void *arg)
{
    char cmd[600];
    sleep_ms(300);
    snprintf(cmd, sizeof cmd, "rm -rf '%s/default_gone_4444-dddd'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove the pod directory\n");
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_follow(void)
{
    char *b;
    pthread_t th;
    mkdirs("%s/" POD "/follow", root);
    put(POD "/follow/0.log", "w", "2024-01-01T00:00:01Z stdout F one\n");
    pthread_create(&th, NULL, writer_exit, NULL);
    double t0 = now_s();
    CHECK_INT(get("/containerLogs/default/web/follow?podUID=1111-aaaa&follow=true", &b), 200);
    double took = now_s() - t0;
    pthread_join(th, NULL);
    CHECK_STR(b, "one\ntwo\nthree-and a half\n");
    CHECK(took >= 0.6 && took < 3);
    free(b);
    /* after the exit, following the same run returns at once */
    CHECK_INT(get("/containerLogs/default/web/follow?podUID=1111-aaaa&follow=true&tailLines=1", &b),
              200);
    CHECK_STR(b, "three-and a half\n");
    free(b);

    /* a newer run ends the stream of the one followed */
    mkdirs("%s/" POD "/follow2", root);
    put(POD "/follow2/0.log", "w", "2024-01-01T00:00:01Z stdout F start\n");
    pthread_create(&th, NULL, writer_restart, NULL);
    CHECK_INT(get("/containerLogs/default/web/follow2?podUID=1111-aaaa&follow=1&tailLines=0", &b),
              200);
    pthread_join(th, NULL);
    CHECK_STR(b, "crash\n");
    free(b);

    /* the pod's directory removed (the pod is gone): the stream ends too */
    mkdirs("%s/default_gone_4444-dddd/app", root);
    put("default_gone_4444-dddd/app/0.log", "w", "2024-01-01T00:00:01Z stdout F bye\n");
    pthread_create(&th, NULL, remover, NULL);
    CHECK_INT(get("/containerLogs/default/gone/app?follow=true", &b), 200);
    pthread_join(th, NULL);
    CHECK_STR(b, "bye\n");
    free(b);
    /* runs are named as the runtime names them */
    put(POD "/follow2/02.log", "w", "2024-01-01T00:00:03Z stdout F not a run\n");
    put(POD "/follow2/7.log.tmp", "w", "2024-01-01T00:00:03Z stdout F not a run\n");
    CHECK_INT(get("/containerLogs/default/web/follow2?podUID=1111-aaaa", &b), 200);
    CHECK_STR(b, "again\n");
    free(b);

    /* a client that goes away: the request just times out on its side */
    CHECK_INT(get_timeout("/containerLogs/default/web/follow2?podUID=1111-aaaa&follow=1", &b, 300),
              200);
    CHECK_STR(b, "again\n");
    free(b);
}

struct bg {
    char *body;
    long code;
};

static void *follow_bg(void *arg)
{
    struct bg *g = arg;
    /* the connection is cut rather than ended cleanly: keep the code seen before that */
    g->code =
        get_timeout("/containerLogs/default/web/follow2?podUID=1111-aaaa&follow=1", &g->body, 8000);
    return NULL;
}

int main(void)
{
    char err[256];
    curl_global_init(CURL_GLOBAL_DEFAULT);
    snprintf(root, sizeof root, "/tmp/kubec-logserver-XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    setup();
    int fd = kc_logserver_listen("127.0.0.1", 0);
    CHECK(fd >= 0);
    struct kc_logserver *ls = kc_logserver_start(root, fd, err, sizeof err);
    CHECK(ls != NULL);
    if (!ls)
        return 1;
    port = kc_logserver_port(ls);
    CHECK(port > 0);
    CHECK(kc_logserver_listen("not-an-ip", 0) == -1);
    CHECK(kc_logserver_serve(root, "127.0.0.1", port, err, sizeof err) == NULL);
    CHECK(strstr(err, "cannot listen on 127.0.0.1:") != NULL);

    test_plain();
    test_options();
    test_partial_and_previous();
    test_errors();
    test_follow();

    /* stopping the server ends the follow streams still open */
    pthread_t th;
    struct bg g = {NULL, 0};
    pthread_create(&th, NULL, follow_bg, &g);
    sleep_ms(300);
    double t0 = now_s();
    kc_logserver_stop(ls);
    pthread_join(th, NULL);
    CHECK(now_s() - t0 < 3);
    CHECK_INT(g.code, 200);
    CHECK_STR(g.body, "again\n");
    free(g.body);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
    curl_global_cleanup();
    CHECK_DONE();
}
