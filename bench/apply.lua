-- wrk script: server-side apply of one deployment by one field manager, a new replica
-- count every request (so every request is a real change through the ownership logic)
local n = 0
request = function()
  n = n + 1
  local body = string.format([[{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"applied","labels":{"app":"applied"}},"spec":{"replicas":%d,"selector":{"matchLabels":{"app":"applied"}},"template":{"metadata":{"labels":{"app":"applied"}},"spec":{"containers":[{"name":"web","image":"nginx:1.27","ports":[{"containerPort":80}]}]}}}}]], n % 50 + 1)
  return wrk.format("PATCH", nil, {["Content-Type"] = "application/apply-patch+yaml"}, body)
end
