#include "lib/base64.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kc_base64_encode(const void *data, size_t n)
{
    const unsigned char *s = data;
    char *o = malloc(4 * ((n + 2) / 3) + 1), *p = o;
    if (!o)
        abort();
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        *p++ = alphabet[(v >> 18) & 63];
        *p++ = alphabet[(v >> 12) & 63];
        *p++ = i + 1 < n ? alphabet[(v >> 6) & 63] : '=';
        *p++ = i + 2 < n ? alphabet[v & 63] : '=';
    }
    *p = 0;
    return o;
}

int kc_base64_decode(const char *s, char *out, size_t cap, size_t *outlen)
{
    size_t n = 0;
    unsigned v = 0;
    int bits = 0;
    if (cap == 0)
        return -1;
    for (; *s && *s != '='; s++) {
        const char *q = strchr(alphabet, *s);
        if (!q)
            return -1;
        v = (v << 6) | (unsigned)(q - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= cap)
                return -1;
            out[n++] = (char)((v >> bits) & 0xff);
        }
    }
    out[n] = 0;
    *outlen = n;
    return 0;
}

bool kc_base64_valid(const char *s)
{
    size_t n = strlen(s), pad = 0;
    if (n % 4)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=') {
            pad++;
            continue;
        }
        if (pad || !(isalnum((unsigned char)s[i]) || s[i] == '+' || s[i] == '/'))
            return false;
    }
    return pad <= 2;
}
