/* The scheduling cycle (pkg/scheduler/schedule_one.go): filter a rotating window of
 * nodes until enough are feasible (numFeasibleNodesToFind), score the feasible ones with
 * the default profile's weights, pick the best (ties at random), or word the
 * FailedScheduling message like FitError.Error() plus the preemption sentence. */
#include "scheduler/plugins.h"
#include "scheduler/sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------- node cache ---------------- */

static struct kc_ninfo *g_cache;
static size_t g_cache_len, g_cache_cap;
static size_t g_total_aff, g_total_anti;

/* Interned zone names (few; never freed until reset). */
static char **g_zones;
static size_t g_nzones;

static int zone_intern(const char *z)
{
    for (size_t i = 0; i < g_nzones; i++)
        if (strcmp(g_zones[i], z) == 0)
            return (int)i;
    char **nz = realloc(g_zones, (g_nzones + 1) * sizeof *nz);
    if (!nz)
        return -1;
    g_zones = nz;
    if (!(g_zones[g_nzones] = strdup(z)))
        return -1;
    return (int)g_nzones++;
}

size_t kc_zone_count(void)
{
    return g_nzones;
}

/* (zone id, controller uid) -> pod count, keys owned; emptied entries stay until the
 * map is rebuilt from the node entries. */
struct zc_entry {
    char *uid;
    int zone;
    uint32_t hash;
    int64_t count;
};
static struct zc_entry *g_zc;
static size_t g_zc_cap, g_zc_len;

static uint32_t str_hash(uint32_t h, const char *s);

static struct zc_entry *zc_find(int zone, const char *uid, uint32_t h)
{
    if (!g_zc_cap)
        return NULL;
    for (size_t i = h & (g_zc_cap - 1);; i = (i + 1) & (g_zc_cap - 1)) {
        struct zc_entry *e = &g_zc[i];
        if (!e->uid || (e->hash == h && e->zone == zone && strcmp(e->uid, uid) == 0))
            return e;
    }
}

static void zc_add(int zone, const char *uid, int64_t delta)
{
    if ((g_zc_len + 1) * 2 > g_zc_cap) {
        size_t cap = g_zc_cap ? g_zc_cap * 2 : 256, oldcap = g_zc_cap;
        struct zc_entry *old = g_zc, *e = calloc(cap, sizeof *e);
        if (!e)
            return;
        g_zc = e;
        g_zc_cap = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].uid)
                *zc_find(old[i].zone, old[i].uid, old[i].hash) = old[i];
        free(old);
    }
    uint32_t h = str_hash(2166136261u + (uint32_t)zone, uid);
    struct zc_entry *e = zc_find(zone, uid, h);
    if (!e->uid) {
        if (!(e->uid = strdup(uid)))
            return;
        e->zone = zone;
        e->hash = h;
        g_zc_len++;
    }
    e->count += delta;
}

int64_t kc_zone_ctrl_count(int zone_id, const char *uid)
{
    if (zone_id < 0 || !uid)
        return 0;
    struct zc_entry *e = zc_find(zone_id, uid, str_hash(2166136261u + (uint32_t)zone_id, uid));
    return e && e->uid ? e->count : 0;
}

static void zc_free(void)
{
    for (size_t i = 0; i < g_zc_cap; i++)
        free(g_zc[i].uid);
    free(g_zc);
    g_zc = NULL;
    g_zc_cap = g_zc_len = 0;
}

static void ninfo_clear(struct kc_ninfo *ni)
{
    for (size_t i = 0; i < ni->nzc; i++) {
        zc_add(ni->zone_id, ni->zc[i].uid, -ni->zc[i].count);
        free(ni->zc[i].uid);
    }
    free(ni->zc);
    g_total_aff -= ni->n_affinity;
    g_total_anti -= ni->n_req_anti;
    for (size_t i = 0; i < ni->npods; i++)
        kc_aff_terms_free(ni->pods[i].terms, ni->pods[i].nterms);
    free(ni->pods);
    free(ni->taints);
    memset(ni, 0, sizeof *ni);
}

static int taint_effect(const char *e)
{
    if (!e)
        return KC_EFFECT_OTHER;
    if (strcmp(e, "NoSchedule") == 0)
        return KC_EFFECT_NO_SCHEDULE;
    if (strcmp(e, "PreferNoSchedule") == 0)
        return KC_EFFECT_PREFER_NO_SCHEDULE;
    if (strcmp(e, "NoExecute") == 0)
        return KC_EFFECT_NO_EXECUTE;
    return KC_EFFECT_OTHER;
}

