/* The generic registry; see registry.h. */
#include "apiserver/registry.h"

#include "apiserver/managedfields.h"
#include "apiserver/server.h"
#include "apiserver/storage/storage.h"
#include "apiserver/strategy/strategy.h"
#include "apiserver/watch/watch_stream.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define MAX_RETRIES KC_WRITE_RETRIES

void kc_registry_key(const struct kc_resource *r, const char *ns, const char *name, char *buf,
                     size_t n)
{
    const char *g = r->storage_group ? r->storage_group : (*r->group ? r->group : "core");
    if (r->namespaced)
        snprintf(buf, n, "/registry/%s/%s/%s/%s", g, r->resource, ns ? ns : "", name);
    else
        snprintf(buf, n, "/registry/%s/%s/%s", g, r->resource, name);
}

void kc_registry_prefix(const struct kc_resource *r, const char *ns, char *buf, size_t n)
{
    const char *g = r->storage_group ? r->storage_group : (*r->group ? r->group : "core");
    if (r->namespaced && ns && *ns)
        snprintf(buf, n, "/registry/%s/%s/%s/", g, r->resource, ns);
    else
        snprintf(buf, n, "/registry/%s/%s/", g, r->resource);
}

void kc_new_uid(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)rand();
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
}

void kc_random_suffix(char out[6])
{
    /* Upstream's alphabet leaves out vowels and easily confused characters. */
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    unsigned char b[5];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b)
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)rand();
    for (int i = 0; i < 5; i++)
        out[i] = alphabet[b[i] % (sizeof alphabet - 1)];
    out[5] = 0;
}

static void now_rfc3339(char *buf, size_t n)
{
    kc_time_rfc3339(time(NULL), buf, n);
}

static int storage_error(struct kc_status *st, const struct kc_resource *r, const char *name,
                         int rc)
{
    switch (rc) {
    case KC_STORAGE_NOT_FOUND:
        return kc_status_not_found(st, r->group, r->resource, name);
    case KC_STORAGE_EXISTS:
        return kc_status_already_exists(st, r->group, r->resource, name);
    case KC_STORAGE_CONFLICT:
        return kc_status_conflict(st, r->group, r->resource, name,
                                  "the object has been modified; please apply your changes to "
                                  "the latest version and try again");
    default:
        return kc_status_internal(st, "storage error");
    }
}

int kc_registry_get(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                    const char *name, json_t **out, uint64_t *rev, struct kc_status *st)
{
    char key[1024];
    kc_registry_key(r, ns, name, key, sizeof key);
    int rc = kc_storage_get(srv->storage, key, out, rev);
    if (rc)
        return storage_error(st, r, name, rc);
    return 0;
}

int kc_registry_get_shared(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                           const char *name, json_t **out, uint64_t *rev, struct kc_status *st)
{
    char key[1024];
    kc_registry_key(r, ns, name, key, sizeof key);
    int rc = kc_storage_get_shared(srv->storage, key, out, rev);
    if (rc)
        return storage_error(st, r, name, rc);
    return 0;
}

static const struct kc_resource *namespaces_resource(void)
{
    return kc_resource_find("", "v1", "namespaces");
}

/* Namespaced writes need an existing namespace that is not being deleted. */
static int check_namespace(struct kc_server *srv, const char *ns, struct kc_status *st)
{
    json_t *nsobj = NULL;
    char key[512];
    kc_registry_key(namespaces_resource(), NULL, ns, key, sizeof key);
    int rc = kc_storage_get(srv->storage, key, &nsobj, NULL);
    if (rc == KC_STORAGE_NOT_FOUND)
        return kc_status_not_found(st, "", "namespaces", ns);
    if (rc)
        return kc_status_internal(st, "storage error");
    int ret = 0;
    if (kc_json_path(nsobj, "metadata.deletionTimestamp")) {
        kc_status_set(st, 403, "Forbidden",
                      "unable to create new content in namespace %s because it is being "
                      "terminated",
                      ns);
        kc_status_set_details(st, ns, "", "namespaces");
        ret = -1;
    }
    json_decref(nsobj);
    return ret;
}

/* Sets kind and apiVersion and puts the keys in the order the real server writes them
 * (kind, apiVersion, metadata, spec, ..., status); jansson keeps insertion order. */
