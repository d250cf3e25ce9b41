-- Replace our lock with the response's record. KEYS[1]: the key; ARGV[1]: our lock; ARGV[2]: the record; ARGV[3]: its TTL in ms.
-- Answers 0 when another request's lock replaced ours (ours expired first): theirs is left alone.
-- Our record already there (a retry of this very call) is success: the call is safe to repeat.
local value = redis.call('GET', KEYS[1])
if value == ARGV[2] then
  return 1
end
if value and value ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