static const char *controller_uid(const json_t *meta)
{
    size_t i;
    const json_t *ref;
    json_array_foreach (json_object_get(meta, "ownerReferences"), i, ref) {
        if (json_is_true(json_object_get(ref, "controller")))
            return json_string_value(json_object_get(ref, "uid"));
    }
    return NULL;
}

static void ninfo_build(struct kc_ninfo *ni, const struct kc_sched_node *sn)
{
    ni->sn = sn;
    ni->gen = sn->generation;
    ni->node_json = sn->node;
    ni->pods_json = sn->pods;
    const json_t *meta = json_object_get(sn->node, "metadata");
    const json_t *spec = json_object_get(sn->node, "spec");
    ni->labels = json_object_get(meta, "labels");
    if (!json_is_object(ni->labels))
        ni->labels = NULL;
    ni->zone = json_string_value(json_object_get(ni->labels, KC_LABEL_ZONE));
    ni->hostname = json_string_value(json_object_get(ni->labels, KC_LABEL_HOSTNAME));
    ni->unschedulable = json_is_true(json_object_get(spec, "unschedulable"));
    const json_t *taints = json_object_get(spec, "taints");
    size_t nt = json_array_size(taints);
    if (nt && (ni->taints = calloc(nt, sizeof *ni->taints))) {
        size_t i;
        const json_t *t;
        json_array_foreach (taints, i, t) {
            const char *k = json_string_value(json_object_get(t, "key"));
            const char *v = json_string_value(json_object_get(t, "value"));
            ni->taints[ni->ntaints].key = k ? k : "";
            ni->taints[ni->ntaints].value = v ? v : "";
            ni->taints[ni->ntaints].effect =
                taint_effect(json_string_value(json_object_get(t, "effect")));
            ni->ntaints++;
        }
    }
    size_t np = json_array_size(sn->pods);
    if (np && (ni->pods = calloc(np, sizeof *ni->pods))) {
        size_t i;
        const json_t *pod;
        json_array_foreach (sn->pods, i, pod) {
            struct kc_pinfo *pi = &ni->pods[ni->npods++];
            const json_t *pm = json_object_get(pod, "metadata");
            pi->pod = pod;
            pi->ns = json_string_value(json_object_get(pm, "namespace"));
            if (!pi->ns)
                pi->ns = "default";
            pi->labels = json_object_get(pm, "labels");
            pi->ctrl_uid = controller_uid(pm);
            pi->terminating = json_object_get(pm, "deletionTimestamp") != NULL &&
                              !json_is_null(json_object_get(pm, "deletionTimestamp"));
            const json_t *aff = json_object_get(json_object_get(pod, "spec"), "affinity");
            if (json_object_get(aff, "podAffinity") || json_object_get(aff, "podAntiAffinity")) {
                kc_aff_terms_parse(pod, pi->ns, &pi->terms, &pi->nterms);
                for (size_t k = 0; k < pi->nterms; k++)
                    if (pi->terms[k].kind == KC_REQ_ANTI)
                        pi->has_req_anti = true;
                if (pi->nterms)
                    ni->n_affinity++;
                if (pi->has_req_anti)
                    ni->n_req_anti++;
            }
        }
    }
    g_total_aff += ni->n_affinity;
    g_total_anti += ni->n_req_anti;
    ni->zone_id = ni->zone ? zone_intern(ni->zone) : -1;
    if (ni->zone_id >= 0 && ni->npods && (ni->zc = calloc(ni->npods, sizeof *ni->zc))) {
        for (size_t i = 0; i < ni->npods; i++) {
            const struct kc_pinfo *pi = &ni->pods[i];
            if (!pi->ctrl_uid || pi->terminating)
                continue;
            size_t k = 0;
            while (k < ni->nzc && strcmp(ni->zc[k].uid, pi->ctrl_uid) != 0)
                k++;
            if (k == ni->nzc) {
                if (!(ni->zc[k].uid = strdup(pi->ctrl_uid)))
                    continue;
                ni->nzc++;
            }
            ni->zc[k].count++;
        }
        for (size_t k = 0; k < ni->nzc; k++)
            zc_add(ni->zone_id, ni->zc[k].uid, ni->zc[k].count);
    }
}

