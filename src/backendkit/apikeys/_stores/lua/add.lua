-- Keep a new key record and index it, all or nothing.
-- KEYS[1]: the record's hash; KEYS[2]: its owner's index; KEYS[3]: the index of every key.
-- ARGV[1]: the digest; ARGV[2]: created_at (the indexes' score); ARGV[3]: the id; ARGV[4...]: field, value, ...
-- 1: kept (or kept already by this very call, sent again after a lost reply); 0: the id is another key's.
local digest = redis.call('HGET', KEYS[1], 'digest')
if digest then
  if digest == ARGV[1] then
    return 1
  end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return 1
