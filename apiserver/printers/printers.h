/* Server-side printing: the Table columns and cells of every served resource, as the real
 * kube-apiserver's printers produce them (kubectl prints only what these return).
 *
 * The real server converts with Wide: true, so the cells always include the priority-1
 * columns (kubectl hides them unless -o wide). Ownership: obj is borrowed; results are new
 * references the caller must json_decref. group is "" for core and is the storage group
 * (extensions/v1beta1 ingresses print as networking.k8s.io). */
#ifndef KUBEC_PRINTERS_H
#define KUBEC_PRINTERS_H

#include <jansson.h>
#include <time.h>

/* Column definitions (array of {name,type,format,description,priority}), including the
 * priority-1 (wide) columns; the default Name / Created At for resources upstream has no
 * printer for. New reference. */
json_t *kc_printer_columns(const char *group, const char *resource);
/* The row cells for one object (strings, and integers where upstream yields integers).
 * now is the current time, for Age and the other durations. New reference. */
json_t *kc_printer_cells(const char *group, const char *resource, const json_t *obj, time_t now);
/* The row's conditions (TableRow.conditions) or NULL when it has none: upstream marks
 * Succeeded and Failed pods with {"type":"Completed","status":"True",...}. New reference. */
json_t *kc_printer_row_conditions(const char *group, const char *resource, const json_t *obj);

#endif
