/* rbac.authorization.k8s.io/v1 printers: rolebindings and clusterrolebindings. Roles and
 * clusterroles have no printer upstream and take the default Name / Created At columns.
 * Objects are borrowed; every cell appended is a new reference owned by the cells array. */
#include "apiserver/printers/printers_internal.h"

#include "lib/jsonx.h"

#include <string.h>

static const struct kc_pr_column binding_columns[] = {
    KC_PR_COL_NAME,
    {"Role", "string", "", 0, "The role granted (kind/name)."},
    KC_PR_COL_AGE,
    {"Users", "string", "", 1, "Users bound."},
    {"Groups", "string", "", 1, "Groups bound."},
    {"ServiceAccounts", "string", "", 1, "Service accounts bound (namespace/name)."},
    KC_PR_COL_END,
};

/* rbac.SubjectsStrings, each list joined by ", ". */
static void binding_cells(json_t *cells, const json_t *rb, time_t now)
{
    struct kc_sb users = {0}, groups = {0}, sas = {0};
    size_t nusers = 0, ngroups = 0, nsas = 0, i;
    json_t *s;
    json_array_foreach (kc_pr_get(rb, "subjects"), i, s) {
        const char *kind = kc_pr_str(s, "kind");
        if (!strcmp(kind, "ServiceAccount")) {
            if (nsas++)
                kc_sb_add(&sas, ", ");
            kc_sb_addf(&sas, "%s/%s", kc_pr_str(s, "namespace"), kc_pr_str(s, "name"));
        } else if (!strcmp(kind, "User")) {
            if (nusers++)
                kc_sb_add(&users, ", ");
            kc_sb_add(&users, kc_pr_str(s, "name"));
        } else if (!strcmp(kind, "Group")) {
            if (ngroups++)
                kc_sb_add(&groups, ", ");
            kc_sb_add(&groups, kc_pr_str(s, "name"));
        }
    }
    kc_pr_add_str(cells, kc_json_str(rb, "metadata.name"));
    kc_pr_add_fmt(cells, "%s/%s", kc_pr_str(rb, "roleRef.kind"), kc_pr_str(rb, "roleRef.name"));
    kc_pr_add_age(cells, rb, now);
    kc_pr_add_str(cells, kc_sb_str(&users));
    kc_pr_add_str(cells, kc_sb_str(&groups));
    kc_pr_add_str(cells, kc_sb_str(&sas));
    kc_sb_free(&users);
    kc_sb_free(&groups);
    kc_sb_free(&sas);
}

static const struct kc_printer rbac_printers[] = {
    {"rolebindings", binding_columns, binding_cells},
    {"clusterrolebindings", binding_columns, binding_cells},
};

const struct kc_printer_group kc_printers_rbac = {"rbac.authorization.k8s.io", rbac_printers,
                                                  sizeof rbac_printers / sizeof *rbac_printers};
