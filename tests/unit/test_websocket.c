/* lib/websocket: the opening handshake's values (RFC 6455's own example key), header token
 * lists and subprotocol choice, the frame reader on RFC 6455 section 5.7's example frames
 * (masked and unmasked, fragmented, control frames, 16- and 64-bit lengths), fed whole and
 * byte by byte, control frames inside a fragmented message, and every kind of bad frame
 * rejected with its close code; frame headers written and read back; UTF-8 checks. */
#include "check.h"

#include "lib/websocket.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Feeds bytes (all at once, or one at a time) and returns the first event that is not NONE
 * (NONE when there is none). */
static void feed(struct kc_ws_reader *r, const uint8_t *b, size_t n, bool bytewise,
                 struct kc_ws_event *ev)
{
    ev->type = KC_WS_EV_NONE;
    if (!bytewise) {
        kc_ws_reader_feed(r, b, n);
        kc_ws_reader_next(r, ev);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        kc_ws_reader_feed(r, b + i, 1);
        kc_ws_reader_next(r, ev);
        if (ev->type != KC_WS_EV_NONE) {
            CHECK_INT(i, n - 1); /* nothing before the frame's last byte */
            return;
        }
    }
}

static bool payload_is(const struct kc_ws_event *ev, const char *s)
{
    return ev->len == strlen(s) && memcmp(ev->data, s, ev->len) == 0;
}

