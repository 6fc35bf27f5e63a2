import type {
  BayesClass,
  BayesTokenCounts,
  GreylistEntry,
  GreylistOptions,
  GreylistResult,
  LearnResult,
  RateLimiterBackend,
  Store,
} from '../types.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { readSnapshot, writeSnapshot, type SnapshotRecord } from './snapshot.js';
import { assertGreylistGroup, joinGreylistKey, splitGreylistKey } from '../greylist-key.js';

interface GreylistRecord {
  firstSeen: number;
  passed: boolean;
  expires: number;
}

interface Counter {
  value: number;
  expires: number;
}

/** Most entries each table may hold; past it the oldest (or rarest, for tokens) go first. */
export interface MemoryLimits {
  greylist: number;
  counters: number;
  tokens: number;
  learned: number;
  history: number;
}

export const DEFAULT_MEMORY_LIMITS: MemoryLimits = {
  greylist: 1_000_000,
  counters: 1_000_000,
  tokens: 2_000_000,
  learned: 1_000_000,
  history: 100_000,
};

export interface MemoryStoreOptions {
  now?: () => number;
  /** Where the snapshot lives; without it the store is memory only (tests, `scan`). */
  dataDir?: string;
  /** Milliseconds between snapshots (taken only when something changed) and expiry sweeps. */
  snapshotInterval?: number;
  limits?: Partial<MemoryLimits>;
  log?: Logger;
  metrics?: Metrics | null;
}

/** Auto-allow counters share the counter table under their own namespace. */
const allowKey = (group: string) => `gla:${group}`;
const counterKey = (key: string) => `c:${key}`;

