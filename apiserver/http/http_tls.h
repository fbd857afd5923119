/* The secure listener: TLS 1.2+ with ALPN; "h2" is served with nghttp2 (many streams,
 * watches included, on one connection), "http/1.1" or no ALPN with a small HTTP/1.1 codec.
 * Client certificates signed by the client CA authenticate (CN = user, O = groups). */
#ifndef KUBEC_HTTP_TLS_H
#define KUBEC_HTTP_TLS_H

#include <stddef.h>

struct kc_server;
struct kc_tls_server;

int kc_tls_start(struct kc_server *srv, const char *addr, int port, const char *cert,
                 const char *key, const char *client_ca, struct kc_tls_server **out, char *err,
                 size_t errlen);
/* Stops accepting, sends GOAWAY to h2 connections and waits for connection threads. */
void kc_tls_stop(struct kc_tls_server *t);

#endif
