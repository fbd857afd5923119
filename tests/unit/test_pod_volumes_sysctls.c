/* What a pod's spec adds to its containers' OCI configs: emptyDir volumes as bind mounts of
 * a directory of the pod's (writable by any user, shared, read-only when the mount says
 * so; other kinds of volumes are not provided), and the pod's sysctls (slash form turned
 * into the dotted one). */
#include "check.h"

#include "nodeagent/sysctls.h"
#include "nodeagent/volumes.h"

#include <jansson.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void volumes(void)
{
    char dir[] = "/tmp/kc-volumes-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    json_t *pod = json_loads("{\"spec\":{\"volumes\":[{\"name\":\"cache\",\"emptyDir\":{}},"
                             "{\"name\":\"cfg\",\"configMap\":{\"name\":\"x\"}}]}}",
                             0, NULL);
    json_t *ctr = json_loads("{\"volumeMounts\":[{\"name\":\"cache\",\"mountPath\":\"/a\"},"
                             "{\"name\":\"cache\",\"mountPath\":\"/b\",\"readOnly\":true},"
                             "{\"name\":\"cfg\",\"mountPath\":\"/c\"},"
                             "{\"name\":\"missing\",\"mountPath\":\"/d\"}]}",
                             0, NULL);
    json_t *mounts = json_array();
    char msg[256] = "";
    CHECK_INT(kc_volume_mounts(pod, ctr, dir, mounts, msg, sizeof msg), 0);
    CHECK_INT(json_array_size(mounts), 2);
    char want[256];
    snprintf(want, sizeof want, "%s/volumes/cache", dir);
    json_t *a = json_array_get(mounts, 0), *b = json_array_get(mounts, 1);
    CHECK_STR(json_string_value(json_object_get(a, "destination")), "/a");
    CHECK_STR(json_string_value(json_object_get(a, "source")), want);
    CHECK_STR(json_string_value(json_object_get(a, "type")), "bind");
    CHECK_STR(json_string_value(json_array_get(json_object_get(a, "options"), 1)), "rw");
    CHECK_STR(json_string_value(json_object_get(b, "source")), want);
    CHECK_STR(json_string_value(json_array_get(json_object_get(b, "options"), 1)), "ro");
    struct stat st;
    CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0777);
    rmdir(want);
    snprintf(want, sizeof want, "%s/volumes", dir);
    rmdir(want);
    rmdir(dir);
    json_decref(pod);
    json_decref(ctr);
    json_decref(mounts);
}

static void sysctls(void)
{
    json_t *pod = json_loads("{\"spec\":{\"securityContext\":{\"sysctls\":["
                             "{\"name\":\"kernel.shm_rmid_forced\",\"value\":\"1\"},"
                             "{\"name\":\"net/ipv4/conf/eno2.100/rp_filter\",\"value\":\"0\"},"
                             "{\"name\":\"net.ipv4.conf.eno2/100.rp_filter\",\"value\":\"2\"}]}}}",
                             0, NULL);
    json_t *s = kc_pod_sysctls(pod);
    CHECK_INT(json_object_size(s), 2);
    CHECK_STR(json_string_value(json_object_get(s, "kernel.shm_rmid_forced")), "1");
    /* both spellings name the same sysctl; the later one wins */
    CHECK_STR(json_string_value(json_object_get(s, "net.ipv4.conf.eno2/100.rp_filter")), "2");
    json_decref(s);
    json_decref(pod);
    json_t *none = json_loads("{\"spec\":{}}", 0, NULL);
    s = kc_pod_sysctls(none);
    CHECK_INT(json_object_size(s), 0);
    json_decref(s);
    json_decref(none);
}

int main(void)
{
    volumes();
    sysctls();
    CHECK_DONE();
}
