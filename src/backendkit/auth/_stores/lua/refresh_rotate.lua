-- Rotate a refresh-token family: backendkit.auth._core.refresh.decide, run atomically in Redis.
-- KEYS[1]: the family's hash. ARGV: [1] the presented token's digest; [2] the new token's digest,
-- [3] its seal, [4..6] the new access token's jti, iat, exp; [7] now; [8] idle, [9] lifetime,
-- [10] reuse_window (seconds); [11] MAX_ACCESS.
-- Times are written as the caller sent them (Python's repr of a float: read back exactly); only
-- `access` is cjson, whose numbers (whole seconds) its 14 significant digits keep exactly.
-- Answers {kind, spent digest, evicted access (JSON), the family's fields in this order (FIELDS in
-- refresh_redis.py)}: false (nil) for what is absent.
local key = KEYS[1]
local presented = ARGV[1]
local now = tonumber(ARGV[7])
local fields = {'subject', 'claims', 'created_at', 'last_used_at', 'generation', 'current', 'previous',
                'spent_at', 'sealed', 'access', 'revoked_at'}
local values = redis.call('HMGET', key, unpack(fields))
if not values[1] then
  return {'unknown'}
end
local f = {}
for i, name in ipairs(fields) do
  f[name] = values[i]
end

local function answer(kind, spent, evicted)
  local reply = {kind, spent or false, evicted or false}
  for i, name in ipairs(fields) do
    reply[i + 3] = f[name]
  end
  return reply
end

local function revoke()
  if not f.revoked_at then
    f.revoked_at = ARGV[7]
    redis.call('HSET', key, 'revoked_at', f.revoked_at)
  end
  f.sealed = false
  redis.call('HDEL', key, 'sealed')
  return answer('reused')
end

-- A spent token's field: 128 bits of its digest are enough (a forged token matching one is a guess of
-- 128 bits, and would only revoke the family) and a third smaller than all 256, in a hash that gets one
-- field per rotation.
local function spent_field(digest)
  return 'spent:' .. string.sub(digest, 1, 32)
end

local function entries(text)
  -- cjson reads an empty list as an empty table, and writes one as {}: both mean "none".
  local list = cjson.decode(text)
  if type(list) ~= 'table' then
    return {}
  end
  return list
end

if f.revoked_at then
  return answer('revoked')
end

if presented == f.current then
  local ends = math.min(tonumber(f.last_used_at) + tonumber(ARGV[8]), tonumber(f.created_at) + tonumber(ARGV[9]))
  if now >= ends then
    return answer('expired')
  end
  local live = {}
  for _, entry in ipairs(entries(f.access)) do
    if entry[3] > now then
      live[#live + 1] = entry
    end
  end
  live[#live + 1] = {ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])}
  local evicted = {}
  local most = tonumber(ARGV[11])
  while #live > most do
    evicted[#evicted + 1] = table.remove(live, 1)
  end
  local spent = f.current
  f.previous = spent
  f.current = ARGV[2]
  f.sealed = ARGV[3]
  f.last_used_at = ARGV[7]
  f.spent_at = ARGV[7]
  f.generation = tostring(tonumber(f.generation) + 1)
  f.access = cjson.encode(live)
  redis.call('HSET', key, spent_field(spent), '1', 'previous', f.previous, 'current', f.current,
    'sealed', f.sealed, 'last_used_at', f.last_used_at, 'spent_at', f.spent_at, 'generation', f.generation,
    'access', f.access)
  return answer('rotated', spent, cjson.encode(evicted))
end

if presented == f.previous then
  local answerable = f.sealed and #entries(f.access) > 0
  -- This very rotation, sent again (a lost reply): the same answer, whatever the window.
  if ARGV[2] == f.current and answerable then
    return answer('retry')
  end
  local spent_at = f.spent_at and tonumber(f.spent_at)
  local waited = spent_at and math.abs(now - spent_at)
  if waited and waited < tonumber(ARGV[10]) and answerable then
    return answer('retry')
  end
  return revoke()
end

if redis.call('HEXISTS', key, spent_field(presented)) == 1 then
  return revoke()
end
-- A forged secret under a real family id: refused, nothing revoked.
return {'unknown'}
