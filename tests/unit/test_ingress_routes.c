/* The Ingress routing table: host and path matching (Exact, Prefix element-wise,
 * ImplementationSpecific, wildcard hosts), precedence, the default backend, and the
 * choice of the Ingresses this controller serves. */
#include "check.h"
#include "ingress/ingress_routes.h"

#include <jansson.h>

static json_t *parse(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (!j)
        fprintf(stderr, "bad test json: %s: %s\n", e.text, s);
    return j;
}

/* "ns/service:port" of the match, or "-" */
static const char *route(struct ing_routes *r, const char *host, const char *path)
{
    static char buf[256];
    struct ing_backend_ref *b = ing_routes_match(r, host, path);
    if (!b)
        return "-";
    if (b->port_name)
        snprintf(buf, sizeof buf, "%s/%s:%s", b->ns, b->service, b->port_name);
    else
        snprintf(buf, sizeof buf, "%s/%s:%d", b->ns, b->service, b->port_number);
    return buf;
}

#define SVC(n, p) "{\"service\":{\"name\":\"" n "\",\"port\":{\"number\":" #p "}}}"
#define PATH(p, t, b) "{\"path\":\"" p "\",\"pathType\":\"" t "\",\"backend\":" b "}"

static void test_path_matching(void)
{
    CHECK_INT(ing_path_matches("/foo", 0, "/foo"), 4);
    CHECK_INT(ing_path_matches("/foo", 0, "/foo/"), 4);
    CHECK_INT(ing_path_matches("/foo", 0, "/foo/bar"), 4);
    CHECK_INT(ing_path_matches("/foo", 0, "/foobar"), -1);
    CHECK_INT(ing_path_matches("/foo", 0, "/fo"), -1);
    CHECK_INT(ing_path_matches("/", 0, "/anything"), 1);
    CHECK_INT(ing_path_matches("/", 0, "/"), 1);
    CHECK_INT(ing_path_matches("/foo", 1, "/foo"), 4);
    CHECK_INT(ing_path_matches("/foo", 1, "/foo/"), -1);
    CHECK_INT(ing_path_matches("/foo", 1, "/FOO"), -1);
    CHECK_INT(ing_path_matches("/a/b", 0, "/a/b/c"), 4);
    CHECK_INT(ing_path_matches("/a/b", 0, "/a/bc"), -1);
}

static void test_host_matching(void)
{
    CHECK(ing_host_matches("", "anything.example.com"));
    CHECK(ing_host_matches("foo.com", "foo.com"));
    CHECK(!ing_host_matches("foo.com", "bar.foo.com"));
    CHECK(ing_host_matches("*.foo.com", "bar.foo.com"));
    CHECK(!ing_host_matches("*.foo.com", "foo.com"));
    CHECK(!ing_host_matches("*.foo.com", "baz.bar.foo.com"));
    CHECK(!ing_host_matches("*.foo.com", ".foo.com"));
}

