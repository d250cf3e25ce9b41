-- The records of several keys at once (one round trip for a list): each one's fields and values, flat.
-- KEYS: the records' hashes (one hash slot: the store's hash tag). A key gone is an empty list.
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('HGETALL', key)
end
return out
