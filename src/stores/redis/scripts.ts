/**
 * Every check-and-set the Redis store does, as one Lua script each: atomic on the server,
 * one round trip, TTLs set in the same call. Times come from Redis (TIME), so several MX
 * machines with drifting clocks still agree on when a greylist delay has passed.
 *
 * Multi-key scripts take keys that share one hash tag, so they also run on a Cluster.
 */

/** Milliseconds since the epoch, from the Redis server's clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: entry hash, auto-allow counter (same hash tag: the group).
 * ARGV: delay, retry window, pass TTL, auto-allow after, auto-allow TTL (seconds).
 * Returns {state, seconds until a retry passes}.
 */
export const GREYLIST_CHECK = `${NOW}
local after = tonumber(ARGV[4])
if after > 0 then
  local n = tonumber(redis.call('GET', KEYS[2]) or '0')
  if n >= after then
    redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]) * 1000)
    return {'allowed', 0}
  end
end
local e = redis.call('HMGET', KEYS[1], 'f', 'p')
if not e[1] then
  redis.call('HSET', KEYS[1], 'f', now, 'p', 0)
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 1000)
  return {'new', tonumber(ARGV[1])}
end
if e[2] == '1' then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 1000)
  return {'known', 0}
end
local delay = tonumber(ARGV[1]) * 1000
local waited = now - tonumber(e[1])
if waited < delay then
  return {'early', math.ceil((delay - waited) / 1000)}
end
redis.call('HSET', KEYS[1], 'p', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 1000)
if after > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]) * 1000)
end
return {'passed', 0}`;

/** KEYS: entry hash. ARGV: pass TTL (seconds). Returns 1 when the entry existed. */
export const GREYLIST_RELEASE = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'p', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 1000)
return 1`;

/** KEYS: counter. ARGV: TTL (seconds). Returns the new value. */
export const COUNTER_INCREMENT = `local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 1000)
return n`;

/** KEYS: spam hash, ham hash. ARGV: tokens. Returns {spam counts, ham counts} (nil for unknown). */
export const BAYES_GET = `local spam, ham = {}, {}
local step = 1000
for i = 1, #ARGV, step do
  local last = math.min(i + step - 1, #ARGV)
  local s = redis.call('HMGET', KEYS[1], unpack(ARGV, i, last))
  local h = redis.call('HMGET', KEYS[2], unpack(ARGV, i, last))
  for j = 1, #s do
    spam[#spam + 1] = s[j]
    ham[#ham + 1] = h[j]
  end
end
return {spam, ham}`;

/**
 * KEYS: spam hash, ham hash, totals hash, learned-digests hash (one hash tag).
 * ARGV: digest, class ('spam'|'ham'), unique tokens…
 * Learning a message as the other class moves its counts; the same class twice is a no-op.
 */
export const BAYES_LEARN = `local before = redis.call('HGET', KEYS[4], ARGV[1])
local cls = ARGV[2]
if before == cls then return 'already_learned' end
local add, sub, other = KEYS[1], KEYS[2], 'ham'
if cls == 'ham' then add, sub, other = KEYS[2], KEYS[1], 'spam' end
for i = 3, #ARGV do
  redis.call('HINCRBY', add, ARGV[i], 1)
  if before then
    if redis.call('HINCRBY', sub, ARGV[i], -1) <= 0 then redis.call('HDEL', sub, ARGV[i]) end
  end
end
redis.call('HINCRBY', KEYS[3], cls, 1)
if before then
  if redis.call('HINCRBY', KEYS[3], other, -1) < 0 then redis.call('HSET', KEYS[3], other, 0) end
end
redis.call('HSET', KEYS[4], ARGV[1], cls)
if before then return 'relearned' end
return 'learned'`;

/** KEYS: history list. ARGV: entry, max length. Newest first. */
export const HISTORY_PUSH = `redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1`;

export const SCRIPTS = {
  bpGreylistCheck: { numberOfKeys: 2, lua: GREYLIST_CHECK },
  bpGreylistRelease: { numberOfKeys: 1, lua: GREYLIST_RELEASE },
  bpCounterIncrement: { numberOfKeys: 1, lua: COUNTER_INCREMENT },
  bpBayesGet: { numberOfKeys: 2, lua: BAYES_GET },
  bpBayesLearn: { numberOfKeys: 4, lua: BAYES_LEARN },
  bpHistoryPush: { numberOfKeys: 1, lua: HISTORY_PUSH },
} as const;

/** The commands defineCommand adds to the client, typed. */
export interface ScriptCommands {
  bpGreylistCheck(entry: string, allow: string, delay: number, retryWindow: number, passTtl: number, autoAllowAfter: number, autoAllowTtl: number): Promise<[string, number]>;
  bpGreylistRelease(entry: string, passTtl: number): Promise<number>;
  bpCounterIncrement(key: string, ttl: number): Promise<number>;
  bpBayesGet(spam: string, ham: string, ...tokens: string[]): Promise<[Array<string | null>, Array<string | null>]>;
  bpBayesLearn(spam: string, ham: string, totals: string, learned: string, digest: string, cls: string, ...tokens: string[]): Promise<string>;
  bpHistoryPush(key: string, entry: string, max: number): Promise<number>;
}
