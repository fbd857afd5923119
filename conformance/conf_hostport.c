#include "conformance/conformance.h"
const struct kc_conf_test kc_conf_tests_hostport_failing[] = {{NULL, NULL, 0}};
