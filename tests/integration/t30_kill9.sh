#!/usr/bin/env bash
# Durability: kill -9 the apiserver during a burst of concurrent writes; after a restart
# every write that was answered 201 is present, resourceVersions keep increasing, and a
# watch resumes from a revision taken before the crash.
source "$(dirname "$0")/lib.sh"
start_apiserver || exit 1
NS=/api/v1/namespaces/default/configmaps

before=$(curl -s "$SERVER$NS" | jq -r .metadata.resourceVersion)
# 16 concurrent writers, 400 creates; each records "name code" when answered.
seq 1 400 | xargs -P 16 -I{} sh -c \
  'code=$(curl -s -o /dev/null -w "%{http_code}" -X POST -H "Content-Type: application/json" \
     --data "{\"metadata\":{\"name\":\"burst-{}\"},\"data\":{\"i\":\"{}\"}}" '"$SERVER$NS"'); \
   echo "burst-{} $code"' >"$WORK/acks" 2>/dev/null &
burst=$!
sleep 0.4
kill -9 "$APISERVER_PID"
wait "$APISERVER_PID" 2>/dev/null
APISERVER_PID=""
wait $burst 2>/dev/null
acked=$(grep -c ' 201$' "$WORK/acks" || true)
echo "acknowledged before the crash: $acked"
if [ "$acked" -gt 0 ]; then pass "some writes were acknowledged before kill -9"; else fail "no write acknowledged before kill -9 (test too slow?)"; fi

start_apiserver || exit 1
curl -s "$SERVER$NS?labelSelector=" | jq -r '.items[].metadata.name' | sort >"$WORK/present"
missing=0
while read -r name code; do
  [ "$code" = 201 ] || continue
  grep -qx "$name" "$WORK/present" || { missing=$((missing+1)); echo "lost: $name"; }
done <"$WORK/acks"
check_eq "no acknowledged write lost" "0" "$missing"

after=$(curl -s "$SERVER$NS" | jq -r .metadata.resourceVersion)
out=$(api POST $NS '{"metadata":{"name":"after-restart"}}')
newrv=$(printf '%s' "${out#* }" | jq -r .metadata.resourceVersion)
if [ "$newrv" -gt "$after" ] && [ "$after" -ge "$before" ]; then pass "resourceVersions keep increasing ($before -> $after -> $newrv)"; else fail "resourceVersions keep increasing" "$before -> $after -> $newrv"; fi
n=$(curl -s "$SERVER$NS?watch=true&resourceVersion=$before&timeoutSeconds=1" | jq -r .type | sort | uniq -c | awk '{print $2"="$1}' | tr '\n' ' ')
stored=$(wc -l <"$WORK/present")
check_eq "watch resumes across the restart" "ADDED=$((stored + 1)) " "$n"

# and a clean SIGTERM stops it gracefully
kill -TERM "$APISERVER_PID"
for i in $(seq 1 50); do kill -0 "$APISERVER_PID" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$APISERVER_PID" 2>/dev/null; then fail "SIGTERM stops the server"; else pass "SIGTERM stops the server"; fi
wait "$APISERVER_PID"; rc=$?
check_eq "clean exit status" "0" "$rc"
APISERVER_PID=""
grep -q "shutting down" "$WORK/apiserver.log" && pass "shutdown logged" || fail "shutdown logged"
start_apiserver || exit 1
check_eq "data intact after SIGTERM" "$((stored + 1))" "$(curl -s "$SERVER$NS" | jq '.items | length')"
finish
