import type { BayesTokenCounts } from '../types.js';
import { keyBits } from '../bayes-key.js';

/** Used share of the slots at most (grown past it), and after a load or growth. */
const MAX_LOAD = 0.75;
const LOAD_AFTER_GROWTH = 0.6;
const MIN_CAPACITY = 1024;
/** Elements of a slot: key's low half, its high half with USED, both counts. */
const SLOT = 3;
/** Marks a used slot in `hi` (a key's high half has 22 bits). */
const USED = 0x80_00_00;
/** Largest count held in a slot (16 bits each). */
export const MAX_SLOT_COUNT = 0xffff;
const TWO_32 = 4_294_967_296;

/**
 * The Bayes token counts of the writing server, held in its memory next to the database:
 * scoring a message looks up hundreds of tokens, and reading them from SQLite cost more
 * than the rest of the classifier. Only the writer holds one (one writer per data dir, so
 * nothing changes the table behind its back); the database stays the durable copy and the
 * part keeps this in step with every write.
 *
 * Open addressing with linear probing over one typed array, 12 bytes per slot: a key's two
 * halves and its two counts, 16 bits each. No object per token, so a million tokens are one
 * array the garbage collector never walks. Keys not in the stored form, and counts past 16
 * bits (a token in more than 65,535 learned messages: a handful), are kept in a Map beside.
 */
export class BayesIndex {
  private capacity = 0;
  /**
   * Slot i is [3i] the key's low half, [3i+1] its high half with USED (0: empty), [3i+2] the
   * spam count << 16 | the ham count: a probe reads one place of a table far larger than
   * the CPU's caches, not four arrays.
   */
  private slots = new Uint32Array(0);
  private used = 0;
  private readonly aside = new Map<string, BayesTokenCounts>();
  private readonly bits = new Uint32Array(2);

  constructor(expected = 0) {
    this.clear(expected);
  }

  /** Tokens held. */
  get size(): number {
    return this.used + this.aside.size;
  }

  /** Bytes of the table (the Map beside is small and not counted). */
  get bytes(): number {
    return this.slots.byteLength;
  }

  get(key: string): BayesTokenCounts | undefined {
    const at = keyBits(key, this.bits) ? this.find(this.bits[0]!, this.bits[1]! | USED) : -1;
    if (at >= 0) return { spam: this.slots[at + 2]! >>> 16, ham: this.slots[at + 2]! & MAX_SLOT_COUNT };
    return this.fromAside(key);
  }

  /** A copy of the counts kept aside for a key that does not fit the table, if any. */
  private fromAside(key: string): BayesTokenCounts | undefined {
    const c = this.aside.size > 0 ? this.aside.get(key) : undefined;
    return c && { spam: c.spam, ham: c.ham };
  }

  /** Counts of each key, zeros for one not held: the classifier's read. */
  counts(keys: readonly string[]): BayesTokenCounts[] {
    const out = new Array<BayesTokenCounts>(keys.length);
    const bits = this.bits;
    const slots = this.slots;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const at = keyBits(key, bits) ? this.find(bits[0]!, bits[1]! | USED) : -1;
      if (at >= 0) out[i] = { spam: slots[at + 2]! >>> 16, ham: slots[at + 2]! & MAX_SLOT_COUNT };
      else out[i] = this.fromAside(key) ?? { spam: 0, ham: 0 };
    }
    return out;
  }

  set(key: string, spam: number, ham: number): void {
    const compact = keyBits(key, this.bits) && fits(spam) && fits(ham);
    if (!compact) {
      this.deleteCompact(key);
      this.aside.set(key, { spam, ham });
      return;
    }
    if (this.aside.size > 0) this.aside.delete(key);
    this.setBits(this.bits[0]!, this.bits[1]!, spam, ham);
  }

  /** set() for a key in the stored form, given as its bits (see keyBits), with counts up to MAX_SLOT_COUNT. */
  setBits(lo: number, hi: number, spam: number, ham: number): void {
    hi |= USED;
    let at = this.find(lo, hi);
    if (at < 0) {
      if (this.used + 1 > this.capacity * MAX_LOAD) this.allocate(Math.ceil((this.used + 1) / LOAD_AFTER_GROWTH));
      at = this.place(lo, hi);
    }
    this.slots[at + 2] = (spam << 16) | ham;
  }

  delete(key: string): void {
    if (!this.deleteCompact(key)) this.aside.delete(key);
  }

  /** Empty, with room for `expected` tokens. */
  clear(expected = 0): void {
    this.aside.clear();
    this.slots = new Uint32Array(0);
    this.allocate(Math.max(MIN_CAPACITY, Math.ceil(expected / LOAD_AFTER_GROWTH)));
  }

  private deleteCompact(key: string): boolean {
    if (!keyBits(key, this.bits)) return false;
    let hole = this.find(this.bits[0]!, this.bits[1]! | USED);
    if (hole < 0) return false;
    const slots = this.slots;
    // Backward shift: move up each later entry of the run that may sit in the hole, so a
    // lookup never meets an empty slot before its key (no tombstones to pile up).
    let j = hole;
    for (;;) {
      j = this.next(j);
      if (slots[j + 1] === 0) break;
      const home = this.home(slots[j]!, slots[j + 1]!);
      // The entry at j may move to the hole when its home is not cyclically in (hole, j].
      const between = hole < j ? home > hole && home <= j : home > hole || home <= j;
      if (between) continue;
      slots.copyWithin(hole, j, j + SLOT);
      hole = j;
    }
    slots[hole + 1] = 0;
    this.used--;
    return true;
  }

  /** Where the key is (its slot's first element), or -1. */
  private find(lo: number, hi: number): number {
    const slots = this.slots;
    let at = this.home(lo, hi);
    for (;;) {
      const h = slots[at + 1]!;
      if (h === 0) return -1;
      if (h === hi && slots[at] === lo) return at;
      at = this.next(at);
    }
  }

  /** A new key into the first free slot from its home. */
  private place(lo: number, hi: number): number {
    let at = this.home(lo, hi);
    while (this.slots[at + 1] !== 0) at = this.next(at);
    this.slots[at] = lo;
    this.slots[at + 1] = hi;
    this.used++;
    return at;
  }

  /** The first slot to try: the key's halves mixed, scaled to the capacity (any capacity, not only powers of two). */
  private home(lo: number, hi: number): number {
    let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 15;
    return Math.floor(((h >>> 0) * this.capacity) / TWO_32) * SLOT;
  }

  private next(at: number): number {
    return at + SLOT === this.slots.length ? 0 : at + SLOT;
  }

  private allocate(capacity: number): void {
    const old = this.slots;
    this.capacity = capacity;
    this.slots = new Uint32Array(capacity * SLOT);
    this.used = 0;
    for (let p = 0; p < old.length; p += SLOT) {
      if (old[p + 1] === 0) continue;
      this.slots[this.place(old[p]!, old[p + 1]!) + 2] = old[p + 2]!;
    }
  }
}

function fits(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_SLOT_COUNT;
}
