#!/usr/bin/env bash
# Installs what building, running and testing kubec needs, on Debian 12, with apt-get.
# Only missing packages are installed; run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake pkg-config python3
  libmicrohttpd-dev libjansson-dev liblmdb-dev libnghttp2-dev libssl-dev libyaml-dev
  libcurl4-openssl-dev
  curl jq python3 clang lmdb-utils wrk procps bc nghttp2-client openssl
  libarchive-dev crun busybox-static tini docker-registry iproute2 nftables
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# kubectl 1.20 (Debian's kubernetes-client) is unpacked beside the tests rather than
# installed, so the system's kubectl stays untouched.
tools="$(cd "$(dirname "$0")/.." && pwd)/tests/integration/.tools"
if [ ! -x "$tools/usr/bin/kubectl" ]; then
  mkdir -p "$tools"
  (
    cd "$tools"
    if ! ls kubernetes-client_*.deb >/dev/null 2>&1; then
      $SUDO apt-get update -qq || true
      apt-get download kubernetes-client >/dev/null 2>&1 || true
    fi
    if ls kubernetes-client_*.deb >/dev/null 2>&1; then
      dpkg -x kubernetes-client_*.deb "$tools"
    else
      echo "deps: kubernetes-client (kubectl 1.20) is not available; its tests will be skipped"
    fi
  )
fi
