-- backendkit rate limiting: the Lua twin of backendkit/ratelimit/_core/algorithms.py.
-- Every float operation is the Python one, in the same order, so both give the
-- same answers (one table of golden vectors runs against both).
--
-- KEYS: one per policy (hash-tagged: one slot).
-- ARGV: op (hit|peek|refund), cost, then per policy one argument "kind limit window burst"
--       (kind 1 token bucket, 2 sliding window; window in us), then, in tests only, now (us);
--       production sends no clock: Redis TIME is the only one. Few arguments: each costs the
--       client its encoding.
-- Returns one flat array, four numbers per policy: allowed (0|1), remaining, reset_after (us),
-- retry_after (us, -1 = none). Flat: one array to build and parse, not one per policy.

local EPSILON = 1e-9
local op = ARGV[1]
local cost = tonumber(ARGV[2])
local n = #KEYS
local now
if #ARGV > n + 2 then
  now = tonumber(ARGV[n + 3])
else
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end

local function max(a, b) if a > b then return a end return b end

local raws = redis.call("MGET", unpack(KEYS))  -- every state in one call

local function load(i, kind)
  local raw = raws[i]
  if not raw then return nil end
  if kind == 1 then return {tonumber(raw)} end
  local s, c, p = string.match(raw, "^(%S+) (%S+) (%S+)$")
  return {tonumber(s), tonumber(c), tonumber(p)}
end

local function token_bucket(limit, window, burst, state, c)
  local interval = window / limit
  local tolerance = interval * burst
  local tat = now
  if state and state[1] >= now then tat = state[1] end
  local new_tat = tat + c * interval
  local allow_at = new_tat - tolerance
  if allow_at > now + EPSILON then
    local wait = window
    if c <= burst then wait = math.ceil(allow_at - now) end
    local remaining = max(0, math.floor((now + tolerance - tat) / interval + EPSILON))
    return {0, remaining, math.ceil(tat - now), wait, {tat}}
  end
  local remaining = max(0, math.floor((now + tolerance - new_tat) / interval + EPSILON))
  return {1, remaining, math.ceil(new_tat - now), -1, {new_tat}}
end

local function sliding_reset(start, window, current, previous)
  if current > 0 then return start + 2 * window - now end
  if previous > 0 then return start + window - now end
  return 0
end

local function sliding_wait(limit, window, start, current, previous, c)
  if c > limit then return window end
  local room = limit - current - c
  if previous > 0 and room >= 0 then
    local at = window - room * window / previous
    if at < window then return max(1, math.ceil(start + at - now)) end
  end
  local at = 0
  if current > 0 then at = window - (limit - c) * window / current end
  return max(1, math.ceil(start + window + max(0, at) - now))
end

local function sliding_window(limit, window, state, c)
  local start = now - now % window
  local current, previous = 0, 0
  if state then
    if state[1] == start then
      current, previous = state[2], state[3]
    elseif state[1] == start - window then
      previous = state[2]
    end
  end
  local elapsed = now - start
  local used = previous * (window - elapsed) / window + current
  if used + c <= limit + EPSILON then
    local new_current = current + c
    local remaining = max(0, math.floor(limit - used - c + EPSILON))
    return {1, remaining, sliding_reset(start, window, new_current, previous), -1, {start, new_current, previous}}
  end
  local remaining = max(0, math.floor(limit - used + EPSILON))
  return {0, remaining, sliding_reset(start, window, current, previous),
          sliding_wait(limit, window, start, current, previous, c), {start, current, previous}}
end

local function check(kind, limit, window, burst, state, c)
  if kind == 1 then return token_bucket(limit, window, burst, state, c) end
  return sliding_window(limit, window, state, c)
end

local function refund(kind, limit, window, burst, state, c)
  if not state then return nil end
  if kind == 1 then
    local tat = state[1] - c * (window / limit)
    if tat > now then return {tat} end
    return nil
  end
  if state[1] ~= now - now % window then return state end
  return {state[1], max(0, state[2] - c), state[3]}
end

local function ttl(kind, window, state)
  if kind == 1 then return max(0, math.ceil(state[1] - now)) end
  return max(0, state[1] + 2 * window - now)
end

local function store(i, kind, window, state)
  if not state then
    redis.call("DEL", KEYS[i])
    return
  end
  local life = ttl(kind, window, state)
  if life <= 0 then
    redis.call("DEL", KEYS[i])
    return
  end
  local raw
  if kind == 1 then
    raw = string.format("%.17g", state[1])
  else
    raw = string.format("%.17g %.17g %.17g", state[1], state[2], state[3])
  end
  redis.call("SET", KEYS[i], raw, "PX", math.ceil(life / 1000))
end

local kinds, limits, windows, bursts, states = {}, {}, {}, {}, {}
for i = 1, n do
  local kind, limit, window, burst = string.match(ARGV[2 + i], "^(%d+) (%d+) (%d+) (%d+)$")
  kinds[i] = tonumber(kind)
  limits[i] = tonumber(limit)
  windows[i] = tonumber(window)
  bursts[i] = tonumber(burst)
  states[i] = load(i, kinds[i])
end

local steps = {}
if op == "refund" then
  for i = 1, n do
    states[i] = refund(kinds[i], limits[i], windows[i], bursts[i], states[i], cost)
    store(i, kinds[i], windows[i], states[i])
    steps[i] = check(kinds[i], limits[i], windows[i], bursts[i], states[i], 0)
  end
else
  local all = true
  for i = 1, n do
    steps[i] = check(kinds[i], limits[i], windows[i], bursts[i], states[i], cost)
    if steps[i][1] == 0 then all = false end
  end
  if op == "hit" then
    if all then
      for i = 1, n do store(i, kinds[i], windows[i], steps[i][5]) end
    else
      for i = 1, n do
        if steps[i][1] == 1 then steps[i] = check(kinds[i], limits[i], windows[i], bursts[i], states[i], 0) end
      end
    end
  end
end

local out = {}
for i = 1, n do
  local s = steps[i]
  local base = (i - 1) * 4
  out[base + 1], out[base + 2], out[base + 3], out[base + 4] = s[1], s[2], s[3], s[4]
end
return out
