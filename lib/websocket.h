/* WebSocket (RFC 6455) without I/O: the opening handshake's values, a frame reader that
 * turns received bytes into messages and control frames, and frame headers for writing.
 *
 * The reader checks what RFC 6455 requires of a peer: reserved bits clear (no extension is
 * ever negotiated), known opcodes, masking by clients and never by servers, control frames
 * unfragmented with at most 125 bytes, continuation frames only inside a fragmented
 * message, lengths in their shortest encoding, close codes that may be sent, UTF-8 in text
 * messages and close reasons. A violation is an error event carrying the close code to
 * answer with (1002 protocol error, 1007 bad data, 1009 too big); the reader then stays
 * failed.
 *
 * kubec uses it for the Kubernetes channel protocols of exec (v4/v5.channel.k8s.io): each
 * binary message is a channel byte and its payload. */
#ifndef KUBEC_LIB_WEBSOCKET_H
#define KUBEC_LIB_WEBSOCKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kc_ws_opcode {
    KC_WS_CONT = 0x0,
    KC_WS_TEXT = 0x1,
    KC_WS_BINARY = 0x2,
    KC_WS_CLOSE = 0x8,
    KC_WS_PING = 0x9,
    KC_WS_PONG = 0xA,
};

/* Close codes (RFC 6455 section 7.4.1). */
#define KC_WS_CLOSE_NORMAL 1000
#define KC_WS_CLOSE_GOING_AWAY 1001
#define KC_WS_CLOSE_PROTOCOL 1002
#define KC_WS_CLOSE_NO_STATUS 1005 /* reported for a close frame without a code; never sent */
#define KC_WS_CLOSE_BAD_DATA 1007
#define KC_WS_CLOSE_TOO_BIG 1009
#define KC_WS_CLOSE_INTERNAL 1011

/* The longest frame header: 2 bytes, 8 of extended length, 4 of mask. */
#define KC_WS_MAX_HEADER 14

/* ---- handshake ---- */

/* Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)), 28
 * characters and a NUL in out. */
void kc_ws_accept(const char *key, char out[29]);

/* True for a Sec-WebSocket-Key as RFC 6455 wants it: the base64 of 16 bytes. */
bool kc_ws_key_valid(const char *key);

/* True when the comma-separated header value (Connection, Upgrade, ...) lists token,
 * compared without case. NULL value: false. */
bool kc_http_list_has(const char *value, const char *token);

/* The first entry of supported (NULL-terminated, in the server's order of preference) that
 * the Sec-WebSocket-Protocol value offered lists; NULL when none or offered is NULL. Returns
 * a pointer into supported. */
const char *kc_ws_choose_protocol(const char *offered, const char *const *supported);

/* ---- reading frames ---- */

enum kc_ws_event_type {
    KC_WS_EV_NONE,    /* more bytes are needed */
    KC_WS_EV_MESSAGE, /* a complete text or binary message (fragments joined) */
    KC_WS_EV_PING,
    KC_WS_EV_PONG,
    KC_WS_EV_CLOSE,
    KC_WS_EV_ERROR, /* the peer broke the protocol: close with close_code */
};

struct kc_ws_event {
    enum kc_ws_event_type type;
    int opcode;          /* MESSAGE: KC_WS_TEXT or KC_WS_BINARY */
    const uint8_t *data; /* the payload (CLOSE: the reason); borrowed, valid until the next
                            call on the reader */
    size_t len;
    int close_code;    /* CLOSE: the peer's code (KC_WS_CLOSE_NO_STATUS without one);
                          ERROR: the code to close with */
    const char *error; /* ERROR: what was wrong (a static string) */
};

struct kc_ws_reader;

/* A reader for frames sent by a client (server = true: frames must be masked) or by a
 * server (they must not be). Messages longer than max_message bytes are errors (1009).
 * Never NULL (allocation failures abort). */
struct kc_ws_reader *kc_ws_reader_new(bool server, size_t max_message);
void kc_ws_reader_free(struct kc_ws_reader *r);

/* Appends received bytes (copied). */
void kc_ws_reader_feed(struct kc_ws_reader *r, const void *data, size_t len);

/* The next event from the bytes fed so far. Call it until it answers KC_WS_EV_NONE (or
 * KC_WS_EV_ERROR, which it answers from then on); at most one incomplete frame stays
 * buffered between feeds. */
void kc_ws_reader_next(struct kc_ws_reader *r, struct kc_ws_event *ev);

/* ---- writing frames ---- */

/* Writes the header of a frame with a payload of len bytes into out and returns its length
 * (2 to 14). mask NULL: unmasked (what servers send); otherwise the 4-byte key is written
 * and the caller masks the payload with kc_ws_mask(). */
size_t kc_ws_frame_header(uint8_t out[KC_WS_MAX_HEADER], enum kc_ws_opcode op, bool fin,
                          uint64_t len, const uint8_t *mask);

/* XORs len bytes with the key, starting at byte offset of the frame's payload. */
void kc_ws_mask(uint8_t *data, size_t len, const uint8_t mask[4], size_t offset);

/* True when the n bytes are well-formed UTF-8 (no overlong forms, no surrogates, nothing
 * above U+10FFFF). */
bool kc_utf8_valid(const uint8_t *s, size_t n);

#endif
