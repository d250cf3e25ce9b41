-- Revoke a refresh-token family (a logout). KEYS[1]: its hash; ARGV[1]: now (seconds, as sent).
-- Its first revocation time is kept; no retry can be answered any more (the seal goes).
-- Answers the family's fields (in the rotate script's order), or {} when there is none.
local key = KEYS[1]
local fields = {'subject', 'claims', 'created_at', 'last_used_at', 'generation', 'current', 'previous',
                'spent_at', 'sealed', 'access', 'revoked_at'}
local values = redis.call('HMGET', key, unpack(fields))
if not values[1] then
  return {}
end
if not values[11] then
  values[11] = ARGV[1]
  redis.call('HSET', key, 'revoked_at', ARGV[1])
end
values[9] = false
redis.call('HDEL', key, 'sealed')
return values
