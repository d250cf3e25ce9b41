-- backendkit rate limiting: the Lua twin of backendkit/ratelimit/_core/algorithms.py.
-- Every float operation is the Python one, in the same order, so both give the
-- same answers (one table of golden vectors runs against both).
--
-- KEYS: one per policy (hash-tagged: one slot).
-- ARGV: op (hit|peek|refund), cost, then per policy its spec packed as struct "<Bddd": kind
--       (1 token bucket, 2 sliding window), limit, window (us), burst; then, in tests only, now
--       (us). Production sends no clock: Redis TIME is the only one.
-- State: struct-packed doubles behind a tag byte, "<Bd" (1, tat) or "<Bddd" (2, start, current,
--        previous); the text of earlier versions ("%.17g" numbers, space-separated) is still read.
-- Returns one flat array, four numbers per policy: allowed (0|1), remaining, reset_after (us),
-- retry_after (us, -1 = none).
--
-- Written for Redis's time per check (INFO commandstats, redis-server 7.0): one loop and no function
-- (the closures a run creates cost more than all of the arithmetic), no table per step, binary
-- state and specs (string.format("%.17g"), string.match and tonumber on text cost 1-2 us each),
-- and a sliding window written again in the same window keeps its TTL (SET KEEPTTL; an expiry set
-- anew costs as much as the SET itself).

local tonumber, ceil, floor, byte, match = tonumber, math.ceil, math.floor, string.byte, string.match
local pack, sunpack, call = struct.pack, struct.unpack, redis.call
local KEYS, ARGV = KEYS, ARGV
local EPSILON = 1e-9
local op = ARGV[1]
local cost = tonumber(ARGV[2])
local n = #KEYS
local now = ARGV[n + 3]
if now then
  now = tonumber(now)
else
  local t = call("TIME")
  now = t[1] * 1000000 + t[2]
end

local raws = call("MGET", unpack(KEYS))  -- every state in one call

-- out: the reply, four numbers per policy. new: per policy, the state an admitted hit stores (tat,
-- or current, previous, whether the stored state was this window's, and the window; false for a
-- token bucket). A refund gives its cost back first, then reports the state as a peek (cost 0).
-- A denied hit consumes nothing: a second pass reports the policies that would have admitted it
-- as a peek, the others why they refused.
local out, new = {}, {}
local refunding = op == "refund"
local c = cost
if refunding then c = 0 end
local all = true
for pass = 1, 2 do
  for i = 1, n do
    local b = 4 * i
    if pass == 1 or out[b - 3] == 1 then
      local kind, limit, window, burst = sunpack("<Bddd", ARGV[2 + i])
      -- The stored state: tat, or start, current, previous; the text of earlier versions still read.
      local s, current, previous
      local raw = raws[i]
      if raw then
        local tag = byte(raw)
        if tag == 1 then
          s = sunpack("<d", raw, 2)
        elseif tag == 2 then
          s, current, previous = sunpack("<ddd", raw, 2)
        else
          s, current, previous = match(raw, "^(%S+) (%S+) (%S+)$")
          if s then s, current, previous = tonumber(s), tonumber(current), tonumber(previous) else s = tonumber(raw) end
        end
      end
      if kind == 1 then
        local interval = window / limit
        if refunding and s then
          s = s - cost * interval
          if s > now then
            call("SET", KEYS[i], pack("<Bd", 1, s), "PX", ceil(ceil(s - now) / 1000))
          else
            s = nil
            call("DEL", KEYS[i])
          end
        end
        local tolerance = interval * burst
        local tat = now
        if s and s >= now then tat = s end
        local new_tat = tat + c * interval
        local allow_at = new_tat - tolerance
        if allow_at > now + EPSILON then
          local wait = window
          if c <= burst then wait = ceil(allow_at - now) end
          local remaining = floor((now + tolerance - tat) / interval + EPSILON)
          if remaining < 0 then remaining = 0 end
          out[b - 3], out[b - 2], out[b - 1], out[b] = 0, remaining, ceil(tat - now), wait
          all = false
        else
          local remaining = floor((now + tolerance - new_tat) / interval + EPSILON)
          if remaining < 0 then remaining = 0 end
          out[b - 3], out[b - 2], out[b - 1], out[b] = 1, remaining, ceil(new_tat - now), -1
          new[b - 3], new[b] = new_tat, false
        end
      else
        local start = now - now % window
        if refunding and s then
          if s == start then
            current = current - cost
            if current < 0 then current = 0 end
          end
          local life = s + 2 * window - now
          if life > 0 then
            call("SET", KEYS[i], pack("<Bddd", 2, s, current, previous), "PX", ceil(life / 1000))
          else
            call("DEL", KEYS[i])
          end
        end
        if s ~= start then
          if s == start - window then previous = current else previous = 0 end
          current = 0
        end
        local used = previous * (window - (now - start)) / window + current
        if used + c <= limit + EPSILON then
          local cur = current + c
          local remaining = floor(limit - used - c + EPSILON)
          if remaining < 0 then remaining = 0 end
          local reset = 0
          if cur > 0 then reset = start + 2 * window - now elseif previous > 0 then reset = start + window - now end
          out[b - 3], out[b - 2], out[b - 1], out[b] = 1, remaining, reset, -1
          new[b - 3], new[b - 2], new[b - 1], new[b] = cur, previous, s == start, window
        else
          local remaining = floor(limit - used + EPSILON)
          if remaining < 0 then remaining = 0 end
          local reset = 0
          if current > 0 then reset = start + 2 * window - now elseif previous > 0 then reset = start + window - now end
          local wait
          if c > limit then
            wait = window
          else
            local room = limit - current - c
            if previous > 0 and room >= 0 then
              local at = window - room * window / previous
              if at < window then wait = ceil(start + at - now) end
            end
            if not wait then
              local at = 0
              if current > 0 then at = window - (limit - c) * window / current end
              if at < 0 then at = 0 end
              wait = ceil(start + window + at - now)
            end
            if wait < 1 then wait = 1 end
          end
          out[b - 3], out[b - 2], out[b - 1], out[b] = 0, remaining, reset, wait
          all = false
        end
      end
    end
  end
  if all or op ~= "hit" then break end
  c = 0
end
if op ~= "hit" or not all then return out end
for i = 1, n do
  local b = 4 * i
  local x, y, window = new[b - 3], new[b - 2], new[b]
  if window then
    local start = now - now % window
    if new[b - 1] then  -- written in this window before: its TTL is this window's already
      call("SET", KEYS[i], pack("<Bddd", 2, start, x, y), "KEEPTTL")
    else
      call("SET", KEYS[i], pack("<Bddd", 2, start, x, y), "PX", ceil((start + 2 * window - now) / 1000))
    end
  else
    local life = ceil(x - now)
    if life > 0 then
      call("SET", KEYS[i], pack("<Bd", 1, x), "PX", ceil(life / 1000))
    else
      call("DEL", KEYS[i])
    end
  end
end
return out
