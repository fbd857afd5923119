-- wrk script: strategic merge patch of one deployment, a new label value every request
local n = 0
request = function()
  n = n + 1
  local body = string.format('{"metadata":{"labels":{"bench":"v%d"}},"spec":{"template":{"spec":{"containers":[{"name":"web","env":[{"name":"N","value":"%d"}]}]}}}}', n, n)
  return wrk.format("PATCH", nil, {["Content-Type"] = "application/strategic-merge-patch+json"}, body)
end
