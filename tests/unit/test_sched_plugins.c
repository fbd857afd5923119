/* The scheduling algorithm: quantities, pod requests, each filter with its upstream
 * reason, the aggregated FailedScheduling message, score effects, the spreading of a
 * ReplicaSet and a micro-benchmark (printed, not asserted). */
#include "check.h"
#include "lib/quantity.h"
#include "scheduler/plugins.h"
#include "scheduler/sched.h"

#include <stdlib.h>
#include <time.h>

/* ---- fixtures ---- */

static json_t *js(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, 0, &e);
    if (!v)
        fprintf(stderr, "bad test json: %s: %s\n", e.text, text);
    return v;
}

/* A node with labels (JSON object text), extra spec (JSON object text) and capacity. */
static struct kc_sched_node *mknode(const char *name, const char *labels, const char *spec,
                                    const char *cpu, const char *mem, int pods)
{
    struct kc_sched_node *n = calloc(1, sizeof *n);
    json_t *node = json_pack("{s:{s:s, s:o}, s:o, s:{s:{s:s, s:s, s:i}}}", "metadata", "name", name,
                             "labels", js(labels ? labels : "{}"), "spec", js(spec ? spec : "{}"),
                             "status", "allocatable", "cpu", cpu, "memory", mem, "pods", pods);
    n->name = strdup(name);
    n->node = node;
    kc_sched_node_allocatable(node, &n->allocatable);
    n->pods = json_array();
    n->host_ports = json_array();
    n->generation = 1;
    return n;
}

static void node_free(struct kc_sched_node *n)
{
    free(n->name);
    json_decref((json_t *)n->node);
    json_decref(n->pods);
    json_decref(n->host_ports);
    free(n);
}

/* What the cache does when a pod is assumed or bound to the node. */
static void node_add_pod(struct kc_sched_node *n, json_t *pod)
{
    struct kc_sched_resources r, nz;
    kc_sched_pod_requests(pod, &r, &nz);
    n->requested.milli_cpu += r.milli_cpu;
    n->requested.memory += r.memory;
    n->requested.ephemeral_storage += r.ephemeral_storage;
    n->requested.pods++;
    n->nonzero.milli_cpu += nz.milli_cpu;
    n->nonzero.memory += nz.memory;
    n->nonzero.pods++;
    size_t i, k;
    json_t *c, *p;
    json_array_foreach (json_object_get(json_object_get(pod, "spec"), "containers"), i, c) {
        json_array_foreach (json_object_get(c, "ports"), k, p) {
            if (json_integer_value(json_object_get(p, "hostPort")) > 0)
                json_array_append_new(
                    n->host_ports,
                    json_pack("{s:s, s:s, s:I}", "ip", "0.0.0.0", "protocol", "TCP", "port",
                              json_integer_value(json_object_get(p, "hostPort"))));
        }
    }
    json_array_append_new(n->pods, pod);
    n->generation++;
}

struct snap {
    struct kc_sched_snapshot s;
    struct kc_sched_node *nodes[8];
};

static void snap_free(struct snap *sn)
{
    for (size_t i = 0; i < sn->s.n; i++)
        node_free(sn->s.nodes[i]);
    sn->s.n = 0;
}

static void snap_init(struct snap *sn)
{
    memset(sn, 0, sizeof *sn);
    sn->s.nodes = sn->nodes;
}

static struct kc_sched_node *snap_add(struct snap *sn, struct kc_sched_node *n)
{
    sn->nodes[sn->s.n++] = n;
    return n;
}

/* Schedules the pod (JSON text): the chosen node's name or NULL with msg filled. */
static char g_msg[2048];
static const char *sched(struct snap *sn, const char *pod_json)
{
    json_t *pod = js(pod_json);
    struct kc_sched_pod p;
    kc_sched_pod_init(&p, pod);
    int i = kc_sched_schedule_one(&p, &sn->s, g_msg, sizeof g_msg);
    kc_sched_pod_release(&p);
    json_decref(pod);
    return i >= 0 ? sn->s.nodes[i]->name : NULL;
}

static const char *fail_msg(struct snap *sn, const char *pod_json)
{
    const char *r = sched(sn, pod_json);
    return r ? "(scheduled)" : g_msg;
}

#define POD_CPU(cpu)                                                                               \
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\"},\"spec\":{\"containers\":[{"         \
    "\"name\":\"c\",\"resources\":{\"requests\":{\"cpu\":\"" cpu "\"}}}]}}"
#define POD_SPEC(spec)                                                                             \
    "{\"metadata\":{\"name\":\"p\",\"namespace\":\"default\",\"labels\":{\"app\":\"x\"}},"         \
    "\"spec\":{\"containers\":[{\"name\":\"c\"}]," spec "}}"

