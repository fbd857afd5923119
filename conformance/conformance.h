/* The conformance runner's test interface. A test is a function named after the upstream
 * conformance test it re-expresses (its full ginkgo name); it runs against any cluster
 * through the C client, in a namespace of its own that the runner creates before and
 * deletes after. Failures are recorded with REQUIRE (which ends the test) or EXPECT (which
 * lets it go on); the first message is the one reported. */
#ifndef KUBEC_CONFORMANCE_H
#define KUBEC_CONFORMANCE_H

#include "client/client.h"

#include <jansson.h>
#include <stdbool.h>

struct kc_conf; /* one test's run: its client, namespace and outcome */

enum kc_conf_flags {
    KC_CONF_SERIAL = 1 << 0, /* runs alone ([Serial] upstream) */
    /* needs nodes that run containers: skipped (saying so) when every node is simulated */
    KC_CONF_CONTAINERS = 1 << 1,
};

struct kc_conf_test {
    const char *name; /* upstream's full name, "[sig-node] ConfigMap should ... [Conformance]" */
    void (*run)(struct kc_conf *t);
    unsigned flags;
};

/* Every suite, NULL terminated (suites.c); each a NULL-name terminated array of tests, one
 * per file of tests. */
extern const struct kc_conf_test *const kc_conf_suites[];
extern const struct kc_conf_test kc_conf_tests_configmap[];
extern const struct kc_conf_test kc_conf_tests_secret[];
extern const struct kc_conf_test kc_conf_tests_namespace[];
extern const struct kc_conf_test kc_conf_tests_watch[];
extern const struct kc_conf_test kc_conf_tests_discovery[];
extern const struct kc_conf_test kc_conf_tests_discovery_pending[];
extern const struct kc_conf_test kc_conf_tests_apimachinery[];
extern const struct kc_conf_test kc_conf_tests_service[];
extern const struct kc_conf_test kc_conf_tests_endpointslice[];
extern const struct kc_conf_test kc_conf_tests_events[];
extern const struct kc_conf_test kc_conf_tests_lease[];
extern const struct kc_conf_test kc_conf_tests_ingress[];
extern const struct kc_conf_test kc_conf_tests_serviceaccount[];
extern const struct kc_conf_test kc_conf_tests_pods[];
extern const struct kc_conf_test kc_conf_tests_node[];
extern const struct kc_conf_test kc_conf_tests_storage_api[];
extern const struct kc_conf_test kc_conf_tests_env[];
extern const struct kc_conf_test kc_conf_tests_downward_api[];
extern const struct kc_conf_test kc_conf_tests_expansion[];
extern const struct kc_conf_test kc_conf_tests_hosts[];
extern const struct kc_conf_test kc_conf_tests_kubelet[];
extern const struct kc_conf_test kc_conf_tests_runtime[];
extern const struct kc_conf_test kc_conf_tests_security_context[];
extern const struct kc_conf_test kc_conf_tests_containers[];
extern const struct kc_conf_test kc_conf_tests_sysctl[];
extern const struct kc_conf_test kc_conf_tests_service_net[];
extern const struct kc_conf_test kc_conf_tests_networking[];
extern const struct kc_conf_test kc_conf_tests_hostport[];
extern const struct kc_conf_test kc_conf_tests_dns[];
extern const struct kc_conf_test kc_conf_tests_probe[];
extern const struct kc_conf_test kc_conf_tests_init_container[];
extern const struct kc_conf_test kc_conf_tests_lifecycle_hook[];
extern const struct kc_conf_test kc_conf_tests_pods_node[];
/* Tests kubec does not pass yet (each file says why); in no suite. */
extern const struct kc_conf_test kc_conf_tests_replicaset[];
extern const struct kc_conf_test kc_conf_tests_deployment[];
extern const struct kc_conf_test kc_conf_tests_garbage_collector[];
extern const struct kc_conf_test kc_conf_tests_scheduling[];
extern const struct kc_conf_test kc_conf_tests_taints[];
/* Tests that fail on kubec for a missing behaviour (not in kc_conf_suites). */
extern const struct kc_conf_test kc_conf_tests_aggregated_discovery_failing[];
extern const struct kc_conf_test kc_conf_tests_lifecycle_hook_flaky[];

struct kc_client *kc_conf_client(struct kc_conf *t);
/* The test's own namespace ("kc-conf-<n>-<random>"). */
const char *kc_conf_ns(struct kc_conf *t);
/* A name unique to this run: prefix-<random> (static per call site only via buf). */
const char *kc_conf_unique(struct kc_conf *t, const char *prefix, char *buf, size_t len);

