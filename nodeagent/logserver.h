/* The node agent's log server: the kubelet's `GET /containerLogs/{namespace}/{pod}/{container}`
 * over plain HTTP/1.1, which the apiserver's pods/log subresource proxies to; and on the
 * same port the kubelet's `/exec/{namespace}/{pod}/{container}` (execserver.h).
 *
 * It reads the files the container runtime writes (the kubelet's /var/log/pods layout):
 *
 *   <logs_root>/<ns>_<pod>_<uid>/<container>/<N>.log    run N (N = restartCount)
 *   <logs_root>/<ns>_<pod>_<uid>/<container>/<N>.exit   renamed in once run N ended
 *
 * each .log in the CRI format, one record a line: `<RFC3339Nano> <stdout|stderr> <P|F> <text>`
 * (P: a partial line continued by the next record). The current run is the highest N; the
 * previous one the highest N below it with a .exit. The query takes the kubelet's
 * PodLogOptions parameters (follow, previous, timestamps, tailLines, sinceSeconds, sinceTime,
 * limitBytes) and `podUID`, which picks the pod directory when a pod was deleted and
 * recreated under the same name. Partial records are joined into one line, which has the
 * timestamp of its first record (shown once with timestamps=true, compared with the since
 * time) and counts once for tailLines; the kubelet prints a timestamp per record and counts
 * records. A follow stream ends once the run is over: its .exit written (and everything
 * before it sent), a newer run started, or the pod directory removed.
 *
 * Security: no authentication and no TLS. The agent binds it to its node's address only,
 * inside the node's network namespace; serving the kubelet port with TLS and authorizing
 * the apiserver's client certificate is left for later. Names in the path are validated
 * (DNS labels and subdomains, a uid of letters, digits and dashes), so a request can never
 * name a file outside logs_root.
 *
 * Threads: one per connection (libmicrohttpd); a follow stream polls its file every 100 ms.
 */
#ifndef KUBEC_NODEAGENT_LOGSERVER_H
#define KUBEC_NODEAGENT_LOGSERVER_H

#include <stddef.h>

struct kc_logserver;

/* A TCP socket bound to addr (an IPv4 or IPv6 literal; "0.0.0.0" for every address) and
 * port (0: any free port), listening. Returns the descriptor, or -1 with errno set. */
int kc_logserver_listen(const char *addr, int port);

/* Serves the logs under logs_root (copied) on listen_fd, an already listening socket that
 * the server owns from then on, also when starting fails. Returns NULL with a message in
 * err on failure. */
struct kc_logserver *kc_logserver_start(const char *logs_root, int listen_fd, char *err,
                                        size_t errlen);

/* kc_logserver_listen() then kc_logserver_start(): what the node agent calls. NULL with a
 * message in err on failure. */
struct kc_logserver *kc_logserver_serve(const char *logs_root, const char *addr, int port,
                                        char *err, size_t errlen);

/* Serves the kubelet's exec (execserver.h) on the same port through rt (borrowed; it
 * must outlive the server). Without it, exec requests are refused. */
struct kc_runtime;
void kc_logserver_set_runtime(struct kc_logserver *ls, struct kc_runtime *rt);

/* The port the server listens on (useful after listening on port 0). */
int kc_logserver_port(const struct kc_logserver *ls);

/* Stops serving: open follow streams end within 100 ms, connection threads are joined and
 * the socket closed. NULL is a no-op. */
void kc_logserver_stop(struct kc_logserver *ls);

#endif
