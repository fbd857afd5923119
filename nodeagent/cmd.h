/* Running helper programs (ip, crun) from the agent: fork + exec with the given input,
 * output captured, a time limit. Safe from any thread (nothing but syscalls between fork
 * and exec). */
#ifndef KUBEC_NODEAGENT_CMD_H
#define KUBEC_NODEAGENT_CMD_H

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

/* mkdir -p */
int kc_mkdirs(const char *path, int mode);
/* rm -rf; never crosses into another file system (a mount left behind stops it). */
int kc_remove_tree(const char *path);

#endif
