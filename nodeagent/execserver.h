/* The node agent's exec endpoint, served on the log server's port (logserver.c routes to
 * it): what the apiserver's pods/exec subresource proxies to.
 *
 *   GET|POST /exec/{namespace}/{pod}/{container}?command=C&command=ARG...
 *            &stdin=1&stdout=1&stderr=1&tty=1&podUID=UID
 *
 * Checked first, answered as the kubelet answers (plain text): at least one of stdin,
 * stdout and stderr (400), a command (400), a running container ("container not found",
 * 500), then a WebSocket opening handshake (RFC 6455: Connection: Upgrade, Upgrade:
 * websocket, Sec-WebSocket-Version 13, a Sec-WebSocket-Key). SPDY is not served: without a
 * WebSocket upgrade the answer is 426 Upgrade Required, which tells the apiserver that
 * everything else was fine (it asks so before refusing a SPDY client).
 * The subprotocol is the first the client offers of v5.channel.k8s.io, v4.channel.k8s.io
 * and channel.k8s.io (none offered: channel.k8s.io's rules); 101 Switching Protocols.
 *
 * Then the command runs inside the container (kc_runtime_ops.exec: `crun exec`, or a host
 * process for the process runtime) with its streams on pipes, and binary messages carry
 * `<channel><bytes>` both ways: 0 stdin (from the client), 1 stdout, 2 stderr, 3 the error
 * channel, 4 terminal resizes (ignored: no terminal), and with v5 the client's
 * `255 <channel>` closing its stdin. When the command has exited and its output is sent,
 * channel 3 carries a metav1.Status (v4, v5): Success, or Failure with reason
 * NonZeroExitCode and details.causes [{reason: ExitCode, message: "<code>"}] (a signal N
 * counts as exit code 128+N), or InternalError when the command could not be started; with
 * channel.k8s.io, only a failure's message. A close frame (1000) follows.
 *
 * tty=1 (kubectl exec -t): the command gets a new pseudo-terminal as its controlling
 * terminal (crun exec --tty, which sends the master back over a console socket; or a new
 * pty for a host process), whose output is channel 1 (stderr is the terminal too, as with
 * the kubelet); channel 4's {"Width":W,"Height":H} resize it. A client that goes away before the
 * command ends gets the command's stdin and output closed and, a second later, the command killed
 * with the processes below it (kc_cmd_kill_tree) and its process group.
 *
 * Pings are answered with pongs; fragmented messages are joined; a protocol error closes
 * the connection with the code RFC 6455 gives (1002, 1007, 1009). */
#ifndef KUBEC_NODEAGENT_EXECSERVER_H
#define KUBEC_NODEAGENT_EXECSERVER_H

#include <microhttpd.h>

struct kc_runtime;

/* What the server shares with its sessions: a session ends within a second once stopping
 * is set; sessions counts those running (atomic), so that a stop can wait for them. */
struct kc_exec_ctl {
    volatile int stopping;
    int sessions;
};

/* Answers one exec request on conn for container ctr of the pod whose uid the log server
 * found (names already checked). rt NULL or without an exec op: exec is refused. On an
 * upgrade, *con_cls becomes the session, which kc_exec_session_free() releases from the
 * server's request-completed callback. */
enum MHD_Result kc_exec_serve(struct MHD_Connection *conn, const char *method,
                              struct kc_runtime *rt, const char *uid, const char *ctr,
                              struct kc_exec_ctl *ctl, void **con_cls);

/* Releases a session left in *con_cls by kc_exec_serve(). NULL is a no-op. */
void kc_exec_session_free(void *session);

#endif
