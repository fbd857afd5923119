/* Fuzz target for kc_json_dumps: whatever jansson parses, the fast serializer writes
 * exactly what json_dumps writes (or fails where it fails). */
#include "lib/jsonx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
    if (!j)
        return 0;
    size_t n = 0;
    char *mine = kc_json_dumps(j, &n);
    char *theirs = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!mine != !theirs)
        abort();
    if (mine && (n != strlen(theirs) || memcmp(mine, theirs, n) != 0))
        abort();
    free(mine);
    free(theirs);
    json_decref(j);
    return 0;
}
