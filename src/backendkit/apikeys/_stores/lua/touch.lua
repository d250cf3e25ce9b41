-- Set a key's last_used_at, and nothing else; nothing at all when the key is gone (never a stray hash).
-- KEYS[1]: the record's hash; ARGV[1]: now.
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'last_used_at', ARGV[1])
end
return 1
