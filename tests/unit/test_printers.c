/* Table columns and cells against what the real server prints. */
#include "apiserver/printers/printers.h"
#include "check.h"
#include "lib/timeutil.h"

#include <stdlib.h>

static char *cells_of(const char *group, const char *resource, const char *obj, time_t now)
{
    json_t *o = json_loads(obj, 0, NULL);
    json_t *c = kc_printer_cells(group, resource, o, now);
    char *s = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    json_decref(o);
    return s;
}

static char *header_of(const char *group, const char *resource)
{
    json_t *cols = kc_printer_columns(group, resource), *c;
    size_t i;
    char buf[1024] = "";
    json_array_foreach (cols, i, c) {
        strcat(buf, i ? "|" : "");
        strcat(buf, json_string_value(json_object_get(c, "name")));
        if (json_integer_value(json_object_get(c, "priority")))
            strcat(buf, "*");
    }
    json_decref(cols);
    return strdup(buf);
}

#define CELLS(g, r, obj, want)                                                                     \
    do {                                                                                           \
        char *s_ = cells_of(g, r, obj, now);                                                       \
        CHECK_STR(s_, want);                                                                       \
        free(s_);                                                                                  \
    } while (0)
#define HEADER(g, r, want)                                                                         \
    do {                                                                                           \
        char *s_ = header_of(g, r);                                                                \
        CHECK_STR(s_, want);                                                                       \
        free(s_);                                                                                  \
    } while (0)