#define UNRESOLVABLE1                                                                              \
    ". preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.."
#define NOVICTIMS1                                                                                 \
    ". preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.."

/* ---- quantities and requests ---- */

static int64_t qm(const char *s)
{
    int64_t v = -42;
    if (kc_quantity_parse_milli(s, &v) != 0)
        return -99;
    return v;
}

static int64_t qv(const char *s)
{
    int64_t v = -42;
    if (kc_quantity_parse_value(s, &v) != 0)
        return -99;
    return v;
}

static void test_quantity(void)
{
    CHECK_INT(qm("100m"), 100);
    CHECK_INT(qm("1"), 1000);
    CHECK_INT(qm("0.5"), 500);
    CHECK_INT(qm("2.5"), 2500);
    CHECK_INT(qm("1.0001"), 1001); /* rounded up */
    CHECK_INT(qm("250000u"), 250);
    CHECK_INT(qm("1n"), 1);
    CHECK_INT(qm("1k"), 1000000);
    CHECK_INT(qm("-100m"), -100);
    CHECK_INT(qm(".5"), 500);
    CHECK_INT(qv("2Gi"), 2147483648LL);
    CHECK_INT(qv("500M"), 500000000);
    CHECK_INT(qv("1e3"), 1000);
    CHECK_INT(qv("1E3"), 1000);
    CHECK_INT(qv("1E"), 1000000000000000000LL);
    CHECK_INT(qv("1.5Gi"), 1610612736);
    CHECK_INT(qv("128974848"), 128974848);
    CHECK_INT(qv("129e6"), 129000000);
    CHECK_INT(qv("123Mi"), 128974848);
    CHECK_INT(qv("0.1"), 1);
    CHECK_INT(qv("100m"), 1);
    CHECK_INT(qv("0"), 0);
    CHECK_INT(qv("1e-3"), 1);
    CHECK_INT(qv("+5"), 5);
    CHECK_INT(qv("10Ei"), INT64_MAX); /* saturates */
    CHECK_INT(qv("99999999999999999999999999999999999999999"), INT64_MAX);
    CHECK_INT(qm("9223372036854775807"), INT64_MAX);
    CHECK_INT(qv("1e999999999"), INT64_MAX);
    CHECK_INT(qv("1e-999999999"), 1);
    CHECK_INT(qv(""), -99);
    CHECK_INT(qv("m"), -99);
    CHECK_INT(qv("1x"), -99);
    CHECK_INT(qv("1 "), -99);
    CHECK_INT(qv(" 1"), -99);
    CHECK_INT(qv("1e"), -99);
    CHECK_INT(qv("1Kii"), -99);
    CHECK_INT(qv("1.2.3"), -99);
    CHECK_INT(qv("--1"), -99);
    CHECK_INT(qv(NULL), -99);

    int64_t v = 0;
    json_t *n = json_integer(3);
    CHECK(kc_quantity_json_milli(n, &v) == 0 && v == 3000);
    json_decref(n);
    n = json_real(0.25);
    CHECK(kc_quantity_json_milli(n, &v) == 0 && v == 250);
    json_decref(n);
    n = json_string("64Mi");
    CHECK(kc_quantity_json_value(n, &v) == 0 && v == 67108864);
    json_decref(n);
    n = json_true();
    CHECK(kc_quantity_json_value(n, &v) == -1);
    json_decref(n);
}