struct kc_ninfo *kc_ninfo_sync(const struct kc_sched_snapshot *s, size_t *n_aff, size_t *n_anti)
{
    if (s->n > g_cache_cap) {
        size_t cap = s->n + s->n / 2 + 16;
        struct kc_ninfo *c = realloc(g_cache, cap * sizeof *c);
        if (!c)
            return NULL;
        memset(c + g_cache_cap, 0, (cap - g_cache_cap) * sizeof *c);
        g_cache = c;
        g_cache_cap = cap;
    }
    for (size_t i = s->n; i < g_cache_len; i++)
        ninfo_clear(&g_cache[i]);
    g_cache_len = s->n;
    for (size_t i = 0; i < s->n; i++) {
        const struct kc_sched_node *sn = s->nodes[i];
        struct kc_ninfo *ni = &g_cache[i];
        /* Entries are compared, never dereferenced, until they match the snapshot. */
        if (ni->sn == sn && ni->gen == sn->generation && ni->node_json == sn->node &&
            ni->pods_json == sn->pods)
            continue;
        ninfo_clear(ni);
        ninfo_build(ni, sn);
    }
    /* drop the emptied (zone, controller) entries once they dominate */
    if (g_zc_len > 4096) {
        size_t live = 0;
        for (size_t i = 0; i < g_zc_cap; i++)
            live += g_zc[i].uid && g_zc[i].count;
        if (live * 4 < g_zc_len) {
            zc_free();
            for (size_t i = 0; i < s->n; i++)
                for (size_t k = 0; k < g_cache[i].nzc; k++)
                    zc_add(g_cache[i].zone_id, g_cache[i].zc[k].uid, g_cache[i].zc[k].count);
        }
    }
    *n_aff = g_total_aff;
    *n_anti = g_total_anti;
    return g_cache;
}

/* ---------------- topology pair map ---------------- */

static uint32_t str_hash(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static uint32_t tp_hash(const char *key, const char *value)
{
    return str_hash(str_hash(2166136261u, key) * 31u, value);
}

void kc_tpmap_clear(struct kc_tpmap *m)
{
    if (m->len)
        memset(m->e, 0, m->cap * sizeof *m->e);
    m->len = 0;
}

void kc_tpmap_free(struct kc_tpmap *m)
{
    free(m->e);
    memset(m, 0, sizeof *m);
}

static struct kc_tp_entry *tp_find(const struct kc_tpmap *m, const char *key, const char *value,
                                   uint32_t h)
{
    if (!m->cap)
        return NULL;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        struct kc_tp_entry *e = &m->e[i];
        if (!e->key)
            return e;
        if (e->hash == h && strcmp(e->key, key) == 0 && strcmp(e->value, value) == 0)
            return e;
    }
}

void kc_tpmap_add(struct kc_tpmap *m, const char *key, const char *value, int64_t delta)
{
    if ((m->len + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 64;
        struct kc_tp_entry *old = m->e;
        size_t oldcap = m->cap;
        struct kc_tp_entry *e = calloc(cap, sizeof *e);
        if (!e)
            return;
        m->e = e;
        m->cap = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].key)
                *tp_find(m, old[i].key, old[i].value, old[i].hash) = old[i];
        free(old);
    }
    uint32_t h = tp_hash(key, value);
    struct kc_tp_entry *e = tp_find(m, key, value, h);
    if (!e->key) {
        e->key = key;
        e->value = value;
        e->hash = h;
        m->len++;
    }
    e->count += delta;
}

struct kc_tp_entry *kc_tpmap_entry(const struct kc_tpmap *m, const char *key, const char *value)
{
    if (!m->len)
        return NULL;
    struct kc_tp_entry *e = tp_find(m, key, value, tp_hash(key, value));
    return e && e->key ? e : NULL;
}

int64_t kc_tpmap_get(const struct kc_tpmap *m, const char *key, const char *value)
{
    struct kc_tp_entry *e = kc_tpmap_entry(m, key, value);
    return e ? e->count : 0;
}

/* ---------------- shared helpers ---------------- */

