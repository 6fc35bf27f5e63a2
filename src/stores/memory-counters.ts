import type { CounterPart } from './types.js';

interface Counter {
  value: number;
  expires: number;
}

/**
 * Short-lived counters with a time to live, in this process's memory: they count within
 * minutes, so losing them on a restart costs nothing, and a write to disk per increment
 * would. The embedded store uses these; Redis keeps its own.
 */
export class MemoryCounters implements CounterPart {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly max = 1_000_000,
  ) {}

  async counterIncrement(key: string, ttlSeconds: number): Promise<number> {
    const now = this.now();
    const value = (this.live(key, now)?.value ?? 0) + 1;
    // Re-inserting keeps the Map in least-recently-used order for eviction.
    this.counters.delete(key);
    this.counters.set(key, { value, expires: now + ttlSeconds * 1000 });
    if (this.counters.size > this.max) this.evict(now);
    return value;
  }

  async counterGet(key: string): Promise<number> {
    return this.live(key, this.now())?.value ?? 0;
  }

  /** Drop expired counters. */
  sweep(): void {
    const now = this.now();
    for (const [k, c] of this.counters) if (c.expires <= now) this.counters.delete(k);
  }

  private live(key: string, now: number): Counter | undefined {
    const c = this.counters.get(key);
    return c && c.expires > now ? c : undefined;
  }

  private evict(now: number): void {
    for (const [k, c] of this.counters) if (c.expires <= now) this.counters.delete(k);
    // Still full: the least recently used go first, a percent at a time.
    const target = this.max - Math.ceil(this.max / 100);
    for (const k of this.counters.keys()) {
      if (this.counters.size <= target) break;
      this.counters.delete(k);
    }
  }
}
