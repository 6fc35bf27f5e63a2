/**
 * What a character is for the shouting rules: a cased letter (one with a lower and an upper
 * form) in capitals, a cased letter in lower case, or neither. Known per UTF-16 unit, in a
 * table filled from the language's own case mappings the first time a unit is seen, so that
 * a 10 KB body is one pass of table lookups, in any script, without a string per character.
 */
const NOT_KNOWN = -1;
const NOT_CASED = 0;
const LOWER = 1;
const UPPER = 2;

const kinds = new Int8Array(65_536).fill(NOT_KNOWN);

function learn(unit: number): number {
  const ch = String.fromCharCode(unit);
  const up = ch.toUpperCase();
  const kind = ch.toLowerCase() === up ? NOT_CASED : ch === up ? UPPER : LOWER;
  kinds[unit] = kind;
  return kind;
}

/** Share of capitals among the cased letters of s. */
export function uppercaseShare(s: string): { letters: number; ratio: number } {
  let letters = 0;
  let upper = 0;
  for (let i = 0; i < s.length; i++) {
    const unit = s.charCodeAt(i);
    let kind = kinds[unit] as number;
    if (kind === NOT_KNOWN) kind = learn(unit);
    if (kind !== NOT_CASED) {
      letters++;
      if (kind === UPPER) upper++;
    }
  }
  return { letters, ratio: letters > 0 ? upper / letters : 0 };
}