static void set_type_meta(const struct kc_resource *r, json_t *obj)
{
    char av[128];
    static const char *const first[] = {"kind", "apiVersion", "metadata", "spec", NULL};
    kc_resource_api_version(r, av, sizeof av);
    json_t *copy = json_object();
    json_object_update(copy, obj);
    json_object_clear(obj);
    json_object_set_new(obj, "kind", json_string(r->kind));
    json_object_set_new(obj, "apiVersion", json_string(av));
    for (int i = 2; first[i]; i++) {
        json_t *v = json_object_get(copy, first[i]);
        if (v)
            json_object_set(obj, first[i], v);
    }
    const char *k;
    json_t *v;
    json_object_foreach (copy, k, v) {
        if (strcmp(k, "kind") && strcmp(k, "apiVersion") && strcmp(k, "metadata") &&
            strcmp(k, "spec") && strcmp(k, "status"))
            json_object_set(obj, k, v);
    }
    v = json_object_get(copy, "status");
    if (v)
        json_object_set(obj, "status", v);
    json_decref(copy);
}

/* Runs object-meta and resource validation; fills st with 422 when anything is wrong. */
static int validate(const struct kc_resource *r, const json_t *obj, const json_t *old,
                    struct kc_status *st)
{
    struct kc_errlist *l = kc_errlist_new();
    int ret = 0;
    kc_validate_object_meta(obj, r->namespaced, (enum kc_name_rule)r->name_rule, l);
    if (old)
        kc_validate_object_meta_update(obj, old, l);
    if (r->strategy && r->strategy->validate)
        r->strategy->validate(obj, l);
    if (old && r->strategy && r->strategy->validate_update)
        r->strategy->validate_update(obj, old, l);
    if (kc_errlist_len(l)) {
        kc_status_invalid(st, r->group, r->kind, kc_json_str(obj, "metadata.name"), l);
        ret = -1;
    }
    kc_errlist_free(l);
    return ret;
}

int kc_registry_create(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                       json_t *obj, const struct kc_write_opts *wo, json_t **out,
                       struct kc_status *st)
{
    char key[1024], ts[40], uid[37];
    const struct kc_strategy *s = r->strategy;
    bool allocated = false;

    if (!json_is_object(obj))
        return kc_status_bad_request(st, "the body of the request must be an object");
    json_t *meta = kc_json_ensure_obj(obj, "metadata");
    if (r->namespaced) {
        const char *bodyns = kc_json_str(meta, "namespace");
        if (bodyns && *bodyns && strcmp(bodyns, ns) != 0)
            return kc_status_bad_request(st, "the namespace of the provided object does not "
                                             "match the namespace sent on the request");
        json_object_set_new(meta, "namespace", json_string(ns));
        if (check_namespace(srv, ns, st))
            return -1;
    } else {
        json_object_del(meta, "namespace");
    }
    const char *name = kc_json_str(meta, "name");
    const char *gen = kc_json_str(meta, "generateName");
    if ((!name || !*name) && gen && *gen) {
        char sfx[6], full[512];
        kc_random_suffix(sfx);
        /* upstream trims the prefix so that the result fits in 63 characters */
        snprintf(full, sizeof full, "%.58s%s", gen, sfx);
        json_object_set_new(meta, "name", json_string(full));
    }
    set_type_meta(r, obj);
    /* Server-owned metadata. */
    json_object_del(meta, "resourceVersion");
    json_object_del(meta, "deletionTimestamp");
    json_object_del(meta, "deletionGracePeriodSeconds");
    json_object_del(meta, "selfLink");
    if (!(wo && wo->applied))
        json_object_del(meta, "managedFields");
    kc_new_uid(uid);
    json_object_set_new(meta, "uid", json_string(uid));
    now_rfc3339(ts, sizeof ts);
    json_object_set_new(meta, "creationTimestamp", json_string(ts));
    if (s && s->generation)
        json_object_set_new(meta, "generation", json_integer(1));
    else
        json_object_del(meta, "generation");
    if (json_is_null(json_object_get(meta, "labels")))
        json_object_del(meta, "labels");
    if (json_is_null(json_object_get(meta, "annotations")))
        json_object_del(meta, "annotations");

