/* See probe_grpc.h. Only what one unary call needs: the client preface, SETTINGS (and their
 * acknowledgement), one HEADERS frame of literal fields (no HPACK table, no Huffman), one
 * DATA frame with the request, then frames are read until the stream ends. The answer's
 * status comes from the response message (HealthCheckResponse.status, field 1); the
 * server's headers are not decoded, since a failed call carries no message. */
#include "nodeagent/probe_grpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { F_DATA = 0, F_HEADERS = 1, F_RST = 3, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7 };
enum { FL_END_STREAM = 1, FL_ACK = 1, FL_END_HEADERS = 4 };

static long ms_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void frame_head(uint8_t *b, size_t len, int type, int flags, uint32_t stream)
{
    b[0] = (uint8_t)(len >> 16);
    b[1] = (uint8_t)(len >> 8);
    b[2] = (uint8_t)len;
    b[3] = (uint8_t)type;
    b[4] = (uint8_t)flags;
    b[5] = (uint8_t)(stream >> 24 & 0x7f);
    b[6] = (uint8_t)(stream >> 16);
    b[7] = (uint8_t)(stream >> 8);
    b[8] = (uint8_t)stream;
}

/* An HPACK "literal header field without indexing, new name" (names and values < 127). */
static size_t hpack_literal(uint8_t *b, size_t room, const char *name, const char *value)
{
    size_t nl = strlen(name), vl = strlen(value);
    if (nl > 126 || vl > 126 || nl + vl + 3 > room)
        return 0;
    b[0] = 0;
    b[1] = (uint8_t)nl;
    memcpy(b + 2, name, nl);
    b[2 + nl] = (uint8_t)vl;
    memcpy(b + 3 + nl, value, vl);
    return nl + vl + 3;
}

static int write_all(int fd, const uint8_t *b, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes before the deadline (ms_now() clock): 0, or -1. */
static int read_full(int fd, uint8_t *b, size_t n, long deadline)
{
    while (n > 0) {
        long left = deadline - ms_now();
        struct pollfd pf = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, (int)left) != 1)
            return -1;
        ssize_t r = recv(fd, b, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static int connect_by(const char *host, int port, long deadline)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS)
        goto fail;
    struct pollfd pf = {fd, POLLOUT, 0};
    int err = 0;
    socklen_t el = sizeof err;
    long left = deadline - ms_now();
    if (left <= 0 || poll(&pf, 1, (int)left) != 1 ||
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

bool kc_probe_grpc(const char *host, int port, const char *service, int timeout_ms, char *why,
                   size_t whylen)
{
    long deadline = ms_now() + timeout_ms;
    bool ok = false;
    int status = -1; /* HealthCheckResponse.status; -1: no message came */
    char authority[96];
    snprintf(authority, sizeof authority, "%s:%d", host, port);
    int fd = connect_by(host, port, deadline);
    if (fd < 0) {
        /* the kubelet dials with a blocking connect until the timeout */
        snprintf(why, whylen,
                 "timeout: failed to connect service \"%s\" within %ds: context deadline exceeded",
                 authority, timeout_ms / 1000);
        return false;
    }
    uint8_t out[1024];
    size_t n = 0;
    static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    memcpy(out, preface, sizeof preface - 1);
    n += sizeof preface - 1;
    frame_head(out + n, 0, F_SETTINGS, 0, 0);
    n += 9;
    /* HEADERS on stream 1 */
    size_t hstart = n;
    n += 9;
    static const char *const hdrs[][2] = {
        {":method", "POST"},
        {":scheme", "http"},
        {":path", "/grpc.health.v1.Health/Check"},
        {":authority", NULL},
        {"content-type", "application/grpc"},
        {"te", "trailers"},
        {"user-agent", "kube-probe/1.33"},
    };
    for (size_t i = 0; i < sizeof hdrs / sizeof *hdrs; i++) {
        size_t w = hpack_literal(out + n, sizeof out - n - 64, hdrs[i][0], hdrs[i][1] ?: authority);
        if (!w) {
            snprintf(why, whylen, "gRPC probe: request too large");
            goto out;
        }
        n += w;
    }
    frame_head(out + hstart, n - hstart - 9, F_HEADERS, FL_END_HEADERS, 1);
    /* DATA: one uncompressed message HealthCheckRequest{service = 1} */
    size_t sl = strlen(service);
    if (sl > 120) {
        snprintf(why, whylen, "gRPC probe: service name too long");
        goto out;
    }
    size_t msg = sl ? 2 + sl : 0;
    frame_head(out + n, 5 + msg, F_DATA, FL_END_STREAM, 1);
    n += 9;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = 0;
    out[n++] = (uint8_t)msg;
    if (sl) {
        out[n++] = 0x0a; /* field 1, length-delimited */
        out[n++] = (uint8_t)sl;
        memcpy(out + n, service, sl);
        n += sl;
    }
    if (write_all(fd, out, n) != 0)
        goto broken;
    uint8_t body[16384];
    for (;;) {
        uint8_t h[9];
        if (read_full(fd, h, 9, deadline) != 0)
            goto broken;
        size_t len = (size_t)h[0] << 16 | (size_t)h[1] << 8 | h[2];
        int type = h[3], flags = h[4];
        uint32_t stream =
            ((uint32_t)h[5] & 0x7f) << 24 | (uint32_t)h[6] << 16 | (uint32_t)h[7] << 8 | h[8];
        if (len > sizeof body || read_full(fd, body, len, deadline) != 0)
            goto broken;
        if (type == F_SETTINGS && !(flags & FL_ACK)) {
            uint8_t ack[9];
            frame_head(ack, 0, F_SETTINGS, FL_ACK, 0);
            if (write_all(fd, ack, 9) != 0)
                goto broken;
        } else if (type == F_PING && !(flags & FL_ACK) && len == 8) {
            uint8_t pong[17];
            frame_head(pong, 8, F_PING, FL_ACK, 0);
            memcpy(pong + 9, body, 8);
            if (write_all(fd, pong, 17) != 0)
                goto broken;
        } else if (type == F_GOAWAY || (type == F_RST && stream == 1)) {
            goto broken;
        } else if (type == F_DATA && stream == 1 && len >= 5) {
            /* <compressed:1><length:4><HealthCheckResponse>: status is field 1, a varint */
            size_t ml =
                (size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 | body[4];
            if (body[0] == 0 && ml + 5 <= len) {
                status = 0; /* an empty message: UNKNOWN */
                for (size_t i = 5; i + 1 < 5 + ml; i++)
                    if (body[i] == 0x08) {
                        status = body[i + 1];
                        break;
                    }
            }
        }
        if ((type == F_DATA || type == F_HEADERS) && stream == 1 && (flags & FL_END_STREAM))
            break;
    }
    static const char *const names[] = {"UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN"};
    if (status == 1) {
        ok = true;
    } else if (status >= 0) {
        snprintf(why, whylen, "service unhealthy (responded with \"%s\")",
                 status < 4 ? names[status] : "UNKNOWN");
    } else {
        snprintf(why, whylen,
                 "error: health rpc probe failed: the call to %s ended without an "
                 "answer",
                 authority);
    }
    goto out;
broken:
    if (status == 1)
        ok = true; /* the answer came before the connection went */
    else
        snprintf(why, whylen,
                 "error: health rpc probe failed: rpc error: code = Unavailable desc = "
                 "connection to %s broken or timed out",
                 authority);
out:
    close(fd);
    return ok;
}
