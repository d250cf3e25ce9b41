-- A key replaced by another: rotated_to is set, and expires_at to the end of the grace period unless it is
-- sooner already (rotation never lengthens a key's life). revoked_at is left alone.
-- KEYS[1]: the record's hash; ARGV[1]: the successor's id; ARGV[2]: the end of the grace period.
-- 1: the key exists; 0: it does not (nothing is written).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'rotated_to', ARGV[1])
local expires = redis.call('HGET', KEYS[1], 'expires_at')
if not expires or tonumber(expires) > tonumber(ARGV[2]) then
  redis.call('HSET', KEYS[1], 'expires_at', ARGV[2])
end
return 1
