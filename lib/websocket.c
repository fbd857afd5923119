/* See websocket.h. */
#include "lib/websocket.h"

#include "lib/base64.h"

#include <ctype.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- handshake ---- */

void kc_ws_accept(const char *key, char out[29])
{
    static const char guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    size_t kl = strlen(key);
    char *cat = malloc(kl + sizeof guid);
    if (!cat)
        abort();
    memcpy(cat, key, kl);
    memcpy(cat + kl, guid, sizeof guid);
    EVP_Digest(cat, kl + sizeof guid - 1, md, &n, EVP_sha1(), NULL);
    free(cat);
    char *b = kc_base64_encode(md, n); /* 20 bytes: 28 characters */
    snprintf(out, 29, "%s", b);
    free(b);
}

bool kc_ws_key_valid(const char *key)
{
    char raw[32];
    size_t n = 0;
    return key && strlen(key) == 24 && kc_base64_valid(key) &&
           kc_base64_decode(key, raw, sizeof raw, &n) == 0 && n == 16;
}

/* Calls fn on each comma-separated, space-trimmed element of value until it returns true. */
static bool list_any(const char *value, bool (*fn)(const char *p, size_t n, const void *arg),
                     const void *arg)
{
    const char *p = value;
    while (p && *p) {
        const char *end = strchr(p, ',');
        const char *e = end ? end : p + strlen(p);
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        const char *t = e;
        while (t > p && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (t > p && fn(p, (size_t)(t - p), arg))
            return true;
        p = end ? end + 1 : NULL;
    }
    return false;
}

static bool same_token_ci(const char *p, size_t n, const void *arg)
{
    const char *token = arg;
    return strlen(token) == n && strncasecmp(p, token, n) == 0;
}

static bool same_token(const char *p, size_t n, const void *arg)
{
    const char *token = arg;
    return strlen(token) == n && strncmp(p, token, n) == 0;
}

bool kc_http_list_has(const char *value, const char *token)
{
    return list_any(value, same_token_ci, token);
}

const char *kc_ws_choose_protocol(const char *offered, const char *const *supported)
{
    if (!offered)
        return NULL;
    for (; *supported; supported++)
        if (list_any(offered, same_token, *supported)) /* subprotocols are case-sensitive */
            return *supported;
    return NULL;
}

/* ---- UTF-8 ---- */

bool kc_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) {
            len = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* ---- reading ---- */

struct kc_ws_reader {
    bool server; /* frames come from a client: masked */
    size_t max_message;
    uint8_t *in; /* received bytes; [in_off, in_len) not parsed yet */
    size_t in_len, in_off, in_cap;
    uint8_t *msg; /* the data message being assembled */
    size_t msg_len, msg_cap;
    int msg_opcode;    /* of the fragmented message in progress; 0 when none */
    bool msg_returned; /* msg was handed out: empty it at the next call */
    bool failed;
    int fail_code;
    const char *fail_why;
};

static void grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    uint8_t *nb = realloc(*buf, c);
    if (!nb)
        abort();
    *buf = nb;
    *cap = c;
}

struct kc_ws_reader *kc_ws_reader_new(bool server, size_t max_message)
{
    struct kc_ws_reader *r = calloc(1, sizeof *r);
    if (!r)
        abort();
    r->server = server;
    r->max_message = max_message;
    return r;
}

void kc_ws_reader_free(struct kc_ws_reader *r)
{
    if (!r)
        return;
    free(r->in);
    free(r->msg);
    free(r);
}

void kc_ws_reader_feed(struct kc_ws_reader *r, const void *data, size_t len)
{
    if (r->failed || len == 0)
        return;
    if (r->in_off) { /* what was parsed is dropped before the buffer grows */
        memmove(r->in, r->in + r->in_off, r->in_len - r->in_off);
        r->in_len -= r->in_off;
        r->in_off = 0;
    }
    grow(&r->in, &r->in_cap, r->in_len + len);
    memcpy(r->in + r->in_len, data, len);
    r->in_len += len;
}

static void fail(struct kc_ws_reader *r, struct kc_ws_event *ev, int code, const char *why)
{
    r->failed = true;
    r->fail_code = code;
    r->fail_why = why;
    ev->type = KC_WS_EV_ERROR;
    ev->close_code = code;
    ev->error = why;
}

/* Codes a peer may send in a close frame. */
static bool close_code_valid(int c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1011) || (c >= 3000 && c <= 4999);
}