    if (s && s->defaults)
        s->defaults(obj);
    if (s && s->prepare_create)
        s->prepare_create(obj);
    if (wo && wo->manager && !wo->applied)
        kc_managed_fields_record(kc_schema_for_kind(r->group, r->version, r->kind), NULL, obj,
                                 wo->manager, wo->manager_api_version, NULL);
    if (validate(r, obj, NULL, st))
        return -1;
    name = kc_json_str(obj, "metadata.name");

    if (s && s->allocate) {
        if (s->allocate(srv, obj, NULL, st))
            return -1;
        allocated = true;
    }
    if (wo && wo->dry_run) {
        if (allocated && s->release)
            s->release(srv, obj, NULL);
        *out = json_incref(obj);
        return 0;
    }
    kc_registry_key(r, ns, name, key, sizeof key);
    struct kc_write w = {
        .type = KC_WRITE_CREATE, .key = key, .obj = obj, .want_text = wo && wo->text_out};
    int rc = kc_storage_write(srv->storage, &w);
    if (rc) {
        if (allocated && s->release)
            s->release(srv, obj, NULL);
        return storage_error(st, r, name, rc);
    }
    if (wo && wo->text_out)
        *wo->text_out = w.text;
    if (s && s->after_create)
        s->after_create(srv, obj);
    *out = json_incref(obj);
    return 0;
}

/* True when objects a and b have the same members, with equal values, except `skip`
 * (NULL: none) and, at the top, metadata.resourceVersion (compared one level down). */
static bool equal_except(const json_t *a, const json_t *b, const char *skip, bool top)
{
    if (!json_is_object(a) || !json_is_object(b))
        return kc_json_equal(a, b);
    size_t na = json_object_size(a), nb = json_object_size(b);
    if (skip) {
        na -= json_object_get(a, skip) != NULL;
        nb -= json_object_get(b, skip) != NULL;
    }
    if (na != nb)
        return false;
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)a, k, v) {
        if (skip && !strcmp(k, skip))
            continue;
        json_t *w = json_object_get(b, k);
        if (!w)
            return false;
        if (top && !strcmp(k, "metadata") ? !equal_except(v, w, "resourceVersion", false)
                                          : !json_equal(v, w))
            return false;
    }
    return true;
}

/* Compares two objects ignoring metadata.resourceVersion (without copying them). */
static bool same_object(const json_t *a, const json_t *b)
{
    return equal_except(a, b, NULL, true);
}

static void copy_key(json_t *dst, const json_t *src, const char *key)
{
    json_t *v = json_object_get(src, key);
    if (v)
        json_object_set_new(dst, key, json_deep_copy(v));
    else
        json_object_del(dst, key);
}

/* Deletes the stored object for good (finalizers are done). */
static int remove_now(struct kc_server *srv, const struct kc_resource *r, const char *key,
                      json_t *obj, uint64_t expect, struct kc_status *st)
{
    struct kc_write w = {.type = KC_WRITE_DELETE, .key = key, .obj = obj, .expect_rev = expect};
    int rc = kc_storage_write(srv->storage, &w);
    if (rc)
        return storage_error(st, r, kc_json_str(obj, "metadata.name"), rc);
    if (r->strategy && r->strategy->after_delete)
        r->strategy->after_delete(srv, obj);
    return 0;
}

/* metadata.finalizers, and for namespaces also spec.finalizers (the namespace lifecycle's
 * own list, emptied through the finalize subresource). */
static bool has_finalizers(const json_t *obj)
{
    json_t *f = kc_json_path(obj, "metadata.finalizers");
    if (json_is_array(f) && json_array_size(f) > 0)
        return true;
    const char *kind = kc_json_str(obj, "kind");
    if (kind && strcmp(kind, "Namespace") == 0) {
        f = kc_json_path(obj, "spec.finalizers");
        return json_is_array(f) && json_array_size(f) > 0;
    }
    return false;
}

