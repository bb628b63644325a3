-- Counts answers that are not 200 (wrk's own summary only reports non-2xx/3xx).
local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-200: %d\n", bad))
end
