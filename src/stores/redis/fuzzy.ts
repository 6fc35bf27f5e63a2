import type { FuzzyMatch, FuzzyPart } from '../types.js';
import type { RedisClient } from './client.js';

type Run = <T>(operation: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Fuzzy signatures on Redis. Key layout (P = prefix): P fz:{fz}h:DIGEST (hash: f flag,
 * w weight) and P fz:{fz}s:POS:VALUE (the set of digests whose min-hash at POS is VALUE).
 * Every key carries the hash tag {fz}, so one script touches them all on a Cluster too; the
 * data is small (33 keys per learned message).
 */

/** KEYS: the hash, then one set per min-hash. ARGV: digest, flag, weight. */
const FUZZY_ADD = `redis.call('HSET', KEYS[1], 'f', ARGV[2], 'w', ARGV[3])
for i = 2, #KEYS do redis.call('SADD', KEYS[i], ARGV[1]) end
return 1`;

/** KEYS: as for add. ARGV: digest. Returns 1 when the signature was stored. */
const FUZZY_DELETE = `for i = 2, #KEYS do redis.call('SREM', KEYS[i], ARGV[1]) end
return redis.call('DEL', KEYS[1])`;

/**
 * KEYS: one set per min-hash of the message. ARGV: the least agreement. Returns {digest,
 * agreement} of the best candidate, or an empty list. At most 1000 members of a set are
 * read: a min-hash shared by that many signatures says little, and the bound keeps the
 * script short.
 */
const FUZZY_FIND = `local counts = {}
local best, n = nil, 0
for i = 1, #KEYS do
  for _, d in ipairs(redis.call('SRANDMEMBER', KEYS[i], 1000)) do
    local c = (counts[d] or 0) + 1
    counts[d] = c
    if c > n then best, n = d, c end
  end
end
if not best or n < tonumber(ARGV[1]) then return {} end
return {best, n}`;

export const FUZZY_SCRIPTS = {
  bpFuzzyAdd: { lua: FUZZY_ADD },
  bpFuzzyDelete: { lua: FUZZY_DELETE },
  bpFuzzyFind: { lua: FUZZY_FIND },
} as const;

interface FuzzyCommands {
  bpFuzzyAdd(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
  bpFuzzyDelete(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
  bpFuzzyFind(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<[string, number] | []>;
}

export class RedisFuzzy implements FuzzyPart {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly run: Run,
  ) {}

  private get cmd(): FuzzyCommands {
    // defineCommand (the `scripts` option) adds these methods at run time; ioredis cannot type them.
    return this.client as unknown as FuzzyCommands;
  }

  private hashKey(digest: string): string {
    return `${this.prefix}fz:{fz}h:${digest}`;
  }

  private shingleKeys(shingles: readonly number[]): string[] {
    return shingles.map((v, pos) => `${this.prefix}fz:{fz}s:${pos}:${v}`);
  }

  async fuzzyAdd(digest: string, shingles: readonly number[], flag: number, weight: number): Promise<void> {
    const keys = [this.hashKey(digest), ...this.shingleKeys(shingles)];
    await this.run('fuzzy_add', () => this.cmd.bpFuzzyAdd(keys.length, ...keys, digest, flag, weight));
  }

  async fuzzyDelete(digest: string, shingles: readonly number[]): Promise<boolean> {
    const keys = [this.hashKey(digest), ...this.shingleKeys(shingles)];
    return this.run('fuzzy_delete', async () => (await this.cmd.bpFuzzyDelete(keys.length, ...keys, digest)) === 1);
  }

  async fuzzyFind(shingles: readonly number[], minMatched: number): Promise<FuzzyMatch | null> {
    const keys = this.shingleKeys(shingles);
    return this.run('fuzzy_find', async () => {
      const found = await this.cmd.bpFuzzyFind(keys.length, ...keys, minMatched);
      if (found.length < 2) return null;
      const digest = String(found[0]);
      const [flag, weight] = await this.client.hmget(this.hashKey(digest), 'f', 'w');
      if (flag === null || flag === undefined) return null;
      return { digest, flag: Number(flag), weight: Number(weight), matched: Number(found[1]) };
    });
  }
}
