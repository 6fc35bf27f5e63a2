import { hashEnd, hashFeed, hashStart, keyText } from './token-key.js';

/**
 * Where the tokenizer puts a message's tokens: their text (TokenSet) or straight their stored
 * keys (KeySet). The words and pairs of a body, thousands per message, come as pieces, so
 * the key set hashes them without building each token's text.
 */
export interface TokenSink {
  readonly full: boolean;
  add(token: string): void;
  /** The token prefix + word. */
  addWord(prefix: string, word: string): void;
  /** The token prefix + first + ' ' + second. */
  addPair(prefix: string, first: string, second: string): void;
}

export class TokenSet implements TokenSink {
  readonly tokens = new Set<string>();
  constructor(private readonly max: number) {}

  get full(): boolean {
    return this.tokens.size >= this.max;
  }

  add(token: string): void {
    if (this.tokens.size < this.max) this.tokens.add(token);
  }

  addWord(prefix: string, word: string): void {
    this.add(prefix + word);
  }

  addPair(prefix: string, first: string, second: string): void {
    this.add(prefix + first + ' ' + second);
  }
}

/**
 * The stored keys of the tokens (bayes/token-key.ts), each once, in the order the tokens
 * came: what tokenKeys(tokenize(…)) gives, without the text of any token being built or
 * hashed twice. Distinct keys are found in a small open-addressing table of their bits.
 * Tokenizing runs start to end without yielding, so one set's arrays serve every message.
 */
export class KeySet implements TokenSink {
  private lo = new Uint32Array(0);
  private hi = new Uint32Array(0);
  private size = 0;
  private max = 0;
  /** Slot i holds 1 + the index in lo/hi of the key there, or 0 for none. */
  private slots = new Uint32Array(0);
  private readonly bits = new Uint32Array(2);

  private static one: KeySet | null = null;

  /** The process's one set, emptied, for at most `max` keys. */
  static shared(max: number): KeySet {
    KeySet.one ??= new KeySet();
    KeySet.one.reset(max);
    return KeySet.one;
  }

  /** Empty, for at most `max` keys. */
  private reset(max: number): void {
    if (max > this.lo.length) {
      this.lo = new Uint32Array(max);
      this.hi = new Uint32Array(max);
      // A power of two at least twice the keys held: probes stay short.
      this.slots = new Uint32Array(2 ** Math.ceil(Math.log2(Math.max(16, max * 2))));
    } else this.slots.fill(0);
    this.size = 0;
    this.max = max;
  }

  get full(): boolean {
    return this.size >= this.max;
  }

  add(token: string): void {
    if (this.full) return;
    hashStart();
    hashFeed(token);
    this.put();
  }

  addWord(prefix: string, word: string): void {
    if (this.full) return;
    hashStart();
    hashFeed(prefix);
    hashFeed(word);
    this.put();
  }

  addPair(prefix: string, first: string, second: string): void {
    if (this.full) return;
    hashStart();
    hashFeed(prefix);
    hashFeed(first);
    hashFeed(' ');
    hashFeed(second);
    this.put();
  }

  /** The keys' text, in order. */
  keys(): string[] {
    const out = new Array<string>(this.size);
    for (let i = 0; i < this.size; i++) out[i] = keyText(this.lo[i]!, this.hi[i]!);
    return out;
  }

  /** The key just hashed, unless already held. */
  private put(): void {
    hashEnd(this.bits);
    const lo = this.bits[0]!;
    const hi = this.bits[1]!;
    const mask = this.slots.length - 1;
    for (let at = (Math.imul(lo ^ hi, 0x9e3779b1) >>> 0) & mask; ; at = (at + 1) & mask) {
      const held = this.slots[at]!;
      if (held === 0) {
        this.lo[this.size] = lo;
        this.hi[this.size] = hi;
        this.slots[at] = ++this.size;
        return;
      }
      if (this.lo[held - 1] === lo && this.hi[held - 1] === hi) return;
    }
  }
}