static int update_once(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                       const char *name, json_t *in, enum kc_update_target target,
                       const struct kc_write_opts *wo, const json_t *current, uint64_t current_rev,
                       json_t **out, bool *retry, struct kc_status *st)
{
    char key[1024];
    json_t *old = NULL, *obj = NULL;
    uint64_t old_rev = 0;
    const struct kc_strategy *s = r->strategy;
    bool allocated = false;
    int ret = -1;

    *retry = false;
    kc_registry_key(r, ns, name, key, sizeof key);
    int rc;
    if (current) {
        /* the caller's fresh read: the write below still checks the revision */
        old = json_incref((json_t *)current);
        old_rev = current_rev;
    } else if ((rc = kc_storage_get_shared(srv->storage, key, &old, &old_rev)) != 0) {
        return storage_error(st, r, name, rc);
    }

    const char *want_rv = kc_json_str(in, "metadata.resourceVersion");
    bool conditional = want_rv && *want_rv;
    if (conditional) {
        char *end = NULL;
        unsigned long long v = strtoull(want_rv, &end, 10);
        if (!end || *end) {
            kc_status_bad_request(st, "invalid resource version: %s", want_rv);
            goto out;
        }
        if (v != old_rev) {
            storage_error(st, r, name, KC_STORAGE_CONFLICT);
            goto out;
        }
    }

    if (target == KC_UPDATE_STATUS) {
        /* Only status (and, for some kinds, metadata) changes through the status
         * subresource: the stored object with the new status. A shallow copy: what it keeps
         * of old is shared and never changed (old is read-only, obj too once written);
         * metadata, which is changed below, is copied whole. */
        obj = json_copy(old);
        json_t *m = json_object_get(s && s->status_metadata ? in : old, "metadata");
        if (json_is_object(m))
            json_object_set_new(obj, "metadata", json_deep_copy(m));
        copy_key(obj, in, "status");
    } else if (target == KC_UPDATE_FINALIZE) {
        /* namespaces/finalize changes spec.finalizers only */
        obj = json_deep_copy(old);
        json_t *f = kc_json_path(in, "spec.finalizers");
        json_object_set_new(kc_json_ensure_obj(obj, "spec"), "finalizers",
                            f ? json_deep_copy(f) : json_array());
    } else {
        obj = json_deep_copy(in);
        if (r->subresources & KC_SUB_STATUS)
            copy_key(obj, old, "status");
    }
    set_type_meta(r, obj);
    json_t *meta = kc_json_ensure_obj(obj, "metadata");
    const json_t *ometa = json_object_get(old, "metadata");
    static const char *const server_owned[] = {
        "uid",        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
        "generation", "namespace",         "selfLink",          NULL};
    for (int i = 0; server_owned[i]; i++)
        copy_key(meta, ometa, server_owned[i]);
    if (json_is_null(json_object_get(meta, "labels")))
        json_object_del(meta, "labels");
    if (json_is_null(json_object_get(meta, "annotations")))
        json_object_del(meta, "annotations");
    /* A name that differs is caught by the handler; keep the stored one regardless. */
    copy_key(meta, ometa, "name");

    if (target == KC_UPDATE_MAIN) {
        if (s && s->defaults)
            s->defaults(obj);
        if (s && s->prepare_update)
            s->prepare_update(obj, old);
        if (s && s->generation &&
            !kc_json_equal(json_object_get(obj, "spec"), json_object_get(old, "spec")))
            json_object_set_new(meta, "generation",
                                json_integer(kc_json_int(old, "metadata.generation", 0) + 1));
    }
    if (wo && wo->manager && !wo->applied)
        kc_managed_fields_record(kc_schema_for_kind(r->group, r->version, r->kind), old, obj,
                                 wo->manager, wo->manager_api_version,
                                 target == KC_UPDATE_STATUS ? "status" : NULL);
    else if (!(wo && wo->applied) && !json_array_size(kc_json_path(obj, "metadata.managedFields")))
        copy_key(meta, ometa, "managedFields");
    if (validate(r, obj, old, st))
        goto out;

    if (same_object(obj, old)) {
        *out = json_incref(old);
        ret = 0;
        goto out;
    }
    if (wo && wo->dry_run) {
        *out = json_incref(obj);
        ret = 0;
        goto out;
    }
    if (kc_json_path(obj, "metadata.deletionTimestamp") && !has_finalizers(obj)) {
        /* The last finalizer is gone: the object goes away now. */
        json_object_del(meta, "resourceVersion");
        if (remove_now(srv, r, key, obj, old_rev, st)) {
            *retry = st->code == 409 && !conditional;
            goto out;
        }
        *out = json_incref(obj);
        ret = 0;
        goto out;
    }
    if (s && s->allocate && target == KC_UPDATE_MAIN) {
        if (s->allocate(srv, obj, old, st))
            goto out;
        allocated = true;
    }
    json_t *attrs = kc_watch_attrs(r, old);
    struct kc_write w = {.type = KC_WRITE_UPDATE,
                         .key = key,
                         .obj = obj,
                         .expect_rev = old_rev,
                         .prev_attrs = attrs,
                         .want_text = wo && wo->text_out};
    rc = kc_storage_write(srv->storage, &w);
    json_decref(attrs);
    if (rc) {
        if (allocated && s->release)
            s->release(srv, obj, old);
        *retry = rc == KC_STORAGE_CONFLICT && !conditional;
        storage_error(st, r, name, rc);
        goto out;
    }
    if (allocated && s->release)
        s->release(srv, old, obj); /* frees what the old object held and the new one does not */
    if (wo && wo->text_out)
        *wo->text_out = w.text;
    *out = json_incref(obj);
    ret = 0;
out:
    json_decref(old);
    json_decref(obj);
    return ret;
}