const char *kc_ninfo_label(const struct kc_ninfo *ni, const char *key)
{
    if (!ni->labels)
        return NULL;
    /* the two well-known keys are read from the entry */
    if (strcmp(key, KC_LABEL_HOSTNAME) == 0)
        return ni->hostname;
    if (strcmp(key, KC_LABEL_ZONE) == 0)
        return ni->zone;
    return json_string_value(json_object_get(ni->labels, key));
}

bool kc_term_matches_pod(const struct kc_aff_term *t, const char *ns, const json_t *labels)
{
    if (!t->sel)
        return false;
    if (!t->all_ns) {
        bool ok = false;
        for (size_t i = 0; i < t->nns && !ok; i++)
            ok = strcmp(t->ns[i], ns) == 0;
        if (!ok)
            return false;
    }
    return kc_label_selector_matches(t->sel, labels);
}

void kc_aff_terms_free(struct kc_aff_term *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kc_selector_free(t[i].sel);
        free(t[i].ns);
    }
    free(t);
}

static int parse_term(const json_t *term, int kind, int32_t weight, const char *ns,
                      struct kc_aff_term *out)
{
    char err[128];
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->weight = weight;
    out->topo_key = json_string_value(json_object_get(term, "topologyKey"));
    if (!out->topo_key)
        out->topo_key = "";
    const json_t *sel = json_object_get(term, "labelSelector");
    if (json_is_object(sel) && kc_label_selector_from_json(sel, &out->sel, err, sizeof err) != 0)
        out->sel = NULL; /* invalid: matches nothing */
    const json_t *nss = json_object_get(term, "namespaces");
    const json_t *nsel = json_object_get(term, "namespaceSelector");
    /* namespaceSelector {} selects all namespaces; a non-empty one would need namespace
     * labels, which the scheduler here does not watch: only the listed namespaces count. */
    if (json_is_object(nsel) && json_object_size(nsel) == 0)
        out->all_ns = true;
    size_t nn = json_array_size(nss);
    out->ns = calloc(nn + 1, sizeof *out->ns);
    if (!out->ns)
        return -1;
    size_t i;
    const json_t *v;
    json_array_foreach (nss, i, v) {
        if (json_is_string(v))
            out->ns[out->nns++] = json_string_value(v);
    }
    if (out->nns == 0 && !json_is_object(nsel))
        out->ns[out->nns++] = ns;
    return 0;
}

int kc_aff_terms_parse(const json_t *pod, const char *ns, struct kc_aff_term **out, size_t *n)
{
    const json_t *aff = json_object_get(json_object_get(pod, "spec"), "affinity");
    const json_t *pa = json_object_get(aff, "podAffinity");
    const json_t *paa = json_object_get(aff, "podAntiAffinity");
    const json_t *lists[4] = {
        json_object_get(pa, "requiredDuringSchedulingIgnoredDuringExecution"),
        json_object_get(paa, "requiredDuringSchedulingIgnoredDuringExecution"),
        json_object_get(pa, "preferredDuringSchedulingIgnoredDuringExecution"),
        json_object_get(paa, "preferredDuringSchedulingIgnoredDuringExecution"),
    };
    size_t total = 0;
    for (int k = 0; k < 4; k++)
        total += json_array_size(lists[k]);
    *out = NULL;
    *n = 0;
    if (!total)
        return 0;
    struct kc_aff_term *t = calloc(total, sizeof *t);
    if (!t)
        return -1;
    size_t cnt = 0;
    for (int k = 0; k < 4; k++) {
        size_t i;
        const json_t *e;
        json_array_foreach (lists[k], i, e) {
            const json_t *term = e;
            int32_t w = 1;
            if (k >= KC_PREF_AFF) {
                term = json_object_get(e, "podAffinityTerm");
                w = (int32_t)json_integer_value(json_object_get(e, "weight"));
                if (!term || w == 0)
                    continue;
            }
            if (parse_term(term, k, w, ns, &t[cnt]) != 0) {
                kc_aff_terms_free(t, cnt + 1);
                return -1;
            }
            cnt++;
        }
    }
    *out = t;
    *n = cnt;
    return 0;
}

void kc_normalize_default(int64_t *scores, size_t n, bool reverse)
{
    int64_t max = 0;
    for (size_t i = 0; i < n; i++)
        if (scores[i] > max)
            max = scores[i];
    for (size_t i = 0; i < n; i++) {
        if (max == 0) {
            scores[i] = reverse ? KC_MAX_NODE_SCORE : 0;
            continue;
        }
        int64_t sc = KC_MAX_NODE_SCORE * scores[i] / max;
        scores[i] = reverse ? KC_MAX_NODE_SCORE - sc : sc;
    }
}

