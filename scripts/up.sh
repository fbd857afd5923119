#!/usr/bin/env bash
# The README's first command (`make up`, after the build): `kubec up --detach` on
# ./kubec-data. It starts the apiserver (LMDB in the data directory, HTTPS on 6443, plain
# HTTP on 8080), the controller manager, the scheduler, the ingress controller and
# $KUBEC_NODES (5) worker node agents, builds the demo image if missing, waits until every
# node is Ready and prints how to point kubectl at the cluster. As root with crun, each node
# is a network namespace running real containers (bridge kubec0, 10.250.0.0/24, the ingress
# on 10.250.0.1:80); otherwise the process runtime. Run again, it resumes the same cluster
# (or starts what exited). `make down` stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
args=(--data-dir "${KUBEC_DATA:-$PWD/kubec-data}" --nodes "${KUBEC_NODES:-5}"
  --port "${KUBEC_PORT:-8080}" --secure-port "${KUBEC_SECURE_PORT:-6443}")
[ -n "${KUBEC_RUNTIME:-}" ] && args+=(--runtime "$KUBEC_RUNTIME")
exec build/kubec up --detach "${args[@]}"
