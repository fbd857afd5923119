/* Running helper programs (ip, crun) from the agent: fork + exec with the given input,
 * output captured, a time limit. Safe from any thread (nothing but syscalls between fork
 * and exec). */
#ifndef KUBEC_NODEAGENT_CMD_H
#define KUBEC_NODEAGENT_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* snprintf for paths and messages that are cut when too long (names are bounded by the
 * API's validation, so this never happens with valid objects). */
#define kc_fmt(buf, len, ...) ((void)(snprintf((buf), (len), __VA_ARGS__) >= (int)(len)))

/* Runs argv (argv[0] searched in PATH) with input on stdin (NULL: /dev/null); stdout and
 * stderr go to out (NUL-terminated, may be NULL). Kills it after timeout_ms (0: none).
 * Returns the exit status, 128+signal, or -1 if it could not run. */
int kc_cmd_run(char *const argv[], const char *input, char *out, size_t outlen, int timeout_ms);

/* Starts argv detached: its own session, stdio on /dev/null, not our child (so the agent
 * never has to reap it and it outlives the agent). Returns 0 or -1. */
int kc_cmd_detach(char *const argv[]);

/* Starts argv with its stdin, stdout and stderr on pipes, for streaming exec: want[i]
 * false puts stream i on /dev/null instead. With tty, all three are a new pseudo-terminal
 * instead (the child's controlling terminal, in a session of its own): fds[0] and fds[1]
 * are two descriptors of its master, fds[2] is -1. envp NULL: our environment, and argv[0]
 * is searched in our PATH; otherwise argv[0] must be a path. cwd NULL: ours. The child
 * leads a process group of its own (pgid = pid, so killpg reaches what it forks), with no
 * signal blocked or ignored. On success *pid is the child and fds[i] the parent's end of
 * stream i (-1 when not wanted), non-blocking and close-on-exec; returns 0, or -1 with
 * errno. */
int kc_cmd_spawn(char *const argv[], char *const envp[], const char *cwd, const bool want[3],
                 bool tty, int *pid, int fds[3]);

/* Stops pid, sends SIGKILL to every process below it (found through
 * /proc/<pid>/task/<tid>/children, so also those that left its process group or session,
 * as `crun exec` makes the command do), then to pid itself. Processes reparented elsewhere
 * (daemons) are not reached. */
void kc_cmd_kill_tree(int pid);

/* mkdir -p */
int kc_mkdirs(const char *path, int mode);
/* rm -rf; never crosses into another file system (a mount left behind stops it). */
int kc_remove_tree(const char *path);

#endif
