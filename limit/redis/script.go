package redis

import goredis "github.com/redis/go-redis/v9"

// checkScript returns the server's TIME (seconds, microseconds) and, for
// each of KEYS (TAT keys), its value or "" if it has none.
var checkScript = goredis.NewScript(`
local t = redis.call('TIME')
local r = {t[1], t[2]}
for i = 1, #KEYS do
	r[i + 2] = redis.call('GET', KEYS[i]) or ''
end
return r
`)

// failScript records one failure on each key pair of KEYS: KEYS[2i-1] is
// the i-th key's TAT, KEYS[2i] its list of fingerprints, newest first.
// ARGV[1] is how many fingerprints a key keeps (0: none); ARGV[3i-1] and
// ARGV[3i] are the i-th key's GCRA interval, in whole seconds and the
// nanoseconds left over; ARGV[3i+1] is the fingerprint of the failed
// secret, or "" if none.
//
// A TAT is kept as Unix nanoseconds in decimal and handled in Lua as
// seconds and nanoseconds, each exact in Lua's doubles (nanoseconds since
// 1970 are not). As in limit.Memory, a key whose TAT has passed has no
// failures: it forgets its fingerprints, and its TAT restarts from now.
// Both Redis keys expire at the TAT, rounded up to the millisecond; a key
// read in that last millisecond is treated as gone.
var failScript = goredis.NewScript(`
local t = redis.call('TIME')
local nsec = tonumber(t[1])
local nns = tonumber(t[2]) * 1000
local keep = tonumber(ARGV[1])
for i = 1, #KEYS / 2 do
	local tk, fk = KEYS[2 * i - 1], KEYS[2 * i]
	local isec, ins, fp = tonumber(ARGV[3 * i - 1]), tonumber(ARGV[3 * i]), ARGV[3 * i + 1]
	local sec, ns, live = nsec, nns, false
	local v = redis.call('GET', tk)
	if v then
		local s, n = tonumber(string.sub(v, 1, -10)), tonumber(string.sub(v, -9))
		if s and n and (s > nsec or (s == nsec and n > nns)) then
			sec, ns, live = s, n, true
		end
	end
	if not live then
		redis.call('DEL', fk)
	end
	local count = true
	if fp ~= '' and keep > 0 then
		if live then
			for _, f in ipairs(redis.call('LRANGE', fk, 0, -1)) do
				if f == fp then
					count = false
					break
				end
			end
		end
		if count then
			redis.call('LPUSH', fk, fp)
			redis.call('LTRIM', fk, 0, keep - 1)
		end
	end
	if count then
		sec, ns = sec + isec, ns + ins
		if ns >= 1000000000 then
			sec, ns = sec + 1, ns - 1000000000
		end
		local at = string.format('%d', sec * 1000 + math.ceil(ns / 1000000))
		redis.call('SET', tk, string.format('%d%09d', sec, ns))
		redis.call('PEXPIREAT', tk, at)
		redis.call('PEXPIREAT', fk, at)
	end
end
return 0
`)