int kc_registry_update(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                       const char *name, json_t *obj, enum kc_update_target target,
                       const struct kc_write_opts *wo, json_t **out, struct kc_status *st)
{
    if (!json_is_object(obj))
        return kc_status_bad_request(st, "the body of the request must be an object");
    for (int i = 0; i < MAX_RETRIES; i++) {
        bool retry = false;
        kc_status_release(st);
        /* the caller's read serves the first round only */
        const json_t *current = i == 0 && wo ? wo->current : NULL;
        if (update_once(srv, r, ns, name, obj, target, wo, current, wo ? wo->current_rev : 0, out,
                        &retry, st) == 0)
            return 0;
        if (!retry)
            return -1;
    }
    return -1;
}

static void add_finalizer(json_t *obj, const char *f)
{
    json_t *meta = kc_json_ensure_obj(obj, "metadata");
    json_t *arr = json_object_get(meta, "finalizers");
    if (!json_is_array(arr)) {
        arr = json_array();
        json_object_set_new(meta, "finalizers", arr);
    }
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), f) == 0)
            return;
    json_array_append_new(arr, json_string(f));
}

/* Writes obj (already carrying deletionTimestamp) back; it stays until finalizers or the
 * node agent finish the deletion. */
static int mark_deleting(struct kc_server *srv, const struct kc_resource *r, const char *key,
                         json_t *obj, json_t *old, uint64_t rev, struct kc_status *st)
{
    struct kc_write w = {.type = KC_WRITE_UPDATE, .key = key, .obj = obj, .expect_rev = rev};
    int rc = kc_storage_write(srv->storage, &w);
    if (rc)
        return storage_error(st, r, kc_json_str(obj, "metadata.name"), rc);
    return 0;
}

