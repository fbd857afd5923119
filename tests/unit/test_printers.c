/* Table columns and cells against what the real server prints (upstream printers.go rules).
 * Objects are written with single quotes for readability; q() turns them into JSON. */
#include "apiserver/printers/printers.h"
#include "check.h"
#include "lib/timeutil.h"

#include <stdlib.h>

static time_t now;

/* Single-quoted JSON text to a parsed object (new reference). */
static json_t *q(const char *text)
{
    char *s = strdup(text);
    json_error_t err;
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_t *o = json_loads(s, 0, &err);
    if (!o)
        fprintf(stderr, "bad test JSON: %s: %s\n", err.text, s);
    free(s);
    return o;
}

/* The row's cells as compact JSON, with single quotes for easy comparison. */
static char *cells_of(const char *group, const char *resource, const char *obj)
{
    json_t *o = q(obj);
    json_t *c = kc_printer_cells(group, resource, o, now);
    char *s = json_dumps(c, JSON_COMPACT);
    for (char *p = s; p && *p; p++)
        if (*p == '"')
            *p = '\'';
    json_decref(c);
    json_decref(o);
    return s;
}

/* Column names joined by "|", priority-1 columns marked with "*". */
static char *header_of(const char *group, const char *resource)
{
    json_t *cols = kc_printer_columns(group, resource), *c;
    size_t i;
    char buf[2048] = "";
    json_array_foreach (cols, i, c) {
        strcat(buf, i ? "|" : "");
        strcat(buf, json_string_value(json_object_get(c, "name")));
        if (json_integer_value(json_object_get(c, "priority")))
            strcat(buf, "*");
    }
    json_decref(cols);
    return strdup(buf);
}

/* "name:type:format" of every column, joined by "|". */
static char *types_of(const char *group, const char *resource)
{
    json_t *cols = kc_printer_columns(group, resource), *c;
    size_t i;
    char buf[2048] = "";
    json_array_foreach (cols, i, c) {
        strcat(buf, i ? "|" : "");
        strcat(buf, json_string_value(json_object_get(c, "name")));
        strcat(buf, ":");
        strcat(buf, json_string_value(json_object_get(c, "type")));
        strcat(buf, ":");
        strcat(buf, json_string_value(json_object_get(c, "format")));
    }
    json_decref(cols);
    return strdup(buf);
}

#define CELLS(g, r, obj, want)                                                                     \
    do {                                                                                           \
        char *s_ = cells_of(g, r, obj);                                                            \
        CHECK_STR(s_, want);                                                                       \
        free(s_);                                                                                  \
    } while (0)
#define HEADER(g, r, want)                                                                         \
    do {                                                                                           \
        char *s_ = header_of(g, r);                                                                \
        CHECK_STR(s_, want);                                                                       \
        free(s_);                                                                                  \
    } while (0)
#define TYPES(g, r, want)                                                                          \
    do {                                                                                           \
        char *s_ = types_of(g, r);                                                                 \
        CHECK_STR(s_, want);                                                                       \
        free(s_);                                                                                  \
    } while (0)

static const struct {
    const char *group, *resource;
} all_resources[] = {
    {"", "pods"},
    {"", "nodes"},
    {"", "namespaces"},
    {"", "services"},
    {"", "endpoints"},
    {"", "configmaps"},
    {"", "secrets"},
    {"", "events"},
    {"", "serviceaccounts"},
    {"apps", "deployments"},
    {"apps", "replicasets"},
    {"networking.k8s.io", "ingresses"},
    {"networking.k8s.io", "ingressclasses"},
    {"discovery.k8s.io", "endpointslices"},
    {"coordination.k8s.io", "leases"},
    {"rbac.authorization.k8s.io", "rolebindings"},
    {"rbac.authorization.k8s.io", "clusterrolebindings"},
    {"rbac.authorization.k8s.io", "clusterroles"},
    {"example.com", "widgets"},
};

