/* Fuzz target for the YAML decoder (server-side apply bodies). */
#include "lib/yaml.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    json_decref(kc_yaml_parse((const char *)data, size, err, sizeof err));
    return 0;
}
