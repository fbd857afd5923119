/* JSON helpers: dropping members from JSON text before it is parsed. */
#include "check.h"
#include "lib/jsonx.h"

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

int main(void)
{
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
    CHECK_DONE();
}