/* ---------------- pod state ---------------- */

static void pstate_free(struct kc_pstate *ps)
{
    if (!ps)
        return;
    for (size_t i = 0; i < ps->nreq; i++) {
        for (size_t k = 0; k < ps->req_terms[i].n; k++)
            free(ps->req_terms[i].reqs[k].vals);
        free(ps->req_terms[i].reqs);
    }
    free(ps->req_terms);
    for (size_t i = 0; i < ps->npref; i++) {
        for (size_t k = 0; k < ps->pref_terms[i].n; k++)
            free(ps->pref_terms[i].reqs[k].vals);
        free(ps->pref_terms[i].reqs);
    }
    free(ps->pref_terms);
    free(ps->tols);
    free(ps->ports);
    kc_aff_terms_free(ps->terms, ps->nterms);
    for (size_t i = 0; i < ps->nspread; i++) {
        kc_selector_free(ps->spread[i].sel);
        kc_tpmap_free(&ps->spread[i].counts);
    }
    free(ps->spread);
    free(ps->existing_anti_keys);
    kc_tpmap_free(&ps->aff_counts);
    kc_tpmap_free(&ps->anti_counts);
    kc_tpmap_free(&ps->existing_anti);
    kc_tpmap_free(&ps->topo_score);
    free(ps);
}

static struct kc_pstate *pstate_build(const json_t *pod)
{
    struct kc_pstate *ps = calloc(1, sizeof *ps);
    if (!ps)
        return NULL;
    const json_t *meta = json_object_get(pod, "metadata");
    const json_t *spec = json_object_get(pod, "spec");
    ps->ns = json_string_value(json_object_get(meta, "namespace"));
    if (!ps->ns)
        ps->ns = "default";
    ps->name = json_string_value(json_object_get(meta, "name"));
    ps->labels = json_object_get(meta, "labels");
    ps->ctrl_uid = controller_uid(meta);
    ps->node_name = json_string_value(json_object_get(spec, "nodeName"));
    if (ps->node_name && !*ps->node_name)
        ps->node_name = NULL;
    const char *pp = json_string_value(json_object_get(spec, "preemptionPolicy"));
    ps->preempt_never = pp && strcmp(pp, "Never") == 0;
    if (kc_plugin_node_parse(ps, pod) != 0 || kc_plugin_ports_parse(ps, pod) != 0 ||
        kc_plugin_interpod_parse(ps, pod) != 0 || kc_plugin_spread_parse(ps, pod) != 0) {
        pstate_free(ps);
        return NULL;
    }
    return ps;
}

void kc_sched_pod_release(struct kc_sched_pod *p)
{
    pstate_free(p->state[0]);
    p->state[0] = NULL;
}

void kc_sched_algorithm_reset(void)
{
    for (size_t i = 0; i < g_cache_len; i++)
        ninfo_clear(&g_cache[i]);
    free(g_cache);
    g_cache = NULL;
    g_cache_len = g_cache_cap = 0;
    g_total_aff = g_total_anti = 0;
    zc_free();
    for (size_t i = 0; i < g_nzones; i++)
        free(g_zones[i]);
    free(g_zones);
    g_zones = NULL;
    g_nzones = 0;
}

/* ---------------- the cycle ---------------- */

/* Failure reasons with the number of nodes giving each. */
struct reason {
    char text[192];
    size_t count;
};
struct reasons {
    struct reason r[32];
    size_t n;
    size_t unresolvable, resolvable; /* nodes by status code */
    const struct kc_taint *last_taint;
    size_t last_taint_idx;
};

static size_t reason_add(struct reasons *rs, const char *text)
{
    for (size_t i = 0; i < rs->n; i++) {
        if (strcmp(rs->r[i].text, text) == 0) {
            rs->r[i].count++;
            return i;
        }
    }
    if (rs->n == sizeof rs->r / sizeof rs->r[0])
        return rs->n - 1; /* more distinct reasons than we print: fold into the last */
    snprintf(rs->r[rs->n].text, sizeof rs->r[rs->n].text, "%s", text);
    rs->r[rs->n].count = 1;
    return rs->n++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "N reason" strings sorted as Go's sort.Strings, joined with ", ". */
static size_t append_sorted(char *out, size_t len, size_t used, char (*items)[224], size_t n)
{
    const char *ptrs[34];
    for (size_t i = 0; i < n; i++)
        ptrs[i] = items[i];
    qsort(ptrs, n, sizeof ptrs[0], cmp_str);
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(out + used, used < len ? len - used : 0, "%s%s", i ? ", " : "", ptrs[i]);
        if (w > 0)
            used += (size_t)w;
    }
    return used;
}

