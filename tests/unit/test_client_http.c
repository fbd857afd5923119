/* The client against a scripted HTTP/1.1 server on loopback: retries on 429 (waiting
 * the Retry-After it is told) and on 5xx, no retry on 4xx answers, one kept-alive
 * connection for consecutive calls, watch streams split into events, bearer tokens. */
#include "check.h"

#include "client/client.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The server answers each request with the next scripted response. */
static const char *const *script;
static int script_len, served, connections;
static char last_auth[256];
static int listen_fd;

/* One connection, served until the client closes it. */
static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[8192];
    size_t have = 0;
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have - 1);
        if (n <= 0)
            break;
        have += (size_t)n;
        buf[have] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        /* request bodies here are small and sent at once with the headers */
        char *cl = strcasestr(buf, "Content-Length:");
        size_t body = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
        size_t total = (size_t)(end + 4 - buf) + body;
        if (have < total)
            continue;
        char *auth = strcasestr(buf, "Authorization: ");
        if (auth)
            snprintf(last_auth, sizeof last_auth, "%.*s", (int)strcspn(auth + 15, "\r"), auth + 15);
        const char *resp = served < script_len ? script[served] : script[script_len - 1];
        served++;
        if (write(fd, resp, strlen(resp)) < 0)
            break;
        memmove(buf, buf + total, have - total);
        have -= total;
        if (strstr(resp, "Connection: close"))
            break;
    }
    close(fd);
    return NULL;
}

/* A thread per connection: a kept-alive connection must not hold up a new one. */
static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        int fd = accept(listen_fd, NULL, NULL);
        if (fd < 0)
            return NULL;
        __atomic_add_fetch(&connections, 1, __ATOMIC_SEQ_CST);
        pthread_t t;
        pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd);
        pthread_detach(t);
    }
}

static int start_server(void)
{
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bind(listen_fd, (struct sockaddr *)&sa, sizeof sa);
    listen(listen_fd, 8);
    socklen_t len = sizeof sa;
    getsockname(listen_fd, (struct sockaddr *)&sa, &len);
    pthread_t t;
    pthread_create(&t, NULL, server_main, NULL);
    pthread_detach(t);
    return ntohs(sa.sin_port);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#define OK_BODY "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"}}"
#define R200                                                                                       \
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 38\r\n\r\n" OK_BODY
#define R429                                                                                       \
    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"       \
    "Content-Length: 2\r\n\r\n{}"
#define R503 "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 2\r\n\r\n{}"
#define R404                                                                                       \
    "HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n"       \
    "{\"kind\":\"Status\",\"code\":404}  "

static int events_seen;
static char event_types[128];
static int on_event(void *ctx, const char *type, json_t *obj)
{
    (void)ctx;
    events_seen++;
    strncat(event_types, type, sizeof event_types - strlen(event_types) - 2);
    strcat(event_types, ",");
    (void)obj;
    return 0;
}

int main(void)
{
    int port = start_server();
    char url[64], err[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
    struct kc_client *c = NULL;
    CHECK_INT(kc_client_new_url(url, &c, err, sizeof err), 0);
    json_t *out = NULL;

    /* 429 with Retry-After: 1, then success: one call, waited about a second */
    static const char *const s1[] = {R429, R200};
    script = s1, script_len = 2, served = 0;
    double t0 = now_s();
    CHECK_INT(kc_get(c, &KC_GVR_PODS, "default", "p", &out), 200);
    double took = now_s() - t0;
    CHECK(took >= 0.95 && took < 3.0);
    CHECK_STR(json_string_value(json_object_get(out, "kind")), "Pod");
    CHECK_INT(served, 2);
    json_decref(out);

    /* 503 twice, then success: retried with back-off */
    static const char *const s2[] = {R503, R503, R200};
    script = s2, script_len = 3, served = 0;
    CHECK_INT(kc_get(c, &KC_GVR_PODS, "default", "p", &out), 200);
    CHECK_INT(served, 3);
    json_decref(out);

    /* 404 is an answer: no retry, the Status comes back */
    static const char *const s3[] = {R404, R200};
    script = s3, script_len = 2, served = 0;
    CHECK_INT(kc_get(c, &KC_GVR_PODS, "default", "p", &out), 404);
    CHECK_INT(served, 1);
    CHECK_INT(json_integer_value(json_object_get(out, "code")), 404);
    json_decref(out);

    /* always 503: gives up after a bounded number of attempts with the last answer */
    static const char *const s4[] = {R503};
    script = s4, script_len = 1, served = 0;
    CHECK_INT(kc_get(c, &KC_GVR_PODS, "default", "p", &out), 503);
    CHECK(served >= 3 && served <= 8);
    json_decref(out);

    /* consecutive calls on one thread reuse the connection */
    static const char *const s5[] = {R200};
    script = s5, script_len = 1, served = 0;
    int before = connections;
    for (int i = 0; i < 5; i++) {
        CHECK_INT(kc_get(c, &KC_GVR_PODS, "default", "p", &out), 200);
        json_decref(out);
    }
    CHECK_INT(connections - before, 0);

    /* a watch stream: chunked newline-separated events, split even across chunks */
    static const char *const s6[] = {
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\n"
        "1a\r\n{\"type\":\"ADDED\",\"object\":{\r\n"
        "2\r\n}}\r\n"
        "1\r\n\n\r\n"
        "32\r\n{\"type\":\"MODIFIED\",\"object\":{}}\n{\"type\":\"DELETED\",\r\n"
        "10\r\n\"object\":{}}\n   \r\n"
        "0\r\n\r\n"};
    script = s6, script_len = 1, served = 0;
    CHECK_INT(kc_client_watch(c, "/api/v1/pods?watch=1", on_event, NULL), 200);
    CHECK_INT(events_seen, 3);
    CHECK_STR(event_types, "ADDED,MODIFIED,DELETED,");
    kc_client_free(c);

    /* a bearer token from the kubeconfig goes in Authorization */
    char path[] = "/tmp/kubec-kc-XXXXXX";
    int fd = mkstemp(path);
    dprintf(fd,
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: %s\n"
            "contexts:\n- name: x\n  context: {cluster: c, user: u}\ncurrent-context: x\n"
            "users:\n- name: u\n  user: {token: sekret}\n",
            url);
    close(fd);
    CHECK_INT(kc_client_from_kubeconfig(path, &c, err, sizeof err), 0);
    script = s5, script_len = 1, served = 0;
    if (c) {
        CHECK_INT(kc_get(c, &KC_GVR_PODS, "default", "p", &out), 200);
        json_decref(out);
        CHECK_STR(last_auth, "Bearer sekret");
        kc_client_free(c);
    }
    unlink(path);
    CHECK_DONE();
}
