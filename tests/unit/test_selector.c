/* Label and field selectors: syntax, operators, matching, errors, printing. */
#include "check.h"
#include "lib/selector.h"

#include <stdlib.h>

static int matches(const char *sel, const char *labels_json)
{
    struct kc_selector *s = NULL;
    char err[256];
    if (kc_label_selector_parse(sel, &s, err, sizeof err) != 0)
        return -1;
    json_t *labels = json_loads(labels_json, 0, NULL);
    int m = kc_label_selector_matches(s, labels);
    json_decref(labels);
    kc_selector_free(s);
    return m;
}

static int parses(const char *sel)
{
    struct kc_selector *s = NULL;
    char err[256];
    int rc = kc_label_selector_parse(sel, &s, err, sizeof err);
    kc_selector_free(s);
    return rc == 0;
}

static int field_matches(const char *sel, const char *obj_json)
{
    struct kc_selector *s = NULL;
    char err[256];
    if (kc_field_selector_parse(sel, &s, err, sizeof err) != 0)
        return -1;
    json_t *obj = json_loads(obj_json, 0, NULL);
    int m = kc_field_selector_matches(s, obj, kc_field_get_path, NULL);
    json_decref(obj);
    kc_selector_free(s);
    return m;
}

int main(void)
{
    const char *l = "{\"app\":\"web\",\"tier\":\"front\",\"n\":\"5\",\"example.com/x\":\"y\"}";
    CHECK_INT(matches("", l), 1);
    CHECK_INT(matches("app=web", l), 1);
    CHECK_INT(matches("app==web", l), 1);
    CHECK_INT(matches("app = web", l), 1);
    CHECK_INT(matches("app=db", l), 0);
    CHECK_INT(matches("app!=db", l), 1);
    CHECK_INT(matches("missing!=x", l), 1);
    CHECK_INT(matches("app in (db,web)", l), 1);
    CHECK_INT(matches("app in (db)", l), 0);
    CHECK_INT(matches("app notin (db)", l), 1);
    CHECK_INT(matches("missing notin (db)", l), 1);
    CHECK_INT(matches("app", l), 1);
    CHECK_INT(matches("!app", l), 0);
    CHECK_INT(matches("!missing", l), 1);
    CHECK_INT(matches("app=web,tier=front", l), 1);
    CHECK_INT(matches("app=web,tier=back", l), 0);
    CHECK_INT(matches("n>3", l), 1);
    CHECK_INT(matches("n<3", l), 0);
    CHECK_INT(matches("example.com/x=y", l), 1);
    CHECK_INT(matches("app=web", "{}"), 0);
    CHECK_INT(matches("app=", "{\"app\":\"\"}"), 1);

    CHECK(!parses("app in ("));
    CHECK(!parses("app in (a"));
    CHECK(!parses("app in ()"));
    CHECK(!parses("-bad=x"));
    CHECK(!parses("app=web,"));
    CHECK(!parses("app=b c"));
    CHECK(!parses("app="
                  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
    CHECK(!parses("n>x"));
    CHECK(!parses("app ~ web"));
    CHECK(!parses("Bad_Prefix.com/x=y"));
    CHECK(parses("a.b/c-d_e.f=g"));

    struct kc_selector *s = NULL;
    char err[256];
    CHECK(kc_label_selector_parse("tier=front,app in (web,db),!x", &s, err, sizeof err) == 0);
    char *str = kc_selector_string(s);
    CHECK_STR(str, "app in (db,web),tier=front,!x");
    free(str);
    kc_selector_free(s);

    json_t *js = json_loads("{\"matchLabels\":{\"b\":\"2\",\"a\":\"1\"},\"matchExpressions\":"
                            "[{\"key\":\"c\",\"operator\":\"In\",\"values\":[\"y\",\"x\"]},"
                            "{\"key\":\"d\",\"operator\":\"DoesNotExist\"}]}",
                            0, NULL);
    str = kc_label_selector_json_to_string(js);
    CHECK_STR(str, "a=1,b=2,c in (x,y),!d");
    free(str);
    CHECK(kc_label_selector_from_json(js, &s, err, sizeof err) == 0);
    json_t *labels = json_loads("{\"a\":\"1\",\"b\":\"2\",\"c\":\"x\"}", 0, NULL);
    CHECK(kc_label_selector_matches(s, labels));
    json_object_set_new(labels, "d", json_string(""));
    CHECK(!kc_label_selector_matches(s, labels));
    json_decref(labels);
    kc_selector_free(s);
    json_decref(js);
    js = json_loads("{\"matchExpressions\":[{\"key\":\"c\",\"operator\":\"Near\"}]}", 0, NULL);
    CHECK(kc_label_selector_from_json(js, &s, err, sizeof err) != 0);
    json_decref(js);

    const char *pod = "{\"metadata\":{\"name\":\"p1\",\"namespace\":\"default\"},"
                      "\"spec\":{\"nodeName\":\"n1\",\"hostNetwork\":false},"
                      "\"status\":{\"phase\":\"Running\"}}";
    CHECK_INT(field_matches("metadata.name=p1", pod), 1);
    CHECK_INT(field_matches("metadata.name==p1,spec.nodeName=n1", pod), 1);
    CHECK_INT(field_matches("spec.nodeName!=n1", pod), 0);
    CHECK_INT(field_matches("spec.nodeName=", pod), 0);
    CHECK_INT(field_matches("status.podIP=", pod), 1);
    CHECK_INT(field_matches("spec.hostNetwork=false", pod), 1);
    CHECK_INT(field_matches("status.phase!=Pending,status.phase!=Succeeded", pod), 1);
    CHECK_INT(field_matches("abc", pod), -1);
    CHECK_INT(field_matches("a=b\\,c", "{\"a\":\"b,c\"}"), 1);
    CHECK_INT(field_matches("a=b\\q", "{}"), -1);
    CHECK(kc_field_selector_parse("metadata.name=x,spec.nodeName=y", &s, err, sizeof err) == 0);
    CHECK_INT(kc_selector_len(s), 2);
    CHECK_STR(kc_selector_key(s, 1), "spec.nodeName");
    kc_selector_free(s);
    CHECK_DONE();
}
