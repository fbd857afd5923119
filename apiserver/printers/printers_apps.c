/* apps/v1 printers: deployments and replicasets. Objects are borrowed; every cell appended
 * is a new reference owned by the cells array. */
#include "apiserver/printers/printers_internal.h"

#include "lib/jsonx.h"

static const struct kc_pr_column deployment_columns[] = {
    KC_PR_COL_NAME,
    {"Ready", "string", "", 0, "Ready replicas out of the desired count."},
    {"Up-to-date", "string", "", 0, "Replicas running the current template."},
    {"Available", "string", "", 0, "Replicas available to serve."},
    KC_PR_COL_AGE,
    {"Containers", "string", "", 1, "Names of the template's containers."},
    {"Images", "string", "", 1, "Images of the template's containers."},
    {"Selector", "string", "", 1, "Label selector of the managed pods."},
    KC_PR_COL_END,
};

static void deployment_cells(json_t *cells, const json_t *d, time_t now)
{
    struct kc_sb sel = {0};
    /* printDeployment prints the selector itself: "" when empty, "<invalid>" when bad */
    int rc = kc_pr_selector_string(&sel, kc_pr_get(d, "spec.selector"));
    kc_pr_add_str(cells, kc_json_str(d, "metadata.name"));
    kc_pr_add_fmt(cells, "%lld/%lld", kc_json_int(d, "status.readyReplicas", 0),
                  kc_json_int(d, "spec.replicas", 0));
    kc_pr_add_int(cells, kc_json_int(d, "status.updatedReplicas", 0));
    kc_pr_add_int(cells, kc_json_int(d, "status.availableReplicas", 0));
    kc_pr_add_age(cells, d, now);
    kc_pr_add_containers_images(cells, kc_pr_get(d, "spec.template.spec"));
    kc_pr_add_str(cells, rc == 0 ? kc_sb_str(&sel) : "<invalid>");
    kc_sb_free(&sel);
}

static const struct kc_pr_column replicaset_columns[] = {
    KC_PR_COL_NAME,
    {"Desired", "integer", "", 0, "Desired number of replicas."},
    {"Current", "integer", "", 0, "Replicas that exist now."},
    {"Ready", "integer", "", 0, "Replicas that are ready."},
    KC_PR_COL_AGE,
    {"Containers", "string", "", 1, "Names of the template's containers."},
    {"Images", "string", "", 1, "Images of the template's containers."},
    {"Selector", "string", "", 1, "Label selector of the managed pods."},
    KC_PR_COL_END,
};

static void replicaset_cells(json_t *cells, const json_t *rs, time_t now)
{
    kc_pr_add_str(cells, kc_json_str(rs, "metadata.name"));
    kc_pr_add_int(cells, kc_json_int(rs, "spec.replicas", 0));
    kc_pr_add_int(cells, kc_json_int(rs, "status.replicas", 0));
    kc_pr_add_int(cells, kc_json_int(rs, "status.readyReplicas", 0));
    kc_pr_add_age(cells, rs, now);
    kc_pr_add_containers_images(cells, kc_pr_get(rs, "spec.template.spec"));
    kc_pr_add_format_label_selector(cells, kc_pr_get(rs, "spec.selector"));
}

static const struct kc_printer apps_printers[] = {
    {"deployments", deployment_columns, deployment_cells},
    {"replicasets", replicaset_columns, replicaset_cells},
};

const struct kc_printer_group kc_printers_apps = {"apps", apps_printers,
                                                  sizeof apps_printers / sizeof *apps_printers};