static void test_headers(void)
{
    HEADER("", "pods", "Name|Ready|Status|Restarts|Age|IP*|Node*|Nominated Node*|Readiness Gates*");
    HEADER("", "nodes",
           "Name|Status|Roles|Age|Version|Internal-IP*|External-IP*|OS-Image*|Kernel-Version*|"
           "Container-Runtime*");
    HEADER("", "namespaces", "Name|Status|Age");
    HEADER("", "services", "Name|Type|Cluster-IP|External-IP|Port(s)|Age|Selector*");
    HEADER("", "endpoints", "Name|Endpoints|Age");
    HEADER("", "configmaps", "Name|Data|Age");
    HEADER("", "secrets", "Name|Type|Data|Age");
    HEADER("", "serviceaccounts", "Name|Secrets|Age");
    HEADER("", "events",
           "Last Seen|Type|Reason|Object|Subobject*|Source*|Message|First Seen*|Count*|Name*");
    HEADER("apps", "deployments",
           "Name|Ready|Up-to-date|Available|Age|Containers*|Images*|Selector*");
    HEADER("apps", "replicasets", "Name|Desired|Current|Ready|Age|Containers*|Images*|Selector*");
    HEADER("networking.k8s.io", "ingresses", "Name|Class|Hosts|Address|Ports|Age");
    HEADER("networking.k8s.io", "ingressclasses", "Name|Controller|Parameters|Age");
    HEADER("discovery.k8s.io", "endpointslices", "Name|AddressType|Ports|Endpoints|Age");
    HEADER("coordination.k8s.io", "leases", "Name|Holder|Age");
    HEADER("rbac.authorization.k8s.io", "rolebindings",
           "Name|Role|Age|Users*|Groups*|ServiceAccounts*");
    /* no printer upstream: the default convertor */
    HEADER("rbac.authorization.k8s.io", "clusterroles", "Name|Created At");
    HEADER("example.com", "widgets", "Name|Created At");
    HEADER("apps", "pods", "Name|Created At"); /* the group matters */

    /* types and formats as upstream declares them (cells may still be integers) */
    TYPES("", "pods",
          "Name:string:name|Ready:string:|Status:string:|Restarts:string:|Age:string:|IP:string:|"
          "Node:string:|Nominated Node:string:|Readiness Gates:string:");
    TYPES("apps", "replicasets",
          "Name:string:name|Desired:integer:|Current:integer:|Ready:integer:|Age:string:|"
          "Containers:string:|Images:string:|Selector:string:");
    TYPES("apps", "deployments",
          "Name:string:name|Ready:string:|Up-to-date:string:|Available:string:|Age:string:|"
          "Containers:string:|Images:string:|Selector:string:");
    TYPES("", "events",
          "Last Seen:string:|Type:string:|Reason:string:|Object:string:|Subobject:string:|"
          "Source:string:|Message:string:|First Seen:string:|Count:string:|Name:string:name");
    TYPES("", "secrets", "Name:string:name|Type:string:|Data:string:|Age:string:");
    TYPES("example.com", "widgets", "Name:string:name|Created At:date:");

    /* every column carries a description, and every row as many cells as there are columns,
     * even for an empty or missing object */
    for (size_t i = 0; i < sizeof all_resources / sizeof *all_resources; i++) {
        json_t *cols = kc_printer_columns(all_resources[i].group, all_resources[i].resource);
        json_t *empty = json_object(), *c;
        json_t *cells =
            kc_printer_cells(all_resources[i].group, all_resources[i].resource, empty, now);
        json_t *none =
            kc_printer_cells(all_resources[i].group, all_resources[i].resource, NULL, now);
        size_t j;
        CHECK(json_array_size(cols) > 0);
        CHECK_INT(json_array_size(cells), json_array_size(cols));
        CHECK_INT(json_array_size(none), json_array_size(cols));
        json_array_foreach (cols, j, c) {
            const char *d = json_string_value(json_object_get(c, "description"));
            CHECK(d && *d);
            CHECK(json_is_integer(json_object_get(c, "priority")));
        }
        json_decref(cols);
        json_decref(cells);
        json_decref(none);
        json_decref(empty);
    }
}

static void test_ages(void)
{
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

    CELLS("", "namespaces",
          "{'metadata':{'name':'a','creationTimestamp':'2026-11-24T11:59:30Z'},"
          "'status':{'phase':'Active'}}",
          "['a','Active','30s']");
    /* fractions and offsets parse; a stamp a second in the future still reads 0s */
    CELLS("", "namespaces",
          "{'metadata':{'name':'b','creationTimestamp':'2026-11-24T14:00:01.5+02:00'},"
          "'status':{'phase':'Terminating'}}",
          "['b','Terminating','0s']");
    /* missing, and Go's zero time, read <unknown> */
    CELLS("", "namespaces", "{'metadata':{'name':'c'}}", "['c','','<unknown>']");
    CELLS("", "namespaces", "{'metadata':{'name':'d','creationTimestamp':'0001-01-01T00:00:00Z'}}",
          "['d','','<unknown>']");
}

