import crypto from 'node:crypto';

/**
 * A fuzzy signature of a message's text (rspamd's fuzzy_check idea): the normalised words
 * are cut into overlapping three-word shingles, and for each of SHINGLES hash functions the
 * smallest shingle hash is kept (min-hashing). Two texts agree on about as many of those
 * minima as they share shingles, so a spam run with another greeting, name or tracking link
 * still agrees on most of them, and an unrelated text on almost none.
 *
 * Words are runs of letters (Unicode category L), lower-cased, 3 to 40 characters (a longer
 * run is cut into pieces of 40): numbers, ids and URLs (whose tracking parts change with
 * every copy) do not count. A shingle's hash is FNV-1a over the UTF-16 code units of its
 * three words joined by single spaces. Linear in the text, bounded by MAX_WORDS.
 *
 * Every message scanned is signed, so the words are not made into strings: they are written
 * lower-cased, space-separated, into one reused buffer, and each shingle is hashed where it
 * lies in it.
 */

export const SHINGLES = 32;
const WINDOW = 3;
const MAX_WORDS = 4000;
const MIN_LETTERS = 3;
const MAX_LETTERS = 40;
const SPACE = 0x20;

export interface FuzzySignature {
  /** Identifies the exact text (its words): what a delete names. */
  digest: string;
  /** SHINGLES min-hash values, unsigned 32-bit. */
  shingles: number[];
}

/** The words of the last text read: lower-cased code units, one space between words. */
let units = new Uint16Array(1 << 14);
let used = 0;
/** Where word i starts in `units` and where it ends (exclusive). */
const starts = new Int32Array(MAX_WORDS);
const ends = new Int32Array(MAX_WORDS);

/** Whether a non-ASCII code unit of the Basic Multilingual Plane is a letter: 0 not yet asked, 1 yes, 2 no. */
const BMP_LETTER = new Uint8Array(0x10000);
const LETTER = /^\p{L}$/u;

function isLetter(codePoint: number): boolean {
  if (codePoint < 0x80) return ((codePoint | 0x20) - 0x61) >>> 0 < 26;
  if (codePoint > 0xffff) return LETTER.test(String.fromCodePoint(codePoint));
  let known = BMP_LETTER[codePoint];
  if (known === 0) BMP_LETTER[codePoint] = known = LETTER.test(String.fromCharCode(codePoint)) ? 1 : 2;
  return known === 1;
}

/** Code units of the letter at `i` (a surrogate pair is one letter of two), 0 when there is none. */
function letterAt(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0xd800 || c > 0xdfff) return isLetter(c) ? 1 : 0;
  // A lone surrogate is no letter; a pair is one code point.
  if (c > 0xdbff || i + 1 >= text.length) return 0;
  const low = text.charCodeAt(i + 1);
  if (low < 0xdc00 || low > 0xdfff) return 0;
  return isLetter(0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00)) ? 2 : 0;
}

function room(extra: number): void {
  if (used + extra <= units.length) return;
  const bigger = new Uint16Array(Math.max(units.length * 2, used + extra));
  bigger.set(units.subarray(0, used));
  units = bigger;
}

