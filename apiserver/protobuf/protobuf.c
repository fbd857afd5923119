/* Schema-driven protobuf decoding; see protobuf.h and pb_schema.h. */
#include "apiserver/protobuf/protobuf.h"

#include "apiserver/protobuf/pb_schema.h"
#include "lib/base64.h"
#include "lib/timeutil.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_DEPTH 64

struct reader {
    const unsigned char *p, *end;
};

static int failf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int failf(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    char msg[256];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(err, n, "failed to decode protobuf: %s", msg);
    return -1;
}

static int varint(struct reader *r, uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return -1;
        unsigned char b = *r->p++;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

static int length_delimited(struct reader *r, struct reader *sub)
{
    uint64_t n;
    if (varint(r, &n) || n > (uint64_t)(r->end - r->p))
        return -1;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 0;
}

static int skip(struct reader *r, unsigned wire)
{
    uint64_t v;
    struct reader sub;
    switch (wire) {
    case 0:
        return varint(r, &v);
    case 1:
        if (r->end - r->p < 8)
            return -1;
        r->p += 8;
        return 0;
    case 2:
        return length_delimited(r, &sub);
    case 5:
        if (r->end - r->p < 4)
            return -1;
        r->p += 4;
        return 0;
    default:
        return -1; /* groups (3, 4) are not used by Kubernetes */
    }
}

static json_t *base64_json(const unsigned char *s, size_t n)
{
    char *o = kc_base64_encode(s, n);
    json_t *j = json_string(o);
    free(o);
    return j;
}

/* Reads {1: varint a, 2: varint b} (Time, IntOrString's first fields, ...). */
static int two_varints(struct reader *r, int64_t *a, int64_t *b, struct reader *str3)
{
    *a = *b = 0;
    if (str3)
        str3->p = str3->end = NULL;
    while (r->p < r->end) {
        uint64_t key, v;
        if (varint(r, &key))
            return -1;
        unsigned f = (unsigned)(key >> 3), w = (unsigned)(key & 7);
        if ((f == 1 || f == 2) && w == 0) {
            if (varint(r, &v))
                return -1;
            if (f == 1)
                *a = (int64_t)v;
            else
                *b = (int64_t)v;
        } else if (f == 3 && w == 2 && str3) {
            if (length_delimited(r, str3))
                return -1;
        } else if (skip(r, w)) {
            return -1;
        }
    }
    return 0;
}

/* Reads the single length-delimited field 1 ({1: string/bytes}). */
static int field1_bytes(struct reader *r, struct reader *out)
{
    out->p = out->end = (const unsigned char *)"";
    while (r->p < r->end) {
        uint64_t key;
        if (varint(r, &key))
            return -1;
        if ((key >> 3) == 1 && (key & 7) == 2) {
            if (length_delimited(r, out))
                return -1;
        } else if (skip(r, (unsigned)(key & 7))) {
            return -1;
        }
    }
    return 0;
}

static json_t *duration_json(int64_t ns)
{
    char buf[64];
    /* Go's time.Duration.String for whole seconds, which is what Kubernetes stores */
    int64_t s = ns / 1000000000, h = s / 3600, m = (s % 3600) / 60;
    if (h)
        snprintf(buf, sizeof buf, "%lldh%lldm%llds", (long long)h, (long long)m,
                 (long long)(s % 60));
    else if (m)
        snprintf(buf, sizeof buf, "%lldm%llds", (long long)m, (long long)(s % 60));
    else
        snprintf(buf, sizeof buf, "%llds", (long long)s);
    return json_string(buf);
}

static json_t *decode_message(const struct kc_pb_message *m, struct reader *r, int depth, char *err,
                              size_t errlen);

/* Decodes one value of field f from r (already positioned at the value, wire type w). */
static json_t *decode_value(const struct kc_pb_field *f, enum kc_pb_type type,
                            const struct kc_pb_message *msg, unsigned w, struct reader *r,
                            int depth, char *err, size_t errlen)
{
    uint64_t v;
    struct reader sub;
    switch (type) {
    case KC_PB_INT:
    case KC_PB_BOOL:
        if (w != 0 || varint(r, &v)) {
            failf(err, errlen, "bad varint for field %s", f->name);
            return NULL;
        }
        return type == KC_PB_BOOL ? json_boolean(v != 0) : json_integer((json_int_t)(int64_t)v);
    case KC_PB_DOUBLE:
    case KC_PB_FLOAT: {
        size_t n = type == KC_PB_DOUBLE ? 8 : 4;
        if (w != (type == KC_PB_DOUBLE ? 1u : 5u) || (size_t)(r->end - r->p) < n) {
            failf(err, errlen, "bad number for field %s", f->name);
            return NULL;
        }
        double d;
        if (n == 8) {
            memcpy(&d, r->p, 8);
        } else {
            float fl;
            memcpy(&fl, r->p, 4);
            d = fl;
        }
        r->p += n;
        return json_real(d);
    }
    default:
        break;
    }
    if (w != 2 || length_delimited(r, &sub)) {
        failf(err, errlen, "bad length-delimited value for field %s", f->name);
        return NULL;
    }
    switch (type) {
    case KC_PB_STRING: {
        json_t *s = json_stringn((const char *)sub.p, (size_t)(sub.end - sub.p));
        if (!s)
            failf(err, errlen, "field %s is not valid UTF-8", f->name);
        return s;
    }
    case KC_PB_BYTES:
        return base64_json(sub.p, (size_t)(sub.end - sub.p));
    case KC_PB_MESSAGE:
        return decode_message(msg, &sub, depth + 1, err, errlen);
    case KC_PB_TIME:
    case KC_PB_MICROTIME: {
        int64_t secs, nanos;
        char buf[48];
        if (two_varints(&sub, &secs, &nanos, NULL)) {
            failf(err, errlen, "bad time in field %s", f->name);
            return NULL;
        }
        if (secs == 0 && nanos == 0)
            return json_null(); /* Go writes a zero time as an empty message */
        if (type == KC_PB_TIME) {
            kc_time_rfc3339((time_t)secs, buf, sizeof buf);
        } else {
            struct timespec ts = {(time_t)secs, (long)nanos};
            kc_time_rfc3339_micro(&ts, buf, sizeof buf);
        }
        return json_string(buf);
    }
    case KC_PB_DURATION: {
        int64_t ns, unused;
        if (two_varints(&sub, &ns, &unused, NULL)) {
            failf(err, errlen, "bad duration in field %s", f->name);
            return NULL;
        }
        return duration_json(ns);
    }
    case KC_PB_INTSTR: {
        int64_t t, iv;
        struct reader sv;
        if (two_varints(&sub, &t, &iv, &sv)) {
            failf(err, errlen, "bad int-or-string in field %s", f->name);
            return NULL;
        }
        if (t == 1) {
            json_t *s =
                sv.p ? json_stringn((const char *)sv.p, (size_t)(sv.end - sv.p)) : json_string("");
            if (!s)
                failf(err, errlen, "field %s is not valid UTF-8", f->name);
            return s;
        }
        return json_integer((json_int_t)(int32_t)iv);
    }
    case KC_PB_QUANTITY: {
        struct reader s;
        if (field1_bytes(&sub, &s)) {
            failf(err, errlen, "bad quantity in field %s", f->name);
            return NULL;
        }
        json_t *q = json_stringn((const char *)s.p, (size_t)(s.end - s.p));
        if (!q)
            failf(err, errlen, "bad quantity in field %s", f->name);
        return q;
    }
    case KC_PB_RAWJSON: {
        struct reader s;
        if (field1_bytes(&sub, &s)) {
            failf(err, errlen, "bad raw value in field %s", f->name);
            return NULL;
        }
        if (s.p == s.end)
            return json_null();
        json_t *j = json_loadb((const char *)s.p, (size_t)(s.end - s.p), JSON_DECODE_ANY, NULL);
        if (!j)
            failf(err, errlen, "field %s does not hold JSON", f->name);
        return j;
    }
    default:
        failf(err, errlen, "unexpected type for field %s", f->name);
        return NULL;
    }
}

/* Map entry {1: key, 2: value}. */
static int decode_map_entry(const struct kc_pb_field *f, struct reader *r, json_t *obj, int depth,
                            char *err, size_t errlen)
{
    struct reader e;
    json_t *key = NULL, *val = NULL;
    if (length_delimited(r, &e))
        return failf(err, errlen, "bad map entry in field %s", f->name);
    while (e.p < e.end) {
        uint64_t k;
        if (varint(&e, &k))
            goto bad;
        unsigned num = (unsigned)(k >> 3), w = (unsigned)(k & 7);
        if (num == 1) {
            struct kc_pb_field kf = {1, f->name, KC_PB_STRING, 0, NULL};
            json_decref(key);
            key = decode_value(&kf, KC_PB_STRING, NULL, w, &e, depth, err, errlen);
            if (!key)
                goto fail;
        } else if (num == 2) {
            json_decref(val);
            val = decode_value(f, f->type, f->message, w, &e, depth, err, errlen);
            if (!val)
                goto fail;
        } else if (skip(&e, w)) {
            goto bad;
        }
    }
    if (!val)
        val = f->type == KC_PB_MESSAGE ? json_object() : json_string("");
    json_object_set_new(obj, key ? json_string_value(key) : "", val);
    json_decref(key);
    return 0;
bad:
    failf(err, errlen, "bad map entry in field %s", f->name);
fail:
    json_decref(key);
    json_decref(val);
    return -1;
}

/* Go writes non-pointer scalars even when zero; their JSON tags say omitempty. Pointer
 * fields are written only when set, and zero then means zero: keep those. */
static bool keep_zero(const char *name)
{
    static const char *const keep[] = {"replicas",
                                       "revisionHistoryLimit",
                                       "progressDeadlineSeconds",
                                       "terminationGracePeriodSeconds",
                                       "activeDeadlineSeconds",
                                       "priority",
                                       "deletionGracePeriodSeconds",
                                       "defaultMode",
                                       "mode",
                                       "tolerationSeconds",
                                       "runAsUser",
                                       "runAsGroup",
                                       "fsGroup",
                                       "expirationSeconds",
                                       "leaseDurationSeconds",
                                       "leaseTransitions",
                                       "automountServiceAccountToken",
                                       "enableServiceLinks",
                                       "immutable",
                                       "allocateLoadBalancerNodePorts",
                                       "hostUsers",
                                       "shareProcessNamespace",
                                       "setHostnameAsFQDN",
                                       "privileged",
                                       "allowPrivilegeEscalation",
                                       "readOnlyRootFilesystem",
                                       "runAsNonRoot",
                                       "optional",
                                       "ready",
                                       "serving",
                                       "terminating",
                                       "allowed",
                                       "denied",
                                       "containerPort",
                                       "port",
                                       "number",
                                       NULL};
    for (int i = 0; keep[i]; i++)
        if (!strcmp(keep[i], name))
            return true;
    return false;
}

static bool is_zero(const json_t *v)
{
    return json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_integer(v) && json_integer_value(v) == 0) || json_is_false(v) ||
           (json_is_real(v) && json_real_value(v) == 0.0);
}

