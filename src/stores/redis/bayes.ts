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
      const before = await this.cmd.bpBayesClaim(digestKey, cls, ttl);
      if (before === 'already_learned') return 'already_learned';
      if (before !== '' && before !== 'spam' && before !== 'ham') throw new Error(`unexpected learned class ${before}`);
      const unique = [...new Set(tokens)];
      const add = cls === 'spam' ? 's' : 'h';
      const sub = before === '' ? '' : before === 'spam' ? 's' : 'h';
      const perGroup = Math.max(1, Math.ceil(retention.maxTokens / TOKEN_GROUPS));
      const update = async (groups: Array<[number, number[]]>) => {
        const keys: string[] = [];
        const sizes: number[] = [];
        for (const [g, indexes] of groups) {
          keys.push(`${this.prefix}btn:{${g}}`, ...indexes.map((i) => this.tokenKey(g, unique[i]!)));
          sizes.push(indexes.length);
        }
        await this.cmd.bpBayesLearnTokens(keys.length, ...keys, add, sub, ttl, perGroup, ...sizes);
      };
      try {
        const groups = [...this.grouped(unique).entries()];
        if (this.cluster) await Promise.all(groups.map((g) => update([g])));
        else if (groups.length > 0) await update(groups);
        await this.cmd.bpBayesTotals(`${this.prefix}bayes:totals`, cls, before);
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

/** A token's group: a small hash of it, so the groups fill evenly whatever the tokens look like. */
export function tokenGroup(token: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return (h >>> 0) % TOKEN_GROUPS;
}
