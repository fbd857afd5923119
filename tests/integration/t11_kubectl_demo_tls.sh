#!/usr/bin/env bash
# The whole kubectl command list of t10, over HTTPS and HTTP/2 with the generated admin
# kubeconfig (kubectl 1.20, 1.27 and 1.33).
export KUBEC_TLS=1
exec bash "$(dirname "$0")/t10_kubectl_demo.sh"
