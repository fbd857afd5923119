/* resource.Quantity parsing. The number is kept exactly as a decimal mantissa (up to 30
 * significant digits, further non-zero digits only remembered as "something more") times
 * 10^e and 2^b, and the integer result is computed with 128-bit arithmetic, rounding up. */
#include "lib/quantity.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define MAX_DIGITS 30

typedef unsigned __int128 u128;

struct qnum {
    bool neg;
    u128 mant;   /* significant digits */
    bool sticky; /* non-zero digits dropped below mant */
    long exp10;  /* value = mant * 10^exp10 * 2^exp2 */
    int exp2;
};

static int parse_suffix(const char *s, struct qnum *q)
{
    static const struct {
        const char *s;
        int e10, e2;
    } tab[] = {{"", 0, 0},    {"n", -9, 0},  {"u", -6, 0},  {"m", -3, 0},
               {"k", 3, 0},   {"M", 6, 0},   {"G", 9, 0},   {"T", 12, 0},
               {"P", 15, 0},  {"E", 18, 0},  {"Ki", 0, 10}, {"Mi", 0, 20},
               {"Gi", 0, 30}, {"Ti", 0, 40}, {"Pi", 0, 50}, {"Ei", 0, 60}};
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        if (strcmp(s, tab[i].s) == 0) {
            q->exp10 += tab[i].e10;
            q->exp2 = tab[i].e2;
            return 0;
        }
    }
    /* decimal exponent: e or E, optional sign, digits */
    if (*s != 'e' && *s != 'E')
        return -1;
    s++;
    bool eneg = false;
    if (*s == '+' || *s == '-')
        eneg = *s++ == '-';
    if (*s < '0' || *s > '9')
        return -1;
    long e = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (e < 100000) /* beyond this the result saturates or rounds to 0/1 anyway */
            e = e * 10 + (*s - '0');
    }
    if (*s)
        return -1;
    q->exp10 += eneg ? -e : e;
    return 0;
}

static int parse_number(const char *s, struct qnum *q)
{
    memset(q, 0, sizeof *q);
    if (!s)
        return -1;
    if (*s == '+' || *s == '-')
        q->neg = *s++ == '-';
    int ndig = 0, nsig = 0;
    bool frac = false;
    for (;; s++) {
        if (*s == '.' && !frac) {
            frac = true;
            continue;
        }
        if (*s < '0' || *s > '9')
            break;
        int d = *s - '0';
        ndig++;
        if (nsig == 0 && d == 0) {
            if (frac)
                q->exp10--; /* leading zeros after the point only scale */
            continue;
        }
        if (nsig < MAX_DIGITS) {
            q->mant = q->mant * 10 + (u128)d;
            nsig++;
            if (frac)
                q->exp10--;
        } else {
            /* dropped digit: an integer-part digit still scales the value */
            if (d)
                q->sticky = true;
            if (!frac)
                q->exp10++;
        }
    }
    if (ndig == 0)
        return -1;
    return parse_suffix(s, q);
}

static u128 pow10_u128(int k)
{
    u128 r = 1;
    while (k-- > 0)
        r *= 10;
    return r;
}

/* ceil(|q| * 10^scale), saturated to INT64_MAX, with q's sign. */
static int64_t scaled(const struct qnum *q0, int scale)
{
    struct qnum q = *q0;
    const u128 limit = (u128)INT64_MAX;
    u128 r;
    long t = q.exp10 + scale;
    if (q.mant == 0) {
        r = q.sticky ? 1 : 0;
        goto out;
    }
    if (t >= 0) {
        /* integer: mant * 10^t * 2^b, saturating */
        r = q.mant;
        if (r > limit)
            goto sat;
        for (long i = 0; i < t; i++) {
            r *= 10;
            if (r > limit)
                goto sat;
        }
        for (int i = 0; i < q.exp2; i++) {
            r <<= 1;
            if (r > limit)
                goto sat;
        }
        /* a dropped digit only exists when mant has 30 digits: already saturated */
        goto out;
    }
    long k = -t;
    while (k > 38 && q.mant) { /* 10^38 is the largest power of ten in 128 bits */
        if (q.mant % 10)
            q.sticky = true;
        q.mant /= 10;
        k--;
    }
    if (q.mant == 0) {
        r = q.sticky ? 1 : 0;
        goto out;
    }
    u128 div = pow10_u128((int)k);
    u128 quot = q.mant / div, rem = q.mant % div;
    if (quot > limit)
        goto sat;
    /* quot * 2^b, then the fractional part rem/div times 2^b by binary long division */
    for (int i = 0; i < q.exp2; i++) {
        quot <<= 1;
        if (quot > limit)
            goto sat;
        rem <<= 1;
        if (rem >= div) {
            rem -= div;
            quot++;
        }
    }
    r = quot + ((rem || q.sticky) ? 1 : 0);
    if (r > limit)
        goto sat;
out:
    return q.neg ? -(int64_t)r : (int64_t)r;
sat:
    return q.neg ? -INT64_MAX : INT64_MAX;
}

int kc_quantity_parse_milli(const char *s, int64_t *out)
{
    struct qnum q;
    if (parse_number(s, &q) != 0)
        return -1;
    *out = scaled(&q, 3);
    return 0;
}

int kc_quantity_parse_value(const char *s, int64_t *out)
{
    struct qnum q;
    if (parse_number(s, &q) != 0)
        return -1;
    *out = scaled(&q, 0);
    return 0;
}

static int json_scaled(const json_t *v, int scale, int64_t *out)
{
    char buf[64];
    if (json_is_string(v)) {
        struct qnum q;
        if (parse_number(json_string_value(v), &q) != 0)
            return -1;
        *out = scaled(&q, scale);
        return 0;
    }
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    } else if (json_is_real(v)) {
        /* %.17g round-trips the double; its "1e+20" form is a valid quantity */
        snprintf(buf, sizeof buf, "%.17g", json_real_value(v));
    } else {
        return -1;
    }
    struct qnum q;
    if (parse_number(buf, &q) != 0)
        return -1;
    *out = scaled(&q, scale);
    return 0;
}

int kc_quantity_json_milli(const json_t *v, int64_t *out)
{
    return json_scaled(v, 3, out);
}

int kc_quantity_json_value(const json_t *v, int64_t *out)
{
    return json_scaled(v, 0, out);
}