static void test_requests(void)
{
    struct kc_sched_resources r, nz;
    json_t *pod = js("{\"spec\":{\"containers\":["
                     "{\"resources\":{\"requests\":{\"cpu\":\"100m\",\"memory\":\"1Gi\"}}},"
                     "{\"resources\":{\"requests\":{\"cpu\":\"200m\"}}},{}],"
                     "\"initContainers\":[{\"resources\":{\"requests\":{\"cpu\":\"1\"}}}],"
                     "\"overhead\":{\"cpu\":\"10m\",\"memory\":\"1Mi\"}}}");
    kc_sched_pod_requests(pod, &r, &nz);
    CHECK_INT(r.milli_cpu, 1010); /* init container 1 > 300m, + overhead */
    CHECK_INT(r.memory, 1073741824LL + 1048576);
    CHECK_INT(r.pods, 1);
    /* nonzero: the two containers without memory and the empty one count 200Mi / 100m;
     * the init container counts 1 cpu and 200Mi */
    CHECK_INT(nz.milli_cpu, 1010);
    CHECK_INT(nz.memory, 1073741824LL + 2 * 209715200LL + 1048576);
    json_decref(pod);

    /* sidecars (restartPolicy Always) add to the sum and to later init containers */
    pod = js("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"100m\"}}}],"
             "\"initContainers\":["
             "{\"restartPolicy\":\"Always\",\"resources\":{\"requests\":{\"cpu\":\"300m\"}}},"
             "{\"resources\":{\"requests\":{\"cpu\":\"500m\"}}}]}}");
    kc_sched_pod_requests(pod, &r, NULL);
    CHECK_INT(r.milli_cpu, 800); /* max(100+300, 300+500) */
    json_decref(pod);

    pod = js("{\"spec\":{\"containers\":[{}]}}");
    kc_sched_pod_requests(pod, &r, &nz);
    CHECK_INT(r.milli_cpu, 0);
    CHECK_INT(r.memory, 0);
    CHECK_INT(nz.milli_cpu, 100);
    CHECK_INT(nz.memory, 209715200);
    json_decref(pod);

    json_t *node =
        js("{\"status\":{\"capacity\":{\"cpu\":\"4\",\"memory\":\"8Gi\",\"pods\":\"110\","
           "\"ephemeral-storage\":\"100Gi\"},\"allocatable\":{\"cpu\":\"3500m\"}}}");
    kc_sched_node_allocatable(node, &r);
    CHECK_INT(r.milli_cpu, 3500);
    CHECK_INT(r.memory, 8589934592LL);
    CHECK_INT(r.pods, 110);
    CHECK_INT(r.ephemeral_storage, 107374182400LL);
    json_decref(node);
}

/* ---- filters ---- */

static void test_filter_unschedulable(void)
{
    struct snap sn;
    snap_init(&sn);
    snap_add(&sn, mknode("n1", NULL, "{\"unschedulable\":true}", "4", "8Gi", 110));
    CHECK_STR(fail_msg(&sn, POD_CPU("100m")),
              "0/1 nodes are available: 1 node(s) were unschedulable" UNRESOLVABLE1);
    CHECK_STR(sched(&sn, POD_SPEC("\"tolerations\":[{\"key\":\"node.kubernetes.io/unschedulable\","
                                  "\"operator\":\"Exists\",\"effect\":\"NoSchedule\"}]")),
              "n1");
    snap_free(&sn);
}

