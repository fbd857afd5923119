/* coordination.k8s.io/v1 printers: leases. Objects are borrowed; every cell appended is a new
 * reference owned by the cells array. */
#include "apiserver/printers/printers_internal.h"

#include "lib/jsonx.h"

static const struct kc_pr_column lease_columns[] = {
    KC_PR_COL_NAME,
    {"Holder", "string", "", 0, "Identity of the current holder."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

static void lease_cells(json_t *cells, const json_t *l, time_t now)
{
    kc_pr_add_str(cells, kc_json_str(l, "metadata.name"));
    kc_pr_add_str(cells, kc_json_str(l, "spec.holderIdentity"));
    kc_pr_add_age(cells, l, now);
}

static const struct kc_printer coordination_printers[] = {
    {"leases", lease_columns, lease_cells},
};

const struct kc_printer_group kc_printers_coordination = {
    "coordination.k8s.io", coordination_printers,
    sizeof coordination_printers / sizeof *coordination_printers};
