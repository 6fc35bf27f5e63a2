import crypto from 'node:crypto';

/**
 * A fuzzy signature of a message's text (rspamd's fuzzy_check idea): the normalised words
 * are cut into overlapping three-word shingles, and for each of SHINGLES hash functions the
 * smallest shingle hash is kept (min-hashing). Two texts agree on about as many of those
 * minima as they share shingles, so a spam run with another greeting, name or tracking link
 * still agrees on most of them, and an unrelated text on almost none.
 *
 * Words are letters only, lower-cased, 3 to 40 characters: numbers, ids and URLs (whose
 * tracking parts change with every copy) do not count. Linear in the text, bounded by
 * MAX_WORDS.
 */

export const SHINGLES = 32;
const WINDOW = 3;
const MAX_WORDS = 4000;
const WORD = /[\p{L}]{3,40}/gu;

export interface FuzzySignature {
  /** Identifies the exact text (its words): what a delete names. */
  digest: string;
  /** SHINGLES min-hash values, unsigned 32-bit. */
  shingles: number[];
}

function words(text: string): string[] {
  const out: string[] = [];
  WORD.lastIndex = 0;
  for (let m = WORD.exec(text); m !== null && out.length < MAX_WORDS; m = WORD.exec(text)) out.push(m[0].toLowerCase());
  return out;
}

/** FNV-1a, 32-bit: cheap, and good enough to spread shingles before the per-function mixing. */
function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A 32-bit mixer (murmur3's finaliser) seeded per hash function. */
function mix(h: number, seed: number): number {
  let x = (h ^ seed) >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const SEEDS = Array.from({ length: SHINGLES }, (_, i) => mix(0x9e3779b9, i + 1));

/** The signature of `text`, or null when it has fewer than `minWords` words (too short to tell copies apart). */
export function fuzzySignature(text: string, minWords: number): FuzzySignature | null {
  const list = words(text);
  if (list.length < Math.max(minWords, WINDOW)) return null;
  const mins = new Array<number>(SHINGLES).fill(0xffffffff);
  for (let i = 0; i + WINDOW <= list.length; i++) {
    const h = fnv1a(`${list[i]} ${list[i + 1]} ${list[i + 2]}`);
    for (let k = 0; k < SHINGLES; k++) {
      const v = mix(h, SEEDS[k] as number);
      if (v < (mins[k] as number)) mins[k] = v;
    }
  }
  const digest = crypto.createHash('sha256').update(list.join(' ')).digest('hex').slice(0, 32);
  return { digest, shingles: mins };
}

/** Share of min-hashes two signatures agree on: an estimate of their shingles' Jaccard similarity. */
export function similarity(a: readonly number[], b: readonly number[]): number {
  let same = 0;
  for (let k = 0; k < SHINGLES; k++) if (a[k] === b[k]) same++;
  return same / SHINGLES;
}
