/* The kubelet's gRPC probe: grpc.health.v1.Health/Check over cleartext HTTP/2 (h2c, prior
 * knowledge), as pkg/probe/grpc does it. */
#ifndef KUBEC_NODEAGENT_PROBE_GRPC_H
#define KUBEC_NODEAGENT_PROBE_GRPC_H

#include <stdbool.h>
#include <stddef.h>

/* Asks host:port (an IPv4 address) for the health of service ("" for the server) within
 * timeout_ms: true when it answers SERVING; otherwise why says what failed, in the
 * kubelet's words. */
bool kc_probe_grpc(const char *host, int port, const char *service, int timeout_ms, char *why,
                   size_t whylen);

#endif
