#!/usr/bin/env bash
# Stops what `make up` started: node agents first, with what their nodes made (containers,
# network namespaces, routes, cgroups), then the ingress controller, scheduler, controller
# manager and apiserver. The data stays; the next `make up` resumes the cluster.
cd "$(dirname "$0")/.."
exec build/kubec down --data-dir "${KUBEC_DATA:-$PWD/kubec-data}"
