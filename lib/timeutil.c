#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void kc_time_rfc3339(time_t t, char *buf, size_t n)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void kc_time_rfc3339_micro(const struct timespec *ts, char *buf, size_t n)
{
    struct tm tm;
    char base[32];
    gmtime_r(&ts->tv_sec, &tm);
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%06ldZ", base, ts->tv_nsec / 1000);
}

int kc_time_parse(const char *s, time_t *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (!s)
        return -1;
    const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    long off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1;
        int hh, mm;
        if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
            return -1;
        off = sign * (hh * 3600L + mm * 60L);
        p += 6;
    } else {
        return -1;
    }
    if (*p)
        return -1;
    *out = timegm(&tm) - off;
    return 0;
}

void kc_human_duration(long long s, char *buf, size_t n)
{
    if (s < -1) {
        snprintf(buf, n, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    long long m = s / 60, h = s / 3600, d = h / 24, y = d / 365;
    if (s < 120)
        snprintf(buf, n, "%llds", s);
    else if (m < 10) {
        if (s % 60 == 0)
            snprintf(buf, n, "%lldm", m);
        else
            snprintf(buf, n, "%lldm%llds", m, s % 60);
    } else if (m < 180)
        snprintf(buf, n, "%lldm", m);
    else if (h < 8) {
        if (m % 60 == 0)
            snprintf(buf, n, "%lldh", h);
        else
            snprintf(buf, n, "%lldh%lldm", h, m % 60);
    } else if (h < 48)
        snprintf(buf, n, "%lldh", h);
    else if (h < 192) {
        if (h % 24 == 0)
            snprintf(buf, n, "%lldd", d);
        else
            snprintf(buf, n, "%lldd%lldh", d, h % 24);
    } else if (d < 365 * 2)
        snprintf(buf, n, "%lldd", d);
    else if (d < 365 * 8) {
        if (d % 365 == 0)
            snprintf(buf, n, "%lldy", y);
        else
            snprintf(buf, n, "%lldy%lldd", y, d % 365);
    } else
        snprintf(buf, n, "%lldy", y);
}

int kc_time_parse_frac(const char *s, double *out)
{
    time_t t;
    if (!s || kc_time_parse(s, &t) != 0)
        return -1;
    double frac = 0, scale = 0.1;
    const char *dot = strchr(s, '.');
    if (dot) {
        for (const char *p = dot + 1; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac += (*p - '0') * scale;
    }
    *out = (double)t + frac;
    return 0;
}

long kc_duration_parse_ms(const char *s)
{
    long total = 0;
    const char *p = s;
    if (!p || !*p)
        return -1;
    while (*p) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || v < 0)
            return -1;
        p = end;
        double mul = 1000;
        if (strncmp(p, "ms", 2) == 0) {
            mul = 1;
            p += 2;
        } else if (*p == 's') {
            p++;
        } else if (*p == 'm') {
            mul = 60000;
            p++;
        } else if (*p == 'h') {
            mul = 3600000;
            p++;
        } else if (*p) {
            return -1;
        }
        total += (long)(v * mul);
    }
    return total;
}