void kc_ws_reader_next(struct kc_ws_reader *r, struct kc_ws_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (r->failed) {
        ev->type = KC_WS_EV_ERROR;
        ev->close_code = r->fail_code;
        ev->error = r->fail_why;
        return;
    }
    if (r->msg_returned) {
        r->msg_len = 0;
        r->msg_returned = false;
    }
    for (;;) {
        const uint8_t *p = r->in + r->in_off;
        size_t avail = r->in_len - r->in_off;
        if (avail < 2) {
            ev->type = KC_WS_EV_NONE;
            return;
        }
        bool fin = p[0] & 0x80, masked = p[1] & 0x80;
        int op = p[0] & 0x0F;
        uint64_t len = p[1] & 0x7F;
        size_t hdr = 2;
        if (p[0] & 0x70)
            return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "reserved bits set without an extension");
        if (op != KC_WS_CONT && op != KC_WS_TEXT && op != KC_WS_BINARY && op != KC_WS_CLOSE &&
            op != KC_WS_PING && op != KC_WS_PONG)
            return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "unknown opcode");
        if (masked != r->server)
            return fail(r, ev, KC_WS_CLOSE_PROTOCOL,
                        r->server ? "frames from a client must be masked"
                                  : "frames from a server must not be masked");
        bool control = op >= KC_WS_CLOSE;
        if (control && (!fin || len > 125))
            return fail(r, ev, KC_WS_CLOSE_PROTOCOL,
                        "control frames must be unfragmented and at most 125 bytes");
        if (len == 126) {
            if (avail < 4) {
                ev->type = KC_WS_EV_NONE;
                return;
            }
            len = (uint64_t)p[2] << 8 | p[3];
            hdr = 4;
            if (len < 126)
                return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "length not in its shortest form");
        } else if (len == 127) {
            if (avail < 10) {
                ev->type = KC_WS_EV_NONE;
                return;
            }
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            hdr = 10;
            if (len >> 63)
                return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "length with its top bit set");
            if (len <= 0xFFFF)
                return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "length not in its shortest form");
        }
        if (op == KC_WS_CONT && !r->msg_opcode)
            return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "continuation frame outside a message");
        if ((op == KC_WS_TEXT || op == KC_WS_BINARY) && r->msg_opcode)
            return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "new message inside a fragmented one");
        if (!control && len > r->max_message - r->msg_len)
            return fail(r, ev, KC_WS_CLOSE_TOO_BIG, "message too big");
        const uint8_t *key = p + hdr;
        if (masked)
            hdr += 4;
        if (avail < hdr || avail - hdr < len) {
            ev->type = KC_WS_EV_NONE; /* the rest of the frame is still to come */
            return;
        }
        uint8_t *payload = r->in + r->in_off + hdr;
        if (masked)
            kc_ws_mask(payload, (size_t)len, key, 0);
        r->in_off += hdr + (size_t)len;

        if (control) {
            ev->data = payload;
            ev->len = (size_t)len;
            if (op == KC_WS_PING) {
                ev->type = KC_WS_EV_PING;
            } else if (op == KC_WS_PONG) {
                ev->type = KC_WS_EV_PONG;
            } else {
                if (len == 1)
                    return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "close frame with a 1-byte body");
                ev->type = KC_WS_EV_CLOSE;
                ev->close_code = KC_WS_CLOSE_NO_STATUS;
                if (len >= 2) {
                    ev->close_code = payload[0] << 8 | payload[1];
                    ev->data = payload + 2;
                    ev->len = (size_t)len - 2;
                    if (!close_code_valid(ev->close_code))
                        return fail(r, ev, KC_WS_CLOSE_PROTOCOL, "invalid close code");
                    if (!kc_utf8_valid(ev->data, ev->len))
                        return fail(r, ev, KC_WS_CLOSE_BAD_DATA, "close reason is not UTF-8");
                }
            }
            return;
        }
        if (op != KC_WS_CONT)
            r->msg_opcode = op;
        grow(&r->msg, &r->msg_cap, r->msg_len + (size_t)len + 1);
        memcpy(r->msg + r->msg_len, payload, (size_t)len);
        r->msg_len += (size_t)len;
        if (!fin)
            continue;
        if (r->msg_opcode == KC_WS_TEXT && !kc_utf8_valid(r->msg, r->msg_len))
            return fail(r, ev, KC_WS_CLOSE_BAD_DATA, "text message is not UTF-8");
        ev->type = KC_WS_EV_MESSAGE;
        ev->opcode = r->msg_opcode;
        ev->data = r->msg;
        ev->len = r->msg_len;
        r->msg_opcode = 0;
        r->msg_returned = true;
        return;
    }
}

/* ---- writing ---- */

size_t kc_ws_frame_header(uint8_t out[KC_WS_MAX_HEADER], enum kc_ws_opcode op, bool fin,
                          uint64_t len, const uint8_t *mask)
{
    size_t n = 2;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (op & 0x0F));
    uint8_t m = mask ? 0x80 : 0;
    if (len < 126) {
        out[1] = (uint8_t)(m | len);
    } else if (len <= 0xFFFF) {
        out[1] = m | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        n = 4;
    } else {
        out[1] = m | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
        n = 10;
    }
    if (mask) {
        memcpy(out + n, mask, 4);
        n += 4;
    }
    return n;
}

void kc_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset)
{
    for (size_t i = 0; i < len; i++)
        data[i] ^= mask[(offset + i) & 3];
}