/* Records a failure (the first message is kept) at file:line. */
void kc_conf_fail_at(struct kc_conf *t, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
bool kc_conf_failed(const struct kc_conf *t);
/* Marks the test skipped (the cluster lacks what it needs), with why. */
void kc_conf_skip(struct kc_conf *t, const char *why);
/* A line in the test's log (shown when it fails). */
void kc_conf_log(struct kc_conf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define EXPECT(t, cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            kc_conf_fail_at((t), __FILE__, __LINE__, __VA_ARGS__);                                 \
    } while (0)
#define REQUIRE(t, cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            kc_conf_fail_at((t), __FILE__, __LINE__, __VA_ARGS__);                                 \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* JSON from printf-formatted text; NULL (and a recorded failure) when it does not parse.
 * New reference. */
json_t *kc_conf_json(struct kc_conf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One API call: method, path (printf-formatted), body (may be NULL; JSON unless
 * content_type says otherwise). Returns the HTTP status; *out (may be NULL) gets the answer,
 * a new reference the caller drops. */
int kc_conf_call(struct kc_conf *t, const char *method, const json_t *body,
                 const char *content_type, json_t **out, const char *path_fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* Calls cond(t, arg) every 100 ms until it is true or timeout_ms passed. */
bool kc_conf_wait(struct kc_conf *t, int timeout_ms, bool (*cond)(struct kc_conf *, void *),
                  void *arg);

/* The number of items a List at path answers, -1 when the call fails. */
long kc_conf_list_len(struct kc_conf *t, const char *path);
/* For kc_conf_wait: path (a char *) lists no item. */
bool kc_conf_list_empty(struct kc_conf *t, void *path);
/* Adds the condition cond (stolen) to the status of the object at path and PUTs it to
 * path/status, reading the object again after a conflict (up to 20 times). The last HTTP
 * status. */
int kc_conf_add_status_condition(struct kc_conf *t, const char *path, json_t *cond);

/* What kc_conf_condition_seen looks for: the object at path carries every label of labels
 * (key, value, ..., NULL) and a status condition of type (and reason, message unless NULL). */
struct kc_conf_cond_want {
    const char *path;
    const char *const *labels;
    const char *type, *reason, *message;
};
/* For kc_conf_wait: arg is a struct kc_conf_cond_want. */
bool kc_conf_condition_seen(struct kc_conf *t, void *arg);
/* The status subresource's round as upstream's "Status endpoints" tests make it: read
 * path/status, add a StatusUpdate condition with PUT, merge-patch a StatusPatched one; the
 * object (with labels, as above) MUST show each change. what names the kind in messages. */
void kc_conf_status_round(struct kc_conf *t, const char *path, const char *what,
                          const char *const *labels);

/* A request whose answer is kept as text (custom Accept, logs): see kc_client_raw. The
 * HTTP status; r->answer is the caller's to free. */
int kc_conf_raw(struct kc_conf *t, const char *method, struct kc_client_raw *r,
                const char *path_fmt, ...) __attribute__((format(printf, 4, 5)));
/* The image the tests' pods run (--image): one with busybox's applets. */
const char *kc_conf_image(const struct kc_conf *t);
/* The same image under another spelling (n = 1: "<ref>:latest", 2: "docker.io/...:latest";
 * 0 is the image itself): for tests that need distinct images in templates, which any
 * cluster that can run the image can also run. */
const char *kc_conf_image_variant(struct kc_conf *t, int n);

/* ---- pods (pods_util.c) ---- */
/* Creates pod (borrowed) in the test's namespace; the HTTP status. */
int kc_conf_pod_create(struct kc_conf *t, const json_t *pod);
/* Waits until the pod's status.phase is phase; false (and a recorded failure) when it
 * ends in another terminal phase or timeout_ms passes. */
bool kc_conf_pod_wait_phase(struct kc_conf *t, const char *name, const char *phase, int timeout_ms);
/* The pod's log (container may be NULL for the only one); a string the caller frees, NULL
 * on failure. */
char *kc_conf_pod_log(struct kc_conf *t, const char *name, const char *container);
/* Upstream's "container output" check: creates pod (borrowed; restartPolicy Never, its
 * command prints and exits), waits for it to succeed, and expects its container's log to
 * match every POSIX extended pattern of expect (NULL terminated). Deletes the pod after. */
void kc_conf_pod_output(struct kc_conf *t, const json_t *pod, const char *container,
                        const char *const *expect);
/* false (and the test marked skipped) when every node runs the simulated runtime, whose
 * pods run no containers: for tests that need what a container does (serve, exit, fail to
 * pull its image). */
bool kc_conf_require_containers(struct kc_conf *t);
/* Deletes a pod of the test's namespace (grace period in seconds, -1 default); HTTP status. */
int kc_conf_pod_delete(struct kc_conf *t, const char *name, int grace);

/* Shell functions for checks made from inside a pod of the busybox image, whose wget and
 * libc name lookups crash (a static busybox cannot load NSS modules):
 *   get HOST PORT [PATH]  prints the last line of the body of an HTTP GET made with nc;
 *   res NAME              prints an IPv4 address of NAME (NAME itself if it is one), trying
 *                         resolv.conf's search list first as a libc resolver does (busybox's
 *                         nslookup asks for the name as given only); fails if none. */
extern const char kc_conf_sh_net[];
/* Creates pod name in the test's namespace (restartPolicy Never, one container "c" of the
 * image, grace period 0) running `sh -c "<kc_conf_sh_net> <script>"`, with labels (a JSON
 * object text, or NULL) and extra_spec (JSON members for spec, e.g. "\"hostNetwork\":true",
 * or NULL). false (a failure recorded) when it cannot be created. */
bool kc_conf_pod_script(struct kc_conf *t, const char *name, const char *labels,
                        const char *extra_spec, const char *script);
/* Waits until the log of pod (its only container) has a line matching the POSIX extended
 * pattern among the lines after its first `from`; copies it to match (may be NULL). *seen
 * (may be NULL) gets the number of lines the log had at the last look. */
bool kc_conf_pod_log_wait(struct kc_conf *t, const char *pod, int from, const char *pattern,
                          int timeout_ms, int *seen, char *match, size_t matchlen);

/* The Status reason of an error answer ("Invalid", "NotFound"), or "". */
const char *kc_conf_reason(const json_t *answer);

#endif
