/* Server-side printing: the Table columns and cells of every served resource, as the real
 * kube-apiserver's printers produce them (kubectl prints only what these return). */
#ifndef KUBEC_PRINTERS_H
#define KUBEC_PRINTERS_H

#include <jansson.h>
#include <time.h>

/* Column definitions, including the priority-1 (wide) columns. New reference. */
json_t *kc_printer_columns(const char *group, const char *resource);
/* Cells of one object's row. New reference. obj is borrowed. */
json_t *kc_printer_cells(const char *group, const char *resource, const json_t *obj, time_t now);

#endif
