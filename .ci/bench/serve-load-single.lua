-- wrk script: one invoice per POST /v1/score, cycling over the open
-- invoice ids in the file $IDS (one per line), with the API key $KEY.
-- Used by serve-load.sh; see there for the command line.
local ids = {}
for line in io.lines(os.getenv("IDS")) do
  ids[#ids + 1] = line
end
local headers = {
  ["Content-Type"] = "application/json",
  ["Authorization"] = "Bearer " .. os.getenv("KEY"),
}
local bodies = {}
for i, id in ipairs(ids) do
  bodies[i] = '{"invoices":[{"invoice_id":"' .. id .. '"}]}'
end
local n = 0

request = function()
  n = n % #bodies + 1
  return wrk.format("POST", "/v1/score", headers, bodies[n])
end
