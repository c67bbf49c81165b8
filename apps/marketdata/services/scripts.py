"""Lua scripts that keep one symbol's stream, last-value hash and bars consistent in one step.

Each call appends one block (apps/marketdata/blocks.py). Stream IDs are the exchange time of
the block's first event in milliseconds, made strictly increasing per stream (a block older
than the stream's last entry takes the last millisecond with the next sequence), so XRANGE by
time means exchange time.
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

-- Append one block whose first event happened at ts_ms; returns its stream id.
local function append_block(key, ts_ms, rows, block)
  local ms, seq = last_id(key)
  local ts = tonumber(ts_ms)
  if ts > ms then ms = ts; seq = 0 else seq = seq + 1 end
  local id = ms .. '-' .. seq
  redis.call('XADD', key, id, 'n', rows, 'd', block)
  return id
end
"""

# KEYS: trades stream, last hash, 1s bars stream, 1m bars stream
# ARGV: first trade ms, block, count, last price, last size, last trade ms, max 1s bars,
#       max 1m bars, the batch's 1s bars and 1m bars (msgpack arrays of [start, o, h, l, c, v])
TRADES = (
    _NEXT_ID
    + """
local id = append_block(KEYS[1], ARGV[1], ARGV[3], ARGV[2])
local state = redis.call('HMGET', KEYS[2], 'b1s', 'b1m')
local out = {}
for b = 1, 2 do
  local cur = nil
  if state[b] then
    cur = {}
    for v in string.gmatch(state[b], '[^,]+') do cur[#cur + 1] = tonumber(v) end
  end
  for _, bar in ipairs(cmsgpack.unpack(ARGV[8 + b])) do
    if not cur then
      cur = bar
    elseif bar[1] > cur[1] then
      redis.call('XADD', KEYS[2 + b], 'MAXLEN', '~', ARGV[6 + b], cur[1] .. '-0',
        'o', cur[2], 'h', cur[3], 'l', cur[4], 'c', cur[5], 'v', cur[6])
      cur = bar
    else
      -- the same bar, or trades late for a bar already under way: they count in it
      if bar[3] > cur[3] then cur[3] = bar[3] end
      if bar[4] < cur[4] then cur[4] = bar[4] end
      cur[5] = bar[5]
      cur[6] = cur[6] + bar[6]
    end
  end
  out[b] = string.format('%d,%d,%d,%d,%d,%d', cur[1], cur[2], cur[3], cur[4], cur[5], cur[6])
end
redis.call('HSET', KEYS[2], 'price', ARGV[4], 'size', ARGV[5], 'ts', ARGV[6], 'id', id, 'b1s', out[1], 'b1m', out[2])
return {tonumber(ARGV[3]), id}
"""
)

# KEYS: stream, last hash
# ARGV: first event ms, rows, block, then field/value pairs for the last hash (possibly none)
BLOCK = (
    _NEXT_ID
    + """
local id = append_block(KEYS[1], ARGV[1], ARGV[2], ARGV[3])
if #ARGV > 3 then
  redis.call('HSET', KEYS[2], unpack(ARGV, 4))
end
return {tonumber(ARGV[2]), id}
"""
)
