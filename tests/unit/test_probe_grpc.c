/* The gRPC probe against a fake HTTP/2 server on loopback: the request (preface, a HEADERS
 * frame for /grpc.health.v1.Health/Check, the service name in the message) and the verdicts
 * for SERVING, NOT_SERVING, a call that ends without a message, and a closed port. */
#include "check.h"

#include "nodeagent/probe_grpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct fake {
    int lfd, port;
    int status; /* HealthCheckResponse.status to answer; -1: no message */
    char seen[4096];
    size_t seen_len;
};

static void frame(int fd, const uint8_t *payload, size_t len, int type, int flags, int stream)
{
    uint8_t h[9] = {(uint8_t)(len >> 16),
                    (uint8_t)(len >> 8),
                    (uint8_t)len,
                    (uint8_t)type,
                    (uint8_t)flags,
                    0,
                    0,
                    0,
                    (uint8_t)stream};
    if (write(fd, h, 9) != 9 || (len && write(fd, payload, len) != (ssize_t)len))
        fprintf(stderr, "fake: short write\n");
}

static void *serve(void *arg)
{
    struct fake *f = arg;
    int fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    /* everything the client sends up to its DATA frame with END_STREAM (flags 1) */
    for (;;) {
        ssize_t n = read(fd, f->seen + f->seen_len, sizeof f->seen - 1 - f->seen_len);
        if (n <= 0)
            break;
        f->seen_len += (size_t)n;
        /* the request ends with the message: look for a DATA frame header on stream 1 with
         * END_STREAM among the bytes (good enough for a fixed client) */
        bool end = false;
        for (size_t i = 24; i + 9 <= f->seen_len; i++)
            if (f->seen[i + 3] == 0 && f->seen[i + 4] == 1 && f->seen[i + 8] == 1 &&
                f->seen[i + 5] == 0 && f->seen[i + 6] == 0 && f->seen[i + 7] == 0 &&
                f->seen[i] == 0 && f->seen[i + 1] == 0)
                end = true;
        if (end)
            break;
    }
    frame(fd, NULL, 0, 4, 0, 0); /* SETTINGS */
    static const uint8_t status200[] = {0x88};
    frame(fd, status200, 1, 1, 4, 1);
    if (f->status >= 0) {
        uint8_t msg[] = {0, 0, 0, 0, 2, 0x08, (uint8_t)f->status};
        frame(fd, msg, sizeof msg, 0, 0, 1);
    }
    /* trailers: grpc-status 0 as a literal */
    uint8_t tr[] = {0, 11, 'g', 'r', 'p', 'c', '-', 's', 't', 'a', 't', 'u', 's', 1, '0'};
    frame(fd, tr, sizeof tr, 1, 4 | 1, 1);
    usleep(100 * 1000);
    close(fd);
    return NULL;
}

static void start(struct fake *f, pthread_t *th)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    f->lfd = socket(AF_INET, SOCK_STREAM, 0);
    bind(f->lfd, (struct sockaddr *)&sa, sizeof sa);
    listen(f->lfd, 1);
    getsockname(f->lfd, (struct sockaddr *)&sa, &sl);
    f->port = ntohs(sa.sin_port);
    pthread_create(th, NULL, serve, f);
}

static bool seen(const struct fake *f, const char *s)
{
    return memmem(f->seen, f->seen_len, s, strlen(s)) != NULL;
}

static void one(int status, bool want, const char *want_why)
{
    struct fake f = {.status = status};
    pthread_t th;
    char why[512] = "";
    start(&f, &th);
    bool ok = kc_probe_grpc("127.0.0.1", f.port, "svc", 3000, why, sizeof why);
    pthread_join(th, NULL);
    close(f.lfd);
    CHECK(ok == want);
    if (want_why)
        CHECK(strstr(why, want_why) != NULL);
    CHECK(f.seen_len > 24 && memcmp(f.seen, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24) == 0);
    CHECK(seen(&f, "/grpc.health.v1.Health/Check"));
    CHECK(seen(&f, "application/grpc"));
    CHECK(seen(&f, "\x0a\x03svc")); /* HealthCheckRequest.service */
}

int main(void)
{
    one(1, true, NULL);
    one(2, false, "service unhealthy (responded with \"NOT_SERVING\")");
    one(-1, false, "ended without an answer");
    /* a port nothing listens on (bound, then closed): the connection fails */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    int port = ntohs(sa.sin_port);
    close(fd);
    char why[512] = "";
    CHECK(!kc_probe_grpc("127.0.0.1", port, "", 1000, why, sizeof why));
    CHECK(strstr(why, "failed to connect service") != NULL);
    CHECK_DONE();
}
