/* PodTopologySpread: required (DoNotSchedule) constraints as a filter, ScheduleAnyway
 * ones as a score; pods without constraints but with a controller get the system
 * defaults (hostname maxSkew 3, zone maxSkew 5, ScheduleAnyway), which is what spreads a
 * ReplicaSet's pods over the nodes. The default selector here is "pods of the same
 * controller" (owner uid) instead of the controller's label selector and the services'. */
#include "scheduler/plugins.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* labelSelector with matchLabelKeys merged in as "key In (the pod's value)". */
static struct kc_selector *spread_selector(const json_t *c, const json_t *pod_labels)
{
    char err[128];
    struct kc_selector *sel = NULL;
    const json_t *ls = json_object_get(c, "labelSelector");
    const json_t *mlk = json_object_get(c, "matchLabelKeys");
    if (!json_is_object(ls))
        return NULL; /* nil selector: matches nothing */
    json_t *merged = json_deep_copy(ls);
    if (!merged)
        return NULL;
    size_t i;
    const json_t *k;
    json_array_foreach (mlk, i, k) {
        const json_t *v =
            json_object_get(pod_labels, json_string_value(k) ? json_string_value(k) : "");
        if (!json_is_string(v))
            continue;
        json_t *exprs = json_object_get(merged, "matchExpressions");
        if (!json_is_array(exprs)) {
            exprs = json_array();
            json_object_set_new(merged, "matchExpressions", exprs);
        }
        json_array_append_new(
            exprs, json_pack("{s:O, s:s, s:[O]}", "key", k, "operator", "In", "values", v));
    }
    if (kc_label_selector_from_json(merged, &sel, err, sizeof err) != 0)
        sel = NULL;
    json_decref(merged);
    return sel;
}

int kc_plugin_spread_parse(struct kc_pstate *ps, const json_t *pod)
{
    const json_t *list = json_object_get(json_object_get(pod, "spec"), "topologySpreadConstraints");
    size_t n = json_array_size(list);
    if (!n && !ps->ctrl_uid)
        return 0;
    ps->spread = calloc(n ? n : 2, sizeof *ps->spread);
    if (!ps->spread)
        return -1;
    if (!n) {
        ps->spread[0] =
            (struct kc_spread){.max_skew = 3, .key = KC_LABEL_HOSTNAME, .by_ctrl = true};
        ps->spread[1] = (struct kc_spread){.max_skew = 5, .key = KC_LABEL_ZONE, .by_ctrl = true};
        ps->spread[0].self_match = ps->spread[1].self_match = true;
        ps->spread[0].is_host = true;
        ps->spread[1].is_zone = true;
        ps->nspread = 2;
        return 0;
    }
    ps->spread_explicit = true;
    size_t i;
    const json_t *c;
    json_array_foreach (list, i, c) {
        struct kc_spread *s = &ps->spread[ps->nspread++];
        s->max_skew = (int32_t)json_integer_value(json_object_get(c, "maxSkew"));
        if (s->max_skew < 1)
            s->max_skew = 1;
        s->key = json_string_value(json_object_get(c, "topologyKey"));
        if (!s->key)
            s->key = "";
        const char *when = json_string_value(json_object_get(c, "whenUnsatisfiable"));
        s->hard = !when || strcmp(when, "ScheduleAnyway") != 0;
        s->is_host = strcmp(s->key, KC_LABEL_HOSTNAME) == 0;
        s->is_zone = strcmp(s->key, KC_LABEL_ZONE) == 0;
        s->min_domains = (int32_t)json_integer_value(json_object_get(c, "minDomains"));
        s->sel = spread_selector(c, ps->labels);
        s->self_match = s->sel && kc_label_selector_matches(s->sel, ps->labels);
        if (s->hard)
            ps->nhard++;
    }
    return 0;
}

/* Pods on the node counted by the constraint: same namespace, not terminating. */
static int64_t count_matching(const struct kc_spread *c, const struct kc_ninfo *ni, const char *ns,
                              const char *uid)
{
    int64_t cnt = 0;
    for (size_t i = 0; i < ni->npods; i++) {
        const struct kc_pinfo *pi = &ni->pods[i];
        if (pi->terminating)
            continue;
        if (c->by_ctrl) {
            /* a uid is unique across namespaces */
            if (pi->ctrl_uid && strcmp(pi->ctrl_uid, uid) == 0)
                cnt++;
        } else if (c->sel && strcmp(pi->ns, ns) == 0 &&
                   kc_label_selector_matches(c->sel, pi->labels)) {
            cnt++;
        }
    }
    return cnt;
}

