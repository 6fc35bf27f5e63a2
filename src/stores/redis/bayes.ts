import { DEFAULT_BAYES_RETENTION, type BayesClass, type BayesPart, type BayesRetention, type BayesTokenCounts, type LearnResult } from '../types.js';
import { Cluster } from 'ioredis';
import type { BayesScriptCommands } from './bayes-scripts.js';
import type { RedisClient } from './client.js';

/** Tokens fall into this many groups; each group is one Cluster hash tag. */
export const TOKEN_GROUPS = 64;

type Run = <T>(operation: string, fn: () => Promise<T>) => Promise<T>;

/**
 * Bayes on Redis, one key per token so the data spreads over a Cluster and every token
 * expires on its own (bayes.expire_days) instead of two hashes in one slot growing for
 * ever. Key layout (P = prefix): P bt:{G}TOKEN (hash: s, h), P btn:{G} (tokens group G
 * created this period, for bayes.max_stored_tokens), P bl:DIGEST (a learned message's class,
 * expiring like the tokens), P bayes:totals (hash: spam, ham).
 *
 * A standalone Redis gets each read or token update as one script call over all groups;
 * a Cluster gets one per group that has tokens (in parallel). A learn first claims the
 * message's digest (atomic: the same message twice is a no-op, and two learns racing are
 * ordered), then moves the tokens, then the totals.
 */
export class RedisBayes implements BayesPart {
  private readonly cluster: boolean;

  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
    private readonly run: Run,
  ) {
    this.cluster = client instanceof Cluster;
  }

  private get cmd(): BayesScriptCommands {
    // defineCommand (the `scripts` option) adds these methods at run time; ioredis cannot type them.
    return this.client as unknown as BayesScriptCommands;
  }

  private tokenKey(group: number, token: string): string {
    return `${this.prefix}bt:{${group}}${token}`;
  }

  /** Token indexes by group, for one script call per group (Cluster) or one for all (standalone). */
  private grouped(tokens: readonly string[]): Map<number, number[]> {
    const groups = new Map<number, number[]>();
    tokens.forEach((t, i) => {
      const g = tokenGroup(t);
      const list = groups.get(g);
      if (list) list.push(i);
      else groups.set(g, [i]);
    });
    return groups;
  }

  async bayesGetTokens(tokens: readonly string[]): Promise<BayesTokenCounts[]> {
    if (tokens.length === 0) return [];
    return this.run('bayes_get', async () => {
      const out: BayesTokenCounts[] = new Array<BayesTokenCounts>(tokens.length);
      const read = async (indexes: number[]) => {
        const keys = indexes.map((i) => this.tokenKey(tokenGroup(tokens[i]!), tokens[i]!));
        const flat = await this.cmd.bpBayesRead(keys.length, ...keys);
        indexes.forEach((i, j) => (out[i] = { spam: Number(flat[2 * j] ?? 0), ham: Number(flat[2 * j + 1] ?? 0) }));
      };
      if (this.cluster) await Promise.all([...this.grouped(tokens).values()].map(read));
      else await read(tokens.map((_t, i) => i));
      return out;
    });
  }

  async bayesTotals(): Promise<BayesTokenCounts> {
    return this.run('bayes_totals', async () => {
      const [spam, ham] = await this.client.hmget(`${this.prefix}bayes:totals`, 'spam', 'ham');
      return { spam: Number(spam ?? 0), ham: Number(ham ?? 0) };
    });
  }

  async bayesLearn(digest: string, tokens: readonly string[], cls: BayesClass, retention: BayesRetention = DEFAULT_BAYES_RETENTION): Promise<LearnResult> {
    return this.run('bayes_learn', async () => {
      const ttl = retention.expireSeconds;
      const digestKey = `${this.prefix}bl:${digest}`;
      const totalsKey = `${this.prefix}bayes:totals`;
      const perGroup = Math.max(1, Math.ceil(retention.maxTokens / TOKEN_GROUPS));
      const unique = [...new Set(tokens)];
      const groups = [...this.grouped(unique).entries()];
      const layout = (part: Array<[number, number[]]>) => {
        const keys: string[] = [];
        const sizes: number[] = [];
        for (const [g, indexes] of part) {
          keys.push(`${this.prefix}btn:{${g}}`, ...indexes.map((i) => this.tokenKey(g, unique[i]!)));
          sizes.push(indexes.length);
        }
        return { keys, sizes };
      };
      if (!this.cluster) {
        // One script does it all, atomically, in one round trip.
        const { keys, sizes } = layout(groups);
        return checkResult(await this.cmd.bpBayesLearn(keys.length + 2, digestKey, totalsKey, ...keys, cls, ttl, perGroup, ...sizes));
      }
      // A Cluster: claim the digest (atomic: the same message twice is a no-op), then each group, then the totals.
      const before = await this.cmd.bpBayesClaim(digestKey, cls, ttl);
      if (before === 'already_learned') return 'already_learned';
      if (before !== '' && before !== 'spam' && before !== 'ham') throw new Error(`unexpected learned class ${before}`);
      const add = cls === 'spam' ? 's' : 'h';
      const sub = before === '' ? '' : before === 'spam' ? 's' : 'h';
      try {
        await Promise.all(
          groups.map((g) => {
            const { keys, sizes } = layout([g]);
            return this.cmd.bpBayesLearnTokens(keys.length, ...keys, add, sub, ttl, perGroup, ...sizes);
          }),
        );
        await this.cmd.bpBayesTotals(totalsKey, cls, before);
      } catch (err) {
        // Give the claim back, so the learn can be tried again (best effort: Redis may be gone).
        const giveBack = before === '' ? this.client.del(digestKey) : ttl > 0 ? this.client.set(digestKey, before, 'EX', ttl) : this.client.set(digestKey, before);
        await giveBack.catch(() => undefined);
        throw err;
      }
      return before ? 'relearned' : 'learned';
    });
  }
}

