/* The hostPort rules of a pod (nodeagent/hostport.c): which ports get DNAT rules, to what,
 * matched on which address; and `nft -c -f` on the result when nft is here and we are root. */
#include "nodeagent/hostport.h"

#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* `nft -c -f FILE`: 1 ok, 0 rejected, -1 not possible here (no nft, not root). */
static int nft_check(const char *text)
{
    if (geteuid() != 0 || system("command -v nft >/dev/null 2>&1") != 0)
        return -1;
    char path[] = "/tmp/kubec-hp-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "w");
    fputs(text, f);
    fclose(f);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "nft -c -f %s", path);
    int rc = system(cmd);
    unlink(path);
    return rc == 0 ? 1 : 0;
}

int main(void)
{
    char out[8192];
    json_t *pod =
        json_loads("{\"metadata\":{\"uid\":\"0b6e-11\"},\"spec\":{\"containers\":[{\"ports\":["
                   "{\"containerPort\":8080,\"hostPort\":54323,\"hostIP\":\"127.0.0.1\"},"
                   "{\"containerPort\":8080,\"hostPort\":54324,\"protocol\":\"UDP\"},"
                   "{\"containerPort\":9090},"
                   "{\"containerPort\":53,\"hostPort\":53,\"protocol\":\"SCTP\"},"
                   "{\"containerPort\":81,\"hostPort\":8081,\"hostIP\":\"10.250.0.11\"}]}]}}",
                   0, NULL);
    CHECK(pod != NULL);
    int n = kc_hostport_render(pod, "10.244.1.5", out, sizeof out);
    CHECK(n > 0 && (size_t)n == strlen(out));
    CHECK(strstr(out, "table ip kchp_0b6e_11 {") != NULL);
    CHECK(strstr(out, "ip daddr 127.0.0.1 meta l4proto tcp th dport 54323 dnat to "
                      "10.244.1.5:8080\n") != NULL);
    CHECK(strstr(out, "fib daddr type local meta l4proto udp th dport 54324 dnat to "
                      "10.244.1.5:8080\n") != NULL);
    CHECK(strstr(out, "ip daddr 10.250.0.11 meta l4proto tcp th dport 8081 dnat to "
                      "10.244.1.5:81\n") != NULL);
    CHECK(strstr(out, "9090") == NULL && strstr(out, "dport 53 ") == NULL); /* no hostPort, SCTP */
    CHECK(strstr(out, "ip saddr 127.0.0.0/8 ip daddr 10.244.1.5 masquerade") != NULL);
    int checked = nft_check(out);
    if (checked >= 0)
        CHECK(checked == 1);
    else
        fprintf(stderr, "nft -c check skipped (needs root and nft)\n");
    CHECK(kc_hostport_render(pod, "10.244.1.5", out, 100) == -1); /* does not fit */
    json_decref(pod);
    pod = json_loads("{\"metadata\":{\"uid\":\"x\"},\"spec\":{\"containers\":[{\"ports\":["
                     "{\"containerPort\":80}]}]}}",
                     0, NULL);
    CHECK(kc_hostport_render(pod, "10.244.1.6", out, sizeof out) == 0 && out[0] == 0);
    json_decref(pod);
    CHECK_DONE();
}
