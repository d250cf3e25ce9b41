-- Keep a new refresh-token family. KEYS[1]: its hash. ARGV[1]: milliseconds until its absolute end
-- (the hash's TTL, never changed after: a rotation writes fields, which keeps it); ARGV[2]: its
-- token's digest; ARGV[3..]: field, value, field, value...
-- Answers 1 when kept (or already kept by this very call, sent again), 0 when the id is taken.
local current = redis.call('HGET', KEYS[1], 'current')
if current then
  if current == ARGV[2] then
    return 1
  end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
