import { Cluster, type Redis } from 'ioredis';
import type {
  BayesClass,
  BayesRetention,
  BayesTokenCounts,
  GreylistEntry,
  GreylistOptions,
  GreylistResult,
  GreylistState,
  FuzzyMatch,
  NeuralRecord,
  LearnResult,
  RateLimiterSpec,
  Store,
} from '../types.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { parseRedisUrl, redact, type RedisTarget } from '../../net/redis-url.js';
import { countRequests, createRedisClient, type RedisClient } from './client.js';
import type { ScriptCommands } from './scripts.js';
import { assertGreylistGroup, splitGreylistKey } from '../greylist-key.js';
import { RedisBayes, moveLegacyBayes } from './bayes.js';
import { DEFAULT_BAYES_RETENTION } from '../types.js';
import { waitAtMost } from '../../net/deadline.js';
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import { redisRateLimiter } from '../rate-limiter.js';
import { RedisFuzzy } from './fuzzy.js';
import { RedisNeural } from './neural.js';
import { RedisReplies } from './replies.js';

export interface RedisStoreOptions {
  url: string;
  /** Put before every key, so several deployments can share one Redis (store.prefix). */
  prefix: string;
  /** Milliseconds per command (store.command_timeout). */
  commandTimeout: number;
  log: Logger;
  metrics: Metrics | null;
  /** Milliseconds a count of stored fuzzy signatures is trusted (default FUZZY_COUNT_REFRESH_MS). */
  fuzzyRefreshMs?: number;
}

/** A failed Redis operation; the check that called it fails and its on_error decides. */
export class StoreError extends Error {
  constructor(operation: string, cause: Error) {
    super(`redis ${operation}: ${cause.message}`);
    this.name = 'StoreError';
  }
}

const GREYLIST_STATES: ReadonlySet<string> = new Set<GreylistState>(['new', 'early', 'passed', 'due', 'known', 'allowed']);
/** The admin listing stops after looking at this many keys per node, to stay bounded. */
const MAX_SCAN = 200_000;

/**
 * The shared store for several MX machines: standalone Redis, Sentinel or Cluster. Every
 * method is one round trip (a Lua script or a single command); see scripts.ts.
 *
 * Key layout (P = prefix): greylist entries P gl:{GROUP}|ID (hashes), auto-allow counters
 * P gla:{GROUP}, counters P c:KEY, Bayes (see bayes.ts) P bt:{G}TOKEN, P bl:DIGEST and
 * P bayes:totals, fuzzy signatures (see fuzzy.ts) P fz:{fz}…, the neural model P nn:model,
 * remembered reply ids P rp:ID, history P history, rate
 * limits P rl:RULE:KEY. The {…} part is the Cluster hash tag: the keys one script touches
 * always share it.
 */
export class RedisStore implements Store {
  readonly kind = 'redis' as const;
  readonly client: RedisClient;
  readonly target: RedisTarget;
  private readonly prefix: string;
  private requests = 0;
  private readonly bayes: RedisBayes;
  private readonly fuzzy: RedisFuzzy;
  private readonly neural: RedisNeural;
  private readonly replies: RedisReplies;
  /** The move of Bayes data from the older layout, started once Redis is first ready. */
  legacyMoved: Promise<number | null> | undefined;
  private lastErrorLog = 0;
  private lastError = '';
  private closing = false;

