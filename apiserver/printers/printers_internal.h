/* Shared pieces of the printers: the per-group printer tables the dispatcher in printers.c
 * searches, and the small formatting helpers every group uses (printers_util.c).
 *
 * Ownership: objects passed to cell functions are BORROWED; cell functions append NEW
 * references to the cells array they are given. Helpers returning const char * return
 * borrowed strings (from the object or static storage).
 */
#ifndef KUBEC_PRINTERS_INTERNAL_H
#define KUBEC_PRINTERS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* One TableColumnDefinition as upstream declares it. */
struct kc_pr_column {
    const char *name;
    const char *type;
    const char *format;
    int priority;
    const char *description;
};

/* Appends one row's cells, in column order, to cells. */
typedef void (*kc_pr_cells_fn)(json_t *cells, const json_t *obj, time_t now);

struct kc_printer {
    const char *resource;
    const struct kc_pr_column *columns; /* terminated by a NULL name */
    kc_pr_cells_fn cells;
};

struct kc_printer_group {
    const char *group;
    const struct kc_printer *printers;
    size_t count;
};

/* The group tables (one per printers_<group>.c). */
extern const struct kc_printer_group kc_printers_core;
extern const struct kc_printer_group kc_printers_apps;
extern const struct kc_printer_group kc_printers_networking;
extern const struct kc_printer_group kc_printers_discovery;
extern const struct kc_printer_group kc_printers_coordination;
extern const struct kc_printer_group kc_printers_rbac;

/* Columns every printer shares. */
#define KC_PR_COL_NAME                                                                             \
    {                                                                                              \
        "Name", "string", "name", 0, "Name of the object, unique in its namespace."                \
    }
#define KC_PR_COL_AGE                                                                              \
    {                                                                                              \
        "Age", "string", "", 0, "Time since the object was created."                               \
    }
#define KC_PR_COL_END                                                                              \
    {                                                                                              \
        NULL, NULL, NULL, 0, NULL                                                                  \
    }

/* ---- growable string (never truncates; on allocation failure it stays as it was) ---- */

struct kc_sb {
    char *s;
    size_t len;
    size_t cap;
};

void kc_sb_add(struct kc_sb *b, const char *s);
void kc_sb_addn(struct kc_sb *b, const char *s, size_t n);
void kc_sb_addf(struct kc_sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends sep first unless the buffer is empty. */
void kc_sb_add_sep(struct kc_sb *b, const char *sep, const char *s);
/* Replaces the text with s. */
void kc_sb_set(struct kc_sb *b, const char *s);
/* The text so far ("" when nothing was added). Borrowed from b. */
const char *kc_sb_str(const struct kc_sb *b);
void kc_sb_free(struct kc_sb *b);

/* ---- JSON access ---- */

/* Like kc_json_path, but a JSON null counts as absent (Go's nil pointer). Borrowed. */
json_t *kc_pr_get(const json_t *obj, const char *path);
/* String at path or "" (Go's zero string). Borrowed. */
const char *kc_pr_str(const json_t *obj, const char *path);

/* ---- cells ---- */

/* A string cell; NULL prints as "". */
void kc_pr_add_str(json_t *cells, const char *s);
void kc_pr_add_int(json_t *cells, long long v);
void kc_pr_add_fmt(json_t *cells, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s, or dflt when s is NULL or empty. */
const char *kc_pr_or(const char *s, const char *dflt);

/* Parses an RFC 3339 stamp; false when missing, unparsable or Go's zero time (IsZero()). */
bool kc_pr_time(const char *stamp, time_t *out);
/* translateTimestampSince: HumanDuration(now - stamp), "<unknown>" for a missing or zero stamp. */
void kc_pr_since(char *buf, size_t n, const char *stamp, time_t now);
/* The Age cell from metadata.creationTimestamp. */
void kc_pr_add_age(json_t *cells, const json_t *obj, time_t now);

/* labels.FormatLabels: the "k=v" strings sorted and joined by ","; "<none>" for an empty map. */
void kc_pr_format_labels(struct kc_sb *b, const json_t *map);
/* metav1.LabelSelectorAsSelector(sel).String(): "" for a nil or empty selector. Returns -1
 * (text unspecified) when upstream would fail the conversion (bad operator or values). */
int kc_pr_selector_string(struct kc_sb *b, const json_t *sel);
/* metav1.FormatLabelSelector as a cell: "<none>" when empty, "<error>" when invalid. */
void kc_pr_add_format_label_selector(json_t *cells, const json_t *sel);
/* layoutContainerCells: the Containers and Images cells of a pod spec. */
void kc_pr_add_containers_images(json_t *cells, const json_t *podspec);
/* loadBalancerStatusStringer (the server prints wide, so unclipped): the sorted set of the
 * ingress points' IPs, or hostnames when without IP, joined by ",". */
void kc_pr_lb_status(struct kc_sb *b, const json_t *ingress);
/* strings.ToLower for ASCII text, into b. */
void kc_pr_add_lower(struct kc_sb *b, const char *s);
/* strings.TrimSpace (Unicode white space, as Go defines it), into b. */
void kc_pr_add_trimmed(struct kc_sb *b, const char *s);

#endif
