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

interface GreylistRecord {
  firstSeen: number;
  passed: boolean;
  expires: number;
}

/**
 * The embedded store: everything in this process's memory. Single-threaded JavaScript
 * makes each method atomic as long as it does not await in the middle, which none do.
 */
export class MemoryStore implements Store {
  readonly kind = 'memory' as const;
  protected greylist = new Map<string, GreylistRecord>();
  protected counters = new Map<string, { value: number; expires: number }>();
  protected tokens = new Map<string, [number, number]>();
  protected learned = new Map<string, BayesClass>();
  protected totals: [number, number] = [0, 0];
  protected history: string[] = [];
  protected now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.now = options.now ?? Date.now;
  }

  async greylistCheck(key: string, o: GreylistOptions): Promise<GreylistResult> {
    const now = this.now();
    const rec = this.greylist.get(key);
    if (!rec || rec.expires <= now) {
      this.greylist.set(key, { firstSeen: now, passed: false, expires: now + o.retryWindow * 1000 });
      return { state: 'new', retryAfter: o.delay };
    }
    if (rec.passed) {
      rec.expires = now + o.passTtl * 1000;
      return { state: 'known', retryAfter: 0 };
    }
    const waited = (now - rec.firstSeen) / 1000;
    if (waited < o.delay) return { state: 'early', retryAfter: Math.ceil(o.delay - waited) };
    rec.passed = true;
    rec.expires = now + o.passTtl * 1000;
    return { state: 'passed', retryAfter: 0 };
  }

  async greylistList(match: string, limit: number): Promise<GreylistEntry[]> {
    const now = this.now();
    const out: GreylistEntry[] = [];
    for (const [key, rec] of this.greylist) {
      if (rec.expires <= now || (match && !key.includes(match))) continue;
      out.push({ key, firstSeen: rec.firstSeen, passed: rec.passed, ttl: Math.ceil((rec.expires - now) / 1000) });
      if (out.length >= limit) break;
    }
    return out;
  }

  async greylistRelease(key: string, passTtl: number): Promise<boolean> {
    const rec = this.greylist.get(key);
    if (!rec || rec.expires <= this.now()) return false;
    rec.passed = true;
    rec.expires = this.now() + passTtl * 1000;
    return true;
  }

  async counterIncrement(key: string, ttlSeconds: number): Promise<number> {
    const now = this.now();
    const cur = this.counters.get(key);
    const value = cur && cur.expires > now ? cur.value + 1 : 1;
    this.counters.set(key, { value, expires: now + ttlSeconds * 1000 });
    return value;
  }

  async counterGet(key: string): Promise<number> {
    const cur = this.counters.get(key);
    return cur && cur.expires > this.now() ? cur.value : 0;
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
    const add = cls === 'spam' ? 0 : 1;
    const unique = new Set(tokens);
    for (const t of unique) {
      const c = this.tokens.get(t) ?? [0, 0];
      c[add] += 1;
      if (before) c[1 - add] = Math.max(0, c[1 - add] - 1);
      if (c[0] === 0 && c[1] === 0) this.tokens.delete(t);
      else this.tokens.set(t, c);
    }
    this.totals[add] += 1;
    if (before) this.totals[1 - add] = Math.max(0, this.totals[1 - add] - 1);
    this.learned.set(digest, cls);
    return before ? 'relearned' : 'learned';
  }

  async historyPush(entry: string, max: number): Promise<void> {
    this.history.push(entry);
    if (this.history.length > max) this.history.splice(0, this.history.length - max);
  }

  async historyRead(limit: number): Promise<string[]> {
    return this.history.slice(-limit).reverse();
  }

  rateLimiterBackend(): RateLimiterBackend {
    return { kind: 'memory' };
  }

  async ready(): Promise<void> {}

  async close(): Promise<void> {}
}