/* The node has every topology key of the hard (or soft) constraints. */
static bool has_all_keys(const struct kc_pstate *ps, const struct kc_ninfo *ni, bool hard)
{
    for (size_t k = 0; k < ps->nspread; k++)
        if (ps->spread[k].hard == hard && !kc_ninfo_label(ni, ps->spread[k].key))
            return false;
    return true;
}

void kc_spread_prefilter(struct kc_pstate *ps, struct kc_ninfo *all, size_t n)
{
    bool node_filter = ps->node_selector || ps->has_req_affinity;
    for (size_t k = 0; k < ps->nspread; k++)
        kc_tpmap_clear(&ps->spread[k].counts);
    for (size_t i = 0; i < n; i++) {
        const struct kc_ninfo *ni = &all[i];
        /* nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore (the defaults) */
        if (node_filter && !kc_pod_required_node_affinity_matches(ps, ni))
            continue;
        if (!has_all_keys(ps, ni, true))
            continue;
        for (size_t k = 0; k < ps->nspread; k++) {
            struct kc_spread *c = &ps->spread[k];
            if (c->hard)
                kc_tpmap_add(&c->counts, c->key, kc_ninfo_label(ni, c->key),
                             count_matching(c, ni, ps->ns, ps->ctrl_uid));
        }
    }
    for (size_t k = 0; k < ps->nspread; k++) {
        struct kc_spread *c = &ps->spread[k];
        if (!c->hard)
            continue;
        int64_t min = c->counts.len ? INT64_MAX : 0;
        for (size_t e = 0; e < c->counts.cap; e++)
            if (c->counts.e[e].key && c->counts.e[e].count < min)
                min = c->counts.e[e].count;
        /* fewer domains than minDomains: the global minimum counts as 0 */
        if (c->min_domains > 0 && c->counts.len < (size_t)c->min_domains)
            min = 0;
        c->min_match = min;
    }
}

const char *kc_filter_spread(const struct kc_pstate *ps, const struct kc_ninfo *ni,
                             bool *unresolvable)
{
    for (size_t k = 0; k < ps->nspread; k++) {
        const struct kc_spread *c = &ps->spread[k];
        if (!c->hard)
            continue;
        const char *v = kc_ninfo_label(ni, c->key);
        if (!v) {
            *unresolvable = true;
            return "node(s) didn't match pod topology spread constraints (missing required label)";
        }
        int64_t skew = kc_tpmap_get(&c->counts, c->key, v) + (c->self_match ? 1 : 0) - c->min_match;
        if (skew > c->max_skew) {
            *unresolvable = false;
            return "node(s) didn't match pod topology spread constraints";
        }
    }
    return NULL;
}

static bool *g_ignored;
static size_t g_ignored_cap;

static bool *g_seen;
static size_t g_seen_cap;

/* The default zone constraint reads the incrementally kept (zone, controller) counts
 * unless the pod's node affinity limits which nodes count. */
static bool fast_zone(const struct kc_spread *c, bool node_filter)
{
    return c->by_ctrl && !node_filter && c->is_zone;
}

static bool is_host(const struct kc_spread *c)
{
    return c->is_host;
}

