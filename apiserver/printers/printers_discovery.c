/* discovery.k8s.io/v1 printers: endpointslices. Objects are borrowed; every cell appended is
 * a new reference owned by the cells array. */
#include "apiserver/printers/printers_internal.h"

#include "lib/jsonx.h"

static const struct kc_pr_column endpointslice_columns[] = {
    KC_PR_COL_NAME,
    {"AddressType", "string", "", 0, "Kind of addresses in the slice (IPv4, IPv6, FQDN)."},
    {"Ports", "string", "", 0, "Ports of the slice."},
    {"Endpoints", "string", "", 0, "Addresses of the endpoints."},
    KC_PR_COL_AGE,
    KC_PR_COL_END,
};

/* listWithMoreString: the listed items, " + N more..." past three, "<unset>" when empty. */
static void finish_list(struct kc_sb *b, bool more, size_t count, size_t max)
{
    if (more)
        kc_sb_addf(b, " + %zu more...", count - max);
    else if (!b->len)
        kc_sb_add(b, "<unset>");
}

static void slice_ports(struct kc_sb *b, const json_t *ports)
{
    const size_t max = 3;
    size_t listed = 0, count = 0, i;
    bool more = false;
    json_t *p;
    json_array_foreach (ports, i, p) {
        if (listed < max) {
            /* a nil port means all ports: print its name, or "*" */
            json_t *port = kc_pr_get(p, "port");
            json_t *name = kc_pr_get(p, "name");
            if (listed)
                kc_sb_add(b, ",");
            if (json_is_integer(port))
                kc_sb_addf(b, "%lld", (long long)json_integer_value(port));
            else if (json_is_string(name))
                kc_sb_add(b, json_string_value(name));
            else
                kc_sb_add(b, "*");
            listed++;
        } else if (listed == max) {
            more = true;
        }
        count++;
    }
    finish_list(b, more, count, max);
}

static void slice_endpoints(struct kc_sb *b, const json_t *endpoints)
{
    const size_t max = 3;
    size_t listed = 0, count = 0, i, j;
    bool more = false;
    json_t *e, *a;
    json_array_foreach (endpoints, i, e) {
        json_array_foreach (kc_pr_get(e, "addresses"), j, a) {
            if (listed < max) {
                if (listed)
                    kc_sb_add(b, ",");
                kc_sb_add(b, json_string_value(a));
                listed++;
            } else if (listed == max) {
                more = true;
            }
            count++;
        }
    }
    finish_list(b, more, count, max);
}

static void endpointslice_cells(json_t *cells, const json_t *es, time_t now)
{
    struct kc_sb ports = {0}, eps = {0};
    slice_ports(&ports, kc_pr_get(es, "ports"));
    slice_endpoints(&eps, kc_pr_get(es, "endpoints"));
    kc_pr_add_str(cells, kc_json_str(es, "metadata.name"));
    kc_pr_add_str(cells, kc_json_str(es, "addressType"));
    kc_pr_add_str(cells, kc_sb_str(&ports));
    kc_pr_add_str(cells, kc_sb_str(&eps));
    kc_pr_add_age(cells, es, now);
    kc_sb_free(&ports);
    kc_sb_free(&eps);
}

static const struct kc_printer discovery_printers[] = {
    {"endpointslices", endpointslice_columns, endpointslice_cells},
};

const struct kc_printer_group kc_printers_discovery = {
    "discovery.k8s.io", discovery_printers, sizeof discovery_printers / sizeof *discovery_printers};
