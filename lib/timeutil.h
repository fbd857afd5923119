/* Time helpers: RFC 3339 stamps as Kubernetes writes them, and the human durations of the
 * AGE column. */
#ifndef KUBEC_LIB_TIMEUTIL_H
#define KUBEC_LIB_TIMEUTIL_H

#include <stddef.h>
#include <time.h>

/* "2026-11-24T20:18:05Z" into buf (at least 32 bytes). */
void kc_time_rfc3339(time_t t, char *buf, size_t n);
/* "2026-11-24T20:18:05.123456Z" (MicroTime, used by Leases and Events). */
void kc_time_rfc3339_micro(const struct timespec *ts, char *buf, size_t n);
/* Parses RFC 3339 (with optional fraction and offset). Returns 0 or -1. */
int kc_time_parse(const char *s, time_t *out);
/* The same, keeping the fraction: seconds since the epoch. Returns 0 or -1 (also for
 * NULL). */
int kc_time_parse_frac(const char *s, double *out);
/* A command-line duration as Go's time.ParseDuration writes them: "500ms", "40s", "1m30s",
 * "2h", or plain seconds ("5"). Milliseconds, or -1 on bad input. */
long kc_duration_parse_ms(const char *s);
/* Go's duration.HumanDuration: "5s", "2m3s", "45m", "3h4m", "20h", "3d4h", "45d", "3y20d". */
void kc_human_duration(long long seconds, char *buf, size_t n);

#endif
