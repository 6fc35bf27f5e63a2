import { KEY_ALPHABET } from '../stores/bayes-key.js';

/**
 * Tokens are stored under a short hash, not as text: the store then holds no readable
 * words of anyone's mail, and every key is 9 characters in Redis. 54 bits make a collision
 * among a few million tokens about as likely as one in a few thousand stores, and a
 * collision only merges two tokens' counts. Two 32-bit multiply-xor hashes (FNV-1a and a
 * murmur-style mix) written out 6 bits per character are cheap enough for thousands of
 * tokens per message (Number#toString(36) alone would cost more than all the hashing).
 */
const CODE = Array.from(KEY_ALPHABET, (c) => c.charCodeAt(0));

export function tokenKey(token: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x9747b28c;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  h2 = Math.imul(h2 ^ (h2 >>> 15), 0x27d4eb2d);
  h2 ^= h2 >>> 16;
  return String.fromCharCode(
    CODE[h1 & 63]!,
    CODE[(h1 >>> 6) & 63]!,
    CODE[(h1 >>> 12) & 63]!,
    CODE[(h1 >>> 18) & 63]!,
    CODE[(h1 >>> 24) & 63]!,
    CODE[((h1 >>> 30) | (h2 << 2)) & 63]!,
    CODE[(h2 >>> 4) & 63]!,
    CODE[(h2 >>> 10) & 63]!,
    CODE[(h2 >>> 16) & 63]!,
  );
}

export function tokenKeys(tokens: readonly string[]): string[] {
  return tokens.map(tokenKey);
}