int main(void)
{
    time_t now;
    kc_time_parse("2026-11-24T12:00:00Z", &now);
    char d[32];
    kc_human_duration(5, d, sizeof d);
    CHECK_STR(d, "5s");
    kc_human_duration(125, d, sizeof d);
    CHECK_STR(d, "2m5s");
    kc_human_duration(600, d, sizeof d);
    CHECK_STR(d, "10m");
    kc_human_duration(3 * 3600 + 60, d, sizeof d);
    CHECK_STR(d, "3h1m");
    kc_human_duration(20 * 3600, d, sizeof d);
    CHECK_STR(d, "20h");
    kc_human_duration(3 * 86400 + 3600, d, sizeof d);
    CHECK_STR(d, "3d1h");
    kc_human_duration(45 * 86400, d, sizeof d);
    CHECK_STR(d, "45d");
    kc_human_duration(3 * 365 * 86400 + 20 * 86400, d, sizeof d);
    CHECK_STR(d, "3y20d");

    HEADER("apps", "deployments",
           "Name|Ready|Up-to-date|Available|Age|Containers*|Images*|Selector*");
    HEADER("", "pods", "Name|Ready|Status|Restarts|Age|IP*|Node*|Nominated Node*|Readiness Gates*");
    HEADER("", "services", "Name|Type|Cluster-IP|External-IP|Port(s)|Age|Selector*");
    HEADER("", "nodes",
           "Name|Status|Roles|Age|Version|Internal-IP*|External-IP*|OS-Image*|Kernel-Version*|"
           "Container-Runtime*");
    HEADER("", "events",
           "Last Seen|Type|Reason|Object|Subobject*|Source*|Message|First Seen*|Count*|Name*");
    HEADER("networking.k8s.io", "ingresses", "Name|Class|Hosts|Address|Ports|Age");
    HEADER("apps", "replicasets", "Name|Desired|Current|Ready|Age|Containers*|Images*|Selector*");
    HEADER("example.com", "widgets", "Name|Created At");

    CELLS("apps", "deployments",
          "{\"metadata\":{\"name\":\"demo\",\"creationTimestamp\":\"2026-11-24T11:59:30Z\"},"
          "\"spec\":{\"replicas\":10,\"selector\":{\"matchLabels\":{\"app\":\"demo\"}},"
          "\"template\":{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"img:1\"},{\"name\":"
          "\"b\",\"image\":\"img:2\"}]}}},"
          "\"status\":{\"readyReplicas\":3,\"updatedReplicas\":4,\"availableReplicas\":3}}",
          "[\"demo\",\"3/10\",4,3,\"30s\",\"a,b\",\"img:1,img:2\",\"app=demo\"]");
    CELLS(
        "", "pods",
        "{\"metadata\":{\"name\":\"web\",\"creationTimestamp\":\"2026-11-24T11:00:00Z\"},"
        "\"spec\":{\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Pending\"}}",
        "[\"web\",\"0/1\",\"Pending\",\"0\",\"60m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    CELLS("", "pods",
          "{\"metadata\":{\"name\":\"crash\",\"creationTimestamp\":\"2026-11-24T11:00:00Z\"},"
          "\"spec\":{\"nodeName\":\"n1\",\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":"
          "\"Running\",\"podIP\":\"10.244.1.5\","
          "\"podIPs\":[{\"ip\":\"10.244.1.5\"}],\"containerStatuses\":[{\"name\":\"c\",\"ready\":"
          "false,\"restartCount\":3,"
          "\"state\":{\"waiting\":{\"reason\":\"CrashLoopBackOff\"}},\"lastState\":{\"terminated\":"
          "{\"exitCode\":1,\"finishedAt\":\"2026-11-24T11:55:00Z\"}}}]}}",
          "[\"crash\",\"0/1\",\"CrashLoopBackOff\",\"3 (5m "
          "ago)\",\"60m\",\"10.244.1.5\",\"n1\",\"<none>\",\"<none>\"]");
    CELLS("", "pods",
          "{\"metadata\":{\"name\":\"ok\",\"creationTimestamp\":\"2026-11-24T11:00:00Z\","
          "\"deletionTimestamp\":\"2026-11-24T12:00:30Z\"},"
          "\"spec\":{\"containers\":[{\"name\":\"c\"}]},\"status\":{\"phase\":\"Running\","
          "\"containerStatuses\":[{\"name\":\"c\",\"ready\":true,"
          "\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
          "[\"ok\",\"1/"
          "1\",\"Terminating\",\"0\",\"60m\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    CELLS("", "pods",
          "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"initContainers\":[{\"name\":\"i\"}],"
          "\"containers\":[{\"name\":\"c\"}]},"
          "\"status\":{\"phase\":\"Pending\",\"initContainerStatuses\":[{\"name\":\"i\","
          "\"restartCount\":0,\"state\":{\"running\":{}}}]}}",
          "[\"i\",\"0/1\",\"Init:0/"
          "1\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    CELLS("", "pods",
          "{\"metadata\":{\"name\":\"done\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]},"
          "\"status\":{\"phase\":\"Succeeded\",\"containerStatuses\":[{\"name\":\"c\","
          "\"restartCount\":0,\"state\":{\"terminated\":{\"exitCode\":0,\"reason\":\"Completed\"}}}"
          "]}}",
          "[\"done\",\"0/"
          "1\",\"Completed\",\"0\",\"<unknown>\",\"<none>\",\"<none>\",\"<none>\",\"<none>\"]");
    CELLS("", "services",
          "{\"metadata\":{\"name\":\"demo\",\"creationTimestamp\":\"2026-11-24T11:59:59Z\"},"
          "\"spec\":{\"type\":\"NodePort\",\"clusterIP\":\"10.96.12.1\","
          "\"ports\":[{\"port\":5005,\"nodePort\":31234,\"protocol\":\"TCP\"},{\"port\":53,"
          "\"protocol\":\"UDP\"}],\"selector\":{\"b\":\"2\",\"a\":\"1\"}}}",
          "[\"demo\",\"NodePort\",\"10.96.12.1\",\"<none>\",\"5005:31234/TCP,53/"
          "UDP\",\"1s\",\"a=1,b=2\"]");
    CELLS("", "services",
          "{\"metadata\":{\"name\":\"lb\"},\"spec\":{\"type\":\"LoadBalancer\",\"clusterIP\":\"10."
          "96.0.9\",\"ports\":[{\"port\":80,\"nodePort\":30001,\"protocol\":\"TCP\"}]}}",
          "[\"lb\",\"LoadBalancer\",\"10.96.0.9\",\"<pending>\",\"80:30001/"
          "TCP\",\"<unknown>\",\"<none>\"]");
    CELLS("", "services",
          "{\"metadata\":{\"name\":\"ext\"},\"spec\":{\"type\":\"ExternalName\",\"externalName\":"
          "\"example.com\"}}",
          "[\"ext\",\"ExternalName\",\"<none>\",\"example.com\",\"<none>\",\"<unknown>\",\"<none>"
          "\"]");
    CELLS("", "nodes",
          "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"node-role.kubernetes.io/"
          "worker\":\"\",\"node-role.kubernetes.io/control-plane\":\"\"}},"
          "\"spec\":{\"unschedulable\":true},\"status\":{\"conditions\":[{\"type\":\"Ready\","
          "\"status\":\"Unknown\"}],"
          "\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"10.0.0.1\"}],\"nodeInfo\":{"
          "\"kubeletVersion\":\"v1.33.1\"}}}",
          "[\"n1\",\"NotReady,SchedulingDisabled\",\"control-plane,worker\",\"<unknown>\",\"v1.33."
          "1\",\"10.0.0.1\",\"<none>\",\"<unknown>\",\"<unknown>\",\"<unknown>\"]");
    CELLS(
        "", "endpoints",
        "{\"metadata\":{\"name\":\"e\"},\"subsets\":[{\"addresses\":[{\"ip\":\"1.1.1.1\"},{\"ip\":"
        "\"1.1.1.2\"},{\"ip\":\"1.1.1.3\"},{\"ip\":\"1.1.1.4\"}],\"ports\":[{\"port\":80}]}]}",
        "[\"e\",\"1.1.1.1:80,1.1.1.2:80,1.1.1.3:80 + 1 more...\",\"<unknown>\"]");
    CELLS("networking.k8s.io", "ingresses",
          "{\"metadata\":{\"name\":\"i\"},\"spec\":{\"ingressClassName\":\"kubec\",\"tls\":[{}],"
          "\"rules\":[{\"host\":\"a\"},{\"host\":\"b\"},{\"host\":\"c\"},{\"host\":\"d\"}]},"
          "\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"172.18.0.2\"}]}}}",
          "[\"i\",\"kubec\",\"a,b,c + 1 more...\",\"172.18.0.2\",\"80, 443\",\"<unknown>\"]");
    CELLS("networking.k8s.io", "ingresses",
          "{\"metadata\":{\"name\":\"j\"},\"spec\":{\"rules\":[{\"http\":{}}]}}",
          "[\"j\",\"<none>\",\"*\",\"\",\"80\",\"<unknown>\"]");
    CELLS("", "events",
          "{\"metadata\":{\"name\":\"ev1\"},\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"web\"},"
          "\"reason\":\"Scheduled\",\"type\":\"Normal\","
          "\"message\":\"Successfully assigned default/web to "
          "n1\",\"source\":{\"component\":\"default-scheduler\"},"
          "\"firstTimestamp\":\"2026-11-24T11:59:00Z\",\"lastTimestamp\":\"2026-11-24T11:59:50Z\","
          "\"count\":2}",
          "[\"10s\",\"Normal\",\"Scheduled\",\"pod/web\",\"\",\"default-scheduler\",\"Successfully "
          "assigned default/web to n1\",\"60s\",2,\"ev1\"]");
    CELLS("", "configmaps", "{\"metadata\":{\"name\":\"cm\"},\"data\":{\"a\":\"1\",\"b\":\"2\"}}",
          "[\"cm\",2,\"<unknown>\"]");
    CELLS("", "secrets",
          "{\"metadata\":{\"name\":\"s\"},\"type\":\"Opaque\",\"data\":{\"a\":\"MQ==\"}}",
          "[\"s\",\"Opaque\",1,\"<unknown>\"]");
    CELLS("", "namespaces",
          "{\"metadata\":{\"name\":\"default\"},\"status\":{\"phase\":\"Active\"}}",
          "[\"default\",\"Active\",\"<unknown>\"]");
    CELLS("apps", "replicasets",
          "{\"metadata\":{\"name\":\"rs\"},\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{"
          "\"app\":\"x\"}},\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"i\"}"
          "]}}},\"status\":{\"replicas\":2,\"readyReplicas\":1}}",
          "[\"rs\",3,2,1,\"<unknown>\",\"c\",\"i\",\"app=x\"]");
    CELLS("discovery.k8s.io", "endpointslices",
          "{\"metadata\":{\"name\":\"es\"},\"addressType\":\"IPv4\",\"ports\":[{\"port\":80}],"
          "\"endpoints\":[{\"addresses\":[\"10.0.0.1\"]}]}",
          "[\"es\",\"IPv4\",\"80\",\"10.0.0.1\",\"<unknown>\"]");
    CELLS("coordination.k8s.io", "leases",
          "{\"metadata\":{\"name\":\"n1\"},\"spec\":{\"holderIdentity\":\"n1\"}}",
          "[\"n1\",\"n1\",\"<unknown>\"]");
    CHECK_DONE();
}