static void fit_error(const struct reasons *rs, size_t nall, bool preempt_never, char *msg,
                      size_t msglen)
{
    static char items[34][224];
    size_t used = 0;
    int w = snprintf(msg, msglen, "0/%zu nodes are available: ", nall);
    used = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < rs->n; i++)
        snprintf(items[i], sizeof items[i], "%zu %s", rs->r[i].count, rs->r[i].text);
    used = append_sorted(msg, msglen, used, items, rs->n);
    /* DefaultPreemption (its message is "preemption: " + its own FitError): nodes failing with an
     * unresolvable status are skipped; on the others no pod of lower priority can be evicted here
     * (no preemption is done). */
    if (preempt_never) {
        w = snprintf(msg + (used < msglen ? used : msglen), used < msglen ? msglen - used : 0,
                     ". preemption: not eligible due to preemptionPolicy=Never..");
        return;
    }
    w = snprintf(msg + (used < msglen ? used : msglen), used < msglen ? msglen - used : 0,
                 ". preemption: 0/%zu nodes are available: ", nall);
    if (w > 0)
        used += (size_t)w;
    size_t n = 0;
    if (rs->resolvable)
        snprintf(items[n++], sizeof items[0], "%zu No preemption victims found for incoming pod",
                 rs->resolvable);
    if (rs->unresolvable)
        snprintf(items[n++], sizeof items[0], "%zu Preemption is not helpful for scheduling",
                 rs->unresolvable);
    used = append_sorted(msg, msglen, used, items, n);
    /* The preemption FitError ends with "." and the outer message adds another one:
     * upstream prints "... for scheduling.." */
    snprintf(msg + (used < msglen ? used : msglen), used < msglen ? msglen - used : 0, "..");
}

/* numFeasibleNodesToFind with the adaptive percentageOfNodesToScore. */
static size_t num_feasible_to_find(size_t nall)
{
    if (nall < 100)
        return nall;
    long pct = 50 - (long)nall / 125;
    if (pct < 5)
        pct = 5;
    size_t n = nall * (size_t)pct / 100;
    return n < 100 ? 100 : n;
}

