/* YAML to JSON on libyaml's event parser; see yaml.h. */
#include "lib/yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MAX_DEPTH 100

struct ctx {
    yaml_parser_t p;
    char *err;
    size_t errlen;
    char *dups; /* NULL, or where duplicate keys are told, a line each */
    size_t dupn, dupused;
};

static void failf(struct ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
}

static json_t *scalar(const yaml_event_t *e)
{
    const char *v = (const char *)e->data.scalar.value;
    size_t n = e->data.scalar.length;
    if (e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return json_stringn(v, n);
    if (n == 0 || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL") || !strcmp(v, "~"))
        return json_null();
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
        return json_true();
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
        return json_false();
    char *end;
    errno = 0;
    long long i = strtoll(v, &end, 10);
    if (*v && !*end && errno == 0 && (v[0] != '0' || n == 1 || (v[0] == '-' && v[1] != '0')))
        return json_integer(i);
    double d = strtod(v, &end);
    if (*v && !*end && strspn(v, "+-0123456789.eE") == n && strchr(v, '.'))
        return json_real(d);
    return json_stringn(v, n);
}

static json_t *node(struct ctx *c, yaml_event_t *first, int depth);

static bool next(struct ctx *c, yaml_event_t *e)
{
    if (!yaml_parser_parse(&c->p, e)) {
        failf(c, "yaml: line %zu: %s", c->p.problem_mark.line + 1,
              c->p.problem ? c->p.problem : "parse error");
        return false;
    }
    return true;
}

static json_t *node(struct ctx *c, yaml_event_t *e, int depth)
{
    if (depth > MAX_DEPTH) {
        failf(c, "yaml: document nested too deeply");
        return NULL;
    }
    switch (e->type) {
    case YAML_SCALAR_EVENT: {
        json_t *s = scalar(e);
        if (!s)
            failf(c, "yaml: invalid UTF-8 in a scalar");
        return s;
    }
    case YAML_ALIAS_EVENT:
        failf(c, "yaml: aliases are not supported");
        return NULL;
    case YAML_SEQUENCE_START_EVENT: {
        json_t *a = json_array();
        for (;;) {
            yaml_event_t ev;
            if (!next(c, &ev)) {
                json_decref(a);
                return NULL;
            }
            if (ev.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&ev);
                return a;
            }
            json_t *v = node(c, &ev, depth + 1);
            yaml_event_delete(&ev);
            if (!v) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
    }
    case YAML_MAPPING_START_EVENT: {
        json_t *o = json_object();
        for (;;) {
            yaml_event_t k, ev;
            if (!next(c, &k)) {
                json_decref(o);
                return NULL;
            }
            if (k.type == YAML_MAPPING_END_EVENT) {
                yaml_event_delete(&k);
                return o;
            }
            if (k.type != YAML_SCALAR_EVENT) {
                yaml_event_delete(&k);
                failf(c, "yaml: mapping keys must be scalars");
                json_decref(o);
                return NULL;
            }
            char *key = strndup((const char *)k.data.scalar.value, k.data.scalar.length);
            if (c->dups && json_object_get(o, key)) {
                /* as go-yaml words it (upstream's strict YAML decoding); the last one wins */
                int w = snprintf(c->dups + c->dupused, c->dupn - c->dupused,
                                 "line %zu: key \"%s\" already set in map\n", k.start_mark.line + 1,
                                 key);
                if (w > 0 && (size_t)w < c->dupn - c->dupused)
                    c->dupused += (size_t)w;
                else
                    c->dups[c->dupused] = 0; /* what does not fit is left out */
            }
            yaml_event_delete(&k);
            if (!next(c, &ev)) {
                free(key);
                json_decref(o);
                return NULL;
            }
            json_t *v = node(c, &ev, depth + 1);
            yaml_event_delete(&ev);
            if (!v) {
                free(key);
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, key, v);
            free(key);
        }
    }
    default:
        failf(c, "yaml: unexpected event");
        return NULL;
    }
}

json_t *kc_yaml_parse(const char *buf, size_t len, char *err, size_t errlen)
{
    return kc_yaml_parse_dups(buf, len, err, errlen, NULL, 0);
}

json_t *kc_yaml_parse_dups(const char *buf, size_t len, char *err, size_t errlen, char *dups,
                           size_t dupn)
{
    struct ctx c = {.err = err, .errlen = errlen, .dups = dupn ? dups : NULL, .dupn = dupn};
    if (c.dups)
        c.dups[0] = 0;
    json_t *out = NULL;
    yaml_event_t e;
    if (!yaml_parser_initialize(&c.p)) {
        snprintf(err, errlen, "yaml: cannot initialize the parser");
        return NULL;
    }
    yaml_parser_set_input_string(&c.p, (const unsigned char *)buf, len);
    /* stream start, document start, then the root node */
    for (;;) {
        if (!next(&c, &e))
            goto out;
        yaml_event_type_t t = e.type;
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT) {
            yaml_event_delete(&e);
            continue;
        }
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&e);
            snprintf(err, errlen, "yaml: the document is empty");
            goto out;
        }
        out = node(&c, &e, 0);
        yaml_event_delete(&e);
        break;
    }
out:
    yaml_parser_delete(&c.p);
    return out;
}