  constructor(private readonly options: RedisStoreOptions) {
    if (/[{}]/.test(options.prefix)) throw new Error(`store.prefix "${options.prefix}" may not contain { or } (they mark Redis Cluster hash tags)`);
    this.prefix = options.prefix;
    this.target = parseRedisUrl(options.url);
    this.client = createRedisClient(this.target, { commandTimeout: options.commandTimeout });
    countRequests(this.client, () => this.requests++);
    this.bayes = new RedisBayes(this.client, this.prefix, (operation, fn) => this.run(operation, fn));
    this.fuzzy = new RedisFuzzy(this.client, this.prefix, (operation, fn) => this.run(operation, fn), options.fuzzyRefreshMs);
    this.neural = new RedisNeural(this.client, this.prefix, (operation, fn) => this.run(operation, fn));
    this.replies = new RedisReplies(this.client, this.prefix, (operation, fn) => this.run(operation, fn));
    const where = redact(options.url);
    this.client.on('error', (err: Error) => {
      this.lastError = err.message;
      // Reconnect attempts fail every few hundred ms while Redis is down: log one line per 10 s.
      const now = Date.now();
      if (now - this.lastErrorLog < 10_000 || this.closing) return;
      this.lastErrorLog = now;
      options.log.warn({ event: 'redis_error', redis: where, err: err.message }, 'Redis connection problem');
    });
    this.client.on('ready', () => {
      this.lastErrorLog = 0;
      options.log.info({ event: 'redis_ready', redis: where, mode: this.target.mode }, 'Redis ready');
      this.legacyMoved ??= moveLegacyBayes(this.client, this.prefix, DEFAULT_BAYES_RETENTION.expireSeconds).then(
        (moved) => {
          if (moved !== null) options.log.info({ event: 'bayes_moved', tokens: moved }, 'moved Bayes tokens from the older one-slot layout to one key per token');
          return moved;
        },
        (err: Error) => {
          options.log.error({ event: 'bayes_move_error', err: err.message }, 'could not finish moving Bayes tokens from the older layout');
          return null;
        },
      );
    });
  }

  private get cmd(): ScriptCommands {
    // defineCommand (the `scripts` option) adds these methods at run time; ioredis cannot type them.
    return this.client as unknown as ScriptCommands;
  }

  private key = {
    entry: (group: string, id: string) => `${this.prefix}gl:{${group}}|${id}`,
    allow: (group: string) => `${this.prefix}gla:{${group}}`,
    counter: (key: string) => `${this.prefix}c:${key}`,
    history: () => `${this.prefix}history`,
  };

