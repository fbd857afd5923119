/* Internals of the scheduling algorithm shared by algorithm.c and the plugin_*.c files:
 * the per-node cache of parsed node data, the per-pod state parsed once per pod (kept in
 * kc_sched_pod.state[0]), the topology-pair counting map and the plugins' entry points.
 *
 * Ownership: every const char * / const json_t * below is borrowed from the snapshot's
 * Node and Pod objects (or from the pod being scheduled) and is only dereferenced while
 * the cache entry is validated against the current snapshot (same node pointer,
 * generation, Node object and pods array). Arrays and selectors are owned by the struct
 * holding them. Single-threaded: the scheduling thread only. */
#ifndef KUBEC_SCHEDULER_PLUGINS_H
#define KUBEC_SCHEDULER_PLUGINS_H

#include "lib/selector.h"
#include "scheduler/sched.h"

#include <stdbool.h>
#include <stdint.h>

#define KC_MAX_NODE_SCORE 100
#define KC_LABEL_HOSTNAME "kubernetes.io/hostname"
#define KC_LABEL_ZONE "topology.kubernetes.io/zone"

enum kc_taint_effect {
    KC_EFFECT_OTHER = 0,
    KC_EFFECT_NO_SCHEDULE,
    KC_EFFECT_PREFER_NO_SCHEDULE,
    KC_EFFECT_NO_EXECUTE,
};

struct kc_taint {
    const char *key, *value;
    int effect;
};

/* A pod affinity / anti-affinity term (required or preferred). */
enum kc_term_kind { KC_REQ_AFF, KC_REQ_ANTI, KC_PREF_AFF, KC_PREF_ANTI };
struct kc_aff_term {
    int kind;
    int32_t weight;          /* preferred terms; 1 for required ones */
    struct kc_selector *sel; /* NULL: matches nothing (like a nil labelSelector) */
    const char **ns;         /* namespaces the term applies to (borrowed strings) */
    size_t nns;
    bool all_ns; /* namespaceSelector {} */
    const char *topo_key;
};

/* One pod already on a node. */
struct kc_pinfo {
    const json_t *pod;
    const char *ns;
    const json_t *labels;
    const char *ctrl_uid;      /* controller ownerReference uid, or NULL */
    bool terminating;          /* metadata.deletionTimestamp set */
    struct kc_aff_term *terms; /* parsed only for pods with affinity */
    size_t nterms;
    bool has_req_anti;
};

struct kc_zone_ctrl {
    char *uid;
    int64_t count;
};

/* Parsed data of one node, valid for one (node pointer, generation) pair. */
struct kc_ninfo {
    const struct kc_sched_node *sn;
    uint64_t gen;
    const json_t *node_json, *pods_json;
    const json_t *labels; /* object or NULL */
    const char *zone;     /* topology.kubernetes.io/zone label or NULL */
    const char *hostname; /* kubernetes.io/hostname label or NULL */
    bool unschedulable;
    struct kc_taint *taints;
    size_t ntaints;
    struct kc_pinfo *pods;
    size_t npods;
    int zone_id;             /* interned zone label, -1 without */
    struct kc_zone_ctrl *zc; /* pods per controller uid (owned copies), with a zone */
    size_t nzc;
    size_t n_affinity; /* pods with any pod (anti-)affinity term */
    size_t n_req_anti; /* pods with required anti-affinity terms */
};

/* Brings the cache in line with the snapshot (rebuilding changed nodes) and returns the
 * entries, indexed like s->nodes. Totals of pods with affinity terms in *n_aff / *n_anti. */
struct kc_ninfo *kc_ninfo_sync(const struct kc_sched_snapshot *s, size_t *n_aff, size_t *n_anti);
/* Non-terminating pods of the controller uid in the zone (interned id), kept up to date
 * by kc_ninfo_sync: the default zone spreading costs no pass over the nodes. */
int64_t kc_zone_ctrl_count(int zone_id, const char *uid);
size_t kc_zone_count(void);
/* Frees the node cache (tests, shutdown). */
void kc_sched_algorithm_reset(void);

/* Counts keyed by a topology pair (key, value); strings borrowed for the cycle. */
struct kc_tp_entry {
    const char *key, *value;
    uint32_t hash;
    int64_t count;
};
struct kc_tpmap {
    struct kc_tp_entry *e;
    size_t cap, len;
};
void kc_tpmap_clear(struct kc_tpmap *m);
void kc_tpmap_free(struct kc_tpmap *m);
/* Adds delta to (key, value), creating it at 0 first. */
void kc_tpmap_add(struct kc_tpmap *m, const char *key, const char *value, int64_t delta);
/* Count of (key, value), 0 when absent. */
int64_t kc_tpmap_get(const struct kc_tpmap *m, const char *key, const char *value);
/* The entry of (key, value), or NULL. */
struct kc_tp_entry *kc_tpmap_entry(const struct kc_tpmap *m, const char *key, const char *value);

/* Node selector requirement / term (nodeSelectorTerms, preferred scheduling terms). */
enum kc_ns_op { KC_OP_IN, KC_OP_NOT_IN, KC_OP_EXISTS, KC_OP_NOT_EXIST, KC_OP_GT, KC_OP_LT };
struct kc_nsreq {
    const char *key;
    int op;
    const char **vals;
    size_t nvals;
    int64_t num;
    bool num_ok;
    bool field; /* matchFields (metadata.name) */
};
struct kc_nsterm {
    struct kc_nsreq *reqs;
    size_t n;
    int32_t weight;
};