static int delete_once(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                       const char *name, const struct kc_delete_opts *o, json_t **out, bool *gone,
                       bool *retry, struct kc_status *st)
{
    char key[1024], ts[40];
    json_t *old = NULL, *obj = NULL;
    uint64_t rev = 0;
    int ret = -1;

    *retry = false;
    *gone = false;
    kc_registry_key(r, ns, name, key, sizeof key);
    int rc = kc_storage_get(srv->storage, key, &old, &rev);
    if (rc)
        return storage_error(st, r, name, rc);

    if (o->precondition_uid && *o->precondition_uid) {
        const char *uid = kc_json_str(old, "metadata.uid");
        if (!uid || strcmp(uid, o->precondition_uid) != 0) {
            char why[256];
            snprintf(why, sizeof why,
                     "Precondition failed: UID in precondition: %s, UID in object meta: %s",
                     o->precondition_uid, uid ? uid : "");
            kc_status_conflict(st, r->group, r->resource, name, why);
            goto out;
        }
    }
    if (o->precondition_rv && *o->precondition_rv) {
        const char *orv = kc_json_str(old, "metadata.resourceVersion");
        if (!orv || strcmp(orv, o->precondition_rv) != 0) {
            char why[256];
            snprintf(why, sizeof why,
                     "Precondition failed: ResourceVersion in precondition: %s, "
                     "ResourceVersion in object meta: %s",
                     o->precondition_rv, orv ? orv : "");
            kc_status_conflict(st, r->group, r->resource, name, why);
            goto out;
        }
    }

    obj = json_deep_copy(old);
    json_t *meta = kc_json_ensure_obj(obj, "metadata");
    if (o->propagation && strcmp(o->propagation, "Foreground") == 0)
        add_finalizer(obj, "foregroundDeletion");
    else if (o->propagation && strcmp(o->propagation, "Orphan") == 0)
        add_finalizer(obj, "orphan");

    long long grace = 0;
    bool graceful = r->strategy && r->strategy->graceful_delete;
    if (graceful) {
        grace = o->grace_seconds >= 0 ? o->grace_seconds
                                      : kc_json_int(old, "spec.terminationGracePeriodSeconds", 30);
        const char *node = kc_json_str(old, "spec.nodeName");
        const char *phase = kc_json_str(old, "status.phase");
        /* Nothing runs an unscheduled or finished pod: no one would confirm the stop. */
        if (!node || !*node || (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
            grace = 0;
    }
    bool already = kc_json_path(old, "metadata.deletionTimestamp") != NULL;
    if (already) {
        long long cur = kc_json_int(old, "metadata.deletionGracePeriodSeconds", 0);
        if (!(graceful && grace == 0 && cur > 0) || has_finalizers(obj)) {
            if (!json_equal(obj, old) && !o->dry_run &&
                mark_deleting(srv, r, key, obj, old, rev, st)) {
                *retry = st->code == 409;
                goto out;
            }
            *out = json_incref(json_equal(obj, old) ? old : obj);
            ret = 0;
            goto out;
        }
        /* A forced (grace 0) delete of a terminating pod falls through to removal. */
    }
    if (has_finalizers(obj) || grace > 0) {
        time_t when = time(NULL) + (time_t)grace;
        kc_time_rfc3339(when, ts, sizeof ts);
        json_object_set_new(meta, "deletionTimestamp", json_string(ts));
        json_object_set_new(meta, "deletionGracePeriodSeconds", json_integer(grace));
        if (r->strategy == NULL || strcmp(r->resource, "namespaces") != 0) {
            /* generic */
        } else {
            json_object_set_new(kc_json_ensure_obj(obj, "status"), "phase",
                                json_string("Terminating"));
        }
        if (!o->dry_run && mark_deleting(srv, r, key, obj, old, rev, st)) {
            *retry = st->code == 409;
            goto out;
        }
        if (!o->dry_run && r->strategy && r->strategy->after_mark_deleting)
            r->strategy->after_mark_deleting(srv, obj);
        *out = json_incref(obj);
        ret = 0;
        goto out;
    }
    if (o->dry_run) {
        *out = json_incref(old);
        *gone = true;
        ret = 0;
        goto out;
    }
    if (remove_now(srv, r, key, obj, rev, st)) {
        *retry = st->code == 409;
        goto out;
    }
    *out = json_incref(obj);
    *gone = true;
    ret = 0;
out:
    json_decref(old);
    json_decref(obj);
    return ret;
}

int kc_registry_delete(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                       const char *name, const struct kc_delete_opts *o, json_t **out, bool *gone,
                       struct kc_status *st)
{
    for (int i = 0; i < MAX_RETRIES; i++) {
        bool retry = false;
        kc_status_release(st);
        if (delete_once(srv, r, ns, name, o, out, gone, &retry, st) == 0)
            return 0;
        /* A conflict on an unconditional delete means someone wrote in between: retry. */
        if (!retry || (o->precondition_rv && *o->precondition_rv))
            return -1;
    }
    return -1;
}

int kc_registry_put_raw(struct kc_server *srv, const struct kc_resource *r, const char *ns,
                        const char *name, json_t *obj, uint64_t expect_rev, json_t *prev_attrs,
                        struct kc_status *st)
{
    char key[1024];
    kc_registry_key(r, ns, name, key, sizeof key);
    struct kc_write w = {.type = KC_WRITE_UPDATE,
                         .key = key,
                         .obj = obj,
                         .expect_rev = expect_rev,
                         .prev_attrs = prev_attrs};
    int rc = kc_storage_write(srv->storage, &w);
    if (rc)
        return storage_error(st, r, name, rc);
    return 0;
}