  private async run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      this.options.metrics?.storeErrors.inc({ operation });
      throw new StoreError(operation, err as Error);
    }
  }

  async greylistCheck(group: string, id: string, o: GreylistOptions): Promise<GreylistResult> {
    assertGreylistGroup(group);
    return this.run('greylist_check', async () => {
      const [state, retryAfter] = await this.cmd.bpGreylistCheck(this.key.entry(group, id), this.key.allow(group), o.delay, o.retryWindow, o.passTtl, o.autoAllowAfter, o.autoAllowTtl, o.confirmLater ? 1 : 0);
      if (!GREYLIST_STATES.has(state)) throw new Error(`unexpected greylist state ${String(state)}`);
      return { state: state as GreylistState, retryAfter: Number(retryAfter) };
    });
  }

  async greylistConfirm(group: string, id: string, o: GreylistOptions): Promise<boolean> {
    assertGreylistGroup(group);
    return this.run('greylist_confirm', async () => (await this.cmd.bpGreylistConfirm(this.key.entry(group, id), this.key.allow(group), o.passTtl, o.autoAllowAfter, o.autoAllowTtl)) === 1);
  }

  async greylistList(match: string, limit: number): Promise<GreylistEntry[]> {
    return this.run('greylist_list', async () => {
      const head = `${this.prefix}gl:{`;
      const pattern = escapeGlob(head) + '*';
      const out: GreylistEntry[] = [];
      for (const node of this.nodes()) {
        let cursor = '0';
        let scanned = 0;
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
          cursor = next;
          scanned += keys.length;
          const wanted = keys.map((k) => ({ redisKey: k, key: logicalKey(k.slice(head.length)) })).filter((k) => !match || k.key.includes(match));
          if (wanted.length > 0) out.push(...(await this.describe(node, wanted.slice(0, limit - out.length))));
        } while (cursor !== '0' && out.length < limit && scanned < MAX_SCAN);
        if (out.length >= limit) break;
      }
      return out.slice(0, limit);
    });
  }

  private async describe(node: Redis, keys: Array<{ redisKey: string; key: string }>): Promise<GreylistEntry[]> {
    const pipe = node.pipeline();
    for (const k of keys) pipe.hmget(k.redisKey, 'f', 'p').pttl(k.redisKey);
    const replies = (await pipe.exec()) ?? [];
    const out: GreylistEntry[] = [];
    keys.forEach((k, i) => {
      const [fields, ttl] = [replies[2 * i]?.[1] as Array<string | null> | undefined, replies[2 * i + 1]?.[1] as number | undefined];
      if (!fields?.[0] || typeof ttl !== 'number' || ttl < 0) return;
      out.push({ key: k.key, firstSeen: Number(fields[0]), passed: fields[1] === '1', ttl: Math.ceil(ttl / 1000) });
    });
    return out;
  }

  private nodes(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes('master') : [this.client];
  }

  async greylistRelease(key: string, passTtl: number): Promise<boolean> {
    const parts = splitGreylistKey(key);
    if (!parts) return false;
    return this.run('greylist_release', async () => (await this.cmd.bpGreylistRelease(this.key.entry(parts.group, parts.id), passTtl)) === 1);
  }

  async counterIncrement(key: string, ttlSeconds: number): Promise<number> {
    return this.run('counter_increment', async () => Number(await this.cmd.bpCounterIncrement(this.key.counter(key), ttlSeconds)));
  }

  async counterGet(key: string): Promise<number> {
    return this.run('counter_get', async () => Number((await this.client.get(this.key.counter(key))) ?? 0));
  }

  bayesGetTokens(tokens: readonly string[]): Promise<BayesTokenCounts[]> {
    return this.bayes.bayesGetTokens(tokens);
  }

  bayesTotals(): Promise<BayesTokenCounts> {
    return this.bayes.bayesTotals();
  }

  bayesLearn(digest: string, tokens: readonly string[], cls: BayesClass, retention?: BayesRetention): Promise<LearnResult> {
    return this.bayes.bayesLearn(digest, tokens, cls, retention);
  }

  fuzzyAdd(digest: string, shingles: readonly number[], flag: number, weight: number): Promise<void> {
    return this.fuzzy.fuzzyAdd(digest, shingles, flag, weight);
  }

  fuzzyDelete(digest: string, shingles: readonly number[]): Promise<boolean> {
    return this.fuzzy.fuzzyDelete(digest, shingles);
  }

  fuzzyFind(shingles: readonly number[], minMatched: number): Promise<FuzzyMatch | null> {
    return this.fuzzy.fuzzyFind(shingles, minMatched);
  }

  async historyPush(entry: string, max: number): Promise<void> {
    await this.run('history_push', () => this.cmd.bpHistoryPush(this.key.history(), entry, max));
  }

  fuzzyAny = (options?: { upkeep?: boolean }): boolean => this.fuzzy.fuzzyAny(options);
  neuralLoad = (): Promise<NeuralRecord | null> => this.neural.neuralLoad();
  neuralSave = (expected: number, model: string): Promise<boolean> => this.neural.neuralSave(expected, model);
  replyRemember = (ids: readonly string[], ttlSeconds: number): Promise<void> => this.replies.replyRemember(ids, ttlSeconds);
  replyKnown = (ids: readonly string[]): Promise<boolean[]> => this.replies.replyKnown(ids);

  async historyRead(limit: number): Promise<string[]> {
    if (limit <= 0) return [];
    return this.run('history_read', () => this.client.lrange(this.key.history(), 0, limit - 1));
  }

  rateLimiter(spec: RateLimiterSpec): RateLimiterAbstract {
    return redisRateLimiter(this.client, `${this.prefix}rl:`, spec);
  }

  roundTrips(): number {
    return this.requests;
  }

  /** Resolves once Redis is connected and ready; rejects after `timeoutMs` (reconnecting goes on). */
  ready(timeoutMs = 5000): Promise<void> {
    if (this.client.status === 'ready') return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        clearTimeout(timer);
        this.client.off('ready', onReady);
        this.client.off('end', onEnd);
        if (err) reject(err);
        else resolve();
      };
      const onReady = () => done();
      const onEnd = () => done(new Error(`Redis ${redact(this.options.url)} connection ended`));
      const timer = setTimeout(
        () => done(new Error(`Redis ${redact(this.options.url)} not ready after ${timeoutMs} ms${this.lastError ? `: ${this.lastError}` : ''}`)),
        timeoutMs,
      );
      this.client.once('ready', onReady);
      this.client.once('end', onEnd);
    });
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      if (this.client.status === 'ready') await waitAtMost(this.client.quit(), 1000);
    } catch {
      // Closing anyway.
    } finally {
      this.client.disconnect();
    }
  }
}

/** Entry key after "P gl:{" is "GROUP}|ID"; the admin sees and releases "GROUP|ID". */
function logicalKey(tail: string): string {
  const close = tail.indexOf('}');
  return close < 0 ? tail : tail.slice(0, close) + tail.slice(close + 1);
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
