#!/usr/bin/env bash
# Informers: the controller manager's caches follow the API through watch; when the
# stream breaks (apiserver restart) and the resourceVersion it held has been compacted
# away (a small --watch-window), they list again and end up with exactly what is stored,
# including deletions they never saw as events.
source "$(dirname "$0")/lib.sh"
start_apiserver --watch-window 20 || exit 1
V=$(kubectl_versions | tail -1)
M=$(free_port)
objects() { curl -s "http://127.0.0.1:$M/metrics" | awk -v r="$1" '$1 == "kubec_informer_objects{resource=\"" r "\"}" {print $2}'; }
relists() { curl -s "http://127.0.0.1:$M/metrics" | awk -v r="$1" '$1 == "kubec_informer_relists_total{resource=\"" r "\"}" {print $2}'; }

start_controllers --metrics-port "$M" --leader-elect=false --controllers=-garbagecollector
wait_for 10 curl -sf "http://127.0.0.1:$M/healthz"
for i in 1 2 3; do
  api POST /api/v1/namespaces/default/services "{\"metadata\":{\"name\":\"s$i\"},\"spec\":{\"ports\":[{\"port\":80}]}}" >/dev/null
done
wait_for 5 bash -c "[ \"\$(curl -s http://127.0.0.1:$M/metrics | grep -c 'objects{resource=\"services\"} 4')\" = 1 ]"
check_eq "watch delivers additions (kubernetes + 3)" "4" "$(objects services)"
api DELETE /api/v1/namespaces/default/services/s1 >/dev/null
wait_for 5 bash -c "[ \"\$(curl -s http://127.0.0.1:$M/metrics | grep -c 'objects{resource=\"services\"} 3')\" = 1 ]"
check_eq "watch delivers deletions" "3" "$(objects services)"
check_eq "no relist while the stream is healthy" "0" "$(relists services)"

# Freeze the manager, restart the apiserver, and change things it will not see as events.
kill -STOP "$CONTROLLERS_PID"
stop_apiserver
start_apiserver --watch-window 20 || exit 1
api DELETE /api/v1/namespaces/default/services/s2 >/dev/null
for i in $(seq 1 40); do api POST /api/v1/namespaces/default/configmaps "{\"metadata\":{\"name\":\"c$i\"}}" >/dev/null; done
api POST /api/v1/namespaces/default/services '{"metadata":{"name":"s9"},"spec":{"ports":[{"port":80}]}}' >/dev/null
kill -CONT "$CONTROLLERS_PID"
wait_for 15 bash -c "[ \"\$(curl -s http://127.0.0.1:$M/metrics | grep -c 'relists_total{resource=\"services\"} [1-9]')\" = 1 ]"
check_match "the broken stream led to a relist" "^[1-9]" "$(relists services)"
wait_for 5 bash -c "[ \"\$(curl -s http://127.0.0.1:$M/metrics | grep -c 'objects{resource=\"services\"} 3')\" = 1 ]"
check_eq "after the relist the cache matches storage (s2 gone, s9 there)" "3" "$(objects services)"
check_eq "storage agrees" "3" "$(k "$V" get svc --no-headers | wc -l)"
# and the watch resumed: a new object arrives as an event again
api POST /api/v1/namespaces/default/services '{"metadata":{"name":"s10"},"spec":{"ports":[{"port":80}]}}' >/dev/null
wait_for 5 bash -c "[ \"\$(curl -s http://127.0.0.1:$M/metrics | grep -c 'objects{resource=\"services\"} 4')\" = 1 ]"
check_eq "watching again after the relist" "4" "$(objects services)"
finish