struct kc_toleration {
    const char *key, *value; /* "" when unset */
    bool exists;             /* operator Exists */
    bool bad_op;             /* unknown operator: tolerates nothing */
    int effect;              /* 0 with effect_any */
    bool effect_any;
};

struct kc_hostport {
    const char *ip, *proto;
    int64_t port;
};

/* A topology spread constraint; a default one selects by controller uid. */
struct kc_spread {
    int32_t max_skew, min_domains;
    const char *key;
    bool hard; /* DoNotSchedule */
    struct kc_selector *sel;
    bool by_ctrl;
    bool is_host, is_zone; /* the key is the hostname / zone label */
    bool self_match;
    struct kc_tpmap counts; /* per cycle: matching pods per domain */
    int64_t min_match;      /* per cycle (hard) */
    double weight;          /* per cycle (soft) */
};

/* Everything the plugins need about the pod being scheduled (parsed once per pod) and
 * their per-cycle state. */
struct kc_pstate {
    const char *ns, *name, *node_name, *ctrl_uid;
    const json_t *labels;
    const json_t *node_selector; /* object or NULL */
    bool has_req_affinity;       /* required node affinity present */
    struct kc_nsterm *req_terms;
    size_t nreq;
    struct kc_nsterm *pref_terms;
    size_t npref;
    struct kc_toleration *tols;
    size_t ntols;
    bool tol_unschedulable;
    struct kc_hostport *ports;
    size_t nports;
    struct kc_aff_term *terms; /* the pod's own pod (anti-)affinity terms */
    size_t nterms, n_req_aff, n_req_anti, n_pref;
    struct kc_spread *spread; /* explicit constraints, then the defaults (if none) */
    size_t nspread, nhard;
    bool spread_explicit;
    bool preempt_never;

    /* per cycle */
    struct kc_tpmap aff_counts, anti_counts, existing_anti, topo_score;
    const char **existing_anti_keys;
    size_t n_existing_anti_keys, cap_existing_anti_keys;
    bool interpod_filter; /* InterPodAffinity filter has anything to check */
};

/* ---- shared helpers ---- */
bool kc_term_matches_pod(const struct kc_aff_term *t, const char *ns, const json_t *labels);
int kc_aff_terms_parse(const json_t *pod, const char *ns, struct kc_aff_term **out, size_t *n);
void kc_aff_terms_free(struct kc_aff_term *t, size_t n);
const char *kc_ninfo_label(const struct kc_ninfo *ni, const char *key);
bool kc_pod_required_node_affinity_matches(const struct kc_pstate *ps, const struct kc_ninfo *ni);

/* ---- plugins: parse (per pod), prefilter (per cycle), filter (per node), score ---- */
/* Filters return NULL when the node passes, else a static reason string; *unresolvable
 * says whether preemption could help. */
int kc_plugin_node_parse(struct kc_pstate *ps, const json_t *pod);
const char *kc_filter_node_unschedulable(const struct kc_pstate *ps, const struct kc_ninfo *ni);
const char *kc_filter_node_name(const struct kc_pstate *ps, const struct kc_ninfo *ni);
/* Taint filter: the untolerated taint, or NULL. */
const struct kc_taint *kc_filter_taints(const struct kc_pstate *ps, const struct kc_ninfo *ni);
const char *kc_filter_node_affinity(const struct kc_pstate *ps, const struct kc_ninfo *ni);
void kc_score_node_affinity(const struct kc_pstate *ps, struct kc_ninfo *const *nodes, size_t n,
                            int64_t *out);
void kc_score_taints(const struct kc_pstate *ps, struct kc_ninfo *const *nodes, size_t n,
                     int64_t *out);

/* Resource fit: number of reasons written (up to 4). */
int kc_filter_resources(const struct kc_sched_pod *p, const struct kc_sched_node *n,
                        const char **reasons);
void kc_score_least_allocated(const struct kc_sched_pod *p, struct kc_ninfo *const *nodes, size_t n,
                              int64_t *out);
void kc_score_balanced(const struct kc_sched_pod *p, struct kc_ninfo *const *nodes, size_t n,
                       int64_t *out);

int kc_plugin_ports_parse(struct kc_pstate *ps, const json_t *pod);
const char *kc_filter_ports(const struct kc_pstate *ps, const struct kc_ninfo *ni);

int kc_plugin_interpod_parse(struct kc_pstate *ps, const json_t *pod);
void kc_interpod_prefilter(struct kc_pstate *ps, struct kc_ninfo *all, size_t n,
                           size_t n_anti_total);
const char *kc_filter_interpod(const struct kc_pstate *ps, const struct kc_ninfo *ni,
                               bool *unresolvable);
/* false when the plugin has nothing to score (all scores 0). */
bool kc_score_interpod(struct kc_pstate *ps, struct kc_ninfo *all, size_t nall, size_t n_aff_total,
                       struct kc_ninfo *const *nodes, size_t n, int64_t *out);

int kc_plugin_spread_parse(struct kc_pstate *ps, const json_t *pod);
void kc_spread_prefilter(struct kc_pstate *ps, struct kc_ninfo *all, size_t n);
const char *kc_filter_spread(const struct kc_pstate *ps, const struct kc_ninfo *ni,
                             bool *unresolvable);
bool kc_score_spread(struct kc_pstate *ps, struct kc_ninfo *all, size_t nall,
                     struct kc_ninfo *const *nodes, size_t n, int64_t *out);

/* DefaultNormalizeScore: scales to 0..100 by the maximum, reversed if asked. */
void kc_normalize_default(int64_t *scores, size_t n, bool reverse);

#endif
