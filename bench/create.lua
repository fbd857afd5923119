-- wrk script: POST a new pod with a unique name on every request.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
request = function()
  n = n + 1
  local body = string.format(
    '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"bench-%d-%d-%d","labels":{"app":"bench"}},' ..
    '"spec":{"containers":[{"name":"c","image":"jweissig/alpine-k8s-pod-lb-demo","ports":[{"containerPort":5005}]}]}}',
    os.time() % 100000, tid, n)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, body)
end
