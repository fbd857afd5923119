/* Watch delivery latency: opens N watch streams (HTTP/1.1, chunked) on a namespace's
 * configmaps, then creates M configmaps at a steady pace and measures, for every
 * (watcher, event) pair, the time from sending the create to the watcher receiving the
 * event. Prints count, p50, p90, p99 and max in milliseconds.
 *
 * usage: kubec-watchbench HOST PORT NAMESPACE WATCHERS EVENTS [INTERVAL_MS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int dial(const char *host, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("connect");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void send_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0) {
            perror("write");
            exit(1);
        }
        s += w;
        n -= (size_t)w;
    }
}

/* One blocking HTTP/1.1 request on a keep-alive connection; reads the whole reply. */
static int http_post(int fd, const char *host, const char *path, const char *body)
{
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     path, host, strlen(body), body);
    send_all(fd, req, (size_t)n);
    char buf[65536];
    size_t len = 0;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = 0;
        char *hdr_end = strstr(buf, "\r\n\r\n");
        if (!hdr_end)
            continue;
        char *cl = strcasestr(buf, "Content-Length:");
        if (cl && cl < hdr_end) {
            size_t want = (size_t)atol(cl + 15);
            if (len >= (size_t)(hdr_end + 4 - buf) + want)
                return atoi(buf + 9);
        } else if (strstr(hdr_end, "\r\n0\r\n\r\n")) {
            return atoi(buf + 9);
        }
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT NAMESPACE WATCHERS EVENTS [INTERVAL_MS]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1], *ns = argv[3];
    int port = atoi(argv[2]), nw = atoi(argv[4]), ne = atoi(argv[5]);
    int interval = argc > 6 ? atoi(argv[6]) : 20;
    struct rlimit rl = {65536, 65536};
    setrlimit(RLIMIT_NOFILE, &rl);

    char path[512], prefix[64];
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/configmaps", ns);
    snprintf(prefix, sizeof prefix, "wb%ld-", (long)getpid());
    int ctl = dial(host, port);
    /* the list's resourceVersion is where every watcher starts */
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s?limit=1 HTTP/1.1\r\nHost: %s\r\n\r\n", path, host);
    send_all(ctl, req, (size_t)n);
    char lbuf[65536];
    ssize_t r = read(ctl, lbuf, sizeof lbuf - 1);
    if (r <= 0)
        return 1;
    lbuf[r] = 0;
    char *rvp = strstr(lbuf, "\"resourceVersion\":\"");
    long long rv = rvp ? atoll(rvp + 19) : 0;

    int ep = epoll_create1(0);
    int *fds = calloc((size_t)nw, sizeof *fds);
    for (int i = 0; i < nw; i++) {
        fds[i] = dial(host, port);
        n = snprintf(req, sizeof req,
                     "GET %s?watch=true&resourceVersion=%lld&timeoutSeconds=600 HTTP/1.1\r\n"
                     "Host: %s\r\n\r\n",
                     path, rv, host);
        send_all(fds[i], req, (size_t)n);
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    usleep(500 * 1000);

    double *sent = calloc((size_t)ne, sizeof *sent);
    size_t cap = (size_t)nw * (size_t)ne, got = 0;
    double *lat = malloc(cap * sizeof *lat);
    int next = 0;
    double next_at = now_ms();
    char buf[1 << 16];
    double deadline = 0;
    while (got < cap) {
        double t = now_ms();
        if (next < ne && t >= next_at) {
            char body[256];
            snprintf(body, sizeof body, "{\"metadata\":{\"name\":\"%s%d\"}}", prefix, next);
            sent[next] = now_ms();
            if (http_post(ctl, host, path, body) != 201) {
                fprintf(stderr, "create failed\n");
                return 1;
            }
            next++;
            next_at += interval;
            if (next == ne)
                deadline = now_ms() + 10000;
        }
        if (deadline && now_ms() > deadline)
            break;
        struct epoll_event evs[256];
        int k = epoll_wait(ep, evs, 256, 2);
        for (int e = 0; e < k; e++) {
            int fd = fds[evs[e].data.u32];
            ssize_t m = read(fd, buf, sizeof buf - 1);
            if (m <= 0)
                continue;
            double at = now_ms();
            buf[m] = 0;
            /* each event names its object; chunk boundaries never split our short names
             * in practice, and a split only loses a sample */
            for (char *p = buf; (p = strstr(p, prefix)) != NULL; p++) {
                int seq = atoi(p + strlen(prefix));
                if (seq >= 0 && seq < next && got < cap)
                    lat[got++] = at - sent[seq];
            }
        }
    }
    qsort(lat, got, sizeof *lat, cmp_double);
    if (!got) {
        printf("no events received\n");
        return 1;
    }
    printf("watchers=%d events=%d deliveries=%zu/%zu p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms\n",
           nw, ne, got, cap, lat[got / 2], lat[got * 9 / 10], lat[got * 99 / 100], lat[got - 1]);
    return got == cap ? 0 : 1;
}
