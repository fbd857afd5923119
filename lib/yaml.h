/* YAML (and so JSON) documents into jansson values, with libyaml. Server-side apply sends
 * application/apply-patch+yaml bodies (kubectl sends JSON text under that type). */
#ifndef KUBEC_LIB_YAML_H
#define KUBEC_LIB_YAML_H

#include <jansson.h>
#include <stddef.h>

/* Parses the first document of buf. Plain scalars resolve as YAML 1.2 core schema does
 * (null, booleans, integers, floats); quoted scalars stay strings. Returns a new reference,
 * or NULL with a message in err. Nesting deeper than 100 and aliases are refused. */
json_t *kc_yaml_parse(const char *buf, size_t len, char *err, size_t errlen);
/* The same; a key repeated in a mapping (the last one wins) is told in dups (dupn bytes) as
 * go-yaml does, `line N: key "k" already set in map`, a line each; what does not fit is left
 * out. */
json_t *kc_yaml_parse_dups(const char *buf, size_t len, char *err, size_t errlen, char *dups,
                           size_t dupn);

#endif
