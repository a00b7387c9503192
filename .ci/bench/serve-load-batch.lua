-- wrk script: $BATCH invoices (default 1000) per POST /v1/score, built
-- from the open invoice ids in $IDS (cycled, rotated per body), with the
-- API key $KEY. Used by serve-load.sh; see there for the command line.
local ids = {}
for line in io.lines(os.getenv("IDS")) do
  ids[#ids + 1] = line
end
local batch = tonumber(os.getenv("BATCH") or "1000")
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. os.getenv("KEY"),
}
local bodies = {}
for b = 1, 8 do
  local parts = {}
  for i = 1, batch do
    parts[i] = '{"invoice_id":"' .. ids[((b * 997 + i) % #ids) + 1] .. '"}'
  end
  bodies[b] = '{"invoices":[' .. table.concat(parts, ",") .. ']}'
end
local n = 0

request = function()
  n = n % #bodies + 1
  return wrk.format("POST", "/v1/score", headers, bodies[n])
end

done = function(summary, latency, requests)
  local secs = summary.duration / 1e6
  io.write(string.format("invoices/s (successful requests x %d): %.0f\n", batch,
    (summary.requests - summary.errors.status) * batch / secs))
end
