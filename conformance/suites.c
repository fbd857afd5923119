/* Every suite of the runner, in the order they run. */
#include "conformance/conformance.h"

/* one per line: files of tests are added here by their authors */
/* clang-format off */
const struct kc_conf_test *const kc_conf_suites[] = {
    kc_conf_tests_probe, /* first: its tests take minutes */
    kc_conf_tests_configmap,
    kc_conf_tests_secret,
    kc_conf_tests_namespace,
    kc_conf_tests_watch,
    kc_conf_tests_discovery,
    kc_conf_tests_apimachinery,
    kc_conf_tests_service,
    kc_conf_tests_endpointslice,
    kc_conf_tests_events,
    kc_conf_tests_lease,
    kc_conf_tests_ingress,
    kc_conf_tests_serviceaccount,
    kc_conf_tests_pods,
    kc_conf_tests_kubelet,
    kc_conf_tests_runtime,
    kc_conf_tests_security_context,
    kc_conf_tests_containers,
    kc_conf_tests_sysctl,
    kc_conf_tests_replicaset,
    kc_conf_tests_deployment,
    kc_conf_tests_garbage_collector,
    kc_conf_tests_node,
    kc_conf_tests_storage_api,
    kc_conf_tests_env,
    kc_conf_tests_downward_api,
    kc_conf_tests_expansion,
    kc_conf_tests_hosts,
    kc_conf_tests_scheduling,
    kc_conf_tests_taints,
    kc_conf_tests_service_net,
    kc_conf_tests_networking,
    kc_conf_tests_hostport,
    kc_conf_tests_dns,
    kc_conf_tests_init_container,
    kc_conf_tests_lifecycle_hook,
    kc_conf_tests_pods_node,
    NULL,
};
/* clang-format on */