static json_t *decode_message(const struct kc_pb_message *m, struct reader *r, int depth, char *err,
                              size_t errlen)
{
    if (depth > MAX_DEPTH) {
        failf(err, errlen, "message nested too deeply");
        return NULL;
    }
    json_t *obj = json_object();
    while (r->p < r->end) {
        uint64_t key;
        if (varint(r, &key)) {
            failf(err, errlen, "truncated field key in %s", m->name);
            goto fail;
        }
        unsigned num = (unsigned)(key >> 3), w = (unsigned)(key & 7);
        const struct kc_pb_field *f = NULL;
        for (size_t i = 0; i < m->nfields; i++)
            if (m->fields[i].number == num) {
                f = &m->fields[i];
                break;
            }
        if (!f || num == 0) {
            if (num == 0 || skip(r, w)) {
                failf(err, errlen, "bad unknown field %u in %s", num, m->name);
                goto fail;
            }
            continue;
        }
        if (f->flags & KC_PB_MAP) {
            json_t *mapobj = json_object_get(obj, f->name);
            if (!json_is_object(mapobj)) {
                mapobj = json_object();
                json_object_set_new(obj, f->name, mapobj);
            }
            if (w != 2 || decode_map_entry(f, r, mapobj, depth, err, errlen)) {
                if (w != 2)
                    failf(err, errlen, "bad map field %s", f->name);
                goto fail;
            }
            continue;
        }
        if (f->flags & KC_PB_REPEATED) {
            json_t *arr = json_object_get(obj, f->name);
            if (!json_is_array(arr)) {
                arr = json_array();
                json_object_set_new(obj, f->name, arr);
            }
            if (w == 2 && (f->type == KC_PB_INT || f->type == KC_PB_BOOL)) {
                /* packed encoding */
                struct reader packed;
                if (length_delimited(r, &packed)) {
                    failf(err, errlen, "bad packed field %s", f->name);
                    goto fail;
                }
                while (packed.p < packed.end) {
                    json_t *v = decode_value(f, f->type, NULL, 0, &packed, depth, err, errlen);
                    if (!v)
                        goto fail;
                    json_array_append_new(arr, v);
                }
                continue;
            }
            json_t *v = decode_value(f, f->type, f->message, w, r, depth, err, errlen);
            if (!v)
                goto fail;
            json_array_append_new(arr, v);
            continue;
        }
        json_t *v = decode_value(f, f->type, f->message, w, r, depth, err, errlen);
        if (!v)
            goto fail;
        if ((f->flags & KC_PB_INLINE) && json_is_object(v)) {
            json_object_update(obj, v);
            json_decref(v);
            continue;
        }
        if (is_zero(v) && !keep_zero(f->name)) {
            json_decref(v);
            json_object_del(obj, f->name);
            continue;
        }
        json_object_set_new(obj, f->name, v);
    }
    return obj;
fail:
    json_decref(obj);
    return NULL;
}

