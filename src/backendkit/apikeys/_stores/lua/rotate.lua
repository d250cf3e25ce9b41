-- Rotate a key, once: keep its successor and index it, and retire the old key for it (rotated_to is set, and
-- expires_at to the end of the grace period unless it is sooner already; revoked_at is left alone), all or
-- nothing, unless the old key is rotated already or revoked. Of two rotations racing, the second writes
-- nothing; a rotation that read the key before a revocation made meanwhile writes nothing either.
-- KEYS[1]: the old key's hash; KEYS[2]: the successor's hash; KEYS[3]: its owner's index; KEYS[4]: every key's.
-- ARGV[1]: the successor's id; ARGV[2]: the end of the grace period; ARGV[3]: its created_at (the indexes'
-- score); ARGV[4...]: its field, value, ...
-- The id the old key is rotated to now (ARGV[1] when this call rotated it, or did already and is sent again
-- after a lost reply; another id when another rotation came first), checked before the revocation: a key
-- rotated, then revoked, answers its successor; 0: no old key; -2: the old key is revoked (the field is
-- there); -1: the successor's id is another key's. Nothing is written but by the first answer's first case.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local rotated = redis.call('HGET', KEYS[1], 'rotated_to')
if rotated then
  return rotated
end
if redis.call('HEXISTS', KEYS[1], 'revoked_at') == 1 then
  return -2
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return -1
end
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[1])
redis.call('HSET', KEYS[1], 'rotated_to', ARGV[1])
local expires = redis.call('HGET', KEYS[1], 'expires_at')
if not expires or tonumber(expires) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[2])
end
return ARGV[1]
