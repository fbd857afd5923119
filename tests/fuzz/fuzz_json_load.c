/* Fuzz target for kc_json_loadb and kc_json_loadb_nodup: they accept exactly what
 * json_loadb accepts (without flags, and with JSON_REJECT_DUPLICATES), and build an equal
 * tree (same types, same members in the same order). */
#include "lib/jsonx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* json_equal, plus the order of object members. */
static int same(const json_t *a, const json_t *b)
{
    if (!json_equal((json_t *)a, (json_t *)b))
        return 0;
    if (json_is_object(a)) {
        void *i = json_object_iter((json_t *)a), *j = json_object_iter((json_t *)b);
        for (; i && j;
             i = json_object_iter_next((json_t *)a, i), j = json_object_iter_next((json_t *)b, j)) {
            if (json_object_iter_key_len(i) != json_object_iter_key_len(j) ||
                memcmp(json_object_iter_key(i), json_object_iter_key(j),
                       json_object_iter_key_len(i)) != 0 ||
                !same(json_object_iter_value(i), json_object_iter_value(j)))
                return 0;
        }
        return !i && !j;
    }
    if (json_is_array(a)) {
        for (size_t k = 0; k < json_array_size(a); k++)
            if (!same(json_array_get(a, k), json_array_get(b, k)))
                return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* jansson's byte stream takes a raw NUL for "nothing buffered" and may then skip it
     * ("[1,[1\0]]" parses); kc_json_loadb rejects it, as JSON requires. */
    if (memchr(data, 0, size))
        return 0;
    json_t *mine = kc_json_loadb((const char *)data, size);
    json_t *theirs = json_loadb((const char *)data, size, 0, NULL);
    if (!mine != !theirs)
        abort();
    if (mine && !same(mine, theirs))
        abort();
    json_decref(mine);
    json_decref(theirs);
    /* and with duplicated members refused */
    mine = kc_json_loadb_nodup((const char *)data, size);
    theirs = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
    if (!mine != !theirs)
        abort();
    if (mine && !same(mine, theirs))
        abort();
    json_decref(mine);
    json_decref(theirs);
    return 0;
}
