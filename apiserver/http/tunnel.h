/* An upgraded connection to a backend (the node agent's exec endpoint), relayed byte for
 * byte once the client has been told 101 Switching Protocols: what upstream's
 * UpgradeAwareHandler does after the backend switched protocols.
 *
 * A handler (pods_exec.c) dials the backend, forwards the upgrade request and reads its
 * 101 answer; it returns the tunnel in kc_response.tunnel. The transport (http_mhd.c,
 * http_tls.c for HTTP/1.1 over TLS) answers the client 101 with the tunnel's headers and
 * Connection: Upgrade, then calls kc_tunnel_relay() in the connection's thread. HTTP/2
 * connections cannot switch protocols: handlers see kc_request.can_upgrade false there. */
#ifndef KUBEC_HTTP_TUNNEL_H
#define KUBEC_HTTP_TUNNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct kc_tunnel;

/* A tunnel over fd, a connected socket to the backend (owned from then on, also when
 * kc_tunnel_free() is called without a relay). stopping is the server's flag (borrowed):
 * a relay ends within a second once it is set. Never NULL. */
struct kc_tunnel *kc_tunnel_new(int fd, const volatile int *stopping);

/* A header of the backend's 101 answer to pass on to the client (copied). */
void kc_tunnel_add_header(struct kc_tunnel *t, const char *name, const char *value);
size_t kc_tunnel_header_count(const struct kc_tunnel *t);
/* Header i: borrowed strings, valid while t lives. */
void kc_tunnel_header(const struct kc_tunnel *t, size_t i, const char **name, const char **value);

/* Bytes the backend sent after its response head (copied): the client gets them first. */
void kc_tunnel_set_early(struct kc_tunnel *t, const void *data, size_t n);

/* Closes the backend socket and frees t. NULL is a no-op. */
void kc_tunnel_free(struct kc_tunnel *t);

#define KC_TUNNEL_AGAIN (-2)

/* The client's side of a relay, as the transport reads and writes it. */
struct kc_tunnel_client {
    int fd; /* polled for readiness; the relay makes it non-blocking */
    /* >0 bytes, 0 at the end of the stream, KC_TUNNEL_AGAIN when nothing can be done now,
     * -1 on errors */
    ssize_t (*read)(void *ctx, void *buf, size_t n);
    ssize_t (*write)(void *ctx, const void *buf, size_t n);
    /* true when the transport holds bytes already read from fd (TLS records); may be NULL */
    bool (*pending)(void *ctx);
    void *ctx;
};

/* A client on a plain socket (recv and send). */
void kc_tunnel_client_socket(struct kc_tunnel_client *c, int fd);

/* Relays between the client and the backend until either ends its side (what is in flight
 * towards the other is delivered first), an error, or the server stops. early: bytes the
 * client sent after its request, for the backend first. Blocks the calling thread. */
void kc_tunnel_relay(struct kc_tunnel *t, const struct kc_tunnel_client *c, const void *early,
                     size_t n);

#endif
