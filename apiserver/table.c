/* Table conversion; the columns and cells come from printers/. */
#include "apiserver/table.h"

#include "apiserver/printers/printers.h"

#include <string.h>

json_t *kc_table_new(const struct kc_resource *r, bool with_columns)
{
    json_t *t = json_object();
    json_object_set_new(t, "kind", json_string("Table"));
    json_object_set_new(t, "apiVersion", json_string("meta.k8s.io/v1"));
    json_object_set_new(t, "metadata", json_object());
    if (with_columns)
        json_object_set_new(t, "columnDefinitions",
                            kc_printer_columns(kc_resource_storage(r)->group, r->resource));
    json_object_set_new(t, "rows", json_array());
    return t;
}

enum kc_include_object kc_include_object_parse(const char *s)
{
    if (s && strcmp(s, "Object") == 0)
        return KC_INCLUDE_OBJECT;
    if (s && strcmp(s, "None") == 0)
        return KC_INCLUDE_NONE;
    return KC_INCLUDE_METADATA;
}

void kc_table_add_row(json_t *table, const struct kc_resource *r, const json_t *obj,
                      enum kc_include_object inc, time_t now)
{
    json_t *row = json_object();
    json_object_set_new(row, "cells",
                        kc_printer_cells(kc_resource_storage(r)->group, r->resource, obj, now));
    if (inc == KC_INCLUDE_OBJECT) {
        json_object_set_new(row, "object", json_deep_copy(obj));
    } else if (inc == KC_INCLUDE_METADATA) {
        json_t *pom = json_object();
        json_object_set_new(pom, "kind", json_string("PartialObjectMetadata"));
        json_object_set_new(pom, "apiVersion", json_string("meta.k8s.io/v1"));
        json_t *meta = json_object_get(obj, "metadata");
        /* managedFields are large and no client reads them from a Table row */
        json_t *m = json_object();
        const char *k;
        json_t *v;
        json_object_foreach (meta, k, v)
            if (strcmp(k, "managedFields") != 0)
                json_object_set(m, k, v);
        json_object_set_new(pom, "metadata", m);
        json_object_set_new(row, "object", pom);
    }
    json_array_append_new(json_object_get(table, "rows"), row);
}
