-- wrk -s tests/bench/wrk_route.lua: targeted pushes to ws workers 0..3 in turn, to a connection
-- id no worker has (scripts/bench.sh row route-wrk-4w). Each is routed over the bus to the
-- worker's channel pusher:<W>, which looks the connection up and finds nobody: what is measured
-- is the HTTP publish path and the bus, spread over the worker channels (and so over the
-- shards of a sharded Redis), without a WebSocket write.
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/?to_worker_id=" .. (i % 4) .. "&to_connection_id=999999999&content=hello")
end
