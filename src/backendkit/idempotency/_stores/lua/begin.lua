-- Take an idempotency key, or answer what it holds. KEYS[1]: the key; ARGV[1]: our lock; ARGV[2]: its TTL in ms.
-- Answers {} when the lock is ours, else {value, milliseconds left}: one round trip, atomic.
-- Our own lock already there (a retry of this very call) is ours too: the call is safe to repeat.
local value = redis.call('GET', KEYS[1])
if value == ARGV[1] then
  return {}
end
if value then
  return {value, redis.call('PTTL', KEYS[1])}
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return {}
