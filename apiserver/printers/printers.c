/* Server-side printing: finds the printer of a group/resource in the per-group tables
 * (printers_<group>.c) and falls back to the generic apiserver's default table convertor
 * (Name, Created At) for resources upstream has no printer for. */
#include "apiserver/printers/printers.h"

#include "apiserver/printers/printers_internal.h"
#include "lib/jsonx.h"
#include "lib/timeutil.h"

#include <string.h>

static const struct kc_printer_group *const groups[] = {
    &kc_printers_core,      &kc_printers_apps,         &kc_printers_networking,
    &kc_printers_discovery, &kc_printers_coordination, &kc_printers_rbac,
};

static const struct kc_printer *find(const char *group, const char *resource)
{
    if (!group || !resource)
        return NULL;
    for (size_t g = 0; g < sizeof groups / sizeof *groups; g++) {
        if (strcmp(groups[g]->group, group) != 0)
            continue;
        for (size_t i = 0; i < groups[g]->count; i++)
            if (!strcmp(groups[g]->printers[i].resource, resource))
                return &groups[g]->printers[i];
    }
    return NULL;
}

/* k8s.io/apiserver registry/rest defaultTableConvertor */
static const struct kc_pr_column default_columns[] = {
    KC_PR_COL_NAME,
    {"Created At", "date", "", 0, "Time the object was created."},
    KC_PR_COL_END,
};

static void default_cells(json_t *cells, const json_t *obj, time_t now)
{
    char stamp[32] = "0001-01-01T00:00:00Z"; /* Go's zero time, formatted */
    time_t t;
    (void)now;
    /* the creation time re-formatted as UTC RFC 3339 (no fraction), like time.RFC3339 */
    if (kc_pr_time(kc_json_str(obj, "metadata.creationTimestamp"), &t))
        kc_time_rfc3339(t, stamp, sizeof stamp);
    kc_pr_add_str(cells, kc_json_str(obj, "metadata.name"));
    kc_pr_add_str(cells, stamp);
}

json_t *kc_printer_columns(const char *group, const char *resource)
{
    const struct kc_printer *p = find(group, resource);
    const struct kc_pr_column *c = p ? p->columns : default_columns;
    json_t *cols = json_array();
    if (!cols)
        return NULL;
    for (; c->name; c++)
        json_array_append_new(cols, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", c->name, "type",
                                              c->type, "format", c->format, "description",
                                              c->description, "priority", c->priority));
    return cols;
}

json_t *kc_printer_cells(const char *group, const char *resource, const json_t *obj, time_t now)
{
    const struct kc_printer *p = find(group, resource);
    json_t *cells = json_array();
    if (!cells)
        return NULL;
    (p ? p->cells : default_cells)(cells, obj, now);
    return cells;
}

json_t *kc_printer_row_conditions(const char *group, const char *resource, const json_t *obj)
{
    const char *phase = kc_json_str(obj, "status.phase");
    const char *msg;
    if (!group || !resource || strcmp(group, "") != 0 || strcmp(resource, "pods") != 0 || !phase)
        return NULL;
    if (!strcmp(phase, "Succeeded"))
        msg = "The pod has completed successfully.";
    else if (!strcmp(phase, "Failed"))
        msg = "The pod failed.";
    else
        return NULL;
    return json_pack("[{s:s, s:s, s:s, s:s}]", "type", "Completed", "status", "True", "reason",
                     phase, "message", msg);
}
