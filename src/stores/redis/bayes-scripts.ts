/**
 * The Bayes scripts of the Redis store. Each token is a small hash of its own
 * (P bt:{G}TOKEN, fields s and h), so tokens spread over the Cluster's slots and each
 * can expire on its own; G is one of 64 groups (see bayes.ts), and a script only ever
 * touches keys of one group on a Cluster (all groups at once on a standalone Redis).
 */

/**
 * KEYS: token keys. Returns their counts as a flat list: spam, ham, spam, ham…
 */
export const BAYES_READ = `local out = {}
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 's', 'h')
  out[#out + 1] = v[1] or '0'
  out[#out + 1] = v[2] or '0'
end
return out`;

/**
 * KEYS: for each group, its created-tokens counter followed by its token keys.
 * ARGV: field to add ('s'|'h'), field to take from ('' unless relearning), TTL seconds
 * (0: none), most tokens a group may create per TTL period, then each group's token count.
 * A token that exists counts up and lives another TTL; a new one is created only while
 * its group is under the cap, so the store stays bounded however much is learned.
 */
export const BAYES_LEARN_TOKENS = `local add, sub, ttl, cap = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local k = 1
for g = 5, #ARGV do
  local counter = KEYS[k]
  k = k + 1
  local created = tonumber(redis.call('GET', counter) or '0')
  for i = 1, tonumber(ARGV[g]) do
    local key = KEYS[k]
    k = k + 1
    local exists = redis.call('EXISTS', key) == 1
    if exists or created < cap then
      if exists and sub ~= '' then
        if redis.call('HINCRBY', key, sub, -1) < 0 then redis.call('HSET', key, sub, 0) end
      end
      redis.call('HINCRBY', key, add, 1)
      if ttl > 0 then redis.call('EXPIRE', key, ttl) end
      if not exists then
        created = created + 1
        if redis.call('INCR', counter) == 1 and ttl > 0 then redis.call('EXPIRE', counter, ttl) end
      end
    end
  end
end
return 1`;

/**
 * KEYS: the message's digest key. ARGV: class, TTL seconds (0: none).
 * Claims the learn: returns 'already_learned' when the digest has this class, else the class
 * it had before ('' when new) after recording the new one.
 */
export const BAYES_CLAIM = `local before = redis.call('GET', KEYS[1])
if before == ARGV[1] then return 'already_learned' end
if tonumber(ARGV[2]) > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
else
  redis.call('SET', KEYS[1], ARGV[1])
end
return before or ''`;

/** KEYS: totals hash. ARGV: class learned, class it moved from (''). */
export const BAYES_TOTALS = `redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
if ARGV[2] ~= '' then
  if redis.call('HINCRBY', KEYS[1], ARGV[2], -1) < 0 then redis.call('HSET', KEYS[1], ARGV[2], 0) end
end
return 1`;

export const BAYES_SCRIPTS = {
  bpBayesRead: { lua: BAYES_READ },
  bpBayesLearnTokens: { lua: BAYES_LEARN_TOKENS },
  bpBayesClaim: { numberOfKeys: 1, lua: BAYES_CLAIM },
  bpBayesTotals: { numberOfKeys: 1, lua: BAYES_TOTALS },
} as const;

/** The commands defineCommand adds; scripts without a fixed key count take it first. */
export interface BayesScriptCommands {
  bpBayesRead(numberOfKeys: number, ...keys: string[]): Promise<string[]>;
  bpBayesLearnTokens(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
  bpBayesClaim(digest: string, cls: string, ttl: number): Promise<string>;
  bpBayesTotals(totals: string, cls: string, before: string): Promise<number>;
}
