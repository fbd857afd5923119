/* JSON helpers: dropping members from JSON text before it is parsed. */
#include "check.h"
#include "lib/jsonx.h"

#include <stdio.h>

#include <stdlib.h>
#include <string.h>

static const char *const EVENT_MF[] = {"object", "metadata", "managedFields", NULL};
static const char *const LIST_MF[] = {"items", "[]", "metadata", "managedFields", NULL};

/* The text after dropping, NUL-terminated (static buffer). */
static const char *dropped(const char *in, const char *const *path)
{
    static char buf[4096];
    size_t n = strlen(in);
    memcpy(buf, in, n);
    n = kc_json_text_drop(buf, n, path);
    buf[n] = 0;
    return buf;
}

/* kc_json_dumps writes what json_dumps(JSON_COMPACT) writes. */
static int same_dump(const json_t *j)
{
    size_t n = 0;
    char *mine = kc_json_dumps(j, &n);
    char *theirs = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    int ok = (!mine && !theirs) ||
             (mine && theirs && n == strlen(theirs) && memcmp(mine, theirs, n) == 0);
    if (!ok)
        fprintf(stderr, "dump differs:\n  mine:   %s\n  theirs: %s\n", mine ? mine : "(null)",
                theirs ? theirs : "(null)");
    free(mine);
    free(theirs);
    return ok;
}

