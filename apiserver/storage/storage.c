/* The backend-independent side of the storage interface: dispatch through the ops table,
 * and the helpers every backend shares. */
#include "apiserver/storage/storage.h"

#include "lib/jsonx.h"

#include <stdlib.h>

void kc_storage_close(struct kc_storage *s)
{
    if (s)
        s->ops->close(s);
}

uint64_t kc_storage_revision(struct kc_storage *s)
{
    return s->ops->revision(s);
}

uint64_t kc_storage_oldest(struct kc_storage *s)
{
    return s->ops->oldest(s);
}

int kc_storage_get_raw(struct kc_storage *s, const char *key, char **json, size_t *len,
                       uint64_t *mod_rev)
{
    return s->ops->get_raw(s, key, json, len, mod_rev);
}

int kc_storage_get(struct kc_storage *s, const char *key, json_t **out, uint64_t *mod_rev)
{
    char *text;
    size_t len;
    int rc = s->ops->get_raw(s, key, &text, &len, mod_rev);
    if (rc)
        return rc;
    *out = kc_json_loadb(text, len);
    free(text);
    return *out ? KC_STORAGE_OK : KC_STORAGE_INTERNAL;
}

int kc_storage_get_shared(struct kc_storage *s, const char *key, json_t **out, uint64_t *mod_rev)
{
    if (s->ops->get_shared)
        return s->ops->get_shared(s, key, out, mod_rev);
    return kc_storage_get(s, key, out, mod_rev);
}

int kc_storage_list(struct kc_storage *s, const char *prefix, const char *start_after,
                    uint64_t at_rev, kc_list_fn fn, void *ctx, uint64_t *snap_rev)
{
    return s->ops->list(s, prefix, start_after, at_rev, fn, ctx, snap_rev);
}

int kc_storage_write(struct kc_storage *s, struct kc_write *w)
{
    return s->ops->write(s, w);
}

void kc_storage_stats(struct kc_storage *s, struct kc_storage_stats *out)
{
    s->ops->stats(s, out);
}