static void test_table(void)
{
    struct ing_routes *r = ing_routes_new();
    json_t *a = parse(
        "{\"metadata\":{\"namespace\":\"ns\",\"name\":\"a\"},\"spec\":{\"rules\":["
        "{\"host\":\"foo.com\",\"http\":{\"paths\":[" PATH("/", "Prefix", SVC("root", 80)) "," PATH(
            "/foo/", "Prefix",
            SVC("foo",
                80)) "," PATH("/foo", "Exact",
                              SVC("fooexact",
                                  80)) "," PATH("/foo/bar", "ImplementationSpecific",
                                                SVC("bar",
                                                    80)) "," PATH("/x", "Exact",
                                                                  SVC("xexact",
                                                                      80)) "]}},"
                                                                           "{\"host\":\"*.foo."
                                                                           "com\",\"http\":{"
                                                                           "\"paths\":[" PATH(
                                                                               "/w", "Prefix",
                                                                               SVC("wild",
                                                                                   80)) "]}},"
                                                                                        "{\"http\":"
                                                                                        "{\"paths\""
                                                                                        ":[" PATH(
                                                                                            "/any",
                                                                                            "Prefi"
                                                                                            "x",
                                                                                            SVC("an"
                                                                                                "y",
                                                                                                80)) "]}}"
                                                                                                     "]}}");
    json_t *b = parse(
        "{\"metadata\":{\"namespace\":\"other\",\"name\":\"b\"},\"spec\":{"
        "\"defaultBackend\":{\"service\":{\"name\":\"def\",\"port\":{\"name\":\"http\"}}},"
        "\"rules\":[{\"host\":\"foo.com\",\"http\":{\"paths\":[" PATH(
            "/foo", "Prefix",
            SVC("newer",
                80)) "]}},"
                     "{\"host\":\"res.com\",\"http\":{\"paths\":[{\"path\":\"/"
                     "\",\"pathType\":\"Prefix\","
                     "\"backend\":{\"resource\":{\"kind\":\"Bucket\",\"name\":\"b\"}}}]}}]}}");
    json_t *c =
        parse("{\"metadata\":{\"namespace\":\"third\",\"name\":\"c\"},\"spec\":{"
              "\"defaultBackend\":{\"service\":{\"name\":\"def2\",\"port\":{\"number\":81}}}}}");
    CHECK_INT(ing_routes_add_ingress(r, a), 0);
    CHECK_INT(ing_routes_add_ingress(r, b), 0);
    CHECK_INT(ing_routes_add_ingress(r, c), 0);

    CHECK_STR(route(r, "foo.com", "/"), "ns/root:80");
    CHECK_STR(route(r, "foo.com", "/other"), "ns/root:80");
    /* Exact /foo and Prefix /foo/ (normalized to /foo) have equal length: Exact wins */
    CHECK_STR(route(r, "foo.com", "/foo"), "ns/fooexact:80");
    CHECK_STR(route(r, "foo.com", "/foo/"), "ns/foo:80");
    CHECK_STR(route(r, "foo.com", "/foo/baz"), "ns/foo:80");
    CHECK_STR(route(r, "foo.com", "/foobar"), "ns/root:80");
    /* longest path wins; ImplementationSpecific is a prefix */
    CHECK_STR(route(r, "foo.com", "/foo/bar"), "ns/bar:80");
    CHECK_STR(route(r, "foo.com", "/foo/bar/baz"), "ns/bar:80");
    CHECK_STR(route(r, "foo.com", "/foo/barn"), "ns/foo:80");
    CHECK_STR(route(r, "foo.com", "/x"), "ns/xexact:80");
    CHECK_STR(route(r, "foo.com", "/x/y"), "ns/root:80");
    /* wildcard host: one label */
    CHECK_STR(route(r, "a.foo.com", "/w/1"), "ns/wild:80");
    CHECK_STR(route(r, "a.b.foo.com", "/w/1"), "other/def:http");
    /* a wildcard host without a matching path falls to the rules without host */
    CHECK_STR(route(r, "a.foo.com", "/any"), "ns/any:80");
    CHECK_STR(route(r, "bar.com", "/any/thing"), "ns/any:80");
    /* the exact host had a match for /any (its "/" rule): the hostless rule is not used */
    CHECK_STR(route(r, "foo.com", "/any"), "ns/root:80");
    /* the default backend: the first added (oldest) Ingress's */
    CHECK_STR(route(r, "bar.com", "/"), "other/def:http");
    CHECK_STR(route(r, "", "/"), "other/def:http");
    /* resource backends are skipped: res.com falls to the default backend */
    CHECK_STR(route(r, "res.com", "/"), "other/def:http");
    ing_routes_free(r);

    /* equal paths from two Ingresses: the first added (the older one) wins */
    r = ing_routes_new();
    json_t *d = parse("{\"metadata\":{\"namespace\":\"d\",\"name\":\"d\"},\"spec\":{\"rules\":["
                      "{\"host\":\"foo.com\",\"http\":{\"paths\":[" PATH(
                          "/foo", "Prefix", SVC("older", 80)) "]}}]}}");
    ing_routes_add_ingress(r, d);
    ing_routes_add_ingress(r, b);
    CHECK_STR(route(r, "foo.com", "/foo"), "d/older:80");
    CHECK_STR(route(r, "nothing.com", "/"), "other/def:http");
    ing_routes_free(r);

    /* no rule and no default: no backend (404) */
    r = ing_routes_new();
    ing_routes_add_ingress(r, d);
    CHECK_STR(route(r, "foo.com", "/bar"), "-");
    CHECK_STR(route(r, "bar.com", "/foo"), "-");
    CHECK_INT(ing_routes_len(r), 1);
    ing_routes_free(r);

    /* a missing path (old API versions) is "/" */
    r = ing_routes_new();
    json_t *e =
        parse("{\"metadata\":{\"namespace\":\"e\",\"name\":\"e\"},\"spec\":{\"rules\":["
              "{\"http\":{\"paths\":[{\"pathType\":\"ImplementationSpecific\",\"backend\":" SVC(
                  "all", 80) "}]}}]}}");
    ing_routes_add_ingress(r, e);
    CHECK_STR(route(r, "x", "/deep/path"), "e/all:80");
    ing_routes_free(r);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(d);
    json_decref(e);
}

