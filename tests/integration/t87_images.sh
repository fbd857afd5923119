#!/usr/bin/env bash
# The node agent's image store end to end with Debian's docker-registry on loopback:
# `kubec image build-demo` is reproducible; the demo image is pushed to a private registry
# and pulled into a fresh store, whose unpacked tree equals the layout's layer; the demo's
# /bin/serve-hostname answers with its HOSTNAME from a chroot into that tree; a local
# layout serves the same image without a registry; a missing tag is ErrImagePull with the
# kubelet's message; once the registry is gone IfNotPresent still works and Always fails.
source "$(dirname "$0")/lib.sh"
if ! command -v docker-registry >/dev/null 2>&1; then
  echo "skip - docker-registry is not installed (apt-get install docker-registry)"
  finish
  exit
fi
REG=$WORK/registry
HTTPD_PID=""
images_cleanup() {
  if [ -n "$HTTPD_PID" ] && kill -0 "$HTTPD_PID" 2>/dev/null; then
    kill "$HTTPD_PID" 2>/dev/null
    wait "$HTTPD_PID" 2>/dev/null
  fi
  bash "$KUBEC_SRC/scripts/registry.sh" stop "$REG" 2>/dev/null
  cleanup
}
trap images_cleanup EXIT
IMG=jweissig/alpine-k8s-pod-lb-demo
FULL=docker.io/$IMG

# --- build, twice: same bytes
d1=$("$KUBEC_BIN" image build-demo --layout "$WORK/layouts/demo" 2>&1)
d2=$("$KUBEC_BIN" image build-demo --layout "$WORK/again" 2>&1)
check_match "build-demo prints the manifest digest" '^sha256:[0-9a-f]{64}$' "$d1"
check_eq "build-demo twice: same manifest digest" "$d1" "$d2"
if diff -r "$WORK/layouts/demo" "$WORK/again" >/dev/null; then pass "build-demo twice: identical layouts"; else fail "build-demo twice: identical layouts"; fi
check_eq "index.json names the tag and the image" "latest $FULL:latest" \
  "$(jq -r '.manifests[0].annotations | [.["org.opencontainers.image.ref.name"], .["io.containerd.image.name"]] | join(" ")' "$WORK/layouts/demo/index.json")"
