/* networking.k8s.io/v1 printers: ingresses and ingressclasses (the older Ingress versions
 * are stored as v1 and print through here too). Objects are borrowed; every cell appended
 * is a new reference owned by the cells array. */
#include "apiserver/printers/printers_internal.h"

#include "lib/jsonx.h"

static const struct kc_pr_column ingress_columns[] = {
    KC_PR_COL_NAME,
    {"Class", "string", "", 0, "The IngressClass this ingress asks for."},
    {"Hosts", "string", "", 0, "Hosts the rules match."},
    {"Address", "string", "", 0, "Addresses of the load balancer."},
    {"Ports", "string", "", 0, "Ports served: 80, plus 443 with TLS."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

/* formatHosts: up to three rule hosts, "*" when none; the "more" count is of all rules past
 * the third, hostless ones included, as upstream counts it. */
static void format_hosts(struct kc_sb *b, const json_t *rules)
{
    const size_t max = 3;
    size_t listed = 0, i;
    bool more = false;
    json_t *r;
    json_array_foreach (rules, i, r) {
        const char *host = kc_pr_str(r, "host");
        if (listed == max)
            more = true;
        if (!more && *host) {
            kc_sb_add_sep(b, ",", host);
            listed++;
        }
    }
    if (listed == 0) {
        kc_sb_set(b, "*");
        return;
    }
    if (more)
        kc_sb_addf(b, " + %zu more...", json_array_size(rules) - max);
}

static void ingress_cells(json_t *cells, const json_t *ing, time_t now)
{
    struct kc_sb hosts = {0}, addr = {0};
    /* a present ingressClassName prints even when empty (a non-nil pointer upstream) */
    json_t *cls = kc_pr_get(ing, "spec.ingressClassName");
    format_hosts(&hosts, kc_pr_get(ing, "spec.rules"));
    kc_pr_lb_status(&addr, kc_pr_get(ing, "status.loadBalancer.ingress"));
    kc_pr_add_str(cells, kc_json_str(ing, "metadata.name"));
    kc_pr_add_str(cells, json_is_string(cls) ? json_string_value(cls) : "<none>");
    kc_pr_add_str(cells, kc_sb_str(&hosts));
    kc_pr_add_str(cells, kc_sb_str(&addr));
    kc_pr_add_str(cells, json_array_size(kc_pr_get(ing, "spec.tls")) ? "80, 443" : "80");
    kc_pr_add_age(cells, ing, now);
    kc_sb_free(&hosts);
    kc_sb_free(&addr);
}

static const struct kc_pr_column ingressclass_columns[] = {
    KC_PR_COL_NAME,
    {"Controller", "string", "", 0, "The controller that handles this class."},
    {"Parameters", "string", "", 0, "Resource holding extra parameters (kind.group/name)."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

static void ingressclass_cells(json_t *cells, const json_t *ic, time_t now)
{
    struct kc_sb params = {0};
    json_t *p = kc_pr_get(ic, "spec.parameters");
    if (p) {
        json_t *group = kc_pr_get(p, "apiGroup");
        kc_sb_add(&params, kc_json_str(p, "kind"));
        if (json_is_string(group)) { /* non-nil, even when empty */
            kc_sb_add(&params, ".");
            kc_sb_add(&params, json_string_value(group));
        }
        kc_sb_add(&params, "/");
        kc_sb_add(&params, kc_json_str(p, "name"));
    } else {
        kc_sb_add(&params, "<none>");
    }
    kc_pr_add_str(cells, kc_json_str(ic, "metadata.name"));
    kc_pr_add_str(cells, kc_json_str(ic, "spec.controller"));
    kc_pr_add_str(cells, kc_sb_str(&params));
    kc_pr_add_age(cells, ic, now);
    kc_sb_free(&params);
}

static const struct kc_printer networking_printers[] = {
    {"ingresses", ingress_columns, ingress_cells},
    {"ingressclasses", ingressclass_columns, ingressclass_cells},
};

const struct kc_printer_group kc_printers_networking = {"networking.k8s.io", networking_printers,
                                                        sizeof networking_printers /
                                                            sizeof *networking_printers};
