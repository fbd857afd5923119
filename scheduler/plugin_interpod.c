/* InterPodAffinity: required affinity / anti-affinity of the incoming pod, required
 * anti-affinity of existing pods against it (filter), preferred terms both ways and
 * existing pods' required affinity (score, hardPodAffinityWeight 1). */
#include "scheduler/plugins.h"

#include <stdlib.h>
#include <string.h>

int kc_plugin_interpod_parse(struct kc_pstate *ps, const json_t *pod)
{
    if (kc_aff_terms_parse(pod, ps->ns, &ps->terms, &ps->nterms) != 0)
        return -1;
    for (size_t i = 0; i < ps->nterms; i++) {
        switch (ps->terms[i].kind) {
        case KC_REQ_AFF:
            ps->n_req_aff++;
            break;
        case KC_REQ_ANTI:
            ps->n_req_anti++;
            break;
        default:
            ps->n_pref++;
        }
    }
    return 0;
}

static void add_key(struct kc_pstate *ps, const char *key)
{
    for (size_t i = 0; i < ps->n_existing_anti_keys; i++)
        if (strcmp(ps->existing_anti_keys[i], key) == 0)
            return;
    if (ps->n_existing_anti_keys == ps->cap_existing_anti_keys) {
        size_t cap = ps->cap_existing_anti_keys ? ps->cap_existing_anti_keys * 2 : 4;
        const char **k = realloc(ps->existing_anti_keys, cap * sizeof *k);
        if (!k)
            return;
        ps->existing_anti_keys = k;
        ps->cap_existing_anti_keys = cap;
    }
    ps->existing_anti_keys[ps->n_existing_anti_keys++] = key;
}

/* Whether a pod matches all the incoming pod's required affinity terms. */
static bool matches_all_affinity(const struct kc_pstate *ps, const char *ns, const json_t *labels)
{
    for (size_t i = 0; i < ps->nterms; i++)
        if (ps->terms[i].kind == KC_REQ_AFF && !kc_term_matches_pod(&ps->terms[i], ns, labels))
            return false;
    return true;
}

void kc_interpod_prefilter(struct kc_pstate *ps, struct kc_ninfo *all, size_t n,
                           size_t n_anti_total)
{
    kc_tpmap_clear(&ps->aff_counts);
    kc_tpmap_clear(&ps->anti_counts);
    kc_tpmap_clear(&ps->existing_anti);
    ps->n_existing_anti_keys = 0;
    /* existing pods' required anti-affinity matching the incoming pod */
    for (size_t i = 0; n_anti_total && i < n; i++) {
        const struct kc_ninfo *ni = &all[i];
        if (!ni->n_req_anti)
            continue;
        for (size_t k = 0; k < ni->npods; k++) {
            const struct kc_pinfo *pi = &ni->pods[k];
            for (size_t t = 0; pi->has_req_anti && t < pi->nterms; t++) {
                const struct kc_aff_term *term = &pi->terms[t];
                if (term->kind != KC_REQ_ANTI || !kc_term_matches_pod(term, ps->ns, ps->labels))
                    continue;
                const char *v = kc_ninfo_label(ni, term->topo_key);
                if (v) {
                    kc_tpmap_add(&ps->existing_anti, term->topo_key, v, 1);
                    add_key(ps, term->topo_key);
                }
            }
        }
    }
    /* the incoming pod's required terms against the existing pods */
    if (ps->n_req_aff || ps->n_req_anti) {
        for (size_t i = 0; i < n; i++) {
            const struct kc_ninfo *ni = &all[i];
            for (size_t k = 0; k < ni->npods; k++) {
                const struct kc_pinfo *pi = &ni->pods[k];
                bool all_aff = ps->n_req_aff && matches_all_affinity(ps, pi->ns, pi->labels);
                for (size_t t = 0; t < ps->nterms; t++) {
                    const struct kc_aff_term *term = &ps->terms[t];
                    struct kc_tpmap *m;
                    if (term->kind == KC_REQ_AFF && all_aff)
                        m = &ps->aff_counts;
                    else if (term->kind == KC_REQ_ANTI &&
                             kc_term_matches_pod(term, pi->ns, pi->labels))
                        m = &ps->anti_counts;
                    else
                        continue;
                    const char *v = kc_ninfo_label(ni, term->topo_key);
                    if (v)
                        kc_tpmap_add(m, term->topo_key, v, 1);
                }
            }
        }
    }
    ps->interpod_filter = ps->existing_anti.len || ps->n_req_aff || ps->n_req_anti;
}