manifest=$WORK/layouts/demo/blobs/sha256/${d1#sha256:}
config=$WORK/layouts/demo/blobs/sha256/$(jq -r '.config.digest' "$manifest" | cut -d: -f2)
layer=$WORK/layouts/demo/blobs/sha256/$(jq -r '.layers[0].digest' "$manifest" | cut -d: -f2)
check_eq "image config" '["/bin/serve-hostname"] ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"] ["5005/tcp"] / linux amd64 1' \
  "$(jq -c -r '[(.config.Entrypoint|tojson), (.config.Env|tojson), (.config.ExposedPorts|keys|tojson), .config.WorkingDir, .os, .architecture, (.rootfs.diff_ids|length)] | join(" ")' "$config")"
check_eq "layer diff_id is the uncompressed tar's sha256" "$(jq -r '.rootfs.diff_ids[0]' "$config")" \
  "sha256:$(gzip -dc "$layer" | sha256sum | cut -d' ' -f1)"

# --- a private registry on a free loopback port
started=0
for attempt in 1 2 3; do
  RPORT=$(free_port)
  if bash "$KUBEC_SRC/scripts/registry.sh" start "$REG" "$RPORT" 2>"$WORK/registry.err"; then started=1; break; fi
done
if [ "$started" = 1 ]; then pass "docker-registry answers on 127.0.0.1:$RPORT"; else fail "docker-registry answers" "$(cat "$WORK/registry.err")"; finish; exit; fi
RPID=$(cat "$REG/registry.pid")
check_match "it listens on loopback only" "127\.0\.0\.1:$RPORT" "$(grep addr "$REG/config.yml")"

# --- push
out=$("$KUBEC_BIN" image push --layout "$WORK/layouts/demo" --ref "$IMG:latest" --registry "127.0.0.1:$RPORT" 2>&1)
check_eq "push: the registry has the manifest" "$d1" "$out"
check_eq "push: tag listed" '["latest"]' "$(curl -s "http://127.0.0.1:$RPORT/v2/$IMG/tags/list" | jq -c .tags)"
out=$("$KUBEC_BIN" image push --verbose --layout "$WORK/layouts/demo" --ref "$IMG:latest" --registry "127.0.0.1:$RPORT" 2>&1)
check_eq "push again: blobs already there" "2" "$(printf '%s\n' "$out" | grep -c 'already there')"

# --- pull into a fresh store
pull() { "$KUBEC_BIN" image pull --store "$WORK/store" --registry "127.0.0.1:$RPORT" "$@"; }
field() { printf '%s\n' "$2" | awk -v k="$1" '$1 == k {print $2}'; }
out=$(pull "$IMG" 2>&1)
rc=$?
check_eq "pull: exit status" "0" "$rc"
check_eq "pull: image ID is the repo digest" "$FULL@$d1" "$(field imageID "$out")"
check_eq "pull: normalised reference" "$FULL:latest" "$(field ref "$out")"
ROOTFS=$(field rootfs "$out")
if [ -x "$ROOTFS/bin/busybox" ] && [ -x "$ROOTFS/bin/serve-hostname" ] && [ -L "$ROOTFS/bin/httpd" ]; then
  pass "rootfs has bin/busybox, bin/serve-hostname and the applet links"
else
  fail "rootfs has bin/busybox, bin/serve-hostname and the applet links" "$(ls -la "$ROOTFS/bin" 2>&1 | head)"
fi
mkdir -p "$WORK/ref"
tar -xzpf "$layer" -C "$WORK/ref" --numeric-owner
listing() { (cd "$1" && find . -mindepth 1 -printf '%p %M %U %G %s %T@ %l\n' | sort); }
if diff <(listing "$WORK/ref") <(listing "$ROOTFS") >"$WORK/tree.diff" && diff -r --no-dereference "$WORK/ref" "$ROOTFS" >>"$WORK/tree.diff"; then
  pass "unpacked tree equals the layout's layer (content, modes, owners, mtimes, links)"
else
  fail "unpacked tree equals the layout's layer" "$(head -20 "$WORK/tree.diff")"
fi
check_eq "store index.json records the reference" "$d1" \
  "$(jq -r --arg r "$FULL:latest" '.manifests[] | select(.annotations["io.containerd.image.name"] == $r) | .digest' "$WORK/store/index.json")"
out=$("$KUBEC_BIN" image pull --store "$WORK/store" "127.0.0.1:$RPORT/$IMG:latest" 2>&1)
check_eq "pull by the registry's own host name: same image" "$(field rootfs "$out")" "$ROOTFS"
out=$("$KUBEC_BIN" image pull --store "$WORK/store-pinned" --registry "127.0.0.1:$RPORT" "$IMG@$d1" 2>&1)
check_eq "pull by digest" "$FULL@$d1" "$(field imageID "$out")"

# --- the demo program, chrooted into a copy of the tree (the store's copy stays read-only)
if [ "$(id -u)" = 0 ]; then
  cp -a "$ROOTFS" "$WORK/run"
  # a container runtime gives it /dev; the shell needs /dev/null to start httpd in the background
  mkdir -p "$WORK/run/dev" && mknod -m 666 "$WORK/run/dev/null" c 1 3
  HPORT=$(free_port)
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOSTNAME=demo-pod-x POD_IP=127.0.0.1 PORT=$HPORT \
    chroot "$WORK/run" /bin/serve-hostname >"$WORK/httpd.log" 2>&1 &
  HTTPD_PID=$!
  wait_for 5 curl -sf "http://127.0.0.1:$HPORT/"
  check_eq "serve-hostname answers with the pod name" "demo-pod-x" "$(curl -s "http://127.0.0.1:$HPORT/")"
  kill "$HTTPD_PID" 2>/dev/null
  wait "$HTTPD_PID" 2>/dev/null
  HTTPD_PID=""
else
  echo "skip - not root: serve-hostname is not run in a chroot"
fi

# --- errors
err=$(pull "$IMG:nosuch" 2>&1 >/dev/null)
rc=$?
check_eq "missing tag: exit status 1" "1" "$rc"
check_eq "missing tag: ErrImagePull with the kubelet's message" \
  "ErrImagePull: failed to pull and unpack image \"$FULL:nosuch\": failed to resolve reference \"$FULL:nosuch\": $FULL:nosuch: not found" "$err"
err=$(pull "Demo:1" 2>&1 >/dev/null)
check_eq "invalid name: InvalidImageName" \
  'InvalidImageName: Failed to apply default image tag "Demo:1": couldn'"'"'t parse image reference "Demo:1": invalid reference format: repository name (library/Demo) must be lowercase' "$err"
err=$(pull --policy Never "$IMG:other" 2>&1 >/dev/null)
rc=$?
check_eq "Never without the image: ErrImageNeverPull" \
  "3 ErrImageNeverPull: Container image \"$IMG:other\" is not present with pull policy of Never" "$rc $err"

# --- a local layout, no registry
out=$("$KUBEC_BIN" image pull --store "$WORK/store-layout" --layouts "$WORK/layouts" "$IMG" 2>&1)
check_eq "pull from a layout: same image ID" "$FULL@$d1" "$(field imageID "$out")"

# --- the registry goes away
bash "$KUBEC_SRC/scripts/registry.sh" stop "$REG"
if kill -0 "$RPID" 2>/dev/null; then fail "registry stopped"; else pass "registry stopped (by its PID)"; fi
out=$(pull --policy IfNotPresent "$IMG" 2>&1)
rc=$?
check_eq "IfNotPresent without the registry: served from the store" "0 $ROOTFS" "$rc $(field rootfs "$out")"
out=$(pull --policy Never "$IMG:latest" 2>&1)
check_eq "Never with the image present" "$ROOTFS" "$(field rootfs "$out")"
err=$(pull --policy Always "$IMG" 2>&1 >/dev/null)
rc=$?
check_eq "Always without the registry: exit status 1" "1" "$rc"
check_match "Always without the registry: ErrImagePull naming the request" \
  "^ErrImagePull: failed to pull and unpack image \"$FULL:latest\": failed to resolve reference \"$FULL:latest\": failed to do request: GET \"http://127.0.0.1:$RPORT/v2/$IMG/manifests/latest\"" "$err"
err=$(pull "$IMG" 2>&1 >/dev/null)
check_match "default policy for :latest is Always" '^ErrImagePull: ' "$err"
if [ -z "$(ls -A "$WORK/store/tmp")" ]; then pass "nothing left in the store's tmp/"; else fail "nothing left in the store's tmp/" "$(ls "$WORK/store/tmp")"; fi
finish