bool kc_pb_is_k8s(const unsigned char *buf, size_t len)
{
    return len >= 4 && memcmp(buf, "k8s\0", 4) == 0;
}

int kc_pb_decode_object(const unsigned char *buf, size_t len, json_t **out, char *err,
                        size_t errlen)
{
    struct reader r, typemeta = {NULL, NULL}, raw = {NULL, NULL};
    char av[128] = "", kind[128] = "";
    *out = NULL;
    if (!kc_pb_is_k8s(buf, len))
        return failf(err, errlen, "the body does not start with the Kubernetes protobuf magic");
    r.p = buf + 4;
    r.end = buf + len;
    while (r.p < r.end) {
        uint64_t key;
        if (varint(&r, &key))
            return failf(err, errlen, "truncated envelope");
        unsigned num = (unsigned)(key >> 3), w = (unsigned)(key & 7);
        if (num == 1 && w == 2) {
            if (length_delimited(&r, &typemeta))
                return failf(err, errlen, "truncated typeMeta");
        } else if (num == 2 && w == 2) {
            if (length_delimited(&r, &raw))
                return failf(err, errlen, "truncated raw object");
        } else if (skip(&r, w)) {
            return failf(err, errlen, "bad envelope field %u", num);
        }
    }
    while (typemeta.p && typemeta.p < typemeta.end) {
        uint64_t key;
        struct reader s;
        if (varint(&typemeta, &key))
            return failf(err, errlen, "bad typeMeta");
        if ((key & 7) != 2) {
            if (skip(&typemeta, (unsigned)(key & 7)))
                return failf(err, errlen, "bad typeMeta");
            continue;
        }
        if (length_delimited(&typemeta, &s))
            return failf(err, errlen, "bad typeMeta");
        size_t n = (size_t)(s.end - s.p);
        char *dst = (key >> 3) == 1 ? av : (key >> 3) == 2 ? kind : NULL;
        if (dst && n < 128) {
            memcpy(dst, s.p, n);
            dst[n] = 0;
        }
    }
    const struct kc_pb_kind *k = NULL;
    for (const struct kc_pb_kind *p = kc_pb_kinds; p->kind; p++)
        if (!strcmp(p->kind, kind) && !strcmp(p->api_version, av))
            k = p;
    if (!k) {
        snprintf(err, errlen, "no kind \"%s\" is registered for version \"%s\"", kind, av);
        return -1;
    }
    if (!raw.p)
        raw.p = raw.end = buf + len;
    json_t *body = decode_message(k->message, &raw, 0, err, errlen);
    if (!body)
        return -1;
    json_t *obj = json_object();
    json_object_set_new(obj, "apiVersion", json_string(av));
    json_object_set_new(obj, "kind", json_string(kind));
    json_object_update(obj, body);
    json_decref(body);
    *out = obj;
    return 0;
}
