/**
 * Every check-and-set the Redis store does, as one Lua script each: atomic on the server,
 * one round trip, TTLs set in the same call. Times come from Redis (TIME), so several MX
 * machines with drifting clocks still agree on when a greylist delay has passed.
 *
 * Multi-key scripts take keys that share one hash tag, so they also run on a Cluster.
 * The Bayes scripts are in bayes-scripts.ts, the fuzzy ones in fuzzy.ts.
 */
import { BAYES_SCRIPTS } from './bayes-scripts.js';
import { FUZZY_SCRIPTS } from './fuzzy.js';
import { NEURAL_SCRIPTS } from './neural.js';

/** Milliseconds since the epoch, from the Redis server's clock. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * KEYS: entry hash, auto-allow counter (same hash tag: the group).
 * ARGV: delay, retry window, pass TTL, auto-allow after, auto-allow TTL (seconds), confirm
 * later (1: a due retry answers 'due' and records nothing, see GREYLIST_CONFIRM).
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
if ARGV[6] == '1' then
  return {'due', 0}
end
redis.call('HSET', KEYS[1], 'p', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) * 1000)
if after > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[5]) * 1000)
end
return {'passed', 0}`;

/**
 * KEYS: entry hash, auto-allow counter (same hash tag). ARGV: pass TTL, auto-allow after,
 * auto-allow TTL (seconds). Returns 1 when this call passed the entry.
 */
export const GREYLIST_CONFIRM = `local e = redis.call('HMGET', KEYS[1], 'f', 'p')
if not e[1] or e[2] == '1' then return 0 end
redis.call('HSET', KEYS[1], 'p', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 1000)
if tonumber(ARGV[2]) > 0 then
  redis.call('INCR', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[3]) * 1000)
end
return 1`;

/** KEYS: entry hash. ARGV: pass TTL (seconds). Returns 1 when the entry existed. */
export const GREYLIST_RELEASE = `if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'p', 1)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 1000)
return 1`;

/** KEYS: counter. ARGV: TTL (seconds). Returns the new value. */
export const COUNTER_INCREMENT = `local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 1000)
return n`;

/** KEYS: history list. ARGV: entry, max length. Newest first. */
export const HISTORY_PUSH = `redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1`;

export const SCRIPTS = {
  bpGreylistCheck: { numberOfKeys: 2, lua: GREYLIST_CHECK },
  bpGreylistConfirm: { numberOfKeys: 2, lua: GREYLIST_CONFIRM },
  bpGreylistRelease: { numberOfKeys: 1, lua: GREYLIST_RELEASE },
  bpCounterIncrement: { numberOfKeys: 1, lua: COUNTER_INCREMENT },
  ...BAYES_SCRIPTS,
  ...FUZZY_SCRIPTS,
  ...NEURAL_SCRIPTS,
  bpHistoryPush: { numberOfKeys: 1, lua: HISTORY_PUSH },
} as const;

/** The commands defineCommand adds to the client, typed. */
export interface ScriptCommands {
  bpGreylistCheck(entry: string, allow: string, delay: number, retryWindow: number, passTtl: number, autoAllowAfter: number, autoAllowTtl: number, confirmLater: 0 | 1): Promise<[string, number]>;
  bpGreylistConfirm(entry: string, allow: string, passTtl: number, autoAllowAfter: number, autoAllowTtl: number): Promise<number>;
  bpGreylistRelease(entry: string, passTtl: number): Promise<number>;
  bpCounterIncrement(key: string, ttl: number): Promise<number>;
  bpHistoryPush(key: string, entry: string, max: number): Promise<number>;
}