const char *kc_filter_interpod(const struct kc_pstate *ps, const struct kc_ninfo *ni,
                               bool *unresolvable)
{
    if (ps->n_req_aff) {
        bool exist = true;
        for (size_t t = 0; t < ps->nterms; t++) {
            const struct kc_aff_term *term = &ps->terms[t];
            if (term->kind != KC_REQ_AFF)
                continue;
            const char *v = kc_ninfo_label(ni, term->topo_key);
            if (!v) {
                exist = false; /* all topology labels must exist on the node */
                goto aff_fail;
            }
            if (kc_tpmap_get(&ps->aff_counts, term->topo_key, v) <= 0)
                exist = false;
        }
        /* the first pod of a group with affinity to itself may go anywhere */
        if (!exist && !(ps->aff_counts.len == 0 && matches_all_affinity(ps, ps->ns, ps->labels)))
            goto aff_fail;
    }
    if (ps->anti_counts.len) {
        for (size_t t = 0; t < ps->nterms; t++) {
            const struct kc_aff_term *term = &ps->terms[t];
            if (term->kind != KC_REQ_ANTI)
                continue;
            const char *v = kc_ninfo_label(ni, term->topo_key);
            if (v && kc_tpmap_get(&ps->anti_counts, term->topo_key, v) > 0) {
                *unresolvable = false;
                return "node(s) didn't match pod anti-affinity rules";
            }
        }
    }
    for (size_t k = 0; k < ps->n_existing_anti_keys; k++) {
        const char *v = kc_ninfo_label(ni, ps->existing_anti_keys[k]);
        if (v && kc_tpmap_get(&ps->existing_anti, ps->existing_anti_keys[k], v) > 0) {
            *unresolvable = false;
            return "node(s) didn't satisfy existing pods anti-affinity rules";
        }
    }
    return NULL;
aff_fail:
    *unresolvable = true;
    return "node(s) didn't match pod affinity rules";
}

static void score_term(struct kc_tpmap *m, const struct kc_aff_term *t, const char *ns,
                       const json_t *labels, const struct kc_ninfo *ni, int64_t mult)
{
    if (!kc_term_matches_pod(t, ns, labels))
        return;
    const char *v = kc_ninfo_label(ni, t->topo_key);
    if (v)
        kc_tpmap_add(m, t->topo_key, v, mult * t->weight);
}

bool kc_score_interpod(struct kc_pstate *ps, struct kc_ninfo *all, size_t nall, size_t n_aff_total,
                       struct kc_ninfo *const *nodes, size_t n, int64_t *out)
{
    bool own = ps->n_pref > 0;
    if (!own && !n_aff_total)
        return false;
    struct kc_tpmap *m = &ps->topo_score;
    kc_tpmap_clear(m);
    for (size_t i = 0; i < nall; i++) {
        const struct kc_ninfo *ni = &all[i];
        if ((!own && !ni->n_affinity) || !ni->labels || json_object_size(ni->labels) == 0)
            continue;
        for (size_t k = 0; k < ni->npods; k++) {
            const struct kc_pinfo *pi = &ni->pods[k];
            if (!own && !pi->nterms)
                continue;
            for (size_t t = 0; t < ps->nterms; t++) {
                const struct kc_aff_term *term = &ps->terms[t];
                if (term->kind == KC_PREF_AFF || term->kind == KC_PREF_ANTI)
                    score_term(m, term, pi->ns, pi->labels, ni, term->kind == KC_PREF_AFF ? 1 : -1);
            }
            for (size_t t = 0; t < pi->nterms; t++) {
                const struct kc_aff_term *term = &pi->terms[t];
                if (term->kind == KC_REQ_AFF || term->kind == KC_PREF_AFF)
                    score_term(m, term, ps->ns, ps->labels, ni, 1);
                else if (term->kind == KC_PREF_ANTI)
                    score_term(m, term, ps->ns, ps->labels, ni, -1);
            }
        }
    }
    if (!m->len)
        return false;
    /* the distinct topology keys with a score */
    const char *keys[16];
    size_t nkeys = 0;
    for (size_t i = 0; i < m->cap; i++) {
        const char *k = m->e[i].key;
        if (!k)
            continue;
        bool seen = false;
        for (size_t j = 0; j < nkeys && !seen; j++)
            seen = strcmp(keys[j], k) == 0;
        if (!seen && nkeys < sizeof keys / sizeof keys[0])
            keys[nkeys++] = k;
    }
    int64_t min = INT64_MAX, max = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        int64_t sc = 0;
        for (size_t j = 0; j < nkeys; j++) {
            const char *v = kc_ninfo_label(nodes[i], keys[j]);
            if (v)
                sc += kc_tpmap_get(m, keys[j], v);
        }
        out[i] = sc;
        if (sc < min)
            min = sc;
        if (sc > max)
            max = sc;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = max > min ? (int64_t)((double)KC_MAX_NODE_SCORE * (double)(out[i] - min) /
                                       (double)(max - min))
                           : 0;
    return true;
}