static void test_filter_node_name(void)
{
    struct snap sn;
    snap_init(&sn);
    snap_add(&sn, mknode("n1", NULL, NULL, "4", "8Gi", 110));
    snap_add(&sn, mknode("n2", NULL, NULL, "4", "8Gi", 110));
    CHECK_STR(sched(&sn, POD_SPEC("\"nodeName\":\"n2\"")), "n2");
    CHECK_STR(fail_msg(&sn, POD_SPEC("\"nodeName\":\"n3\"")),
              "0/2 nodes are available: 2 node(s) didn't match the requested node name. "
              "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
    snap_free(&sn);
}

static void test_filter_taints(void)
{
    struct snap sn;
    snap_init(&sn);
    snap_add(
        &sn,
        mknode("n1", NULL,
               "{\"taints\":[{\"key\":\"node-role.kubernetes.io/control-plane\","
               "\"effect\":\"NoSchedule\"},{\"key\":\"soft\",\"effect\":\"PreferNoSchedule\"}]}",
               "4", "8Gi", 110));
    CHECK_STR(fail_msg(&sn, POD_CPU("1")),
              "0/1 nodes are available: 1 node(s) had untolerated taint "
              "{node-role.kubernetes.io/control-plane: }" UNRESOLVABLE1);
    /* Exists on the key, empty key with Exists, Equal with a value */
    CHECK_STR(sched(&sn, POD_SPEC("\"tolerations\":[{\"key\":\"node-role.kubernetes.io/"
                                  "control-plane\",\"operator\":\"Exists\"}]")),
              "n1");
    CHECK_STR(sched(&sn, POD_SPEC("\"tolerations\":[{\"operator\":\"Exists\"}]")), "n1");
    CHECK(!sched(&sn,
                 POD_SPEC("\"tolerations\":[{\"key\":\"node-role.kubernetes.io/"
                          "control-plane\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]")));
    snap_free(&sn);

    snap_init(&sn);
    snap_add(&sn, mknode("n1", NULL,
                         "{\"taints\":[{\"key\":\"dedicated\",\"value\":\"gpu\","
                         "\"effect\":\"NoExecute\"}]}",
                         "4", "8Gi", 110));
    CHECK_STR(
        fail_msg(&sn, POD_CPU("1")),
        "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}" UNRESOLVABLE1);
    CHECK_STR(sched(&sn, POD_SPEC("\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\","
                                  "\"value\":\"gpu\"}]")),
              "n1");
    CHECK(!sched(&sn, POD_SPEC("\"tolerations\":[{\"key\":\"dedicated\",\"value\":\"cpu\"}]")));
    snap_free(&sn);
}

static void test_filter_node_affinity(void)
{
    struct snap sn;
    snap_init(&sn);
    snap_add(&sn, mknode("n1", "{\"zone\":\"a\",\"size\":\"4\"}", NULL, "4", "8Gi", 110));
    snap_add(&sn,
             mknode("n2", "{\"zone\":\"b\",\"size\":\"16\",\"gpu\":\"\"}", NULL, "4", "8Gi", 110));
    CHECK_STR(sched(&sn, POD_SPEC("\"nodeSelector\":{\"zone\":\"b\"}")), "n2");
    CHECK_STR(fail_msg(&sn, POD_SPEC("\"nodeSelector\":{\"zone\":\"c\"}")),
              "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector. "
              "preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
#define REQ(exprs)                                                                                 \
    POD_SPEC("\"affinity\":{\"nodeAffinity\":{\"requiredDuringSchedulingIgnoredDuringExecution\":" \
             "{\"nodeSelectorTerms\":[" exprs "]}}}")
    CHECK_STR(sched(&sn, REQ("{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
                             "\"values\":[\"x\",\"a\"]}]}")),
              "n1");
    CHECK_STR(sched(&sn, REQ("{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"NotIn\","
                             "\"values\":[\"a\"]}]}")),
              "n2");
    CHECK_STR(sched(&sn, REQ("{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"Exists\"}]}")),
              "n2");
    CHECK_STR(
        sched(&sn, REQ("{\"matchExpressions\":[{\"key\":\"gpu\",\"operator\":\"DoesNotExist\"}]}")),
        "n1");
    CHECK_STR(sched(&sn, REQ("{\"matchExpressions\":[{\"key\":\"size\",\"operator\":\"Gt\","
                             "\"values\":[\"8\"]}]}")),
              "n2");
    CHECK_STR(sched(&sn, REQ("{\"matchExpressions\":[{\"key\":\"size\",\"operator\":\"Lt\","
                             "\"values\":[\"8\"]}]}")),
              "n1");
    CHECK_STR(sched(&sn, REQ("{\"matchFields\":[{\"key\":\"metadata.name\",\"operator\":\"In\","
                             "\"values\":[\"n2\"]}]}")),
              "n2");
    /* terms ORed, expressions ANDed; an empty term matches nothing */
    CHECK_STR(sched(&sn, REQ("{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
                             "\"values\":[\"a\"]},{\"key\":\"gpu\",\"operator\":\"Exists\"}]},"
                             "{\"matchExpressions\":[{\"key\":\"size\",\"operator\":\"In\","
                             "\"values\":[\"16\"]}]}")),
              "n2");
    CHECK(!sched(&sn, REQ("{\"matchExpressions\":[{\"key\":\"zone\",\"operator\":\"In\","
                          "\"values\":[\"a\"]},{\"key\":\"gpu\",\"operator\":\"Exists\"}]}")));
    CHECK(!sched(&sn, REQ("{}")));
    snap_free(&sn);
}

static void test_filter_resources(void)
{
    struct snap sn;
    snap_init(&sn);
    snap_add(&sn, mknode("n1", NULL, NULL, "1", "1Gi", 110));
    CHECK_STR(fail_msg(&sn, POD_CPU("1500m")),
              "0/1 nodes are available: 1 Insufficient cpu" NOVICTIMS1);
    CHECK_STR(fail_msg(&sn, "{\"spec\":{\"containers\":[{\"resources\":{\"requests\":"
                            "{\"cpu\":\"2\",\"memory\":\"2Gi\"}}}]}}"),
              "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory" NOVICTIMS1);
    CHECK_STR(sched(&sn, POD_CPU("1")), "n1");
    snap_free(&sn);

    snap_init(&sn);
    struct kc_sched_node *n = snap_add(&sn, mknode("n1", NULL, NULL, "4", "8Gi", 1));
    node_add_pod(n, js("{\"metadata\":{\"name\":\"a\"},\"spec\":{\"containers\":[{}]}}"));
    CHECK_STR(fail_msg(&sn, POD_CPU("1")), "0/1 nodes are available: 1 Too many pods" NOVICTIMS1);
    snap_free(&sn);

    /* preemptionPolicy Never */
    snap_init(&sn);
    snap_add(&sn, mknode("n1", NULL, NULL, "1", "1Gi", 110));
    CHECK_STR(fail_msg(&sn, "{\"spec\":{\"preemptionPolicy\":\"Never\",\"containers\":"
                            "[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}}"),
              "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to "
              "preemptionPolicy=Never..");
    snap_free(&sn);
}

static void test_filter_ports(void)
{
    struct snap sn;
    snap_init(&sn);
    struct kc_sched_node *n = snap_add(&sn, mknode("n1", NULL, NULL, "4", "8Gi", 110));
    const char *pod = POD_SPEC("\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":80,"
                               "\"hostPort\":8080}]}]");
    CHECK_STR(sched(&sn, pod), "n1");
    node_add_pod(n, js(pod));
    CHECK_STR(fail_msg(&sn, pod), "0/1 nodes are available: 1 node(s) didn't have free ports for "
                                  "the requested pod ports" NOVICTIMS1);
    /* another protocol is free */
    CHECK_STR(sched(&sn, POD_SPEC("\"containers\":[{\"name\":\"c\",\"ports\":[{\"containerPort\":"
                                  "80,\"hostPort\":8080,\"protocol\":\"UDP\"}]}]")),
              "n1");
    snap_free(&sn);
}

#define HOST(n) "{\"kubernetes.io/hostname\":\"" n "\",\"topology.kubernetes.io/zone\":\"z\"}"

static void test_filter_interpod(void)
{
    struct snap sn;
    snap_init(&sn);
    struct kc_sched_node *n1 = snap_add(&sn, mknode("n1", HOST("n1"), NULL, "4", "8Gi", 110));
    snap_add(&sn, mknode("n2", HOST("n2"), NULL, "4", "8Gi", 110));
    node_add_pod(n1, js("{\"metadata\":{\"name\":\"db\",\"namespace\":\"default\","
                        "\"labels\":{\"app\":\"db\"}},\"spec\":{\"containers\":[{}]}}"));
#define AFF(kind, key, app)                                                                        \
    POD_SPEC("\"affinity\":{\"" kind "\":{\"requiredDuringSchedulingIgnoredDuringExecution\":[{"   \
             "\"labelSelector\":{\"matchLabels\":{\"app\":\"" app "\"}},\"topologyKey\":\"" key    \
             "\"}]}}")
    for (int i = 0; i < 5; i++) {
        CHECK_STR(sched(&sn, AFF("podAffinity", "kubernetes.io/hostname", "db")), "n1");
        CHECK_STR(sched(&sn, AFF("podAntiAffinity", "kubernetes.io/hostname", "db")), "n2");
    }
    /* zone-wide: both nodes share zone z */
    CHECK_STR(fail_msg(&sn, AFF("podAntiAffinity", "topology.kubernetes.io/zone", "db")),
              "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules. "
              "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming "
              "pod..");
    CHECK_STR(fail_msg(&sn, AFF("podAffinity", "kubernetes.io/hostname", "web")),
              "0/2 nodes are available: 2 node(s) didn't match pod affinity rules. preemption: "
              "0/2 nodes are available: 2 Preemption is not helpful for scheduling..");
    /* a pod with affinity to its own labels may start the group */
    CHECK(sched(&sn, AFF("podAffinity", "kubernetes.io/hostname", "x")) != NULL);
    /* namespaces: the db pod is in "default", a term for namespace "other" sees nothing */
    CHECK(sched(&sn, POD_SPEC("\"affinity\":{\"podAntiAffinity\":{\"requiredDuringScheduling"
                              "IgnoredDuringExecution\":[{\"labelSelector\":{\"matchLabels\":"
                              "{\"app\":\"db\"}},\"namespaces\":[\"other\"],\"topologyKey\":"
                              "\"topology.kubernetes.io/zone\"}]}}")) != NULL);
    snap_free(&sn);

    /* existing pods' anti-affinity against the incoming pod */
    snap_init(&sn);
    n1 = snap_add(&sn, mknode("n1", HOST("n1"), NULL, "4", "8Gi", 110));
    node_add_pod(n1, js("{\"metadata\":{\"name\":\"lonely\",\"namespace\":\"default\"},\"spec\":{"
                        "\"containers\":[{}],\"affinity\":{\"podAntiAffinity\":{"
                        "\"requiredDuringSchedulingIgnoredDuringExecution\":[{\"labelSelector\":"
                        "{\"matchLabels\":{\"app\":\"x\"}},\"topologyKey\":\"kubernetes.io/"
                        "hostname\"}]}}}}"));
    CHECK_STR(sched(&sn, POD_CPU("100m")), "n1"); /* no app=x label */
    CHECK_STR(fail_msg(&sn, POD_SPEC("\"priority\":0")),
              "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity "
              "rules" NOVICTIMS1);
    snap_free(&sn);
}

static void test_filter_spread(void)
{
    struct snap sn;
    snap_init(&sn);
    struct kc_sched_node *n1 = snap_add(&sn, mknode("n1", HOST("n1"), NULL, "4", "8Gi", 110));
    snap_add(&sn,
             mknode("n2", HOST("n2"), "{\"taints\":[{\"key\":\"t\",\"effect\":\"NoSchedule\"}]}",
                    "4", "8Gi", 110));
    snap_add(&sn, mknode("n3", "{}", NULL, "4", "8Gi", 110));
    const char *pod = POD_SPEC("\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
                               "\"kubernetes.io/hostname\",\"whenUnsatisfiable\":\"DoNotSchedule\","
                               "\"labelSelector\":{\"matchLabels\":{\"app\":\"x\"}}}]");
    CHECK_STR(sched(&sn, pod), "n1");
    node_add_pod(n1, js("{\"metadata\":{\"name\":\"a\",\"namespace\":\"default\","
                        "\"labels\":{\"app\":\"x\"}},\"spec\":{\"containers\":[{}]}}"));
    /* n1: 1 + 1 - 0 (n2 counts as a domain with 0: taints are ignored) > 1 */
    CHECK_STR(fail_msg(&sn, pod),
              "0/3 nodes are available: 1 node(s) didn't match pod topology spread constraints, "
              "1 node(s) didn't match pod topology spread constraints (missing required label), "
              "1 node(s) had untolerated taint {t: }. preemption: 0/3 nodes are available: 1 No "
              "preemption victims found for incoming pod, 2 Preemption is not helpful for "
              "scheduling..");
    /* pods of another namespace or terminating ones do not count */
    snap_free(&sn);
    snap_init(&sn);
    n1 = snap_add(&sn, mknode("n1", HOST("n1"), NULL, "4", "8Gi", 110));
    snap_add(&sn, mknode("n2", HOST("n2"), NULL, "4", "8Gi", 110));
    node_add_pod(n1, js("{\"metadata\":{\"name\":\"a\",\"namespace\":\"other\","
                        "\"labels\":{\"app\":\"x\"}},\"spec\":{\"containers\":[{}]}}"));
    node_add_pod(n1, js("{\"metadata\":{\"name\":\"b\",\"namespace\":\"default\","
                        "\"deletionTimestamp\":\"2024-01-01T00:00:00Z\","
                        "\"labels\":{\"app\":\"x\"}},\"spec\":{\"containers\":[{}]}}"));
    const char *pod0 = POD_SPEC("\"topologySpreadConstraints\":[{\"maxSkew\":1,\"topologyKey\":"
                                "\"kubernetes.io/hostname\",\"labelSelector\":{\"matchLabels\":"
                                "{\"app\":\"x\"}}}],\"nodeSelector\":{\"kubernetes.io/hostname\":"
                                "\"n1\"}");
    CHECK_STR(sched(&sn, pod0), "n1");
    snap_free(&sn);
}

/* All nodes failing, reasons counted and sorted as FitError.Error() does. */
static void test_message(void)
{
    struct snap sn;
    snap_init(&sn);
    snap_add(&sn, mknode("n1", "{\"disk\":\"ssd\"}", NULL, "1", "8Gi", 110));
    snap_add(&sn, mknode("n2", "{\"disk\":\"ssd\"}", NULL, "1", "8Gi", 110));
    snap_add(&sn, mknode("n3", "{}", NULL, "1", "8Gi", 110));
    snap_add(&sn, mknode("n4", "{}", NULL, "8", "8Gi", 110));
    snap_add(&sn, mknode("n5", "{}", NULL, "8", "8Gi", 110));
    CHECK_STR(fail_msg(&sn, "{\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"},\"containers\":"
                            "[{\"resources\":{\"requests\":{\"cpu\":\"2\"}}}]}}"),
              "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) didn't match Pod's node "
              "affinity/selector. preemption: 0/5 nodes are available: 2 No preemption victims "
              "found for incoming pod, 3 Preemption is not helpful for scheduling..");
    snap_free(&sn);

    snap_init(&sn);
    CHECK_STR(fail_msg(&sn, POD_CPU("1")), "no nodes available to schedule pods");
}

/* ---- scores ---- */

static void test_scores(void)
{
    struct snap sn;
    snap_init(&sn);
    /* LeastAllocated: the emptier node */
    struct kc_sched_node *n1 = snap_add(&sn, mknode("n1", HOST("n1"), NULL, "4", "8Gi", 110));
    snap_add(&sn, mknode("n2", HOST("n2"), NULL, "4", "8Gi", 110));
    node_add_pod(n1, js(POD_CPU("2")));
    for (int i = 0; i < 5; i++)
        CHECK_STR(sched(&sn, POD_CPU("100m")), "n2");
    /* preferred node affinity outweighs it */
    for (int i = 0; i < 5; i++)
        CHECK_STR(sched(&sn, POD_SPEC("\"affinity\":{\"nodeAffinity\":{\"preferredDuringScheduling"
                                      "IgnoredDuringExecution\":[{\"weight\":10,\"preference\":{"
                                      "\"matchExpressions\":[{\"key\":\"kubernetes.io/hostname\","
                                      "\"operator\":\"In\",\"values\":[\"n1\"]}]}}]}}")),
                  "n1");
    /* preferred pod affinity to the pod on n1, preferred anti-affinity away from it */
    json_object_set_new(json_object_get(json_array_get(n1->pods, 0), "metadata"), "labels",
                        js("{\"app\":\"db\"}"));
    n1->generation++;
#define PREF(kind)                                                                                 \
    POD_SPEC("\"affinity\":{\"" kind "\":{\"preferredDuringSchedulingIgnoredDuringExecution\":[{"  \
             "\"weight\":50,\"podAffinityTerm\":{\"labelSelector\":{\"matchLabels\":{\"app\":"     \
             "\"db\"}},\"topologyKey\":\"kubernetes.io/hostname\"}}]}}")
    for (int i = 0; i < 5; i++) {
        CHECK_STR(sched(&sn, PREF("podAffinity")), "n1");
        CHECK_STR(sched(&sn, PREF("podAntiAffinity")), "n2");
    }
    snap_free(&sn);

    /* PreferNoSchedule taints are avoided unless tolerated; n2 is fuller */
    snap_init(&sn);
    snap_add(&sn,
             mknode("n1", NULL, "{\"taints\":[{\"key\":\"k\",\"effect\":\"PreferNoSchedule\"}]}",
                    "4", "8Gi", 110));
    struct kc_sched_node *n2 = snap_add(&sn, mknode("n2", NULL, NULL, "4", "8Gi", 110));
    node_add_pod(n2, js(POD_CPU("1")));
    for (int i = 0; i < 5; i++) {
        CHECK_STR(sched(&sn, POD_CPU("100m")), "n2");
        CHECK_STR(sched(&sn, POD_SPEC("\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\","
                                      "\"effect\":\"PreferNoSchedule\"}]")),
                  "n1");
    }
    snap_free(&sn);

    /* BalancedAllocation: n1 would be cpu-heavy, n2 balanced; LeastAllocated is equal */
    snap_init(&sn);
    n1 = snap_add(&sn, mknode("n1", NULL, NULL, "4", "4Gi", 110));
    n2 = snap_add(&sn, mknode("n2", NULL, NULL, "4", "4Gi", 110));
    node_add_pod(n1, js("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"2\","
                        "\"memory\":\"1Gi\"}}}]}}"));
    node_add_pod(n2, js("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":\"1\","
                        "\"memory\":\"2Gi\"}}}]}}"));
    for (int i = 0; i < 5; i++)
        CHECK_STR(sched(&sn, "{\"spec\":{\"containers\":[{\"resources\":{\"requests\":{\"cpu\":"
                             "\"1\",\"memory\":\"100Mi\"}}}]}}"),
                  "n2");
    snap_free(&sn);

    /* soft topology spread (ScheduleAnyway) by zone */
    snap_init(&sn);
    n1 = snap_add(&sn,
                  mknode("n1", "{\"topology.kubernetes.io/zone\":\"a\"}", NULL, "8", "8Gi", 110));
    snap_add(&sn, mknode("n2", "{\"topology.kubernetes.io/zone\":\"a\"}", NULL, "8", "8Gi", 110));
    snap_add(&sn, mknode("n3", "{\"topology.kubernetes.io/zone\":\"b\"}", NULL, "4", "8Gi", 110));
    for (int i = 0; i < 2; i++)
        node_add_pod(n1, js("{\"metadata\":{\"namespace\":\"default\",\"labels\":{\"app\":\"x\"}},"
                            "\"spec\":{\"containers\":[{}]}}"));
    for (int i = 0; i < 5; i++)
        CHECK_STR(sched(&sn, POD_SPEC("\"topologySpreadConstraints\":[{\"maxSkew\":1,"
                                      "\"topologyKey\":\"topology.kubernetes.io/zone\","
                                      "\"whenUnsatisfiable\":\"ScheduleAnyway\",\"labelSelector\":"
                                      "{\"matchLabels\":{\"app\":\"x\"}}}]")),
                  "n3");
    snap_free(&sn);
}

/* 10 replicas of one ReplicaSet on 5 equal empty nodes: 2 per node. */
static json_t *rs_pod(int i, const char *uid)
{
    char name[32];
    snprintf(name, sizeof name, "web-%d", i);
    return json_pack("{s:{s:s, s:s, s:{s:s}, s:[{s:s, s:s, s:s, s:b}]}, s:{s:[{s:s, s:{s:{s:s, "
                     "s:s}}}]}}",
                     "metadata", "name", name, "namespace", "default", "labels", "app", "web",
                     "ownerReferences", "kind", "ReplicaSet", "name", "web", "uid", uid,
                     "controller", 1, "spec", "containers", "name", "c", "resources", "requests",
                     "cpu", "100m", "memory", "64Mi");
}

static void test_spread_replicaset(void)
{
    struct snap sn;
    snap_init(&sn);
    char name[16], labels[128];
    for (int i = 0; i < 5; i++) {
        snprintf(name, sizeof name, "n%d", i);
        snprintf(labels, sizeof labels,
                 "{\"kubernetes.io/hostname\":\"%s\",\"topology.kubernetes.io/zone\":\"z%d\"}",
                 name, i % 2);
        snap_add(&sn, mknode(name, labels, NULL, "4", "8Gi", 110));
    }
    for (int i = 0; i < 10; i++) {
        json_t *pod = rs_pod(i, "uid-web");
        struct kc_sched_pod p;
        kc_sched_pod_init(&p, pod);
        int k = kc_sched_schedule_one(&p, &sn.s, g_msg, sizeof g_msg);
        kc_sched_pod_release(&p);
        CHECK(k >= 0);
        if (k >= 0)
            node_add_pod(sn.s.nodes[k], pod);
        else
            json_decref(pod);
    }
    for (int i = 0; i < 5; i++)
        CHECK_INT(json_array_size(sn.s.nodes[i]->pods), 2);
    snap_free(&sn);
}

/* ---- micro-benchmark ---- */

static void bench(size_t nnodes, int npods)
{
    struct kc_sched_snapshot s = {calloc(nnodes, sizeof(struct kc_sched_node *)), nnodes};
    char name[32], labels[160];
    for (size_t i = 0; i < nnodes; i++) {
        snprintf(name, sizeof name, "node-%zu", i);
        snprintf(labels, sizeof labels,
                 "{\"kubernetes.io/hostname\":\"%s\",\"topology.kubernetes.io/zone\":\"z%zu\","
                 "\"kubernetes.io/os\":\"linux\"}",
                 name, i % 3);
        s.nodes[i] = mknode(name, labels, NULL, "32", "128Gi", 110);
    }
    struct timespec t0, t1;
    double total_us = 0;
    int ok = 0;
    for (int i = 0; i < npods; i++) {
        char uid[16];
        snprintf(uid, sizeof uid, "uid-%d", i / 100); /* ReplicaSets of 100 pods */
        json_t *pod = rs_pod(i, uid);
        struct kc_sched_pod p;
        kc_sched_pod_init(&p, pod);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int k = kc_sched_schedule_one(&p, &s, g_msg, sizeof g_msg);
        kc_sched_pod_release(&p);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        total_us += (double)(t1.tv_sec - t0.tv_sec) * 1e6 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e3;
        if (k >= 0) {
            node_add_pod(s.nodes[k], pod);
            ok++;
        } else {
            json_decref(pod);
        }
    }
    double us = total_us / npods;
    fprintf(stderr, "bench: %zu nodes, %d pods (%d placed): %.1f us per schedule_one\n", nnodes,
            npods, ok, us);
    for (size_t i = 0; i < nnodes; i++)
        node_free(s.nodes[i]);
    free(s.nodes);
    kc_sched_algorithm_reset();
}

int main(int argc, char **argv)
{
    test_quantity();
    test_requests();
    test_filter_unschedulable();
    test_filter_node_name();
    test_filter_taints();
    test_filter_node_affinity();
    test_filter_resources();
    test_filter_ports();
    test_filter_interpod();
    test_filter_spread();
    test_message();
    test_scores();
    test_spread_replicaset();
    kc_sched_algorithm_reset();
    int pods = argc > 1 ? atoi(argv[1]) : 2000;
    bench(1000, pods);
    bench(5000, pods);
    CHECK_DONE();
}
