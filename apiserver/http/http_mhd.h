/* The plain-HTTP/1.1 listener (--insecure-port). */
#ifndef KUBEC_HTTP_MHD_H
#define KUBEC_HTTP_MHD_H

#include <stddef.h>

struct kc_server;
struct kc_http_server;

int kc_http_start(struct kc_server *srv, const char *addr, int port, struct kc_http_server **out,
                  char *err, size_t errlen);
/* Stops accepting, waits for connection threads (watch streams must end first). */
void kc_http_stop(struct kc_http_server *h);

#endif
