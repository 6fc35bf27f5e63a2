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
 * Token updates, shared by the two learn scripts. From KEYS[k] on: for each group, its
 * created-tokens counter followed by its token keys; ARGV[first…] give each group's token
 * count. A token that exists counts up (and, relearned, down in the other class) and lives
 * another TTL; a new one is created only while its group is under the cap, so the store
 * stays bounded however much is learned.
 */
const LEARN_GROUPS = `local function learnGroups(k, first, add, sub, ttl, cap)
  for g = first, #ARGV do
    local counter = KEYS[k]
    k = k + 1
    local created = tonumber(redis.call('GET', counter) or '0')
    local new = 0
    for i = 1, tonumber(ARGV[g]) do
      local key = KEYS[k]
      k = k + 1
      if sub ~= '' and redis.call('EXISTS', key) == 1 then
        if redis.call('HINCRBY', key, sub, -1) < 0 then redis.call('HSET', key, sub, 0) end
        redis.call('HINCRBY', key, add, 1)
        if ttl > 0 then redis.call('EXPIRE', key, ttl) end
      elseif created + new < cap or redis.call('EXISTS', key) == 1 then
        local n = redis.call('HINCRBY', key, add, 1)
        if ttl > 0 then redis.call('EXPIRE', key, ttl) end
        if n == 1 and redis.call('HLEN', key) == 1 then new = new + 1 end
      end
    end
    if new > 0 and redis.call('INCRBY', counter, new) == new and ttl > 0 then redis.call('EXPIRE', counter, ttl) end
  end
end
`;

/**
 * A Cluster's token update for one group. KEYS: the group's counter, its token keys.
 * ARGV: field to add ('s'|'h'), field to take from ('' unless relearning), TTL seconds
 * (0: none), most tokens a group may create per TTL period, the group's token count.
 */
export const BAYES_LEARN_TOKENS = `${LEARN_GROUPS}
learnGroups(1, 5, ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]))
return 1`;

/**
 * A whole learn in one call, on a standalone Redis or Sentinel (where one script may touch
 * any key). KEYS: digest, totals, then the groups as above. ARGV: class, TTL seconds, cap
 * per group, then each group's token count. Returns learned, relearned or already_learned.
 */
export const BAYES_LEARN = `${LEARN_GROUPS}
local cls, ttl, cap = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local before = redis.call('GET', KEYS[1])
if before == cls then return 'already_learned' end
if ttl > 0 then redis.call('SET', KEYS[1], cls, 'EX', ttl) else redis.call('SET', KEYS[1], cls) end
local add = 's'
if cls == 'ham' then add = 'h' end
local sub = ''
if before == 'spam' then sub = 's' elseif before == 'ham' then sub = 'h' end
learnGroups(3, 4, add, sub, ttl, cap)
redis.call('HINCRBY', KEYS[2], cls, 1)
if before then
  if redis.call('HINCRBY', KEYS[2], before, -1) < 0 then redis.call('HSET', KEYS[2], before, 0) end
  return 'relearned'
end
return 'learned'`;

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

/**
 * KEYS: token keys. ARGV: field ('s'|'h'), TTL seconds (0: none), then one count per key.
 * Adds counts as they are (moving tokens from the older two-hash layout).
 */
export const BAYES_ADD_COUNTS = `local field, ttl = ARGV[1], tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('HINCRBY', KEYS[i], field, tonumber(ARGV[i + 2]))
  if ttl > 0 then redis.call('EXPIRE', KEYS[i], ttl) end
end
return #KEYS`;

export const BAYES_SCRIPTS = {
  bpBayesRead: { lua: BAYES_READ },
  bpBayesLearnTokens: { lua: BAYES_LEARN_TOKENS },
  bpBayesLearn: { lua: BAYES_LEARN },
  bpBayesClaim: { numberOfKeys: 1, lua: BAYES_CLAIM },
  bpBayesTotals: { numberOfKeys: 1, lua: BAYES_TOTALS },
  bpBayesAddCounts: { lua: BAYES_ADD_COUNTS },
} as const;

/** The commands defineCommand adds; scripts without a fixed key count take it first. */
export interface BayesScriptCommands {
  bpBayesRead(numberOfKeys: number, ...keys: string[]): Promise<string[]>;
  bpBayesLearnTokens(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
  bpBayesLearn(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<string>;
  bpBayesClaim(digest: string, cls: string, ttl: number): Promise<string>;
  bpBayesTotals(totals: string, cls: string, before: string): Promise<number>;
  bpBayesAddCounts(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
}
