/**
 * Texts whose fuzzy signatures are pinned in fuzzy-signatures.json: what changes in how a
 * signature is computed must not change a learned signature. Generated from a fixed seed
 * out of pieces that exercise every rule of a word: ASCII and mixed case, letters beyond
 * ASCII whose lower case depends on the word (final sigma) or is longer (dotted I),
 * letters outside the Basic Multilingual Plane, lone surrogates, digits, URLs, runs of
 * letters longer than 40, words of one and two letters, and more than 4000 words.
 */

const PIECES = [
  'the', 'Quick', 'BROWN', 'fox', 'jumps', 'over', 'lazy', 'dog', 'invoice', 'Payment', 'account', 'verify',
  'ΟΔΟΣ', 'Σίσυφος', 'İstanbul', 'ǅemal', 'straße', 'STRASSE', 'ÉCOLE', 'naïve', 'é', 'ﬁnance', 'ΐΰ',
  '日本語のテキスト', 'Ⓐⓑⓒ', '𝐀𝐁𝐂𝐃', '𐐀𐐁𐐂', 'abc𝐀def', '\ud800', '\udc00zz', 'x', 'ab', '123', '4th',
  'http://click.example.net/r?id=8f3a', 'a'.repeat(45), 'B'.repeat(83), 'Ω'.repeat(41), '𝐀'.repeat(44), '\u0130'.repeat(50),
];
const SEPARATORS = [' ', '  ', '\n', '\r\n', '.', ', ', '-', '_', '0', '\t', '\u00a0', '’'];

function generator(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % n;
  };
}

export function sampleTexts(): string[] {
  const next = generator(20261126);
  const texts: string[] = [];
  for (let t = 0; t < 24; t++) {
    const words = 10 + next(t === 23 ? 1 : 300) + (t === 23 ? 4100 : 0);
    let text = '';
    for (let i = 0; i < words; i++) text += PIECES[next(PIECES.length)]! + SEPARATORS[next(SEPARATORS.length)]!;
    texts.push(text);
  }
  // Letters outside the BMP past 8192 code units of words: code unit 8191 is the first half
  // of a surrogate pair (4 + 7 x 1169 + 4), where the digest's input is cut into slices.
  texts.push('abc' + ' 𝐀𝐁𝐂'.repeat(1300));
  return texts;
}
