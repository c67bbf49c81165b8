"""Lua scripts that keep one symbol's stream and last-value hash consistent in one step.

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

# KEYS: trades stream, last hash
# ARGV: first trade ms, block, count, last price, last size, last trade ms
TRADES = (
    _NEXT_ID
    + """
local id = append_block(KEYS[1], ARGV[1], ARGV[3], ARGV[2])
redis.call('HSET', KEYS[2], 'price', ARGV[4], 'size', ARGV[5], 'ts', ARGV[6], 'id', id)
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