function checkResult(result: string): LearnResult {
  if (result !== 'learned' && result !== 'relearned' && result !== 'already_learned') throw new Error(`unexpected learn result ${result}`);
  return result;
}

/**
 * Move Bayes data from the older layout (P {bayes}:spam, :ham, :totals, :learned: four
 * hashes in one slot) into this one, once, in batches: the first store to start after an
 * upgrade claims the move (P {bayes}:moving, for an hour), the others go on serving.
 * Returns the tokens moved, or null when there was nothing to move or another process moves it.
 */
export async function moveLegacyBayes(client: RedisClient, prefix: string, ttl: number): Promise<number | null> {
  const legacy = (part: string) => `${prefix}{bayes}:${part}`;
  if ((await client.exists(legacy('totals'), legacy('spam'), legacy('ham'))) === 0) return null;
  if ((await client.set(legacy('moving'), String(process.pid), 'EX', 3600, 'NX')) !== 'OK') return null;
  const cmd = client as unknown as BayesScriptCommands;
  const cluster = client instanceof Cluster;
  let moved = 0;
  for (const [part, field] of [['spam', 's'], ['ham', 'h']] as const) {
    let cursor = '0';
    do {
      const [next, flat] = await client.hscan(legacy(part), cursor, 'COUNT', 1000);
      cursor = next;
      const byGroup = new Map<number, Array<[string, string]>>();
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const g = tokenGroup(flat[i]!);
        const list = byGroup.get(g) ?? [];
        list.push([`${prefix}bt:{${g}}${flat[i]!}`, flat[i + 1]!]);
        byGroup.set(g, list);
      }
      const send = (pairs: Array<[string, string]>) => cmd.bpBayesAddCounts(pairs.length, ...pairs.map((p) => p[0]), field, ttl, ...pairs.map((p) => p[1]));
      if (cluster) await Promise.all([...byGroup.values()].map(send));
      else if (byGroup.size > 0) await send([...byGroup.values()].flat());
      moved += flat.length / 2;
    } while (cursor !== '0');
  }
  let cursor = '0';
  do {
    const [next, flat] = await client.hscan(legacy('learned'), cursor, 'COUNT', 1000);
    cursor = next;
    const sets: Array<Promise<unknown>> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const key = `${prefix}bl:${flat[i]!}`;
      sets.push(ttl > 0 ? client.set(key, flat[i + 1]!, 'EX', ttl) : client.set(key, flat[i + 1]!));
    }
    await Promise.all(sets);
  } while (cursor !== '0');
  const totals = await client.hgetall(legacy('totals'));
  for (const cls of ['spam', 'ham'] as const) if (Number(totals[cls] ?? 0) > 0) await client.hincrby(`${prefix}bayes:totals`, cls, Number(totals[cls]));
  await client.del(legacy('spam'), legacy('ham'), legacy('totals'), legacy('learned'), legacy('moving'));
  return moved;
}

/** A token's group: a small hash of it, so the groups fill evenly whatever the tokens look like. */
export function tokenGroup(token: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return (h >>> 0) % TOKEN_GROUPS;
}