static void test_pods(void)
{
    /* pending, nothing reported yet */
    CELLS("", "pods",
          "{'metadata':{'name':'web','creationTimestamp':'2026-11-24T11:00:00Z'},"
          "'spec':{'containers':[{'name':'c'}]},'status':{'phase':'Pending'}}",
          "['web','0/1','Pending','0','60m','<none>','<none>','<none>','<none>']");
    /* running and ready; wide columns; readiness gates count the first matching condition */
    CELLS("", "pods",
          "{'metadata':{'name':'ok','creationTimestamp':'2026-11-24T11:58:00Z'},"
          "'spec':{'nodeName':'n1','containers':[{'name':'a'},{'name':'b'}],"
          "'readinessGates':[{'conditionType':'g1'},{'conditionType':'g2'}]},"
          "'status':{'phase':'Running','podIP':'10.1.0.5',"
          "'podIPs':[{'ip':'10.1.0.5'},{'ip':'fd00::5'}],'nominatedNodeName':'n2',"
          "'conditions':[{'type':'g1','status':'True'},{'type':'g2','status':'False'},"
          "{'type':'g2','status':'True'}],"
          "'containerStatuses':[{'name':'a','ready':true,'restartCount':0,"
          "'state':{'running':{}}},{'name':'b','ready':false,'restartCount':0,"
          "'state':{'running':{}}}]}}",
          "['ok','1/2','Running','0','2m','10.1.0.5','n1','n2','1/2']");
    /* podIP alone (podIPs is derived from it on conversion) */
    CELLS("", "pods",
          "{'metadata':{'name':'p'},'spec':{'containers':[]},"
          "'status':{'phase':'Running','podIP':'10.1.0.6'}}",
          "['p','0/0','Running','0','<unknown>','10.1.0.6','<none>','<none>','<none>']");
    /* CrashLoopBackOff with the last restart's age */
    CELLS("", "pods",
          "{'metadata':{'name':'crash','creationTimestamp':'2026-11-24T11:00:00Z'},"
          "'spec':{'nodeName':'n1','containers':[{'name':'c'}]},'status':{'phase':'Running',"
          "'podIPs':[{'ip':'10.244.1.5'}],'containerStatuses':[{'name':'c','ready':false,"
          "'restartCount':3,'state':{'waiting':{'reason':'CrashLoopBackOff'}},"
          "'lastState':{'terminated':{'exitCode':1,'finishedAt':'2026-11-24T11:55:00Z'}}}]}}",
          "['crash','0/1','CrashLoopBackOff','3 (5m ago)','60m','10.244.1.5','n1','<none>',"
          "'<none>']");
    /* no restarts: no "ago", even with a last state */
    CELLS("", "pods",
          "{'metadata':{'name':'z'},'spec':{'containers':[{'name':'c'}]},"
          "'status':{'phase':'Running','containerStatuses':[{'name':'c','ready':true,"
          "'restartCount':0,'state':{'running':{}},"
          "'lastState':{'terminated':{'finishedAt':'2026-11-24T11:55:00Z'}}}]}}",
          "['z','1/1','Running','0','<unknown>','<none>','<none>','<none>','<none>']");
    /* restarts without a finish time: just the count */
    CELLS("", "pods",
          "{'metadata':{'name':'r'},'spec':{'containers':[{'name':'c'}]},"
          "'status':{'phase':'Running','containerStatuses':[{'name':'c','ready':true,"
          "'restartCount':2,'state':{'running':{}}}]}}",
          "['r','1/1','Running','2','<unknown>','<none>','<none>','<none>','<none>']");
    /* Completed */
    CELLS("", "pods",
          "{'metadata':{'name':'done'},'spec':{'containers':[{'name':'c'}]},"
          "'status':{'phase':'Succeeded','containerStatuses':[{'name':'c','restartCount':0,"
          "'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}]}}",
          "['done','0/1','Completed','0','<unknown>','<none>','<none>','<none>','<none>']");
    /* one container completed, another still running: Running with the Ready condition,
     * NotReady without */
    CELLS("", "pods",
          "{'metadata':{'name':'mix'},'spec':{'containers':[{'name':'a'},{'name':'b'}]},"
          "'status':{'phase':'Running','conditions':[{'type':'Ready','status':'True'}],"
          "'containerStatuses':[{'name':'a','ready':true,'state':{'running':{}}},"
          "{'name':'b','ready':false,'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}"
          "]}}",
          "['mix','1/2','Running','0','<unknown>','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'mix'},'spec':{'containers':[{'name':'a'},{'name':'b'}]},"
          "'status':{'phase':'Running',"
          "'containerStatuses':[{'name':'a','ready':true,'state':{'running':{}}},"
          "{'name':'b','ready':false,'state':{'terminated':{'exitCode':0,'reason':'Completed'}}}"
          "]}}",
          "['mix','1/2','NotReady','0','<unknown>','<none>','<none>','<none>','<none>']");
    /* terminated without a reason: ExitCode:N, or Signal:N; the first container wins */
    CELLS("", "pods",
          "{'metadata':{'name':'x'},'spec':{'containers':[{'name':'a'},{'name':'b'}]},"
          "'status':{'phase':'Failed','containerStatuses':["
          "{'name':'a','state':{'terminated':{'exitCode':137}}},"
          "{'name':'b','state':{'terminated':{'exitCode':1,'signal':9}}}]}}",
          "['x','0/2','ExitCode:137','0','<unknown>','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'x'},'spec':{'containers':[{'name':'a'}]},"
          "'status':{'phase':'Failed','containerStatuses':["
          "{'name':'a','state':{'terminated':{'exitCode':1,'signal':9}}}]}}",
          "['x','0/1','Signal:9','0','<unknown>','<none>','<none>','<none>','<none>']");
    /* ContainerCreating */
    CELLS("", "pods",
          "{'metadata':{'name':'cc'},'spec':{'containers':[{'name':'a'}]},"
          "'status':{'phase':'Pending','containerStatuses':[{'name':'a','ready':false,"
          "'state':{'waiting':{'reason':'ContainerCreating'}}}]}}",
          "['cc','0/1','ContainerCreating','0','<unknown>','<none>','<none>','<none>','<none>']");
    /* status.reason beats the phase */
    CELLS("", "pods",
          "{'metadata':{'name':'ev'},'spec':{'containers':[{'name':'a'}]},"
          "'status':{'phase':'Failed','reason':'Evicted'}}",
          "['ev','0/1','Evicted','0','<unknown>','<none>','<none>','<none>','<none>']");
    /* scheduling gates */
    CELLS("", "pods",
          "{'metadata':{'name':'g'},'spec':{'containers':[{'name':'a'}]},"
          "'status':{'phase':'Pending','conditions':[{'type':'PodScheduled','status':'False',"
          "'reason':'SchedulingGated'}]}}",
          "['g','0/1','SchedulingGated','0','<unknown>','<none>','<none>','<none>','<none>']");

    /* init containers */
    CELLS("", "pods",
          "{'metadata':{'name':'i'},'spec':{'initContainers':[{'name':'i'}],"
          "'containers':[{'name':'c'}]},"
          "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i',"
          "'restartCount':0,'state':{'running':{}}}]}}",
          "['i','0/1','Init:0/1','0','<unknown>','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'i'},'spec':{'initContainers':[{'name':'i1'},{'name':'i2'}],"
          "'containers':[{'name':'c'}]},"
          "'status':{'phase':'Pending','initContainerStatuses':["
          "{'name':'i1','state':{'terminated':{'exitCode':0,'reason':'Completed'}}},"
          "{'name':'i2','state':{'waiting':{'reason':'PodInitializing'}}}],"
          "'containerStatuses':[{'name':'c','state':{'waiting':{'reason':'PodInitializing'}}}]}}",
          "['i','0/1','Init:1/2','0','<unknown>','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'i'},'spec':{'initContainers':[{'name':'i'}],"
          "'containers':[{'name':'c'}]},"
          "'status':{'phase':'Pending','initContainerStatuses':[{'name':'i','restartCount':4,"
          "'state':{'waiting':{'reason':'CrashLoopBackOff'}},"
          "'lastState':{'terminated':{'exitCode':1,'finishedAt':'2026-11-24T11:58:00Z'}}}]}}",
          "['i','0/1','Init:CrashLoopBackOff','4 (2m ago)','<unknown>','<none>','<none>',"
          "'<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'i'},'spec':{'initContainers':[{'name':'i'}],"
          "'containers':[{'name':'c'}]},"
          "'status':{'phase':'Failed','initContainerStatuses':[{'name':'i',"
          "'state':{'terminated':{'exitCode':1,'reason':'Error'}}}]}}",
          "['i','0/1','Init:Error','0','<unknown>','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'i'},'spec':{'initContainers':[{'name':'i'}],"
          "'containers':[{'name':'c'}]},"
          "'status':{'phase':'Failed','initContainerStatuses':[{'name':'i',"
          "'state':{'terminated':{'exitCode':2}}}]}}",
          "['i','0/1','Init:ExitCode:2','0','<unknown>','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'i'},'spec':{'initContainers':[{'name':'i'}],"
          "'containers':[{'name':'c'}]},"
          "'status':{'phase':'Failed','initContainerStatuses':[{'name':'i',"
          "'state':{'terminated':{'exitCode':2,'signal':15}}}]}}",
          "['i','0/1','Init:Signal:15','0','<unknown>','<none>','<none>','<none>','<none>']");
    /* a started sidecar counts as ready and its restarts stay in the total */
    CELLS("", "pods",
          "{'metadata':{'name':'sc'},'spec':{'initContainers':[{'name':'log',"
          "'restartPolicy':'Always'}],'containers':[{'name':'app'}]},"
          "'status':{'phase':'Running','conditions':[{'type':'Initialized','status':'True'}],"
          "'initContainerStatuses':[{'name':'log','started':true,'ready':true,'restartCount':2,"
          "'state':{'running':{}},"
          "'lastState':{'terminated':{'finishedAt':'2026-11-24T11:30:00Z'}}}],"
          "'containerStatuses':[{'name':'app','ready':true,'restartCount':1,"
          "'state':{'running':{}},"
          "'lastState':{'terminated':{'finishedAt':'2026-11-24T11:50:00Z'}}}]}}",
          "['sc','2/2','Running','3 (10m ago)','<unknown>','<none>','<none>','<none>','<none>']");

    /* deletion: Terminating unless the phase is terminal; NodeLost reads Unknown */
    CELLS("", "pods",
          "{'metadata':{'name':'t','creationTimestamp':'2026-11-24T11:00:00Z',"
          "'deletionTimestamp':'2026-11-24T12:00:30Z'},"
          "'spec':{'containers':[{'name':'c'}]},'status':{'phase':'Running',"
          "'containerStatuses':[{'name':'c','ready':true,"
          "'restartCount':0,'state':{'running':{}}}]}}",
          "['t','1/1','Terminating','0','60m','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'t','deletionTimestamp':'2026-11-24T12:00:30Z'},"
          "'spec':{'containers':[{'name':'c'}]},'status':{'phase':'Succeeded',"
          "'containerStatuses':[{'name':'c','state':{'terminated':{'exitCode':0,"
          "'reason':'Completed'}}}]}}",
          "['t','0/1','Completed','0','<unknown>','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'t','deletionTimestamp':'2026-11-24T12:00:30Z'},"
          "'spec':{'containers':[{'name':'c'}]},'status':{'phase':'Running','reason':'NodeLost'}}",
          "['t','0/1','Unknown','0','<unknown>','<none>','<none>','<none>','<none>']");
    CELLS("", "pods",
          "{'metadata':{'name':'t'},"
          "'spec':{'containers':[{'name':'c'}]},'status':{'phase':'Running','reason':'NodeLost'}}",
          "['t','0/1','NodeLost','0','<unknown>','<none>','<none>','<none>','<none>']");
    /* a JSON null deletionTimestamp is no deletion */
    CELLS("", "pods",
          "{'metadata':{'name':'t','deletionTimestamp':null},"
          "'spec':{'containers':[{'name':'c'}]},'status':{'phase':'Running'}}",
          "['t','0/1','Running','0','<unknown>','<none>','<none>','<none>','<none>']");

    /* row conditions mark finished pods */
    json_t *pod = q("{'metadata':{'name':'done'},'status':{'phase':'Succeeded'}}");
    json_t *conds = kc_printer_row_conditions("", "pods", pod);
    char *s = json_dumps(conds, JSON_COMPACT | JSON_SORT_KEYS);
    CHECK_STR(s, "[{\"message\":\"The pod has completed successfully.\",\"reason\":\"Succeeded\","
                 "\"status\":\"True\",\"type\":\"Completed\"}]");
    free(s);
    json_decref(conds);
    json_decref(pod);
    pod = q("{'metadata':{'name':'run'},'status':{'phase':'Running'}}");
    CHECK(kc_printer_row_conditions("", "pods", pod) == NULL);
    CHECK(kc_printer_row_conditions("apps", "deployments", pod) == NULL);
    json_decref(pod);
}

