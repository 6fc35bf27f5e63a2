/**
 * The form of a stored Bayes token key: a 54-bit hash written out as 9 characters of 6 bits
 * each, low bits first (bayes/token-key.ts writes them). The store reads a key back into its
 * two halves to hold counts in typed arrays instead of one string per token.
 */
export const KEY_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
export const KEY_LENGTH = 9;

/** Character code → its 6 bits, or -1 for a character no key contains. */
const VALUE = new Int8Array(128).fill(-1);
for (let i = 0; i < KEY_ALPHABET.length; i++) VALUE[KEY_ALPHABET.charCodeAt(i)] = i;

function value(text: string, i: number): number {
  const c = text.charCodeAt(i);
  // NaN past the end compares false: -1 too.
  return c < 128 ? VALUE[c]! : -1;
}

/**
 * The key's bits into out[0] (bits 0..31) and out[1] (bits 32..53); false for a string that is
 * not in the key form (anything else a caller stores is kept aside by the reader of this).
 */
export function keyBits(key: string, out: Uint32Array): boolean {
  return key.length === KEY_LENGTH && keyBitsAt(key, 0, out);
}

/** Like keyBits, for the KEY_LENGTH characters of `text` from `at` (text holds at least that many). */
export function keyBitsAt(text: string, at: number, out: Uint32Array): boolean {
  const c0 = value(text, at);
  const c1 = value(text, at + 1);
  const c2 = value(text, at + 2);
  const c3 = value(text, at + 3);
  const c4 = value(text, at + 4);
  const c5 = value(text, at + 5);
  const c6 = value(text, at + 6);
  const c7 = value(text, at + 7);
  const c8 = value(text, at + 8);
  if ((c0 | c1 | c2 | c3 | c4 | c5 | c6 | c7 | c8) < 0) return false;
  out[0] = c0 | (c1 << 6) | (c2 << 12) | (c3 << 18) | (c4 << 24) | (c5 << 30);
  out[1] = (c5 >>> 2) | (c6 << 4) | (c7 << 10) | (c8 << 16);
  return true;
}
