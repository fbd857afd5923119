/* Every suite of the runner, in the order they run. */
#include "conformance/conformance.h"

const struct kc_conf_test *const kc_conf_suites[] = {
    kc_conf_tests_configmap,
    kc_conf_tests_secret,
    kc_conf_tests_namespace,
    kc_conf_tests_replicaset,
    kc_conf_tests_deployment,
    kc_conf_tests_garbage_collector,
    NULL,
};
