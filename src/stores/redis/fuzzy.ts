import type { FuzzyMatch, FuzzyPart } from '../types.js';
import { Cluster } from 'ioredis';
import type { RedisClient } from './client.js';

type Run = <T>(operation: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Fuzzy signatures on Redis. Key layout (P = prefix): P fz:{fz}h:DIGEST (hash: f flag,
 * w weight), P fz:{fz}s:POS:VALUE (the set of digests whose min-hash at POS is VALUE),
 * P fz:{fz}all (the set of every stored digest: its size says whether any is stored) and
 * P fz:{fz}indexed (set once P fz:{fz}all also holds the digests stored before it existed).
 * Every key carries the hash tag {fz}, so one script touches them all on a Cluster too; the
 * data is small (34 keys per learned message).
 */

/** KEYS: the hash, the set of all digests, then one set per min-hash. ARGV: digest, flag, weight. */
const FUZZY_ADD = `redis.call('HSET', KEYS[1], 'f', ARGV[2], 'w', ARGV[3])
for i = 2, #KEYS do redis.call('SADD', KEYS[i], ARGV[1]) end
return 1`;

/** KEYS: as for add. ARGV: digest. Returns 1 when the signature was stored. */
const FUZZY_DELETE = `for i = 2, #KEYS do redis.call('SREM', KEYS[i], ARGV[1]) end
return redis.call('DEL', KEYS[1])`;

/** KEYS: the set of all digests, the indexed flag. Returns how many are stored, or -1 while that is not known. */
const FUZZY_COUNT = `if redis.call('EXISTS', KEYS[2]) == 0 then return -1 end
return redis.call('SCARD', KEYS[1])`;

/**
 * KEYS: the set of all digests, the indexed flag, then hashes found by a scan. ARGV: 1 when
 * the scan is complete, then the digest of each hash. A digest is added only while its
 * hash still exists, so a delete racing the scan is not undone.
 */
const FUZZY_INDEX = `for i = 3, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('SADD', KEYS[1], ARGV[i - 1]) end
end
if ARGV[1] == '1' then redis.call('SET', KEYS[2], '1') end
return 1`;
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
  bpFuzzyCount: { numberOfKeys: 2, lua: FUZZY_COUNT },
  bpFuzzyIndex: { lua: FUZZY_INDEX },
} as const;

/**
 * How long a count of stored signatures is trusted, in milliseconds: a signature added on
 * one MX is seen by the others within this time (plus one message) when they held none.
 */
export const FUZZY_COUNT_REFRESH_MS = 5000;

interface FuzzyCommands {
  bpFuzzyAdd(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
  bpFuzzyDelete(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
  bpFuzzyFind(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<[string, number] | []>;
  bpFuzzyCount(all: string, indexed: string): Promise<number>;
  bpFuzzyIndex(numberOfKeys: number, ...keysAndArgs: Array<string | number>): Promise<number>;
}

export class RedisFuzzy implements FuzzyPart {
  /** Signatures stored at the last count; null while not known (then the check runs). */
  private stored: number | null = null;
  private countedAt = -Infinity;
  private indexing = false;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly run: Run,
    private readonly refreshMs = FUZZY_COUNT_REFRESH_MS,
  ) {}

  private get cmd(): FuzzyCommands {
    // defineCommand (the `scripts` option) adds these methods at run time; ioredis cannot type them.
    return this.client as unknown as FuzzyCommands;
  }

  private hashKey(digest: string): string {
    return `${this.prefix}fz:{fz}h:${digest}`;
  }

  private key(name: 'all' | 'indexed' | 'indexing'): string {
    return `${this.prefix}fz:{fz}${name}`;
  }

  private shingleKeys(shingles: readonly number[]): string[] {
    return shingles.map((v, pos) => `${this.prefix}fz:{fz}s:${pos}:${v}`);
  }

  async fuzzyAdd(digest: string, shingles: readonly number[], flag: number, weight: number): Promise<void> {
    const keys = [this.hashKey(digest), this.key('all'), ...this.shingleKeys(shingles)];
    await this.run('fuzzy_add', () => this.cmd.bpFuzzyAdd(keys.length, ...keys, digest, flag, weight));
    this.stored = null;
  }

  async fuzzyDelete(digest: string, shingles: readonly number[]): Promise<boolean> {
    const keys = [this.hashKey(digest), this.key('all'), ...this.shingleKeys(shingles)];
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

  /** From memory; the count is asked again in the background once it is older than refreshMs. */
  fuzzyAny(options: { upkeep?: boolean } = {}): boolean {
    const now = Date.now();
    if (now - this.countedAt >= this.refreshMs) {
      this.countedAt = now;
      void this.count(options.upkeep !== false);
    }
    return this.stored !== 0;
  }

  private async count(upkeep: boolean): Promise<void> {
    try {
      const n = Number(await this.run('fuzzy_count', () => this.cmd.bpFuzzyCount(this.key('all'), this.key('indexed'))));
      this.stored = n >= 0 ? n : null;
      if (n < 0 && upkeep && !this.indexing) {
        this.indexing = true;
        await this.index().finally(() => (this.indexing = false));
      }
    } catch {
      // Redis unreachable: not known, so the check runs and its own lookup reports the failure.
      this.stored = null;
    }
  }

  /**
   * Signatures stored before the set of all digests existed are added to it by one scan of
   * the keys (one MX at a time, by a lock that expires); the count is trusted from then on.
   */
  private async index(): Promise<void> {
    if ((await this.client.set(this.key('indexing'), String(process.pid), 'EX', 600, 'NX')) !== 'OK') return;
    const head = `${this.prefix}fz:{fz}h:`;
    const fixed = [this.key('all'), this.key('indexed')];
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${head.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await this.cmd.bpFuzzyIndex(keys.length + 2, ...fixed, ...keys, '0', ...keys.map((k) => k.slice(head.length)));
      } while (cursor !== '0');
    }
    await this.cmd.bpFuzzyIndex(2, ...fixed, '1');
    await this.client.del(this.key('indexing'));
  }
}
