"""The Lua that applies the cabinet's rules in Redis, one script per decision.

Redis' writes sit outside Kafka's transaction: a worker may change the cabinet and
crash before its transaction commits, and the record is then consumed again. So
each script first looks for the decision already made for its record; if it finds
one (of the same day), it returns that and touches nothing. Otherwise it decides,
changes the counts and remembers the decision, all in one atomic step: no crash
can fall between the change and the memory of it. Once a transaction commits, its
worker has ``FORGET`` drop the decisions below the partition's committed offset and
note that offset: a record below it was committed by someone, so a late call for it
(from a worker that lost the partition without knowing) is refused, never decided
again.

Every decision script gets ``KEYS = counts, set_aside, day, decided`` and
``ARGV = seconds to keep, order id, record field, offset, ...`` and returns
``{replayed, json}`` (replayed 1 or 0, json the decision; 2 and "" when the record
is below the committed offset). Portions travel as ``n, item1, count1, ...``. The
rules are those of ``decisions``; the tests hold the scripts to them.
"""

from __future__ import annotations

from typing import Final

from fishshop_workers.cabinet.decisions import CABINET_ITEMS

__all__ = ["FORGET", "FRY", "RESET", "SERVE_SET_ASIDE", "STALE", "TAKE"]

STALE: Final = 2
"""A script's first answer when its record is below the partition's committed offset."""

_STOCKED = "{" + ", ".join(f"{item} = true" for item in CABINET_ITEMS) + "}"

_PRELUDE = """
local counts, aside, day_key, decided_key = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ttl, order, field, offset = tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4])
local day = redis.call('GET', day_key) or '0'

-- "day|value": what a field says, if it was written on this day
local function today(stored)
  if not stored then return nil end
  local bar = string.find(stored, '|', 1, true)
  if bar and string.sub(stored, 1, bar - 1) == day then
    return string.sub(stored, bar + 1)
  end
  return nil
end

local committed = tonumber(today(redis.call('HGET', decided_key, 'committed')) or '-1')
if offset < committed then
  return {2, ''}
end
local earlier = today(redis.call('HGET', decided_key, field))
if earlier then
  return {1, earlier}
end

local function decided(result)
  local encoded = cjson.encode(result)
  redis.call('HSET', decided_key, field, day .. '|' .. encoded)
  for _, key in ipairs({counts, aside, day_key, decided_key}) do
    redis.call('EXPIRE', key, ttl)
  end
  return {0, encoded}
end

local function count(field)
  return tonumber(redis.call('HGET', counts, field) or '0')
end

local function add(item, book, n)
  redis.call('HINCRBY', counts, item .. ':' .. book, n)
end

-- n, item1, count1, ... starting at ARGV[at]; returns the list and the next position
local function portions_at(at)
  local list = {}
  local n = tonumber(ARGV[at])
  for i = 1, n do
    list[i] = {ARGV[at + 2 * i - 1], tonumber(ARGV[at + 2 * i])}
  end
  return list, at + 2 * n + 1
end
"""

TAKE: Final = (
    _PRELUDE
    + f"local stocked = {_STOCKED}\n"
    + """
local needed = portions_at(5)
local serve = true
for _, p in ipairs(needed) do
  if not stocked[p[1]] or count(p[1] .. ':cabinet') < p[2] then
    serve = false
    break
  end
end
local taken = {}
if serve then
  for _, p in ipairs(needed) do
    add(p[1], 'cabinet', -p[2])
    add(p[1], 'served', p[2])
    taken[p[1]] = p[2]
  end
end
return decided({order = order, outcome = serve and 'serve' or 'to-cook', portions = taken})
"""
)
"""Serve an order from the cabinet when every portion is there, else send it to the cook."""

FRY: Final = (
    _PRELUDE
    + """
local needed, at = portions_at(5)
local for_order = {}
local mine = cjson.decode(redis.call('HGET', aside, order) or '{}')
for _, p in ipairs(needed) do
  add(p[1], 'fried', p[2])
  add(p[1], 'aside', p[2])
  mine[p[1]] = (mine[p[1]] or 0) + p[2]
  for_order[p[1]] = p[2]
end
redis.call('HSET', aside, order, cjson.encode(mine))

-- then: item, batch size, threshold for each cabinet item
local batches = {}
local rules = tonumber(ARGV[at])
for i = 1, rules do
  local item = ARGV[at + 3 * i - 2]
  local batch, threshold = tonumber(ARGV[at + 3 * i - 1]), tonumber(ARGV[at + 3 * i])
  if count(item .. ':cabinet') < threshold then
    add(item, 'fried', batch)
    add(item, 'cabinet', batch)
    add(item, 'batches', 1)
    batches[item] = batch
  end
end
return decided({order = order, for_order = for_order, batches = batches})
"""
)
"""Fry what an order needs and set it aside for it; fry a batch of what runs low."""

SERVE_SET_ASIDE: Final = (
    _PRELUDE
    + """
local mine = redis.call('HGET', aside, order)
local moved = {}
if mine then
  for item, n in pairs(cjson.decode(mine)) do
    add(item, 'aside', -n)
    add(item, 'served', n)
    moved[item] = n
  end
  redis.call('HDEL', aside, order)
end
return decided({order = order, outcome = 'serve', portions = moved})
"""
)
"""Serve the portions set aside for a ready order (none, if it was cooked before the
cabinet was on)."""

FORGET: Final = """
local decided_key, day_key = KEYS[1], KEYS[2]
local below, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local day = redis.call('GET', day_key) or '0'
local before = redis.call('HGET', decided_key, 'committed')
if before then
  local bar = string.find(before, '|', 1, true)
  if bar and string.sub(before, 1, bar - 1) == day then
    below = math.max(below, tonumber(string.sub(before, bar + 1)))
  end
end
local fields = redis.call('HGETALL', decided_key)
for i = 1, #fields, 2 do
  local name, stored = fields[i], fields[i + 1]
  if name ~= 'committed' then
    local bar = string.find(stored, '|', 1, true)
    local at = tonumber(string.match(name, '^%d+'))
    if not bar or string.sub(stored, 1, bar - 1) ~= day or not at or at < below then
      redis.call('HDEL', decided_key, name)
    end
  end
end
redis.call('HSET', decided_key, 'committed', day .. '|' .. below)
redis.call('EXPIRE', decided_key, ttl)
return below
"""
"""A partition's transaction committed up to ``ARGV[1]``: drop the decisions below it
(and any of an earlier day), and remember the offset."""

RESET: Final = """
redis.call('DEL', KEYS[1], KEYS[2])
return redis.call('INCR', KEYS[3])
"""
"""Start a new day: every count 0, nothing set aside, no earlier decision replayed."""
