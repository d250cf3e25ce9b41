-- Revoke a key: revoked_at is set unless it is set already (a key keeps its first revocation time).
-- KEYS[1]: the record's hash; ARGV[1]: now. 1: the key exists; 0: it does not (nothing is written).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSETNX', KEYS[1], 'revoked_at', ARGV[1])
return 1
