import type { RateLimiterAbstract } from 'rate-limiter-flexible';
/**
 * The one interface behind which shared state lives, made of one part per feature
 * (greylist, counters, Bayes, history). Two implementations: sqlite/ (the embedded default,
 * one database file in the data dir) and redis/ (standalone, Sentinel, Cluster), each with
 * one file per part. Every check-and-set is atomic in both. Only main.ts (and the CLI's
 * engine) choose the implementation, through open.ts.
 *
 * Adding a feature's state: declare its part interface here and add it to Store, then one
 * file in sqlite/ (its tables and statements) and one in redis/ (its keys and scripts).
 *
 * Keys passed in are logical (no prefix); implementations add their configured prefix.
 */

export interface GreylistOptions {
  /** Seconds a new triplet must wait before a retry is accepted. */
  delay: number;
  /** Seconds after first sight within which the retry must come. */
  retryWindow: number;
  /** Seconds a passed triplet stays known (then it passes at once). */
  passTtl: number;
  /**
   * Auto-allow: once this many triplets of the same group (the client network) have
   * passed, every further triplet of the group passes at once. 0 turns it off.
   */
  autoAllowAfter: number;
  /** Seconds an auto-allowed group stays allowed without activity. */
  autoAllowTtl: number;
  /**
   * A retry after the delay answers `due` and records nothing: the caller confirms the pass
   * with greylistConfirm once the message was accepted, so a retry refused for its content
   * neither passes nor counts toward auto-allow.
   */
  confirmLater?: boolean;
}

export type GreylistState =
  /** First sight: defer. */
  | 'new'
  /** Seen, but the delay has not passed yet: defer. */
  | 'early'
  /** Retried after the delay, within the window: accept (first pass). */
  | 'passed'
  /** Retried after the delay, with confirmLater: accept, and confirm the pass if the message is accepted. */
  | 'due'
  /** Passed before and still remembered: accept. */
  | 'known'
  /** The group (client network) is auto-allowed: accept without looking at the triplet. */
  | 'allowed';

export interface GreylistResult {
  state: GreylistState;
  /** Seconds until a retry would be accepted (0 when accepted). */
  retryAfter: number;
}

export interface GreylistEntry {
  /** `group|id`, as greylistRelease takes it. */
  key: string;
  /** Milliseconds since the epoch. */
  firstSeen: number;
  passed: boolean;
  ttl: number;
}

export type BayesClass = 'spam' | 'ham';

export interface BayesTokenCounts {
  spam: number;
  ham: number;
}

export type LearnResult = 'learned' | 'relearned' | 'already_learned';

/** How long learned Bayes data is kept and how much of it (policy: bayes.expire_days, bayes.max_stored_tokens). */
export interface BayesRetention {
  /** Seconds a token (or a learned message's digest) is kept after it was last learned; 0 keeps it forever. */
  expireSeconds: number;
  /** Most tokens kept; past it the rarest go first (Redis: new tokens are not added). */
  maxTokens: number;
}

export const DEFAULT_BAYES_RETENTION: BayesRetention = { expireSeconds: 180 * 86_400, maxTokens: 2_000_000 };

/** One rate limiter: `points` events per key in `duration` seconds, named for its keys. */
export interface RateLimiterSpec {
  name: string;
  points: number;
  duration: number;
  /** Called on each count made on this machine alone because the shared store is away. */
  onInsurance: () => void;
}

export interface GreylistPart {
  /**
   * Atomic greylist check-and-set of one entry, in one round trip. `group` is what entries
   * share (the client network for a triplet, so auto-allow can count per network; on Redis
   * Cluster it is the hash tag), `id` the rest (sender|recipient). Neither may contain `}`;
   * `group` may not contain `|`. A pass is durable before this resolves.
   */
  greylistCheck(group: string, id: string, options: GreylistOptions): Promise<GreylistResult>;
  /**
   * Record the pass of an entry that answered `due` (its message was accepted), counting it
   * toward the group's auto-allow; atomic, so two accepted retries count once. Returns true
   * when this call passed it (false: already passed, expired or unknown). Durable before it resolves.
   */
  greylistConfirm(group: string, id: string, options: GreylistOptions): Promise<boolean>;
  /** Entries whose `group|id` key contains `match` (all when empty), for the admin view; at most `limit`. */
  greylistList(match: string, limit: number): Promise<GreylistEntry[]>;
  /** Mark an entry (`group|id`) passed at once (admin release). Returns false when it did not exist. */
  greylistRelease(key: string, passTtl: number): Promise<boolean>;
}

