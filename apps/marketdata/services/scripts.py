"""Lua scripts that keep one symbol's stream, last-value hash and bars consistent in one step.

Stream IDs are the exchange time in milliseconds, made strictly increasing per stream
(an event older than the stream's last entry takes the last millisecond with the next sequence),
so XRANGE by time means exchange time.
"""

from __future__ import annotations

_NEXT_ID = """
local function last_id(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last == 0 then return -1, -1 end
  local id = last[1][1]
  local dash = string.find(id, '-', 1, true)
  return tonumber(string.sub(id, 1, dash - 1)), tonumber(string.sub(id, dash + 1))
end
"""

# KEYS: trades stream, last hash, 1s bars stream, 1m bars stream
# ARGV: max 1s bars, max 1m bars, then per trade: ts_ms price_int size x recv_ms seq
TRADES = (
    _NEXT_ID
    + """
local ms, seq = last_id(KEYS[1])
local function parse_bar(raw)
  if not raw then return nil end
  local t = {}
  for v in string.gmatch(raw, '[^,]+') do t[#t + 1] = tonumber(v) end
  return t
end
local state = redis.call('HMGET', KEYS[2], 'b1s', 'b1m')
local bars = {parse_bar(state[1]), parse_bar(state[2])}
local width = {1000, 60000}
local limits = {tonumber(ARGV[1]), tonumber(ARGV[2])}
local n, price, size, id = 0, nil, nil, nil
for i = 3, #ARGV, 6 do
  local ts = tonumber(ARGV[i])
  if ts > ms then ms = ts; seq = 0 else seq = seq + 1 end
  id = ms .. '-' .. seq
  price, size = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  redis.call('XADD', KEYS[1], id, 'p', ARGV[i + 1], 's', ARGV[i + 2],
    'x', ARGV[i + 3], 'r', ARGV[i + 4], 'q', ARGV[i + 5])
  for b = 1, 2 do
    local start = ms - (ms % width[b])
    local bar = bars[b]
    if bar and bar[1] ~= start then
      if start > bar[1] then
        redis.call('XADD', KEYS[2 + b], 'MAXLEN', '~', limits[b], bar[1] .. '-0',
          'o', bar[2], 'h', bar[3], 'l', bar[4], 'c', bar[5], 'v', bar[6])
        bar = nil
      end
    end
    if not bar then
      bars[b] = {start, price, price, price, price, size}
    elseif bar[1] == start then
      if price > bar[3] then bar[3] = price end
      if price < bar[4] then bar[4] = price end
      bar[5] = price
      bar[6] = bar[6] + size
    end
  end
  n = n + 1
end
local function fmt(bar) return table.concat(bar, ',') end
redis.call('HSET', KEYS[2], 'price', price, 'size', size, 'ts', ms, 'id', id,
  'b1s', fmt(bars[1]), 'b1m', fmt(bars[2]))
return {n, id}
"""
)

# KEYS: stream, last hash (unused when no hash fields are given)
# ARGV: F, the F field names, H, the H hash field names (hash field i takes the value of
# stream field i of the batch's last entry), the hash field for the last entry's time, then
# per entry: ts_ms and its F values.
APPEND = (
    _NEXT_ID
    + """
local ms, seq = last_id(KEYS[1])
local nf = tonumber(ARGV[1])
local nh = tonumber(ARGV[2 + nf])
local ts_field = ARGV[3 + nf + nh]
local first = 4 + nf + nh
local n, id, last_entry = 0, nil, nil
for i = first, #ARGV, nf + 1 do
  local ts = tonumber(ARGV[i])
  if ts > ms then ms = ts; seq = 0 else seq = seq + 1 end
  id = ms .. '-' .. seq
  local args = {}
  for j = 1, nf do
    args[#args + 1] = ARGV[1 + j]
    args[#args + 1] = ARGV[i + j]
  end
  redis.call('XADD', KEYS[1], id, unpack(args))
  last_entry = i
  n = n + 1
end
if nh > 0 and last_entry then
  local h = {}
  for j = 1, nh do
    h[#h + 1] = ARGV[2 + nf + j]
    h[#h + 1] = ARGV[last_entry + j]
  end
  h[#h + 1] = ts_field
  h[#h + 1] = ms
  redis.call('HSET', KEYS[2], unpack(h))
end
return {n, id}
"""
)