static void test_nodes(void)
{
    CELLS("", "nodes",
          "{'metadata':{'name':'cp','creationTimestamp':'2026-11-20T12:00:00Z',"
          "'labels':{'node-role.kubernetes.io/control-plane':'','kubernetes.io/role':'master',"
          "'node-role.kubernetes.io/':'','kubernetes.io/hostname':'cp'}},"
          "'status':{'conditions':[{'type':'MemoryPressure','status':'False'},"
          "{'type':'Ready','status':'True'}],"
          "'addresses':[{'type':'Hostname','address':'cp'},"
          "{'type':'InternalIP','address':'10.0.0.1'},{'type':'InternalIP','address':'10.0.0.2'},"
          "{'type':'ExternalIP','address':'203.0.113.5'}],"
          "'nodeInfo':{'kubeletVersion':'v1.33.1','osImage':'Debian GNU/Linux 12 (bookworm)',"
          "'kernelVersion':'6.1.0-18-amd64','containerRuntimeVersion':'containerd://1.7.0'}}}",
          "['cp','Ready','control-plane,master','4d','v1.33.1','10.0.0.1','203.0.113.5',"
          "'Debian GNU/Linux 12 (bookworm)','6.1.0-18-amd64','containerd://1.7.0']");
    /* cordoned and not ready, with roles */
    CELLS("", "nodes",
          "{'metadata':{'name':'n1','labels':{'node-role.kubernetes.io/worker':'',"
          "'node-role.kubernetes.io/control-plane':'','node-role.kubernetes.io/worker2':'x'}},"
          "'spec':{'unschedulable':true},'status':{'conditions':[{'type':'Ready',"
          "'status':'Unknown'}],"
          "'addresses':[{'type':'InternalIP','address':'10.0.0.1'}],'nodeInfo':{"
          "'kubeletVersion':'v1.33.1'}}}",
          "['n1','NotReady,SchedulingDisabled','control-plane,worker,worker2','<unknown>',"
          "'v1.33.1','10.0.0.1','<none>','<unknown>','<unknown>','<unknown>']");
    /* no Ready condition at all; the last Ready condition wins when there are several */
    CELLS("", "nodes", "{'metadata':{'name':'n2'}}",
          "['n2','Unknown','<none>','<unknown>','','<none>','<none>','<unknown>','<unknown>',"
          "'<unknown>']");
    CELLS("", "nodes",
          "{'metadata':{'name':'n3'},'spec':{'unschedulable':true},"
          "'status':{'conditions':[{'type':'Ready','status':'False'},"
          "{'type':'Ready','status':'True'}]}}",
          "['n3','Ready,SchedulingDisabled','<none>','<unknown>','','<none>','<none>',"
          "'<unknown>','<unknown>','<unknown>']");
}