static void test_handshake(void)
{
    char acc[29];
    /* RFC 6455 section 1.3 */
    kc_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", acc);
    CHECK_STR(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    CHECK(kc_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
    CHECK(!kc_ws_key_valid(NULL));
    CHECK(!kc_ws_key_valid(""));
    CHECK(!kc_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ"));   /* not padded */
    CHECK(!kc_ws_key_valid("dGhlIHNhbXBsZSBub25jZSE=")); /* 17 bytes */
    CHECK(!kc_ws_key_valid("dGhlIHNhbXBsZSBub25j*Q==")); /* not base64 */

    CHECK(kc_http_list_has("Upgrade", "upgrade"));
    CHECK(kc_http_list_has("keep-alive, Upgrade", "upgrade"));
    CHECK(kc_http_list_has(" websocket ", "websocket"));
    CHECK(!kc_http_list_has("upgrades", "upgrade"));
    CHECK(!kc_http_list_has("", "upgrade"));
    CHECK(!kc_http_list_has(NULL, "upgrade"));

    static const char *const sup[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io",
                                      NULL};
    CHECK_STR(kc_ws_choose_protocol("v5.channel.k8s.io", sup), "v5.channel.k8s.io");
    /* the server's preference wins over the client's order */
    CHECK_STR(kc_ws_choose_protocol("v4.channel.k8s.io, v5.channel.k8s.io", sup),
              "v5.channel.k8s.io");
    CHECK_STR(kc_ws_choose_protocol("base64.channel.k8s.io,channel.k8s.io", sup), "channel.k8s.io");
    CHECK(kc_ws_choose_protocol("base64.channel.k8s.io", sup) == NULL);
    CHECK(kc_ws_choose_protocol("V5.channel.k8s.io", sup) == NULL); /* case-sensitive */
    CHECK(kc_ws_choose_protocol("v5.channel.k8s.io.x", sup) == NULL);
    CHECK(kc_ws_choose_protocol(NULL, sup) == NULL);
}

/* RFC 6455 section 5.7, both ways of feeding. */
static void test_rfc_examples(bool bytewise)
{
    struct kc_ws_event ev;
    /* a single-frame unmasked text message, as a server sends it */
    static const uint8_t unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    struct kc_ws_reader *c = kc_ws_reader_new(false, 1 << 20);
    feed(c, unmasked, sizeof unmasked, bytewise, &ev);
    CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
    CHECK_INT(ev.opcode, KC_WS_TEXT);
    CHECK(payload_is(&ev, "Hello"));
    kc_ws_reader_next(c, &ev);
    CHECK_INT(ev.type, KC_WS_EV_NONE);
    /* a fragmented unmasked text message */
    static const uint8_t frag1[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
    static const uint8_t frag2[] = {0x80, 0x02, 0x6c, 0x6f};
    feed(c, frag1, sizeof frag1, bytewise, &ev);
    CHECK_INT(ev.type, KC_WS_EV_NONE);
    feed(c, frag2, sizeof frag2, bytewise, &ev);
    CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
    CHECK(payload_is(&ev, "Hello"));
    /* an unmasked ping with a body */
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    feed(c, ping, sizeof ping, bytewise, &ev);
    CHECK_INT(ev.type, KC_WS_EV_PING);
    CHECK(payload_is(&ev, "Hello"));
    /* 256 bytes in one unmasked binary frame (16-bit length) */
    uint8_t big[4 + 256] = {0x82, 0x7E, 0x01, 0x00};
    for (int i = 0; i < 256; i++)
        big[4 + i] = (uint8_t)i;
    feed(c, big, sizeof big, bytewise, &ev);
    CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
    CHECK_INT(ev.opcode, KC_WS_BINARY);
    CHECK_INT(ev.len, 256);
    CHECK(ev.len == 256 && memcmp(ev.data, big + 4, 256) == 0);
    /* 64 KiB in one unmasked binary frame (64-bit length) */
    size_t n64 = 65536;
    uint8_t *huge = calloc(1, 10 + n64);
    memcpy(huge, (uint8_t[]){0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0}, 10);
    huge[10 + 12345] = 7;
    feed(c, huge, 10 + n64, false, &ev);
    CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
    CHECK_INT(ev.len, n64);
    CHECK(ev.len == n64 && ev.data[12345] == 7);
    free(huge);
    kc_ws_reader_free(c);

    /* the same text message masked, as a client sends it, and a masked pong */
    static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    struct kc_ws_reader *s = kc_ws_reader_new(true, 1 << 20);
    feed(s, masked, sizeof masked, bytewise, &ev);
    CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
    CHECK(payload_is(&ev, "Hello"));
    feed(s, pong, sizeof pong, bytewise, &ev);
    CHECK_INT(ev.type, KC_WS_EV_PONG);
    CHECK(payload_is(&ev, "Hello"));
    kc_ws_reader_free(s);
}

/* Writes a frame as a client would (masked) with the writer, for the server reader. */
static size_t client_frame(uint8_t *out, enum kc_ws_opcode op, bool fin, const void *data,
                           size_t len)
{
    static const uint8_t key[4] = {0xA1, 0xB2, 0xC3, 0xD4};
    size_t h = kc_ws_frame_header(out, op, fin, len, key);
    memcpy(out + h, data, len);
    kc_ws_mask(out + h, len, key, 0);
    return h + len;
}

static void test_messages(void)
{
    struct kc_ws_event ev;
    uint8_t buf[70000 + KC_WS_MAX_HEADER];
    /* writer and reader agree on every length encoding */
    static const size_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70000};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        struct kc_ws_reader *s = kc_ws_reader_new(true, 1 << 20);
        uint8_t *data = malloc(lens[i] + 1);
        for (size_t k = 0; k < lens[i]; k++)
            data[k] = (uint8_t)(k * 7);
        size_t n = client_frame(buf, KC_WS_BINARY, true, data, lens[i]);
        CHECK_INT(n, lens[i] + 2 + 4 + (lens[i] >= 126 ? 2 : 0) + (lens[i] > 65535 ? 6 : 0));
        feed(s, buf, n, false, &ev);
        CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
        CHECK_INT(ev.len, lens[i]);
        CHECK(ev.len == lens[i] && (lens[i] == 0 || memcmp(ev.data, data, lens[i]) == 0));
        free(data);
        kc_ws_reader_free(s);
    }
    /* several frames in one read: a channel message, a ping in the middle of a fragmented
     * message, its end, a close */
    struct kc_ws_reader *s = kc_ws_reader_new(true, 1 << 20);
    size_t n = 0;
    n += client_frame(buf + n, KC_WS_BINARY, true, "\x00hello\n", 7);
    n += client_frame(buf + n, KC_WS_BINARY, false,
                      "\x00"
                      "ab",
                      3);
    n += client_frame(buf + n, KC_WS_PING, true, "p", 1);
    n += client_frame(buf + n, KC_WS_CONT, false, "cd", 2);
    n += client_frame(buf + n, KC_WS_CONT, true, "ef", 2);
    n += client_frame(buf + n, KC_WS_CLOSE, true,
                      "\x03\xe8"
                      "bye",
                      5);
    kc_ws_reader_feed(s, buf, n);
    kc_ws_reader_next(s, &ev);
    CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
    CHECK(ev.len == 7 && memcmp(ev.data, "\x00hello\n", 7) == 0);
    kc_ws_reader_next(s, &ev);
    CHECK_INT(ev.type, KC_WS_EV_PING);
    CHECK(payload_is(&ev, "p"));
    kc_ws_reader_next(s, &ev);
    CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
    CHECK_INT(ev.opcode, KC_WS_BINARY);
    CHECK(ev.len == 7 && memcmp(ev.data,
                                "\x00"
                                "abcdef",
                                7) == 0);
    kc_ws_reader_next(s, &ev);
    CHECK_INT(ev.type, KC_WS_EV_CLOSE);
    CHECK_INT(ev.close_code, 1000);
    CHECK(payload_is(&ev, "bye"));
    kc_ws_reader_next(s, &ev);
    CHECK_INT(ev.type, KC_WS_EV_NONE);
    /* a close without a body */
    n = client_frame(buf, KC_WS_CLOSE, true, "", 0);
    feed(s, buf, n, false, &ev);
    CHECK_INT(ev.type, KC_WS_EV_CLOSE);
    CHECK_INT(ev.close_code, KC_WS_CLOSE_NO_STATUS);
    /* a text message in UTF-8 split inside a character across fragments */
    n = client_frame(buf, KC_WS_TEXT, false, "h\xc3", 2);
    n += client_frame(buf + n, KC_WS_CONT, true, "\xa9", 1);
    feed(s, buf, n, false, &ev);
    CHECK_INT(ev.type, KC_WS_EV_MESSAGE);
    CHECK(payload_is(&ev, "h\xc3\xa9"));
    kc_ws_reader_free(s);
}

/* One bad input for a fresh reader: the error and its close code, then the error again. */
static void bad(bool server, const uint8_t *b, size_t n, int code, size_t max)
{
    struct kc_ws_event ev;
    struct kc_ws_reader *r = kc_ws_reader_new(server, max ? max : 1 << 20);
    kc_ws_reader_feed(r, b, n);
    do
        kc_ws_reader_next(r, &ev);
    while (ev.type != KC_WS_EV_NONE && ev.type != KC_WS_EV_ERROR);
    CHECK_INT(ev.type, KC_WS_EV_ERROR);
    CHECK_INT(ev.close_code, code);
    CHECK(ev.error != NULL);
    kc_ws_reader_feed(r, b, n);
    kc_ws_reader_next(r, &ev);
    CHECK_INT(ev.type, KC_WS_EV_ERROR); /* a failed reader stays failed */
    kc_ws_reader_free(r);
}

static void test_bad_frames(void)
{
    uint8_t buf[256];
    size_t n;
    /* unmasked from a client; masked from a server */
    bad(true, (const uint8_t[]){0x81, 0x05, 'H', 'e', 'l', 'l', 'o'}, 7, 1002, 0);
    bad(false, (const uint8_t[]){0x81, 0x81, 1, 2, 3, 4, 'x'}, 7, 1002, 0);
    /* reserved bits, unknown opcodes */
    n = client_frame(buf, KC_WS_BINARY, true, "x", 1);
    buf[0] |= 0x40;
    bad(true, buf, n, 1002, 0);
    n = client_frame(buf, (enum kc_ws_opcode)0x3, true, "x", 1);
    bad(true, buf, n, 1002, 0);
    n = client_frame(buf, (enum kc_ws_opcode)0xB, true, "x", 1);
    bad(true, buf, n, 1002, 0);
    /* a fragmented ping; a ping of 126 bytes */
    n = client_frame(buf, KC_WS_PING, false, "x", 1);
    bad(true, buf, n, 1002, 0);
    uint8_t long_ping[126] = {0};
    n = client_frame(buf, KC_WS_PING, true, long_ping, sizeof long_ping);
    bad(true, buf, n, 1002, 0);
    /* a continuation outside a message; a new message inside a fragmented one */
    n = client_frame(buf, KC_WS_CONT, true, "x", 1);
    bad(true, buf, n, 1002, 0);
    n = client_frame(buf, KC_WS_TEXT, false, "x", 1);
    n += client_frame(buf + n, KC_WS_BINARY, true, "y", 1);
    bad(true, buf, n, 1002, 0);
    /* lengths not in their shortest form; a 64-bit length with its top bit */
    bad(false, (const uint8_t[]){0x82, 0x7E, 0x00, 0x05, 1, 2, 3, 4, 5}, 9, 1002, 0);
    bad(false, (const uint8_t[]){0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0x01, 0x00}, 10, 1002, 0);
    bad(false, (const uint8_t[]){0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 1}, 10, 1002, 0);
    /* too big for the reader, in one frame or across fragments */
    bad(false, (const uint8_t[]){0x82, 0x7F, 0, 0, 0, 0x10, 0, 0, 0, 0}, 10, 1009, 0);
    n = client_frame(buf, KC_WS_BINARY, false, "0123456789", 10);
    n += client_frame(buf + n, KC_WS_CONT, true, "0123456789", 10);
    bad(true, buf, n, 1009, 15);
    /* text that is not UTF-8; close frames: 1-byte body, codes never sent, bad reason */
    n = client_frame(buf, KC_WS_TEXT, true, "\xc0\xaf", 2);
    bad(true, buf, n, 1007, 0);
    n = client_frame(buf, KC_WS_CLOSE, true, "\x03", 1);
    bad(true, buf, n, 1002, 0);
    n = client_frame(buf, KC_WS_CLOSE, true, "\x03\xed", 2); /* 1005 */
    bad(true, buf, n, 1002, 0);
    n = client_frame(buf, KC_WS_CLOSE, true, "\x03\xe7", 2); /* 999 */
    bad(true, buf, n, 1002, 0);
    n = client_frame(buf, KC_WS_CLOSE, true, "\x03\xe8\xff", 3);
    bad(true, buf, n, 1007, 0);
}

static void test_utf8(void)
{
    CHECK(kc_utf8_valid((const uint8_t *)"", 0));
    const char *ok = "h\xc3\xa9llo \xe2\x82\xac \xf0\x9d\x84\x9e";
    CHECK(kc_utf8_valid((const uint8_t *)ok, strlen(ok)));
    CHECK(!kc_utf8_valid((const uint8_t *)"\xc0\xaf", 2));             /* overlong '/' */
    CHECK(!kc_utf8_valid((const uint8_t *)"\xe0\x80\xaf", 3));         /* overlong */
    CHECK(!kc_utf8_valid((const uint8_t *)"\xed\xa0\x80", 3));         /* surrogate */
    CHECK(!kc_utf8_valid((const uint8_t *)"\xf4\x90\x80\x80", 4));     /* > U+10FFFF */
    CHECK(!kc_utf8_valid((const uint8_t *)"\xe2\x82", 2));             /* cut short */
    CHECK(!kc_utf8_valid((const uint8_t *)"\x80", 1));                 /* lone continuation */
    CHECK(!kc_utf8_valid((const uint8_t *)"\xf8\x88\x80\x80\x80", 5)); /* 5 bytes */
}

int main(void)
{
    test_handshake();
    test_rfc_examples(false);
    test_rfc_examples(true);
    test_messages();
    test_bad_frames();
    test_utf8();
    CHECK_DONE();
}
