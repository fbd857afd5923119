/* Merge patch (RFC 7386 examples), JSON patch (RFC 6902 appendix A cases) and strategic
 * merge patch as kubectl sends it. */
#include "check.h"
#include "lib/patch.h"

static int merge_is(const char *target, const char *patch, const char *want)
{
    json_t *t = json_loads(target, JSON_DECODE_ANY, NULL),
           *p = json_loads(patch, JSON_DECODE_ANY, NULL);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    json_t *before = json_deep_copy(t);
    json_t *r = kc_merge_patch(t, p);
    /* the sharing variant: the same result, and the target left as it was */
    json_t *rs = kc_merge_patch_shared(t, p);
    int ok = r && json_equal(r, w) && rs && json_equal(rs, w) && json_equal(t, before);
    json_decref(rs);
    json_decref(before);
    json_decref(t);
    json_decref(p);
    json_decref(w);
    json_decref(r);
    return ok;
}

/* 1 = result equals want; 0 = differs; -1 = error; -2 = test failure */
static int jp(const char *target, const char *patch, const char *want)
{
    json_t *t = json_loads(target, JSON_DECODE_ANY, NULL), *p = json_loads(patch, 0, NULL);
    json_t *out = NULL;
    bool tf = false;
    char err[256];
    int rc = kc_json_patch(t, p, &out, &tf, err, sizeof err);
    int ret;
    if (rc != 0) {
        ret = tf ? -2 : -1;
    } else {
        json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
        ret = json_equal(out, w);
        json_decref(w);
    }
    json_decref(t);
    json_decref(p);
    json_decref(out);
    return ret;
}

static int smp(const char *target, const char *patch, const char *want)
{
    json_t *t = json_loads(target, 0, NULL), *p = json_loads(patch, 0, NULL);
    json_t *w = json_loads(want, 0, NULL);
    char err[256];
    json_t *r = kc_strategic_merge_patch(t, p, err, sizeof err);
    int ok = r && json_equal(r, w);
    if (r && !ok) {
        char *s = json_dumps(r, JSON_COMPACT);
        fprintf(stderr, "smp got %s\n", s);
        free(s);
    }
    json_decref(t);
    json_decref(p);
    json_decref(w);
    json_decref(r);
    return ok;
}