static void test_classes(void)
{
    struct ing_class_opts o = {"kubec", "kubec.io/ingress-controller"};
    json_t *none = json_array();
    json_t *ours_default = parse(
        "[{\"metadata\":{\"name\":\"kubec\",\"annotations\":{\"ingressclass.kubernetes.io/"
        "is-default-class\":\"true\"}},\"spec\":{\"controller\":\"kubec.io/ingress-controller\"}},"
        "{\"metadata\":{\"name\":\"other\"},\"spec\":{\"controller\":\"example.com/x\"}}]");
    json_t *ours_plain =
        parse("[{\"metadata\":{\"name\":\"mine\"},\"spec\":{\"controller\":\"kubec.io/"
              "ingress-controller\"}},"
              "{\"metadata\":{\"name\":\"other\",\"annotations\":{\"ingressclass.kubernetes.io/"
              "is-default-class\":\"true\"}},\"spec\":{\"controller\":\"example.com/x\"}}]");
    json_t *unset = parse("{\"spec\":{}}");
    json_t *to_kubec = parse("{\"spec\":{\"ingressClassName\":\"kubec\"}}");
    json_t *to_mine = parse("{\"spec\":{\"ingressClassName\":\"mine\"}}");
    json_t *to_other = parse("{\"spec\":{\"ingressClassName\":\"other\"}}");
    json_t *ann_kubec = parse(
        "{\"metadata\":{\"annotations\":{\"kubernetes.io/ingress.class\":\"kubec\"}},\"spec\":{}}");
    json_t *ann_other = parse(
        "{\"metadata\":{\"annotations\":{\"kubernetes.io/ingress.class\":\"nginx\"}},\"spec\":{}}");

    /* no IngressClass at all: unset and our name are served */
    CHECK(ing_class_serves(unset, none, &o));
    CHECK(ing_class_serves(to_kubec, none, &o));
    CHECK(!ing_class_serves(to_other, none, &o));
    CHECK(ing_class_serves(ann_kubec, none, &o));
    CHECK(!ing_class_serves(ann_other, none, &o));
    /* our class is the default */
    CHECK(ing_class_serves(unset, ours_default, &o));
    CHECK(ing_class_serves(to_kubec, ours_default, &o));
    CHECK(!ing_class_serves(to_other, ours_default, &o));
    /* a class of our controller under another name; the default belongs to another */
    CHECK(!ing_class_serves(unset, ours_plain, &o));
    CHECK(ing_class_serves(to_mine, ours_plain, &o));
    CHECK(!ing_class_serves(to_other, ours_plain, &o));
    CHECK(ing_class_serves(ann_kubec, ours_plain, &o));
    json_t *all[] = {none,    ours_default, ours_plain, unset,    to_kubec,
                     to_mine, to_other,     ann_kubec,  ann_other};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        json_decref(all[i]);
}

int main(void)
{
    test_path_matching();
    test_host_matching();
    test_table();
    test_classes();
    CHECK_DONE();
}