/* A random tree of every JSON type, keys and strings with escapes and UTF-8. */
static json_t *random_tree(unsigned *seed, int depth)
{
    static const char *const strs[] = {
        "",        "a",   "x\"y",          "back\\slash", "tab\there", "nl\n\r\b\f", "\x01\x1f\x7f",
        "/slash/", "é€😀", "10.244.0.0/16", "Running"};
    int kind = depth > 4 ? (int)(rand_r(seed) % 6) : (int)(rand_r(seed) % 8);
    switch (kind) {
    case 0:
        return json_null();
    case 1:
        return json_boolean(rand_r(seed) % 2);
    case 2:
        return json_integer((json_int_t)rand_r(seed) * (rand_r(seed) % 2 ? 1 : -100000));
    case 3:
        return json_real((double)rand_r(seed) / ((double)(rand_r(seed) % 1000) + 0.5));
    case 4:
    case 5:
        return json_string(strs[rand_r(seed) % (sizeof strs / sizeof *strs)]);
    case 6: {
        json_t *a = json_array();
        for (int i = (int)(rand_r(seed) % 5); i > 0; i--)
            json_array_append_new(a, random_tree(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (int i = (int)(rand_r(seed) % 6); i > 0; i--)
            json_object_set_new(o, strs[rand_r(seed) % (sizeof strs / sizeof *strs)],
                                random_tree(seed, depth + 1));
        return o;
    }
    }
}

int main(void)
{
    /* fast serialization: random trees, embedded NUL, invalid UTF-8, deep nesting */
    unsigned seed = 42;
    int same = 0;
    for (int i = 0; i < 2000; i++) {
        json_t *t = random_tree(&seed, 0);
        same += same_dump(t);
        json_decref(t);
    }
    CHECK_INT(same, 2000);
    json_t *nul = json_stringn("a\0b", 3);
    json_t *nulkey = json_object();
    json_object_setn_new(nulkey, "k\0ey", 4, json_integer(1));
    json_t *bad_utf8 = json_stringn_nocheck("\xff\xfe", 2);
    json_t *deep = json_array(), *cur = deep;
    for (int i = 0; i < 3000; i++) {
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    CHECK(same_dump(nul));
    CHECK(same_dump(nulkey));
    CHECK(kc_json_dumps(bad_utf8, NULL) == NULL);
    CHECK(kc_json_dumps(deep, NULL) == NULL);
    json_decref(nul);
    json_decref(nulkey);
    json_decref(bad_utf8);
    json_decref(deep);

    /* first, middle, last and only member */
    CHECK_STR(dropped("{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"managedFields\":[{\"a\":1}],"
                      "\"name\":\"p\"},\"spec\":{}}}",
                      EVENT_MF),
              "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"p\"},\"spec\":{}}}");
    CHECK_STR(dropped("{\"object\":{\"metadata\":{\"name\":\"p\",\"managedFields\":[{\"f:x\":{}}],"
                      "\"uid\":\"u\"}}}",
                      EVENT_MF),
              "{\"object\":{\"metadata\":{\"name\":\"p\",\"uid\":\"u\"}}}");
    CHECK_STR(
        dropped("{\"object\":{\"metadata\":{\"name\":\"p\",\"managedFields\":[]}}}", EVENT_MF),
        "{\"object\":{\"metadata\":{\"name\":\"p\"}}}");
    CHECK_STR(dropped("{\"object\":{\"metadata\":{\"managedFields\":[]}}}", EVENT_MF),
              "{\"object\":{\"metadata\":{}}}");
    /* white space, strings with brackets, quotes and escapes inside */
    CHECK_STR(dropped("{ \"object\" : { \"metadata\" : { \"a\" : \"}]\\\"{\" , \"managedFields\" "
                      ": [ { \"k\" : \"\\\"]}\" } ] } } }",
                      EVENT_MF),
              "{ \"object\" : { \"metadata\" : { \"a\" : \"}]\\\"{\" } } }");
    /* only at the path: not in other objects, not in the spec's template */
    CHECK_STR(dropped("{\"object\":{\"data\":{\"managedFields\":\"x\"},\"spec\":{\"template\":{"
                      "\"metadata\":{\"managedFields\":1}}},\"metadata\":{\"managedFields\":2}}}",
                      EVENT_MF),
              "{\"object\":{\"data\":{\"managedFields\":\"x\"},\"spec\":{\"template\":{"
              "\"metadata\":{\"managedFields\":1}}},\"metadata\":{}}}");
    /* a duplicated member goes twice */
    CHECK_STR(
        dropped("{\"object\":{\"metadata\":{\"managedFields\":1,\"managedFields\":2,\"n\":3}}}",
                EVENT_MF),
        "{\"object\":{\"metadata\":{\"n\":3}}}");
    CHECK_STR(
        dropped("{\"object\":{\"metadata\":{\"n\":3,\"managedFields\":1,\"managedFields\":2}}}",
                EVENT_MF),
        "{\"object\":{\"metadata\":{\"n\":3}}}");
    /* every item of a list */
    CHECK_STR(dropped("{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":["
                      "{\"metadata\":{\"name\":\"a\",\"managedFields\":[1]}},{\"metadata\":{"
                      "\"managedFields\":[2],\"name\":\"b\"}},{\"metadata\":{\"name\":\"c\"}}]}",
                      LIST_MF),
              "{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"5\"},\"items\":[{"
              "\"metadata\":{\"name\":\"a\"}},{\"metadata\":{\"name\":\"b\"}},{\"metadata\":{"
              "\"name\":\"c\"}}]}");
    CHECK_STR(dropped("{\"items\":[]}", LIST_MF), "{\"items\":[]}");
    /* left alone: malformed, truncated, an escaped name, other shapes */
    const char *bad[] = {"{\"object\":{\"metadata\":{\"managedFields\":[1,2}}}",
                         "{\"object\":{\"metadata\":{\"managedFields\":[1,2]",
                         "{\"object\":{\"metadata\":{\"managed\\u0046ields\":1}}}",
                         "{\"object\":[{\"metadata\":{\"managedFields\":1}}]}",
                         "{\"object\":{\"metadata\":{\"managedFields\" 1}}}",
                         "[1,2]",
                         "",
                         "\"x",
                         NULL};
    for (int i = 0; bad[i]; i++)
        CHECK_STR(dropped(bad[i], EVENT_MF), bad[i]);
    /* the result always parses to the original minus the member */
    const char *orig = "{\"type\":\"MODIFIED\",\"object\":{\"kind\":\"Pod\",\"metadata\":{\"name\":"
                       "\"p\",\"labels\":{\"a\":\"b\"},\"managedFields\":[{\"manager\":\"m\","
                       "\"fieldsV1\":{\"f:spec\":{\"f:x\":{}}}}],\"resourceVersion\":\"7\"},"
                       "\"status\":{\"phase\":\"Running\"}}}";
    json_t *want = json_loads(orig, 0, NULL);
    json_object_del(json_object_get(json_object_get(want, "object"), "metadata"), "managedFields");
    json_t *got = json_loads(dropped(orig, EVENT_MF), 0, NULL);
    CHECK(got && json_equal(got, want));
    json_decref(got);
    json_decref(want);

    /* duplicate members, named by their path as upstream's strict decoder does */
    char paths[256];
    static const char body[] = "{\"spec\":{\"unknownField\":\"foo\",\"replicas\":2,"
                               "\"replicas\":3,\"template\":{\"spec\":{\"containers\":[{"
                               "\"name\":\"a\"},{\"name\":\"b\",\"name\":\"c\"}]}}},"
                               "\"kind\":\"x\",\"kind\":\"y\",\"kind\":\"z\"}";
    CHECK(kc_json_duplicate_paths(body, sizeof body - 1, paths, sizeof paths) == 4);
    CHECK_STR(paths, "spec.replicas\nspec.template.spec.containers[1].name\nkind\nkind\n");
    CHECK(kc_json_duplicate_paths("{\"a\":{\"b\":1},\"c\":{\"b\":2}}", 25, paths, sizeof paths) ==
          0);
    CHECK_STR(paths, "");
    /* what does not fit is left out, but counted */
    CHECK(kc_json_duplicate_paths(body, sizeof body - 1, paths, 16) == 4);
    CHECK_STR(paths, "spec.replicas\n");
    CHECK_DONE();
}
