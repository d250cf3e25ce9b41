-- A subject's index of refresh-token families (a sorted set: family id, scored by its absolute end).
-- KEYS[1]: the index; ARGV[1]: the family's id; ARGV[2]: its end; ARGV[3]: now (seconds);
-- ARGV[4]: milliseconds until its end. Families ended by now leave the index; the index lives
-- as long as its longest-lived family.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return 1
