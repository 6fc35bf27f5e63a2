import type { BayesTokenCounts } from '../types.js';
import { keyBits } from '../bayes-key.js';

/** Slots per token at most (grown past it), and after a load or growth. */
const MAX_LOAD = 0.75;
const LOAD_AFTER_GROWTH = 0.55;
const MIN_CAPACITY = 1024;
/** Marks a used slot in `hi` (a key's high half has 22 bits). */
const USED = 0x80_00_00;
const TWO_32 = 4_294_967_296;

/**
 * The Bayes token counts of the writing server, held in its memory next to the database:
 * scoring a message looks up hundreds of tokens, and reading them from SQLite cost more
 * than the rest of the classifier. Only the writer holds one (one writer per data dir, so
 * nothing changes the table behind its back); the database stays the durable copy and the
 * part keeps this in step with every write.
 *
 * Open addressing with linear probing over typed arrays, 16 bytes per slot: a key's two
 * halves and its two counts. No object per token, so a million tokens are a few arrays the
 * garbage collector never walks. Keys not in the stored form, and counts a Uint32 cannot
 * hold, are kept in a Map beside (only tests and hand-made data have them).
 */
export class BayesIndex {
  private capacity = 0;
  private lo = new Uint32Array(0);
  private hi = new Uint32Array(0);
  private spam = new Uint32Array(0);
  private ham = new Uint32Array(0);
  private used = 0;
  private readonly aside = new Map<string, BayesTokenCounts>();
  private readonly bits = new Uint32Array(2);

  constructor(expected = 0) {
    this.allocate(Math.max(MIN_CAPACITY, Math.ceil(expected / LOAD_AFTER_GROWTH)));
  }

  /** Tokens held. */
  get size(): number {
    return this.used + this.aside.size;
  }

  /** Bytes of the arrays (the Map beside is small and not counted). */
  get bytes(): number {
    return this.capacity * 16;
  }

  get(key: string): BayesTokenCounts | undefined {
    const slot = keyBits(key, this.bits) ? this.find(this.bits[0]!, this.bits[1]! | USED) : -1;
    if (slot >= 0) return { spam: this.spam[slot]!, ham: this.ham[slot]! };
    const c = this.aside.size > 0 ? this.aside.get(key) : undefined;
    return c && { spam: c.spam, ham: c.ham };
  }

  /** Counts of each key, zeros for one not held: the classifier's read. */
  counts(keys: readonly string[]): BayesTokenCounts[] {
    const out = new Array<BayesTokenCounts>(keys.length);
    const bits = this.bits;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const slot = keyBits(key, bits) ? this.find(bits[0]!, bits[1]! | USED) : -1;
      if (slot >= 0) out[i] = { spam: this.spam[slot]!, ham: this.ham[slot]! };
      else out[i] = (this.aside.size > 0 && this.get(key)) || { spam: 0, ham: 0 };
    }
    return out;
  }

  set(key: string, spam: number, ham: number): void {
    const compact = keyBits(key, this.bits) && isUint32(spam) && isUint32(ham);
    if (!compact) {
      this.deleteCompact(key);
      this.aside.set(key, { spam, ham });
      return;
    }
    const lo = this.bits[0]!;
    const hi = this.bits[1]! | USED;
    this.aside.delete(key);
    let slot = this.find(lo, hi);
    if (slot < 0) {
      if (this.used + 1 > this.capacity * MAX_LOAD) this.allocate(Math.ceil((this.used + 1) / LOAD_AFTER_GROWTH));
      slot = this.home(lo, hi);
      while (this.hi[slot] !== 0) slot = this.next(slot);
      this.lo[slot] = lo;
      this.hi[slot] = hi;
      this.used++;
    }
    this.spam[slot] = spam;
    this.ham[slot] = ham;
  }

  delete(key: string): void {
    if (!this.deleteCompact(key)) this.aside.delete(key);
  }

  clear(): void {
    this.aside.clear();
    this.allocate(MIN_CAPACITY);
  }

  private deleteCompact(key: string): boolean {
    if (!keyBits(key, this.bits)) return false;
    let hole = this.find(this.bits[0]!, this.bits[1]! | USED);
    if (hole < 0) return false;
    // Backward shift: move up each later entry of the run that may sit in the hole, so a
    // lookup never meets an empty slot before its key (no tombstones to pile up).
    let j = hole;
    for (;;) {
      j = this.next(j);
      if (this.hi[j] === 0) break;
      const home = this.home(this.lo[j]!, this.hi[j]!);
      // The entry at j may move to the hole when its home is not cyclically in (hole, j].
      const between = hole < j ? home > hole && home <= j : home > hole || home <= j;
      if (between) continue;
      this.lo[hole] = this.lo[j]!;
      this.hi[hole] = this.hi[j]!;
      this.spam[hole] = this.spam[j]!;
      this.ham[hole] = this.ham[j]!;
      hole = j;
    }
    this.hi[hole] = 0;
    this.used--;
    return true;
  }

  private find(lo: number, hi: number): number {
    const his = this.hi;
    let slot = this.home(lo, hi);
    for (;;) {
      const h = his[slot]!;
      if (h === 0) return -1;
      if (h === hi && this.lo[slot] === lo) return slot;
      slot = this.next(slot);
    }
  }

  /** The first slot to try: the key's halves mixed, scaled to the capacity (any capacity, not only powers of two). */
  private home(lo: number, hi: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return Math.floor(((h >>> 0) * this.capacity) / TWO_32);
  }

  private next(slot: number): number {
    return slot + 1 === this.capacity ? 0 : slot + 1;
  }

  private allocate(capacity: number): void {
    const [lo, hi, spam, ham] = [this.lo, this.hi, this.spam, this.ham];
    this.capacity = capacity;
    this.lo = new Uint32Array(capacity);
    this.hi = new Uint32Array(capacity);
    this.spam = new Uint32Array(capacity);
    this.ham = new Uint32Array(capacity);
    this.used = 0;
    for (let i = 0; i < hi.length; i++) {
      if (hi[i] === 0) continue;
      let slot = this.home(lo[i]!, hi[i]!);
      while (this.hi[slot] !== 0) slot = this.next(slot);
      this.lo[slot] = lo[i]!;
      this.hi[slot] = hi[i]!;
      this.spam[slot] = spam[i]!;
      this.ham[slot] = ham[i]!;
      this.used++;
    }
  }
}

function isUint32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < TWO_32;
}