static void test_services(void)
{
    /* labels print sorted as "k=v" strings ("a-b=2" before "a=1") */
    CELLS("", "services",
          "{'metadata':{'name':'dns','creationTimestamp':'2026-11-24T11:59:59Z'},"
          "'spec':{'type':'ClusterIP','clusterIP':'10.96.0.10',"
          "'clusterIPs':['10.96.0.10','fd00::a'],'ports':[{'port':53,'protocol':'UDP'},"
          "{'port':53,'protocol':'TCP'}],'selector':{'a':'1','a-b':'2'}}}",
          "['dns','ClusterIP','10.96.0.10','<none>','53/UDP,53/TCP','1s','a-b=2,a=1']");
    CELLS("", "services",
          "{'metadata':{'name':'demo'},"
          "'spec':{'type':'NodePort','clusterIP':'10.96.12.1','clusterIPs':['10.96.12.1'],"
          "'ports':[{'port':5005,'nodePort':31234,'protocol':'TCP'},{'port':53,"
          "'protocol':'UDP'}],'selector':{'b':'2','a':'1'}}}",
          "['demo','NodePort','10.96.12.1','<none>','5005:31234/TCP,53/UDP','<unknown>',"
          "'a=1,b=2']");
    /* LoadBalancer: pending, then addresses (sorted, unique) followed by externalIPs */
    CELLS("", "services",
          "{'metadata':{'name':'lb'},'spec':{'type':'LoadBalancer','clusterIP':'10.96.0.9',"
          "'ports':[{'port':80,'nodePort':30001,'protocol':'TCP'}]}}",
          "['lb','LoadBalancer','10.96.0.9','<pending>','80:30001/TCP','<unknown>','<none>']");
    CELLS("", "services",
          "{'metadata':{'name':'lb'},'spec':{'type':'LoadBalancer','clusterIPs':['10.96.0.9'],"
          "'externalIPs':['5.6.7.8'],'ports':[{'port':443,'nodePort':30443,"
          "'protocol':'TCP'}]},'status':{'loadBalancer':{'ingress':[{'hostname':'lb.example.com'},"
          "{'ip':'1.2.3.4'},{'ip':'1.2.3.4','hostname':'ignored'}]}}}",
          "['lb','LoadBalancer','10.96.0.9','1.2.3.4,lb.example.com,5.6.7.8','443:30443/TCP',"
          "'<unknown>','<none>']");
    CELLS("", "services",
          "{'metadata':{'name':'lb2'},'spec':{'type':'LoadBalancer','clusterIPs':['10.96.0.8'],"
          "'externalIPs':['5.6.7.8','5.6.7.9']}}",
          "['lb2','LoadBalancer','10.96.0.8','5.6.7.8,5.6.7.9','<none>','<unknown>','<none>']");
    CELLS("", "services",
          "{'metadata':{'name':'ext'},'spec':{'type':'ExternalName','externalName':"
          "'example.com'}}",
          "['ext','ExternalName','<none>','example.com','<none>','<unknown>','<none>']");
    /* ClusterIP with externalIPs; headless; a missing type is the default ClusterIP */
    CELLS("", "services",
          "{'metadata':{'name':'e'},'spec':{'type':'ClusterIP','clusterIPs':['10.96.1.1'],"
          "'externalIPs':['1.1.1.1','2.2.2.2'],'ports':[{'port':80,'protocol':'TCP'}]}}",
          "['e','ClusterIP','10.96.1.1','1.1.1.1,2.2.2.2','80/TCP','<unknown>','<none>']");
    CELLS("", "services",
          "{'metadata':{'name':'h'},'spec':{'clusterIP':'None','clusterIPs':['None'],"
          "'ports':[{'port':80}],'selector':{'app':'h'}}}",
          "['h','ClusterIP','None','<none>','80/TCP','<unknown>','app=h']");
    CELLS("", "services", "{'metadata':{'name':'w'},'spec':{'type':'Weird'}}",
          "['w','Weird','<none>','<unknown>','<none>','<unknown>','<none>']");
}

