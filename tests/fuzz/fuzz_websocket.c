/* Fuzz target for the WebSocket frame reader (lib/websocket.h) and the handshake helpers.
 *
 * The first byte picks the side (bit 0: frames from a client, which must be masked), how
 * the rest is cut into reads (bits 1-3: chunk size 1..8 times 7 bytes, 0: all at once) and
 * a message size limit (bits 4-7: 16 << n bytes). Checked on every event: messages within
 * the limit, control payloads of at most 125 bytes, text messages in UTF-8, close codes in
 * range, and a reader that failed stays failed. The input as a string also goes through
 * the header-list, subprotocol and key functions. */
#include "lib/websocket.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void drain(struct kc_ws_reader *r, size_t max, bool *failed)
{
    for (;;) {
        struct kc_ws_event ev;
        kc_ws_reader_next(r, &ev);
        if (*failed && ev.type != KC_WS_EV_ERROR)
            abort(); /* a failed reader must stay failed */
        switch (ev.type) {
        case KC_WS_EV_NONE:
            return;
        case KC_WS_EV_ERROR:
            if (!ev.error ||
                (ev.close_code != KC_WS_CLOSE_PROTOCOL && ev.close_code != KC_WS_CLOSE_BAD_DATA &&
                 ev.close_code != KC_WS_CLOSE_TOO_BIG))
                abort();
            *failed = true;
            return;
        case KC_WS_EV_MESSAGE:
            if (ev.len > max || (ev.opcode != KC_WS_TEXT && ev.opcode != KC_WS_BINARY))
                abort();
            if (ev.opcode == KC_WS_TEXT && !kc_utf8_valid(ev.data, ev.len))
                abort();
            break;
        case KC_WS_EV_CLOSE:
            if (ev.len > 123 || ev.close_code < 1000 || ev.close_code > 4999)
                abort();
            break;
        case KC_WS_EV_PING:
        case KC_WS_EV_PONG:
            if (ev.len > 125)
                abort();
            break;
        }
        /* the payload is readable in full */
        volatile uint8_t sum = 0;
        for (size_t i = 0; i < ev.len; i++)
            sum ^= ev.data[i];
        (void)sum;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    bool server = data[0] & 1;
    size_t chunk = (size_t)((data[0] >> 1) & 7) * 7;
    size_t max = (size_t)16 << (data[0] >> 4);
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    bool failed = false;

    struct kc_ws_reader *r = kc_ws_reader_new(server, max);
    if (!chunk) {
        kc_ws_reader_feed(r, p, n);
        drain(r, max, &failed);
    } else {
        for (size_t off = 0; off < n; off += chunk) {
            kc_ws_reader_feed(r, p + off, n - off < chunk ? n - off : chunk);
            drain(r, max, &failed);
        }
    }
    kc_ws_reader_free(r);

    char *s = malloc(n + 1);
    if (!s)
        return 0;
    memcpy(s, p, n);
    s[n] = 0;
    static const char *const sup[] = {"v5.channel.k8s.io", "v4.channel.k8s.io", "channel.k8s.io",
                                      NULL};
    const char *chosen = kc_ws_choose_protocol(s, sup);
    if (chosen && !strstr(s, chosen))
        abort();
    kc_http_list_has(s, "upgrade");
    if (kc_ws_key_valid(s)) {
        char acc[29];
        kc_ws_accept(s, acc);
        if (strlen(acc) != 28)
            abort();
    }
    kc_utf8_valid(p, n);
    free(s);
    return 0;
}