/**
 * The embedded store: everything in this process's memory, persisted to the data dir so
 * greylisting and Bayes survive a restart. Single-threaded JavaScript makes each method
 * atomic as long as it does not await in the middle, which none do.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  private readonly greylist = new Map<string, GreylistRecord>();
  private readonly counters = new Map<string, Counter>();
  private readonly tokens = new Map<string, [number, number]>();
  private readonly learned = new Map<string, BayesClass>();
  private totals: [number, number] = [0, 0];
  private history: string[] = [];
  private readonly now: () => number;
  private readonly limits: MemoryLimits;
  private readonly dataDir: string | undefined;
  private readonly interval: number;
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  /** The snapshot being written, so close() waits for it and two never overlap. */
  private saving: Promise<void> = Promise.resolve();
  private loaded: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
    this.limits = { ...DEFAULT_MEMORY_LIMITS, ...options.limits };
    this.dataDir = options.dataDir;
    this.interval = options.snapshotInterval ?? 60_000;
  }

  async greylistCheck(group: string, id: string, o: GreylistOptions): Promise<GreylistResult> {
    assertGreylistGroup(group);
    const now = this.now();
    this.dirty = true;
    if (o.autoAllowAfter > 0) {
      const allowed = this.liveCounter(allowKey(group), now);
      if (allowed && allowed.value >= o.autoAllowAfter) {
        allowed.expires = now + o.autoAllowTtl * 1000;
        return { state: 'allowed', retryAfter: 0 };
      }
    }
    const key = joinGreylistKey(group, id);
    const rec = this.greylist.get(key);
    if (!rec || rec.expires <= now) {
      this.insertGreylist(key, { firstSeen: now, passed: false, expires: now + o.retryWindow * 1000 });
      return { state: 'new', retryAfter: o.delay };
    }
    if (rec.passed) {
      rec.expires = now + o.passTtl * 1000;
      // Re-inserting keeps the Map in least-recently-used order for eviction.
      this.greylist.delete(key);
      this.greylist.set(key, rec);
      return { state: 'known', retryAfter: 0 };
    }
    const waited = now - rec.firstSeen;
    if (waited < o.delay * 1000) return { state: 'early', retryAfter: Math.ceil((o.delay * 1000 - waited) / 1000) };
    rec.passed = true;
    rec.expires = now + o.passTtl * 1000;
    if (o.autoAllowAfter > 0) this.increment(allowKey(group), o.autoAllowTtl, now);
    return { state: 'passed', retryAfter: 0 };
  }

  async greylistList(match: string, limit: number): Promise<GreylistEntry[]> {
    const now = this.now();
    const out: GreylistEntry[] = [];
    for (const [key, rec] of this.greylist) {
      if (out.length >= limit) break;
      if (rec.expires <= now || (match && !key.includes(match))) continue;
      out.push({ key, firstSeen: rec.firstSeen, passed: rec.passed, ttl: Math.ceil((rec.expires - now) / 1000) });
    }
    return out;
  }

  async greylistRelease(key: string, passTtl: number): Promise<boolean> {
    const now = this.now();
    const rec = splitGreylistKey(key) ? this.greylist.get(key) : undefined;
    if (!rec || rec.expires <= now) return false;
    rec.passed = true;
    rec.expires = now + passTtl * 1000;
    this.dirty = true;
    return true;
  }

  async counterIncrement(key: string, ttlSeconds: number): Promise<number> {
    this.dirty = true;
    return this.increment(counterKey(key), ttlSeconds, this.now());
  }

  async counterGet(key: string): Promise<number> {
    return this.liveCounter(counterKey(key), this.now())?.value ?? 0;
  }

  async bayesGetTokens(tokens: readonly string[]): Promise<BayesTokenCounts[]> {
    return tokens.map((t) => {
      const c = this.tokens.get(t);
      return { spam: c?.[0] ?? 0, ham: c?.[1] ?? 0 };
    });
  }

  async bayesTotals(): Promise<BayesTokenCounts> {
    return { spam: this.totals[0], ham: this.totals[1] };
  }

  async bayesLearn(digest: string, tokens: readonly string[], cls: BayesClass): Promise<LearnResult> {
    const before = this.learned.get(digest);
    if (before === cls) return 'already_learned';
    this.dirty = true;
    const add = cls === 'spam' ? 0 : 1;
    for (const t of new Set(tokens)) {
      const c = this.tokens.get(t) ?? [0, 0];
      c[add] += 1;
      if (before) c[1 - add] = Math.max(0, c[1 - add] - 1);
      if (c[0] === 0 && c[1] === 0) this.tokens.delete(t);
      else this.tokens.set(t, c);
    }
    this.totals[add] += 1;
    if (before) this.totals[1 - add] = Math.max(0, this.totals[1 - add] - 1);
    this.learned.delete(digest);
    this.learned.set(digest, cls);
    evictOldest(this.learned, this.limits.learned);
    if (this.tokens.size > this.limits.tokens) this.pruneRareTokens();
    return before ? 'relearned' : 'learned';
  }

  async historyPush(entry: string, max: number): Promise<void> {
    this.dirty = true;
    this.history.push(entry);
    const keep = Math.min(max, this.limits.history);
    if (this.history.length > keep) this.history.splice(0, this.history.length - keep);
  }

  async historyRead(limit: number): Promise<string[]> {
    return this.history.slice(-limit).reverse();
  }

  rateLimiterBackend(): RateLimiterBackend {
    return { kind: 'memory' };
  }

  roundTrips(): number {
    return 0;
  }

  /** Load the last snapshot (once) and start the snapshot timer. */
  ready(): Promise<void> {
    this.loaded ??= this.load();
    return this.loaded;
  }

  /** Stop the timer and write a final snapshot. */
  async close(): Promise<void> {
    if (this.closed) return this.saving;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.snapshot();
  }

  /** Write the state to the data dir now (temp file + rename, so a crash never leaves half a file). */
  snapshot(): Promise<void> {
    this.saving = this.saving.then(async () => {
      if (!this.dataDir || !this.dirty) return;
      this.dirty = false;
      const started = performance.now();
      try {
        const count = await writeSnapshot(this.dataDir, this.records());
        this.options.log?.debug({ event: 'store_snapshot', records: count, ms: Math.round(performance.now() - started) }, 'store snapshot written');
      } catch (err) {
        this.dirty = true;
        this.options.metrics?.storeErrors.inc({ operation: 'snapshot' });
        this.options.log?.error({ event: 'store_snapshot_error', dir: this.dataDir, err: (err as Error).message }, 'could not write the store snapshot');
      }
    });
    return this.saving;
  }

  /** Drop expired greylist entries and counters (runs with every snapshot tick). */
  sweep(): void {
    const now = this.now();
    for (const [k, r] of this.greylist) if (r.expires <= now) this.greylist.delete(k);
    for (const [k, c] of this.counters) if (c.expires <= now) this.counters.delete(k);
  }

  private async load(): Promise<void> {
    if (this.dataDir) {
      const { records, skipped } = await readSnapshot(this.dataDir);
      const now = this.now();
      for (const r of records) this.restore(r, now);
      if (skipped > 0) this.options.log?.warn({ event: 'store_snapshot_damaged', dir: this.dataDir, skipped }, 'store snapshot had unreadable lines; they were skipped');
      this.options.log?.info({ event: 'store_loaded', dir: this.dataDir, greylist: this.greylist.size, tokens: this.tokens.size, history: this.history.length }, 'embedded store loaded');
    }
    if (this.closed) return;
    this.timer = setInterval(() => {
      this.sweep();
      void this.snapshot();
    }, this.interval);
    this.timer.unref();
  }

  private *records(): Generator<SnapshotRecord> {
    for (const [k, r] of this.greylist) yield ['g', k, r.firstSeen, r.passed ? 1 : 0, r.expires];
    for (const [k, c] of this.counters) yield ['c', k, c.value, c.expires];
    for (const [t, c] of this.tokens) yield ['t', t, c[0], c[1]];
    for (const [d, cls] of this.learned) yield ['l', d, cls];
    yield ['T', this.totals[0], this.totals[1]];
    for (const h of this.history) yield ['h', h];
  }

  private restore(r: SnapshotRecord, now: number): void {
    switch (r[0]) {
      case 'g':
        if (r[4] > now) this.greylist.set(r[1], { firstSeen: r[2], passed: r[3] === 1, expires: r[4] });
        return;
      case 'c':
        if (r[3] > now) this.counters.set(r[1], { value: r[2], expires: r[3] });
        return;
      case 't':
        this.tokens.set(r[1], [r[2], r[3]]);
        return;
      case 'l':
        this.learned.set(r[1], r[2]);
        return;
      case 'T':
        this.totals = [r[1], r[2]];
        return;
      case 'h':
        this.history.push(r[1]);
        return;
    }
  }

  private liveCounter(key: string, now: number): Counter | undefined {
    const c = this.counters.get(key);
    return c && c.expires > now ? c : undefined;
  }

  private increment(key: string, ttlSeconds: number, now: number): number {
    const cur = this.liveCounter(key, now);
    const value = (cur?.value ?? 0) + 1;
    this.counters.delete(key);
    this.counters.set(key, { value, expires: now + ttlSeconds * 1000 });
    if (this.counters.size > this.limits.counters) {
      this.sweep();
      evictOldest(this.counters, this.limits.counters);
    }
    return value;
  }

  private insertGreylist(key: string, rec: GreylistRecord): void {
    this.greylist.delete(key);
    this.greylist.set(key, rec);
    if (this.greylist.size > this.limits.greylist) {
      this.sweep();
      evictOldest(this.greylist, this.limits.greylist);
    }
  }

  /** Over the cap, drop the tokens seen least (they carry the least evidence) until 90% full. */
  private pruneRareTokens(): void {
    const target = Math.floor(this.limits.tokens * 0.9);
    for (let seen = 1; this.tokens.size > target; seen++) {
      for (const [t, c] of this.tokens) {
        if (this.tokens.size <= target) break;
        if (c[0] + c[1] <= seen) this.tokens.delete(t);
      }
    }
  }
}

/** Maps iterate in insertion order, so the first keys are the oldest (or least recently used). */
function evictOldest<K, V>(map: Map<K, V>, max: number): void {
  if (map.size <= max) return;
  // Evict a little more than needed so a full table does not evict on every insert.
  const target = Math.max(0, max - Math.ceil(max / 100));
  for (const k of map.keys()) {
    if (map.size <= target) break;
    map.delete(k);
  }
}