int main(void)
{
    /* RFC 7386 appendix A */
    CHECK(merge_is("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"));
    CHECK(merge_is("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}"));
    CHECK(merge_is("{\"a\":\"b\"}", "{\"a\":null}", "{}"));
    CHECK(merge_is("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}"));
    CHECK(merge_is("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}"));
    CHECK(merge_is("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}"));
    CHECK(merge_is("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
                   "{\"a\":{\"b\":\"d\"}}"));
    CHECK(merge_is("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}"));
    CHECK(merge_is("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]"));
    CHECK(merge_is("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]"));
    CHECK(merge_is("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}"));
    CHECK(merge_is("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}"));
    CHECK(merge_is("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}"));

    /* RFC 6902 appendix A */
    CHECK_INT(jp("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
                 "{\"baz\":\"qux\",\"foo\":\"bar\"}"),
              1);
    CHECK_INT(jp("{\"foo\":[\"bar\",\"baz\"]}",
                 "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
                 "{\"foo\":[\"bar\",\"qux\",\"baz\"]}"),
              1);
    CHECK_INT(jp("{\"baz\":\"qux\",\"foo\":\"bar\"}", "[{\"op\":\"remove\",\"path\":\"/baz\"}]",
                 "{\"foo\":\"bar\"}"),
              1);
    CHECK_INT(jp("{\"foo\":[\"bar\",\"qux\",\"baz\"]}", "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
                 "{\"foo\":[\"bar\",\"baz\"]}"),
              1);
    CHECK_INT(jp("{\"baz\":\"qux\",\"foo\":\"bar\"}",
                 "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
                 "{\"baz\":\"boo\",\"foo\":\"bar\"}"),
              1);
    CHECK_INT(jp("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":\"grault\"}}",
                 "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":\"/qux/thud\"}]",
                 "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\",\"thud\":\"fred\"}}"),
              1);
    CHECK_INT(jp("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
                 "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
                 "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}"),
              1);
    CHECK_INT(jp("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
                 "[{\"op\":\"test\",\"path\":\"/"
                 "baz\",\"value\":\"qux\"},{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
                 "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}"),
              1);
    CHECK_INT(
        jp("{\"baz\":\"qux\"}", "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]", "{}"),
        -2);
    CHECK_INT(jp("{\"foo\":\"bar\"}",
                 "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":{}}}]",
                 "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}"),
              1);
    CHECK_INT(
        jp("{\"foo\":\"bar\"}", "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]", "{}"),
        -1);
    CHECK_INT(jp("{\"/\":9,\"~1\":10}", "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10}]",
                 "{\"/\":9,\"~1\":10}"),
              1);
    CHECK_INT(jp("{\"foo\":[\"bar\"]}",
                 "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
                 "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}"),
              1);
    CHECK_INT(
        jp("{\"a\":1}", "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"}]", "{\"a\":1,\"b\":1}"),
        1);
    CHECK_INT(jp("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/nope\",\"value\":1}]", "{}"), -1);
    CHECK_INT(jp("{\"a\":1}", "[{\"op\":\"bogus\",\"path\":\"/a\"}]", "{}"), -1);
    CHECK_INT(jp("{\"a\":[1]}", "[{\"op\":\"remove\",\"path\":\"/a/5\"}]", "{}"), -1);
    CHECK_INT(jp("{\"a\":{}}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]", "{}"), -1);

    /* strategic merge patch: what kubectl set image / apply / rollout send */
    const char *dep = "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},"
                      "\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\","
                      "\"ports\":[{\"containerPort\":80,\"protocol\":\"TCP\"}],"
                      "\"env\":[{\"name\":\"A\",\"value\":\"1\"}]},{\"name\":\"side\",\"image\":"
                      "\"busybox\"}]}}}}";
    CHECK(smp(dep,
              "{\"spec\":{\"template\":{\"spec\":{\"$setElementOrder/"
              "containers\":[{\"name\":\"web\"},{\"name\":\"side\"}],\"containers\":[{\"image\":"
              "\"nginx:1.28\",\"name\":\"web\"}]}}}}",
              "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{"
              "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.28\",\"ports\":[{"
              "\"containerPort\":80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"A\",\"value\":"
              "\"1\"}]},{\"name\":\"side\",\"image\":\"busybox\"}]}}}}"));
    CHECK(smp(
        dep,
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"side\",\"$patch\":"
        "\"delete\"}]}}}}",
        "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{"
        "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\",\"ports\":[{\"containerPort\":"
        "80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"A\",\"value\":\"1\"}]}]}}}}"));
    CHECK(
        smp(dep,
            "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"web\",\"env\":[{"
            "\"name\":\"B\",\"value\":\"2\"}]}]}}}}",
            "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{"
            "\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.27\",\"ports\":[{"
            "\"containerPort\":80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":\"B\",\"value\":\"2\"},"
            "{\"name\":\"A\",\"value\":\"1\"}]},{\"name\":\"side\",\"image\":\"busybox\"}]}}}}"));
    /* upstream's order (normalizeElementOrder): an element new in the patch goes before the
     * live-only ones; live ones keep their relative order around patched ones */
    CHECK(smp("{\"spec\":{\"containers\":[{\"name\":\"a\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"p\",\"image\":\"x\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"p\",\"image\":\"x\"},{\"name\":\"a\"}]}}"));
    CHECK(smp("{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"},{\"name\":\"c\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\",\"image\":\"y\"},"
              "{\"name\":\"c\"}]}}"));
    CHECK(smp("{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"},{\"name\":\"a\","
              "\"image\":\"z\"}]}}",
              "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"y\"},{\"name\":\"a\","
              "\"image\":\"z\"}]}}"));
    CHECK(smp("{\"metadata\":{\"finalizers\":[\"a\"]}}", "{\"metadata\":{\"finalizers\":[\"b\"]}}",
              "{\"metadata\":{\"finalizers\":[\"b\",\"a\"]}}"));
    CHECK(smp("{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
              "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"}}}",
              "{\"metadata\":{\"labels\":{\"b\":\"2\",\"c\":\"3\"}}}"));
    CHECK(smp("{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},{\"port\":443}]}}",
              "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090}]}}",
              "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090},{\"port\":443}]}}"));
    CHECK(smp(
        "{\"spec\":{\"strategy\":{\"type\":\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":1}}}}",
        "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":\"Recreate\"}}}",
        "{\"spec\":{\"strategy\":{\"type\":\"Recreate\"}}}"));
    CHECK(smp("{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
              "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"a\"]}}",
              "{\"metadata\":{\"finalizers\":[\"b\"]}}"));
    CHECK(smp("{\"metadata\":{\"finalizers\":[\"a\"]}}",
              "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
              "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}"));
    CHECK(smp("{\"spec\":{\"x\":{\"a\":1,\"b\":2}}}",
              "{\"spec\":{\"x\":{\"$patch\":\"replace\",\"c\":3}}}",
              "{\"spec\":{\"x\":{\"c\":3}}}"));
    CHECK(smp("{\"spec\":{\"args\":[\"a\",\"b\"]}}", "{\"spec\":{\"args\":[\"c\"]}}",
              "{\"spec\":{\"args\":[\"c\"]}}"));
    char err[128];
    json_t *t = json_loads("{}", 0, NULL),
           *p = json_loads("{\"x\":{\"$patch\":\"explode\"}}", 0, NULL);
    json_t *r = kc_strategic_merge_patch(t, p, err, sizeof err);
    CHECK(r == NULL);
    json_decref(t);
    json_decref(p);
    CHECK_DONE();
}
