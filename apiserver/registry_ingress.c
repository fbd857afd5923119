/* Ingress version conversion; see registry_ingress.h. */
#include "apiserver/registry_ingress.h"

#include "lib/jsonx.h"

/* {serviceName, servicePort} -> {service: {name, port}} (resource backends are the same) */
static void backend_to_v1(json_t *b)
{
    if (!json_is_object(b))
        return;
    json_t *name = json_object_get(b, "serviceName");
    json_t *port = json_object_get(b, "servicePort");
    if (name || port) {
        json_t *svc = json_object();
        if (name)
            json_object_set(svc, "name", name);
        if (json_is_integer(port))
            json_object_set_new(svc, "port", json_pack("{s:O}", "number", port));
        else if (json_is_string(port))
            json_object_set_new(svc, "port", json_pack("{s:O}", "name", port));
        json_object_set_new(b, "service", svc);
        json_object_del(b, "serviceName");
        json_object_del(b, "servicePort");
    }
}

static void backend_to_v1beta1(json_t *b)
{
    json_t *svc = json_object_get(b, "service");
    if (!json_is_object(svc))
        return;
    json_t *name = json_object_get(svc, "name");
    json_t *num = kc_json_path(svc, "port.number");
    json_t *pname = kc_json_path(svc, "port.name");
    if (name)
        json_object_set(b, "serviceName", name);
    if (num)
        json_object_set(b, "servicePort", num);
    else if (pname)
        json_object_set(b, "servicePort", pname);
    json_object_del(b, "service");
}

static void each_path_backend(json_t *ing, void (*fn)(json_t *), int set_default_path_type)
{
    size_t i, j;
    json_t *rule, *path;
    json_array_foreach (kc_json_path(ing, "spec.rules"), i, rule) {
        json_array_foreach (kc_json_path(rule, "http.paths"), j, path) {
            fn(json_object_get(path, "backend"));
            if (set_default_path_type && !json_object_get(path, "pathType"))
                json_object_set_new(path, "pathType", json_string("ImplementationSpecific"));
        }
    }
}

void kc_ingress_v1beta1_to_v1(json_t *ing)
{
    json_t *spec = json_object_get(ing, "spec");
    if (!json_is_object(spec))
        return;
    json_t *b = json_object_get(spec, "backend");
    if (b) {
        json_incref(b);
        json_object_del(spec, "backend");
        backend_to_v1(b);
        json_object_set_new(spec, "defaultBackend", b);
    }
    each_path_backend(ing, backend_to_v1, 1);
}

void kc_ingress_v1_to_v1beta1(json_t *ing)
{
    json_t *spec = json_object_get(ing, "spec");
    if (!json_is_object(spec))
        return;
    json_t *b = json_object_get(spec, "defaultBackend");
    if (b) {
        json_incref(b);
        json_object_del(spec, "defaultBackend");
        backend_to_v1beta1(b);
        json_object_set_new(spec, "backend", b);
    }
    each_path_backend(ing, backend_to_v1beta1, 0);
}