export interface CounterPart {
  /** Increment a counter, (re)setting its time to live, and return the new value. */
  counterIncrement(key: string, ttlSeconds: number): Promise<number>;
  counterGet(key: string): Promise<number>;
}

export interface BayesPart {
  /** Counts for each token, in order; unknown tokens count {0,0}. */
  bayesGetTokens(tokens: readonly string[]): Promise<BayesTokenCounts[]>;
  /** Number of learned messages of each class. */
  bayesTotals(): Promise<BayesTokenCounts>;
  /**
   * Learn a message's unique tokens as `cls`, atomically with its digest: the same
   * message twice is a no-op, the same message as the other class moves its counts.
   * Durable before it resolves (a client is told it was learned).
   */
  bayesLearn(digest: string, tokens: readonly string[], cls: BayesClass, retention?: BayesRetention): Promise<LearnResult>;
}

export interface HistoryPart {
  /** Append one JSON verdict to the history ring, keeping at most `max`. */
  historyPush(entry: string, max: number): Promise<void>;
  /** The newest `limit` entries, newest first. */
  historyRead(limit: number): Promise<string[]>;
}

/** A learned fuzzy signature: what it was learned as. */
export interface FuzzyEntry {
  digest: string;
  /** 1 spam (FUZZY_DENIED), 2 probable spam (FUZZY_PROB), 3 ham (FUZZY_WHITE), as rspamd numbers them. */
  flag: number;
  weight: number;
}

export interface FuzzyMatch extends FuzzyEntry {
  /** Min-hashes of the stored signature equal to the message's (of SHINGLES). */
  matched: number;
}

export interface FuzzyPart {
  /** Store a signature (its SHINGLES min-hashes) under its digest; the same digest again replaces flag and weight. */
  fuzzyAdd(digest: string, shingles: readonly number[], flag: number, weight: number): Promise<void>;
  /** Forget a signature (its digest and min-hashes, as computed from the message); false when none was stored. */
  fuzzyDelete(digest: string, shingles: readonly number[]): Promise<boolean>;
  /** The stored signature agreeing with `shingles` on the most min-hashes (at least `minMatched`), or null. */
  fuzzyFind(shingles: readonly number[], minMatched: number): Promise<FuzzyMatch | null>;
  /**
   * False only when no signature is stored, so the check need not compute a message's
   * signature at all. Answered from memory, no round trip: the embedded store keeps the
   * count; Redis (written by several MXes) is asked again at most every few seconds, and
   * until it has answered the answer is true. `upkeep: false` (a read-only view) asks without
   * the upkeep that writes: over Redis, indexing signatures an older version stored.
   */
  fuzzyAny(options?: { upkeep?: boolean }): boolean;
}

/** The neural layer's model as stored: an opaque serialised form and its version (each save adds one). */
export interface NeuralRecord {
  version: number;
  model: string;
}

export interface NeuralPart {
  /** The stored model, or null before the first save. */
  neuralLoad(): Promise<NeuralRecord | null>;
  /**
   * Compare-and-set: store `model` as version `expected + 1` only when the stored version is
   * still `expected` (0: nothing stored yet). False when another writer saved first; the
   * caller reloads and retries, so concurrent training never loses or mixes an update.
   */
  neuralSave(expected: number, model: string): Promise<boolean>;
}

export interface ReplyPart {
  /** Remember Message-IDs our own users sent (already reduced to keys by the caller) for `ttlSeconds`. */
  replyRemember(ids: readonly string[], ttlSeconds: number): Promise<void>;
  /** Which of `ids` are remembered (in order). */
  replyKnown(ids: readonly string[]): Promise<boolean[]>;
}

export interface Store extends GreylistPart, CounterPart, BayesPart, HistoryPart, FuzzyPart, NeuralPart, ReplyPart {
  readonly kind: 'sqlite' | 'redis';

  /** A rate limiter that counts where this store keeps its state (see rate-limiter.ts). */
  rateLimiter(spec: RateLimiterSpec): RateLimiterAbstract;

  /** Requests sent to a remote store so far (0 for the embedded one): for benchmarks and metrics. */
  roundTrips(): number;

  /** Resolves when the store can serve (Redis: connected and ready). */
  ready(): Promise<void>;
  /** Close the database (embedded) or disconnect (Redis). */
  close(): Promise<void>;
}
