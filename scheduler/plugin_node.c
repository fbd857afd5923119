/* NodeUnschedulable, NodeName, TaintToleration and NodeAffinity (with spec.nodeSelector). */
#include "scheduler/plugins.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int parse_effect(const char *e, bool *any)
{
    *any = !e || !*e;
    if (*any)
        return 0;
    if (strcmp(e, "NoSchedule") == 0)
        return KC_EFFECT_NO_SCHEDULE;
    if (strcmp(e, "PreferNoSchedule") == 0)
        return KC_EFFECT_PREFER_NO_SCHEDULE;
    if (strcmp(e, "NoExecute") == 0)
        return KC_EFFECT_NO_EXECUTE;
    return -1; /* unknown effect: matches no taint */
}

static bool parse_int64(const char *s, int64_t *out)
{
    if (!s || !*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

static int parse_reqs(const json_t *list, bool field, struct kc_nsreq *out, size_t *n)
{
    size_t i;
    const json_t *e;
    json_array_foreach (list, i, e) {
        struct kc_nsreq *r = &out[(*n)++];
        memset(r, 0, sizeof *r);
        r->field = field;
        r->key = json_string_value(json_object_get(e, "key"));
        if (!r->key)
            r->key = "";
        const char *op = json_string_value(json_object_get(e, "operator"));
        if (!op)
            op = "";
        if (strcmp(op, "In") == 0)
            r->op = KC_OP_IN;
        else if (strcmp(op, "NotIn") == 0)
            r->op = KC_OP_NOT_IN;
        else if (strcmp(op, "Exists") == 0 && !field)
            r->op = KC_OP_EXISTS;
        else if (strcmp(op, "DoesNotExist") == 0 && !field)
            r->op = KC_OP_NOT_EXIST;
        else if (strcmp(op, "Gt") == 0 && !field)
            r->op = KC_OP_GT;
        else if (strcmp(op, "Lt") == 0 && !field)
            r->op = KC_OP_LT;
        else
            r->op = -1; /* invalid: the term matches nothing */
        const json_t *vals = json_object_get(e, "values");
        size_t nv = json_array_size(vals);
        r->vals = calloc(nv + 1, sizeof *r->vals);
        if (!r->vals)
            return -1;
        size_t k;
        const json_t *v;
        json_array_foreach (vals, k, v) {
            if (json_is_string(v))
                r->vals[r->nvals++] = json_string_value(v);
        }
        if (r->op == KC_OP_GT || r->op == KC_OP_LT)
            r->num_ok = r->nvals == 1 && parse_int64(r->vals[0], &r->num);
        /* matchFields supports metadata.name with one value only */
        if (field && (strcmp(r->key, "metadata.name") != 0 || r->nvals != 1))
            r->op = -1;
    }
    return 0;
}

static int parse_term(const json_t *term, int32_t weight, struct kc_nsterm *out)
{
    const json_t *me = json_object_get(term, "matchExpressions");
    const json_t *mf = json_object_get(term, "matchFields");
    size_t total = json_array_size(me) + json_array_size(mf);
    memset(out, 0, sizeof *out);
    out->weight = weight;
    if (!total)
        return 0; /* an empty term matches no node */
    out->reqs = calloc(total, sizeof *out->reqs);
    if (!out->reqs)
        return -1;
    if (parse_reqs(me, false, out->reqs, &out->n) != 0 ||
        parse_reqs(mf, true, out->reqs, &out->n) != 0)
        return -1;
    return 0;
}

static bool tolerates(const struct kc_toleration *tl, const struct kc_taint *t)
{
    if (!tl->effect_any && tl->effect != t->effect)
        return false;
    if (*tl->key && strcmp(tl->key, t->key) != 0)
        return false;
    if (tl->bad_op)
        return false;
    if (tl->exists)
        return true;
    return strcmp(tl->value, t->value) == 0;
}

static bool tolerated(const struct kc_pstate *ps, const struct kc_taint *t)
{
    for (size_t k = 0; k < ps->ntols; k++)
        if (tolerates(&ps->tols[k], t))
            return true;
    return false;
}

int kc_plugin_node_parse(struct kc_pstate *ps, const json_t *pod)
{
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *sel = json_object_get(spec, "nodeSelector");
    if (json_is_object(sel) && json_object_size(sel))
        ps->node_selector = sel;
    const json_t *na = json_object_get(json_object_get(spec, "affinity"), "nodeAffinity");
    const json_t *req = json_object_get(na, "requiredDuringSchedulingIgnoredDuringExecution");
    if (json_is_object(req)) {
        ps->has_req_affinity = true;
        const json_t *terms = json_object_get(req, "nodeSelectorTerms");
        size_t nt = json_array_size(terms);
        if (nt && !(ps->req_terms = calloc(nt, sizeof *ps->req_terms)))
            return -1;
        size_t i;
        const json_t *t;
        json_array_foreach (terms, i, t) {
            ps->nreq++;
            if (parse_term(t, 0, &ps->req_terms[i]) != 0)
                return -1;
        }
    }
    const json_t *pref = json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution");
    size_t np = json_array_size(pref);
    if (np && !(ps->pref_terms = calloc(np, sizeof *ps->pref_terms)))
        return -1;
    size_t i;
    const json_t *t;
    json_array_foreach (pref, i, t) {
        int32_t w = (int32_t)json_integer_value(json_object_get(t, "weight"));
        if (w == 0)
            continue;
        if (parse_term(json_object_get(t, "preference"), w, &ps->pref_terms[ps->npref++]) != 0)
            return -1;
    }

    const json_t *tols = json_object_get(spec, "tolerations");
    size_t ntol = json_array_size(tols);
    if (ntol && !(ps->tols = calloc(ntol, sizeof *ps->tols)))
        return -1;
    json_array_foreach (tols, i, t) {
        struct kc_toleration *tl = &ps->tols[ps->ntols];
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *v = json_string_value(json_object_get(t, "value"));
        const char *op = json_string_value(json_object_get(t, "operator"));
        tl->key = k ? k : "";
        tl->value = v ? v : "";
        tl->exists = op && strcmp(op, "Exists") == 0;
        tl->bad_op = op && *op && !tl->exists && strcmp(op, "Equal") != 0;
        int eff = parse_effect(json_string_value(json_object_get(t, "effect")), &tl->effect_any);
        if (eff < 0)
            continue;
        tl->effect = eff;
        ps->ntols++;
    }
    /* NodeUnschedulable: tolerating the taint node.kubernetes.io/unschedulable:NoSchedule */
    static const struct kc_taint unsched = {"node.kubernetes.io/unschedulable", "",
                                            KC_EFFECT_NO_SCHEDULE};
    ps->tol_unschedulable = tolerated(ps, &unsched);
    return 0;
}

const char *kc_filter_node_unschedulable(const struct kc_pstate *ps, const struct kc_ninfo *ni)
{
    if (ni->unschedulable && !ps->tol_unschedulable)
        return "node(s) were unschedulable";
    return NULL;
}

const char *kc_filter_node_name(const struct kc_pstate *ps, const struct kc_ninfo *ni)
{
    if (ps->node_name && strcmp(ps->node_name, ni->sn->name) != 0)
        return "node(s) didn't match the requested node name";
    return NULL;
}

const struct kc_taint *kc_filter_taints(const struct kc_pstate *ps, const struct kc_ninfo *ni)
{
    for (size_t i = 0; i < ni->ntaints; i++) {
        const struct kc_taint *t = &ni->taints[i];
        if (t->effect != KC_EFFECT_NO_SCHEDULE && t->effect != KC_EFFECT_NO_EXECUTE)
            continue;
        if (!tolerated(ps, t))
            return t;
    }
    return NULL;
}

static bool req_matches(const struct kc_nsreq *r, const struct kc_ninfo *ni)
{
    const char *v;
    if (r->field)
        v = ni->sn->name;
    else
        v = ni->labels ? json_string_value(json_object_get(ni->labels, r->key)) : NULL;
    switch (r->op) {
    case KC_OP_IN:
    case KC_OP_NOT_IN: {
        bool in = false;
        for (size_t i = 0; v && i < r->nvals && !in; i++)
            in = strcmp(r->vals[i], v) == 0;
        return r->op == KC_OP_IN ? in : !in;
    }
    case KC_OP_EXISTS:
        return v != NULL;
    case KC_OP_NOT_EXIST:
        return v == NULL;
    case KC_OP_GT:
    case KC_OP_LT: {
        int64_t lv;
        if (!v || !r->num_ok || !parse_int64(v, &lv))
            return false;
        return r->op == KC_OP_GT ? lv > r->num : lv < r->num;
    }
    default:
        return false;
    }
}

static bool term_matches(const struct kc_nsterm *t, const struct kc_ninfo *ni)
{
    if (t->n == 0)
        return false;
    for (size_t i = 0; i < t->n; i++)
        if (!req_matches(&t->reqs[i], ni))
            return false;
    return true;
}

bool kc_pod_required_node_affinity_matches(const struct kc_pstate *ps, const struct kc_ninfo *ni)
{
    if (ps->node_selector) {
        const char *k;
        const json_t *v;
        json_object_foreach ((json_t *)ps->node_selector, k, v) {
            const char *nv = ni->labels ? json_string_value(json_object_get(ni->labels, k)) : NULL;
            if (!nv || !json_is_string(v) || strcmp(nv, json_string_value(v)) != 0)
                return false;
        }
    }
    if (ps->has_req_affinity) {
        /* terms are ORed, a term's requirements ANDed */
        bool any = false;
        for (size_t i = 0; i < ps->nreq && !any; i++)
            any = term_matches(&ps->req_terms[i], ni);
        if (!any)
            return false;
    }
    return true;
}

const char *kc_filter_node_affinity(const struct kc_pstate *ps, const struct kc_ninfo *ni)
{
    if (!ps->node_selector && !ps->has_req_affinity)
        return NULL;
    if (!kc_pod_required_node_affinity_matches(ps, ni))
        return "node(s) didn't match Pod's node affinity/selector";
    return NULL;
}

void kc_score_node_affinity(const struct kc_pstate *ps, struct kc_ninfo *const *nodes, size_t n,
                            int64_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int64_t sum = 0;
        for (size_t k = 0; k < ps->npref; k++)
            if (term_matches(&ps->pref_terms[k], nodes[i]))
                sum += ps->pref_terms[k].weight;
        out[i] = sum;
    }
    kc_normalize_default(out, n, false);
}

void kc_score_taints(const struct kc_pstate *ps, struct kc_ninfo *const *nodes, size_t n,
                     int64_t *out)
{
    /* only tolerations with effect PreferNoSchedule or empty count here */
    for (size_t i = 0; i < n; i++) {
        int64_t cnt = 0;
        const struct kc_ninfo *ni = nodes[i];
        for (size_t t = 0; t < ni->ntaints; t++) {
            if (ni->taints[t].effect != KC_EFFECT_PREFER_NO_SCHEDULE)
                continue;
            bool ok = false;
            for (size_t k = 0; k < ps->ntols && !ok; k++)
                ok = (ps->tols[k].effect_any ||
                      ps->tols[k].effect == KC_EFFECT_PREFER_NO_SCHEDULE) &&
                     tolerates(&ps->tols[k], &ni->taints[t]);
            if (!ok)
                cnt++;
        }
        out[i] = cnt;
    }
    kc_normalize_default(out, n, true);
}