static void test_endpoints(void)
{
    CELLS("", "endpoints",
          "{'metadata':{'name':'e'},'subsets':[{'addresses':[{'ip':'1.1.1.1'},{'ip':"
          "'1.1.1.2'},{'ip':'1.1.1.3'},{'ip':'1.1.1.4'}],'ports':[{'port':80}]}]}",
          "['e','1.1.1.1:80,1.1.1.2:80,1.1.1.3:80 + 1 more...','<unknown>']");
    /* every port of every address counts */
    CELLS("", "endpoints",
          "{'metadata':{'name':'e'},'subsets':[{'addresses':[{'ip':'10.0.0.1'},"
          "{'ip':'10.0.0.2'}],'ports':[{'name':'http','port':80},{'name':'https','port':443}]}]}",
          "['e','10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...','<unknown>']");
    /* exactly three: no suffix */
    CELLS("", "endpoints",
          "{'metadata':{'name':'e'},'subsets':[{'addresses':[{'ip':'1.1.1.1'},{'ip':"
          "'1.1.1.2'},{'ip':'1.1.1.3'}],'ports':[{'port':80}]}]}",
          "['e','1.1.1.1:80,1.1.1.2:80,1.1.1.3:80','<unknown>']");
    /* headless without ports, across subsets */
    CELLS("", "endpoints",
          "{'metadata':{'name':'h'},'subsets':[{'addresses':[{'ip':'1.1.1.1'},{'ip':'1.1.1.2'}]},"
          "{'addresses':[{'ip':'1.1.1.3'},{'ip':'1.1.1.4'}]}]}",
          "['h','1.1.1.1,1.1.1.2,1.1.1.3 + 1 more...','<unknown>']");
    CELLS("", "endpoints",
          "{'metadata':{'name':'v6'},'subsets':[{'addresses':[{'ip':'fd00::1'}],"
          "'ports':[{'port':8080}]}]}",
          "['v6','[fd00::1]:8080','<unknown>']");
    /* no subsets: <none>; subsets with only not-ready addresses: empty */
    CELLS("", "endpoints", "{'metadata':{'name':'n'}}", "['n','<none>','<unknown>']");
    CELLS("", "endpoints", "{'metadata':{'name':'n'},'subsets':[]}", "['n','<none>','<unknown>']");
    CELLS("", "endpoints",
          "{'metadata':{'name':'nr'},'subsets':[{'notReadyAddresses':[{'ip':'1.1.1.1'}],"
          "'ports':[{'port':80}]}]}",
          "['nr','','<unknown>']");
}

static void test_small_core(void)
{
    CELLS("", "configmaps",
          "{'metadata':{'name':'cm'},'data':{'a':'1','b':'2'},'binaryData':{'c':'AA=='}}",
          "['cm',3,'<unknown>']");
    CELLS("", "configmaps", "{'metadata':{'name':'empty'}}", "['empty',0,'<unknown>']");
    CELLS("", "secrets", "{'metadata':{'name':'s'},'type':'Opaque','data':{'a':'MQ=='}}",
          "['s','Opaque',1,'<unknown>']");
    CELLS("", "secrets",
          "{'metadata':{'name':'tls'},'type':'kubernetes.io/tls','data':{'tls.crt':'',"
          "'tls.key':''},'stringData':{'tls.key':'k','ca.crt':'c'}}",
          "['tls','kubernetes.io/tls',3,'<unknown>']");
    CELLS("", "serviceaccounts",
          "{'metadata':{'name':'default'},'secrets':[{'name':'default-token'}]}",
          "['default',1,'<unknown>']");
    CELLS("", "serviceaccounts", "{'metadata':{'name':'sa'}}", "['sa',0,'<unknown>']");
}

