/* HTTP/2 abuse client for the integration tests: over one TLS connection with ALPN h2 it
 * (1) opens and immediately resets many streams (rapid reset), (2) sends a request with an
 * oversized header block, (3) opens streams and never reads their data (a full flow-control
 * window). It prints what the server did; the test then checks that others are served.
 *
 * usage: kubec-h2abuse HOST PORT CERT KEY MODE   (MODE: reset | headers | window)
 */
#include <arpa/inet.h>
#include <nghttp2/nghttp2.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv);

static SSL *ssl;
static int goaway_seen, resets_seen, closed;

static ssize_t send_cb(nghttp2_session *s, const uint8_t *d, size_t n, int f, void *u)
{
    int w = SSL_write(ssl, d, (int)n);
    return w > 0 ? w : NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int frame_cb(nghttp2_session *s, const nghttp2_frame *f, void *u)
{
    if (f->hd.type == NGHTTP2_GOAWAY)
        goaway_seen = 1;
    if (f->hd.type == NGHTTP2_RST_STREAM)
        resets_seen++;
    return 0;
}

static int close_cb(nghttp2_session *s, int32_t id, uint32_t code, void *u)
{
    if (code != 0)
        resets_seen++;
    closed++;
    return 0;
}

static int32_t request(nghttp2_session *s, const char *path, const char *extra_name,
                       const char *extra_value)
{
    nghttp2_nv nv[5] = {
        {(uint8_t *)":method", (uint8_t *)"GET", 7, 3, 0},
        {(uint8_t *)":scheme", (uint8_t *)"https", 7, 5, 0},
        {(uint8_t *)":authority", (uint8_t *)"127.0.0.1", 10, 9, 0},
        {(uint8_t *)":path", (uint8_t *)path, 5, strlen(path), 0},
    };
    size_t n = 4;
    if (extra_name)
        nv[n++] = (nghttp2_nv){(uint8_t *)extra_name, (uint8_t *)extra_value, strlen(extra_name),
                               strlen(extra_value), 0};
    return nghttp2_submit_request(s, NULL, nv, n, NULL, NULL);
}

static void pump(nghttp2_session *s, int fd, int ms, int read_data)
{
    unsigned char buf[16384];
    for (int i = 0; i < ms / 10; i++) {
        nghttp2_session_send(s);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 10) > 0 || SSL_pending(ssl)) {
            int r = SSL_read(ssl, buf, sizeof buf);
            if (r <= 0)
                return;
            if (read_data)
                nghttp2_session_mem_recv(s, buf, (size_t)r);
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 6)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_use_certificate_file(ctx, argv[3], SSL_FILETYPE_PEM);
    SSL_CTX_use_PrivateKey_file(ctx, argv[4], SSL_FILETYPE_PEM);
    SSL_CTX_set_alpn_protos(ctx, (const unsigned char *)"\x02h2", 3);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &sa.sin_addr);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        return 1;
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1)
        return 1;
    nghttp2_session_callbacks *cb;
    nghttp2_session *s;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_send_callback(cb, send_cb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, frame_cb);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, close_cb);
    nghttp2_session_client_new(&s, cb, NULL);
    nghttp2_submit_settings(s, NGHTTP2_FLAG_NONE, NULL, 0);
    if (!strcmp(argv[5], "reset")) {
        for (int i = 0; i < 2000 && !goaway_seen; i++) {
            int32_t id = request(s, "/api/v1/namespaces", NULL, NULL);
            nghttp2_session_send(s); /* the HEADERS go out, then the reset */
            nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
            nghttp2_session_send(s);
            if (i % 50 == 0)
                pump(s, fd, 20, 1);
        }
        pump(s, fd, 500, 1);
        printf("rapid reset: goaway=%d\n", goaway_seen);
    } else if (!strcmp(argv[5], "headers")) {
        char *big = malloc(100000);
        memset(big, 'a', 99999);
        big[99999] = 0;
        request(s, "/api/v1/namespaces", "x-big", big);
        pump(s, fd, 1000, 1);
        printf("oversized headers: reset=%d goaway=%d\n", resets_seen > 0, goaway_seen);
        free(big);
    } else {
        /* never read: the server's window toward us fills up */
        for (int i = 0; i < 100; i++)
            request(s, "/api/v1/namespaces", NULL, NULL);
        pump(s, fd, 1500, 0);
        printf("window: sent 100 requests without reading\n");
    }
    return 0;
}