/** Reads the words of `text` into `units`; returns how many (at most MAX_WORDS). */
function readWords(text: string): number {
  used = 0;
  let count = 0;
  const n = text.length;
  let i = 0;
  while (i < n && count < MAX_WORDS) {
    // One word: up to MAX_LETTERS letters from i.
    let j = i;
    let letters = 0;
    let ascii = true;
    while (j < n && letters < MAX_LETTERS) {
      const c = text.charCodeAt(j);
      if (c < 0x80) {
        // ASCII, the common case, decided here.
        if (((c | 0x20) - 0x61) >>> 0 >= 26) break;
        j++;
        letters++;
        continue;
      }
      const width = letterAt(text, j);
      if (width === 0) break;
      ascii = false;
      j += width;
      letters++;
    }
    if (letters === 0) {
      i++;
      continue;
    }
    if (letters >= MIN_LETTERS) {
      if (count > 0) {
        room(1);
        units[used++] = SPACE;
      }
      starts[count] = used;
      if (ascii) {
        room(j - i);
        // ASCII letters only: setting bit 5 lower-cases exactly as toLowerCase does.
        for (let k = i; k < j; k++) units[used++] = text.charCodeAt(k) | 0x20;
      } else {
        // Beyond ASCII, lower-casing may depend on the whole word (final sigma) or lengthen it.
        const lower = text.slice(i, j).toLowerCase();
        room(lower.length);
        for (let k = 0; k < lower.length; k++) units[used++] = lower.charCodeAt(k);
      }
      ends[count++] = used;
    }
    i = j;
  }
  return count;
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

const SEEDS = Uint32Array.from({ length: SHINGLES }, (_, i) => mix(0x9e3779b9, i + 1));

/**
 * Shingle hashes already met in this text (open addressing; a slot is taken when its stamp
 * is the current text's): a repeated shingle cannot lower a minimum, and the text and HTML
 * versions of one message repeat every shingle. Twice MAX_WORDS slots keep probes short.
 */
const SEEN_BITS = 13;
const seen = new Uint32Array(1 << SEEN_BITS);
const stamps = new Uint32Array(1 << SEEN_BITS);
let stamp = 0;

/** True when `h` was met before in this text; records it otherwise. */
function metBefore(h: number): boolean {
  const mask = (1 << SEEN_BITS) - 1;
  let slot = Math.imul(h, 0x9e3779b1) >>> (32 - SEEN_BITS);
  while (stamps[slot] === stamp) {
    if (seen[slot] === h) return true;
    slot = (slot + 1) & mask;
  }
  stamps[slot] = stamp;
  seen[slot] = h;
  return false;
}

/** The min-hashes of the `count` words in `units`. */
function minHashes(count: number): number[] {
  if (stamp === 0xffffffff) {
    stamps.fill(0);
    stamp = 0;
  }
  stamp++;
  const mins = new Uint32Array(SHINGLES).fill(0xffffffff);
  for (let w = 0; w + WINDOW <= count; w++) {
    // FNV-1a, 32-bit: cheap, and good enough to spread shingles before the per-function mixing.
    let h = 0x811c9dc5;
    const end = ends[w + WINDOW - 1] as number;
    for (let k = starts[w] as number; k < end; k++) h = Math.imul(h ^ (units[k] as number), 0x01000193);
    h >>>= 0;
    if (metBefore(h)) continue;
    for (let k = 0; k < SHINGLES; k++) {
      const v = mix(h, SEEDS[k] as number);
      if (v < (mins[k] as number)) mins[k] = v;
    }
  }
  return Array.from(mins);
}

/** The min-hashes of `text`, or null when it has fewer than `minWords` words (too short to tell copies apart). */
export function fuzzyShingles(text: string, minWords: number): number[] | null {
  const count = readWords(text);
  return count < Math.max(minWords, WINDOW) ? null : minHashes(count);
}

/** The signature of `text` (min-hashes and digest), or null as for fuzzyShingles. */
export function fuzzySignature(text: string, minWords: number): FuzzySignature | null {
  const count = readWords(text);
  if (count < Math.max(minWords, WINDOW)) return null;
  const shingles = minHashes(count);
  // The words joined by spaces, as UTF-8: rebuilt as a string in slices (no code unit is a lone surrogate).
  const hash = crypto.createHash('sha256');
  for (let k = 0; k < used; ) {
    let end = Math.min(used, k + 8192);
    // A surrogate pair stays in one slice, or UTF-8 would encode its halves apart.
    if (end < used && ((units[end - 1] as number) & 0xfc00) === 0xd800) end--;
    // apply takes any array-like (a typed array is read without copying); its typing wants an array.
    hash.update(String.fromCharCode.apply(null, units.subarray(k, end) as unknown as number[]));
    k = end;
  }
  return { digest: hash.digest('hex').slice(0, 32), shingles };
}

/** Share of min-hashes two signatures agree on: an estimate of their shingles' Jaccard similarity. */
export function similarity(a: readonly number[], b: readonly number[]): number {
  let same = 0;
  for (let k = 0; k < SHINGLES; k++) if (a[k] === b[k]) same++;
  return same / SHINGLES;
}
