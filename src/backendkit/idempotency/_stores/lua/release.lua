-- Free the key if it still holds our lock. KEYS[1]: the key; ARGV[1]: our lock.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1
