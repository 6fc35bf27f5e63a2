import { KEY_ALPHABET } from '../stores/bayes-key.js';

/**
 * Tokens are stored under a short hash, not as text: the store then holds no readable
 * words of anyone's mail, and every key is 9 characters in Redis. 54 bits make a collision
 * among a few million tokens about as likely as one in a few thousand stores, and a
 * collision only merges two tokens' counts. Two 32-bit multiply-xor hashes (FNV-1a and a
 * murmur-style mix) written out 6 bits per character are cheap enough for thousands of
 * tokens per message (Number#toString(36) alone would cost more than all the hashing).
 *
 * The hash reads a token one UTF-16 code unit at a time, so it can also be fed a token in
 * pieces (a prefix, a word, a space, the next word) without the token's text ever being
 * built: the tokenizer's key set does that for the thousands of words and pairs of a body.
 */
const CODE = Array.from(KEY_ALPHABET, (c) => c.charCodeAt(0));

/** The hash of the token being fed: FNV-1a and the murmur-style mix, before finishing. */
let h1 = 0;
let h2 = 0;

/** Start a token's hash. */
export function hashStart(): void {
  h1 = 0x811c9dc5;
  h2 = 0x9747b28c;
}

/** Feed the next piece of the token. */
export function hashFeed(piece: string): void {
  let a = h1;
  let b = h2;
  for (let i = 0; i < piece.length; i++) {
    const c = piece.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  h1 = a;
  h2 = b;
}

/**
 * Finish the token: its key's bits into out[0] (bits 0..31) and out[1] (bits 32..53), as
 * stores/bayes-key.ts reads them back from the key's text.
 */
export function hashEnd(out: Uint32Array): void {
  let b = Math.imul(h2 ^ (h2 >>> 15), 0x27d4eb2d);
  b ^= b >>> 16;
  out[0] = h1;
  out[1] = b & 0x3f_ff_ff;
}

/** A key's text from its bits (hashEnd's out[0] and out[1]). */
export function keyText(lo: number, hi: number): string {
  return String.fromCharCode(
    CODE[lo & 63]!,
    CODE[(lo >>> 6) & 63]!,
    CODE[(lo >>> 12) & 63]!,
    CODE[(lo >>> 18) & 63]!,
    CODE[(lo >>> 24) & 63]!,
    CODE[((lo >>> 30) | (hi << 2)) & 63]!,
    CODE[(hi >>> 4) & 63]!,
    CODE[(hi >>> 10) & 63]!,
    CODE[(hi >>> 16) & 63]!,
  );
}

const bits = new Uint32Array(2);

export function tokenKey(token: string): string {
  hashStart();
  hashFeed(token);
  hashEnd(bits);
  return keyText(bits[0]!, bits[1]!);
}

export function tokenKeys(tokens: readonly string[]): string[] {
  return tokens.map(tokenKey);
}