static void test_events(void)
{
    CELLS("", "events",
          "{'metadata':{'name':'ev1'},'involvedObject':{'kind':'Pod','name':'web'},"
          "'reason':'Scheduled','type':'Normal',"
          "'message':'Successfully assigned default/web to n1',"
          "'source':{'component':'default-scheduler'},"
          "'firstTimestamp':'2026-11-24T11:59:00Z','lastTimestamp':'2026-11-24T11:59:50Z',"
          "'count':2}",
          "['10s','Normal','Scheduled','pod/web','','default-scheduler',"
          "'Successfully assigned default/web to n1','60s',2,'ev1']");
    /* new-style event: eventTime, series, reporting fields, no object name; message trimmed */
    CELLS("", "events",
          "{'metadata':{'name':'ev2'},'involvedObject':{'kind':'Node','name':'',"
          "'fieldPath':''},'reason':'Rebooted','type':'Warning','message':'  node rebooted\\n',"
          "'eventTime':'2026-11-24T11:58:00.000000Z','reportingComponent':'kubelet',"
          "'reportingInstance':'n1',"
          "'series':{'count':5,'lastObservedTime':'2026-11-24T11:59:30.000000Z'}}",
          "['30s','Warning','Rebooted','node','','kubelet, n1','node rebooted','2m',5,'ev2']");
    /* source host; subobject; last seen falls back to first seen; count defaults to 1 */
    CELLS("", "events",
          "{'metadata':{'name':'ev3'},'involvedObject':{'kind':'ReplicaSet','name':'web-1',"
          "'fieldPath':'spec.containers{app}'},'reason':'Pulled','type':'Normal',"
          "'message':'ok','source':{'component':'kubelet','host':'n2'},"
          "'firstTimestamp':'2026-11-24T11:00:00Z'}",
          "['60m','Normal','Pulled','replicaset/web-1','spec.containers{app}','kubelet, n2',"
          "'ok','60m',1,'ev3']");
    /* no stamps at all */
    CELLS("", "events", "{'metadata':{'name':'ev4'},'involvedObject':{'kind':'Pod','name':'p'}}",
          "['<unknown>','','','pod/p','','','','<unknown>',1,'ev4']");
    /* Unicode white space is trimmed like Go's strings.TrimSpace */
    CELLS("", "events", "{'metadata':{'name':'ev5'},'message':'\\u00a0\\u3000hi there\\u2003\\t'}",
          "['<unknown>','','','','','','hi there','<unknown>',1,'ev5']");
}

static void test_apps(void)
{
    CELLS("apps", "deployments",
          "{'metadata':{'name':'demo','creationTimestamp':'2026-11-24T11:59:30Z'},"
          "'spec':{'replicas':10,'selector':{'matchLabels':{'app':'demo'}},"
          "'template':{'spec':{'containers':[{'name':'a','image':'img:1'},{'name':"
          "'b','image':'img:2'}]}}},"
          "'status':{'readyReplicas':3,'updatedReplicas':4,'availableReplicas':3}}",
          "['demo','3/10',4,3,'30s','a,b','img:1,img:2','app=demo']");
    /* requirements sort by key across matchLabels and matchExpressions; values sort too */
    CELLS("apps", "deployments",
          "{'metadata':{'name':'sel'},'spec':{'replicas':1,'selector':{"
          "'matchLabels':{'tier':'fe','app':'web'},'matchExpressions':["
          "{'key':'env','operator':'In','values':['prod','dev']},"
          "{'key':'zone','operator':'NotIn','values':['b','a']},"
          "{'key':'canary','operator':'DoesNotExist'},{'key':'app','operator':'Exists'}]},"
          "'template':{'spec':{'containers':[{'name':'c','image':'i'}]}}}}",
          "['sel','0/1',0,0,'<unknown>','c','i',"
          "'app=web,app,!canary,env in (dev,prod),tier=fe,zone notin (a,b)']");
    /* a missing or empty selector prints empty; a bad one <invalid>; missing counts are 0 */
    CELLS("apps", "deployments", "{'metadata':{'name':'d'}}",
          "['d','0/0',0,0,'<unknown>','','','']");
    CELLS("apps", "deployments", "{'metadata':{'name':'d'},'spec':{'selector':{}}}",
          "['d','0/0',0,0,'<unknown>','','','']");
    CELLS("apps", "deployments",
          "{'metadata':{'name':'d'},'spec':{'replicas':2,'selector':{'matchExpressions':["
          "{'key':'a','operator':'Foo','values':['x']}]}}}",
          "['d','0/2',0,0,'<unknown>','','','<invalid>']");

    CELLS("apps", "replicasets",
          "{'metadata':{'name':'rs'},'spec':{'replicas':3,'selector':{'matchLabels':{"
          "'app':'x','pod-template-hash':'abc'}},'template':{'spec':{'containers':[{'name':'c',"
          "'image':'i'}]}}},'status':{'replicas':2,'readyReplicas':1}}",
          "['rs',3,2,1,'<unknown>','c','i','app=x,pod-template-hash=abc']");
    CELLS("apps", "replicasets", "{'metadata':{'name':'rs'},'spec':{'selector':{}}}",
          "['rs',0,0,0,'<unknown>','','','<none>']");
    CELLS("apps", "replicasets",
          "{'metadata':{'name':'rs'},'spec':{'selector':{'matchExpressions':["
          "{'key':'a','operator':'In','values':[]}]}}}",
          "['rs',0,0,0,'<unknown>','','','<error>']");
    CELLS("apps", "replicasets",
          "{'metadata':{'name':'rs'},'spec':{'selector':{'matchExpressions':["
          "{'key':'a','operator':'Exists','values':['x']}]}}}",
          "['rs',0,0,0,'<unknown>','','','<error>']");
}