bool kc_score_spread(struct kc_pstate *ps, struct kc_ninfo *all, size_t nall,
                     struct kc_ninfo *const *nodes, size_t n, int64_t *out)
{
    bool node_filter = ps->node_selector || ps->has_req_affinity;
    size_t nsoft = 0;
    bool slow_domains = false, fast = false;
    for (size_t k = 0; k < ps->nspread; k++) {
        const struct kc_spread *c = &ps->spread[k];
        if (c->hard)
            continue;
        nsoft++;
        if (fast_zone(c, node_filter))
            fast = true;
        else if (!is_host(c))
            slow_domains = true;
    }
    if (!nsoft)
        return false;
    if (n > g_ignored_cap) {
        bool *g = realloc(g_ignored, (n + 16) * sizeof *g);
        if (!g)
            return false;
        g_ignored = g;
        g_ignored_cap = n + 16;
    }
    size_t nzones = kc_zone_count() + 1; /* the last slot: nodes without a zone ("") */
    if (fast && nzones > g_seen_cap) {
        bool *g = realloc(g_seen, (nzones + 16) * sizeof *g);
        if (!g)
            return false;
        g_seen = g;
        g_seen_cap = nzones + 16;
    }
    if (fast)
        memset(g_seen, 0, nzones * sizeof *g_seen);
    /* explicit constraints: nodes without every key are ignored; the system defaults
     * let nodes without a zone label still be spread by hostname */
    bool require_all = ps->spread_explicit;
    size_t nignored = 0, nseen = 0;
    for (size_t k = 0; k < ps->nspread; k++)
        if (!ps->spread[k].hard)
            kc_tpmap_clear(&ps->spread[k].counts);
    for (size_t i = 0; i < n; i++) {
        g_ignored[i] = require_all && !has_all_keys(ps, nodes[i], false);
        if (g_ignored[i]) {
            nignored++;
            continue;
        }
        if (fast) {
            size_t z = nodes[i]->zone_id >= 0 ? (size_t)nodes[i]->zone_id : nzones - 1;
            if (!g_seen[z]) {
                g_seen[z] = true;
                nseen++;
            }
        }
        for (size_t k = 0; slow_domains && k < ps->nspread; k++) {
            struct kc_spread *c = &ps->spread[k];
            if (c->hard || is_host(c) || fast_zone(c, node_filter))
                continue;
            const char *v = kc_ninfo_label(nodes[i], c->key);
            kc_tpmap_add(&c->counts, c->key, v ? v : "", 0);
        }
    }
    for (size_t k = 0; k < ps->nspread; k++) {
        struct kc_spread *c = &ps->spread[k];
        size_t sz = is_host(c) ? n - nignored : fast_zone(c, node_filter) ? nseen : c->counts.len;
        c->weight = log((double)sz + 2);
    }
    /* domain counts over all nodes (only domains of candidate nodes) */
    for (size_t i = 0; slow_domains && i < nall; i++) {
        const struct kc_ninfo *ni = &all[i];
        for (size_t k = 0; k < ps->nspread; k++) {
            struct kc_spread *c = &ps->spread[k];
            if (c->hard || is_host(c) || fast_zone(c, node_filter))
                continue;
            /* a node without the label only feeds the "" domain, which no score reads */
            const char *v = kc_ninfo_label(ni, c->key);
            struct kc_tp_entry *e = v ? kc_tpmap_entry(&c->counts, c->key, v) : NULL;
            if (!e)
                continue;
            if (node_filter && !kc_pod_required_node_affinity_matches(ps, ni))
                break;
            if (require_all && !has_all_keys(ps, ni, false))
                break;
            e->count += count_matching(c, ni, ps->ns, ps->ctrl_uid);
        }
    }
    int64_t min = INT64_MAX, max = 0;
    for (size_t i = 0; i < n; i++) {
        if (g_ignored[i])
            continue;
        double sc = 0;
        for (size_t k = 0; k < ps->nspread; k++) {
            struct kc_spread *c = &ps->spread[k];
            if (c->hard)
                continue;
            const char *v = kc_ninfo_label(nodes[i], c->key);
            if (!v)
                continue;
            int64_t cnt;
            if (is_host(c))
                cnt = count_matching(c, nodes[i], ps->ns, ps->ctrl_uid);
            else if (fast_zone(c, node_filter))
                cnt = kc_zone_ctrl_count(nodes[i]->zone_id, ps->ctrl_uid);
            else
                cnt = kc_tpmap_get(&c->counts, c->key, v);
            sc += (double)cnt * c->weight + (double)(c->max_skew - 1);
        }
        out[i] = llround(sc);
        if (out[i] < min)
            min = out[i];
        if (out[i] > max)
            max = out[i];
    }
    for (size_t i = 0; i < n; i++) {
        if (g_ignored[i])
            out[i] = 0;
        else if (max == 0)
            out[i] = KC_MAX_NODE_SCORE;
        else
            out[i] = KC_MAX_NODE_SCORE * (max + min - out[i]) / max;
    }
    return true;
}