static uint64_t g_rng = 0x9e3779b97f4a7c15ULL;
static uint64_t rng_next(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static size_t g_next_start;

/* Growable scratch arrays reused across cycles. */
static struct kc_ninfo **g_feasible;
static size_t *g_feasible_idx;
static int64_t *g_total, *g_tmp;
static size_t g_scratch_cap;

static int scratch_reserve(size_t n)
{
    if (n <= g_scratch_cap)
        return 0;
    size_t cap = n + 16;
    void *a = realloc(g_feasible, cap * sizeof *g_feasible);
    if (a)
        g_feasible = a;
    void *b = realloc(g_feasible_idx, cap * sizeof *g_feasible_idx);
    if (b)
        g_feasible_idx = b;
    void *c = realloc(g_total, cap * sizeof *g_total);
    if (c)
        g_total = c;
    void *d = realloc(g_tmp, cap * sizeof *g_tmp);
    if (d)
        g_tmp = d;
    if (!a || !b || !c || !d)
        return -1;
    g_scratch_cap = cap;
    return 0;
}

static void add_weighted(size_t n, int64_t weight)
{
    for (size_t i = 0; i < n; i++)
        g_total[i] += weight * g_tmp[i];
}

/* Runs the filters in the default profile's order; the first failing plugin decides. */
static bool run_filters(const struct kc_sched_pod *p, const struct kc_pstate *ps,
                        const struct kc_ninfo *ni, struct reasons *rs)
{
    const char *r;
    bool unresolvable = true;
    if ((r = kc_filter_node_unschedulable(ps, ni)) || (r = kc_filter_node_name(ps, ni)))
        goto fail;
    const struct kc_taint *t = kc_filter_taints(ps, ni);
    if (t) {
        if (t != rs->last_taint) {
            char buf[192];
            snprintf(buf, sizeof buf, "node(s) had untolerated taint {%s: %s}", t->key, t->value);
            rs->last_taint_idx = reason_add(rs, buf);
            rs->last_taint = t;
        } else {
            rs->r[rs->last_taint_idx].count++;
        }
        rs->unresolvable++;
        return false;
    }
    if ((r = kc_filter_node_affinity(ps, ni)))
        goto fail;
    unresolvable = false;
    if ((r = kc_filter_ports(ps, ni)))
        goto fail;
    const char *res[4];
    int nres = kc_filter_resources(p, ni->sn, res);
    if (nres) {
        for (int i = 0; i < nres; i++)
            reason_add(rs, res[i]);
        rs->resolvable++;
        return false;
    }
    if (ps->nhard && (r = kc_filter_spread(ps, ni, &unresolvable)))
        goto fail;
    if (ps->interpod_filter && (r = kc_filter_interpod(ps, ni, &unresolvable)))
        goto fail;
    return true;
fail:
    reason_add(rs, r);
    if (unresolvable)
        rs->unresolvable++;
    else
        rs->resolvable++;
    return false;
}

int kc_sched_schedule_one(struct kc_sched_pod *p, const struct kc_sched_snapshot *s, char *msg,
                          size_t msglen)
{
    static struct reasons rs;
    if (msglen)
        msg[0] = 0;
    if (s->n == 0) {
        snprintf(msg, msglen, "no nodes available to schedule pods");
        return -1;
    }
    if (!p->state[0])
        p->state[0] = pstate_build(p->pod);
    struct kc_pstate *ps = p->state[0];
    size_t n_aff = 0, n_anti = 0;
    struct kc_ninfo *all = ps ? kc_ninfo_sync(s, &n_aff, &n_anti) : NULL;
    if (!all || scratch_reserve(s->n) != 0) {
        snprintf(msg, msglen, "out of memory");
        return -1;
    }

    /* PreFilter: per-cycle counts, only when the pod (or an existing pod) needs them */
    kc_interpod_prefilter(ps, all, s->n, n_anti);
    if (ps->nhard)
        kc_spread_prefilter(ps, all, s->n);

    /* Filter: a rotating window until enough feasible nodes are found */
    memset(&rs, 0, sizeof rs);
    size_t want = num_feasible_to_find(s->n), nf = 0, processed = 0;
    size_t start = g_next_start % s->n;
    for (size_t k = 0; k < s->n && nf < want; k++) {
        size_t i = start + k < s->n ? start + k : start + k - s->n;
        processed++;
        if (run_filters(p, ps, &all[i], &rs)) {
            g_feasible[nf] = &all[i];
            g_feasible_idx[nf++] = i;
        }
    }
    g_next_start = (start + processed) % s->n;
    if (nf == 0) {
        fit_error(&rs, s->n, ps->preempt_never, msg, msglen);
        return -1;
    }
    if (nf == 1)
        return (int)g_feasible_idx[0];

    /* Score: each plugin normalised to 0..100, weighted as the default profile */
    memset(g_total, 0, nf * sizeof *g_total);
    kc_score_least_allocated(p, g_feasible, nf, g_tmp);
    add_weighted(nf, 1);
    kc_score_balanced(p, g_feasible, nf, g_tmp);
    add_weighted(nf, 1);
    if (ps->npref) {
        kc_score_node_affinity(ps, g_feasible, nf, g_tmp);
        add_weighted(nf, 2);
    }
    kc_score_taints(ps, g_feasible, nf, g_tmp);
    add_weighted(nf, 3);
    if (kc_score_spread(ps, all, s->n, g_feasible, nf, g_tmp))
        add_weighted(nf, 2);
    if (kc_score_interpod(ps, all, s->n, n_aff, g_feasible, nf, g_tmp))
        add_weighted(nf, 2);

    /* selectHost: the highest total, ties broken uniformly (reservoir sampling) */
    size_t best = 0, ties = 1;
    for (size_t i = 1; i < nf; i++) {
        if (g_total[i] > g_total[best]) {
            best = i;
            ties = 1;
        } else if (g_total[i] == g_total[best]) {
            ties++;
            if (rng_next() % ties == 0)
                best = i;
        }
    }
    return (int)g_feasible_idx[best];
}