static void test_networking(void)
{
    /* TLS, many hosts: the "more" count includes rules without a host */
    CELLS("networking.k8s.io", "ingresses",
          "{'metadata':{'name':'i','creationTimestamp':'2026-11-24T09:00:00Z'},"
          "'spec':{'ingressClassName':'nginx','tls':[{'hosts':['a.example.com']}],"
          "'rules':[{'host':'a.example.com'},{'http':{}},{'host':'b'},{'host':'c'},"
          "{'host':'d'}]},"
          "'status':{'loadBalancer':{'ingress':[{'hostname':'lb.example.com'},"
          "{'ip':'10.0.0.9'}]}}}",
          "['i','nginx','a.example.com,b,c + 2 more...','10.0.0.9,lb.example.com','80, 443',"
          "'3h']");
    CELLS("networking.k8s.io", "ingresses",
          "{'metadata':{'name':'i'},'spec':{'ingressClassName':'kubec','tls':[{}],"
          "'rules':[{'host':'a'},{'host':'b'},{'host':'c'},{'host':'d'}]},"
          "'status':{'loadBalancer':{'ingress':[{'ip':'172.18.0.2'}]}}}",
          "['i','kubec','a,b,c + 1 more...','172.18.0.2','80, 443','<unknown>']");
    CELLS("networking.k8s.io", "ingresses",
          "{'metadata':{'name':'i'},'spec':{'rules':[{'host':'a'},{'host':'b'},{'host':'c'},"
          "{'http':{}}]}}",
          "['i','<none>','a,b,c + 1 more...','','80','<unknown>']");
    CELLS("networking.k8s.io", "ingresses",
          "{'metadata':{'name':'i'},'spec':{'rules':[{'host':'a'},{'host':'b'},{'host':'c'}]}}",
          "['i','<none>','a,b,c','','80','<unknown>']");
    /* no host anywhere: "*"; an empty tls list is no TLS; a present empty class prints empty */
    CELLS("networking.k8s.io", "ingresses",
          "{'metadata':{'name':'j'},'spec':{'tls':[],'rules':[{'http':{}}]}}",
          "['j','<none>','*','','80','<unknown>']");
    CELLS("networking.k8s.io", "ingresses",
          "{'metadata':{'name':'k'},'spec':{'ingressClassName':'',"
          "'defaultBackend':{'service':{'name':'s','port':{'number':80}}}}}",
          "['k','','*','','80','<unknown>']");

    CELLS("networking.k8s.io", "ingressclasses",
          "{'metadata':{'name':'ext'},'spec':{'controller':'example.com/ingress',"
          "'parameters':{'apiGroup':'k8s.example.com','kind':'IngressParameters',"
          "'name':'external-lb'}}}",
          "['ext','example.com/ingress','IngressParameters.k8s.example.com/external-lb',"
          "'<unknown>']");
    CELLS("networking.k8s.io", "ingressclasses",
          "{'metadata':{'name':'cm'},'spec':{'controller':'c','parameters':{'kind':'ConfigMap',"
          "'name':'p','scope':'Namespace','namespace':'ns'}}}",
          "['cm','c','ConfigMap/p','<unknown>']");
    CELLS("networking.k8s.io", "ingressclasses",
          "{'metadata':{'name':'nginx','creationTimestamp':'2026-11-24T11:00:00Z'},"
          "'spec':{'controller':'k8s.io/ingress-nginx'}}",
          "['nginx','k8s.io/ingress-nginx','<none>','60m']");
}

static void test_discovery_coordination_rbac(void)
{
    CELLS("discovery.k8s.io", "endpointslices",
          "{'metadata':{'name':'es'},'addressType':'IPv4','ports':[{'port':80}],"
          "'endpoints':[{'addresses':['10.0.0.1']}]}",
          "['es','IPv4','80','10.0.0.1','<unknown>']");
    /* a nil port prints its name or "*"; more than three of either get a suffix */
    CELLS("discovery.k8s.io", "endpointslices",
          "{'metadata':{'name':'es'},'addressType':'IPv4',"
          "'ports':[{'port':80,'name':'http'},{'name':'all'},{},{'port':8443}],"
          "'endpoints':[{'addresses':['10.0.0.1','10.0.0.2']},{'addresses':['10.0.0.3']},"
          "{'addresses':['10.0.0.4','10.0.0.5']}]}",
          "['es','IPv4','80,all,* + 1 more...','10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...',"
          "'<unknown>']");
    CELLS("discovery.k8s.io", "endpointslices",
          "{'metadata':{'name':'es'},'addressType':'IPv6','ports':[],'endpoints':null}",
          "['es','IPv6','<unset>','<unset>','<unknown>']");

    CELLS("coordination.k8s.io", "leases",
          "{'metadata':{'name':'n1','creationTimestamp':'2026-11-24T10:00:00Z'},"
          "'spec':{'holderIdentity':'n1','leaseDurationSeconds':40}}",
          "['n1','n1','120m']");
    CELLS("coordination.k8s.io", "leases", "{'metadata':{'name':'free'},'spec':{}}",
          "['free','','<unknown>']");

    CELLS("rbac.authorization.k8s.io", "rolebindings",
          "{'metadata':{'name':'rb'},'roleRef':{'apiGroup':'rbac.authorization.k8s.io',"
          "'kind':'ClusterRole','name':'view'},'subjects':[{'kind':'User','name':'alice'},"
          "{'kind':'Group','name':'devs'},{'kind':'ServiceAccount','name':'sa',"
          "'namespace':'default'},{'kind':'User','name':'bob'}]}",
          "['rb','ClusterRole/view','<unknown>','alice, bob','devs','default/sa']");
    CELLS("rbac.authorization.k8s.io", "clusterrolebindings",
          "{'metadata':{'name':'crb'},'roleRef':{'kind':'ClusterRole','name':'admin'}}",
          "['crb','ClusterRole/admin','<unknown>','','','']");

    /* the default convertor: the creation time as UTC RFC 3339 */
    CELLS("rbac.authorization.k8s.io", "clusterroles",
          "{'metadata':{'name':'admin','creationTimestamp':'2026-11-24T13:30:00.25+02:00'}}",
          "['admin','2026-11-24T11:30:00Z']");
    CELLS("example.com", "widgets", "{'metadata':{'name':'w'}}", "['w','0001-01-01T00:00:00Z']");
}

int main(void)
{
    kc_time_parse("2026-11-24T12:00:00Z", &now);
    test_headers();
    test_ages();
    test_pods();
    test_nodes();
    test_services();
    test_endpoints();
    test_small_core();
    test_events();
    test_apps();
    test_networking();
    test_discovery_coordination_rbac();
    CHECK_DONE();
}
