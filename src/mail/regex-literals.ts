/**
 * A quick "can this pattern match at all?" test for the linear-time regex engine: the
 * literal text every match must contain. RE2 in plain JavaScript is about ten times slower
 * than V8's own engine, and most rules never match most messages; a substring search
 * (linear, with no pattern an attacker controls) rules out most of them before RE2 runs.
 *
 * The extraction is conservative by construction: it returns null (no prefilter, always run
 * RE2) whenever the pattern uses anything it does not fully understand, so skipping RE2 is
 * only ever done when RE2 could not have matched.
 */

export type LiteralPrefilter = (text: string) => boolean;

/** Escaped characters that stand for themselves (everything else after a backslash is a class or an assertion). */
const ESCAPED_LITERAL = /^[\\.^$|?*+()[\]{}/\-#&~'"!%,:;<=>@`_ ]$/;

/**
 * Letters whose case-insensitive match in RE2 (Unicode simple case folding) also takes a
 * non-ASCII character: k ~ U+212A KELVIN SIGN, s ~ U+017F LATIN SMALL LETTER LONG S. V8's
 * case-insensitive search (without the u flag) does not fold those, so they end a literal
 * run, as does any non-ASCII character (the two engines' folding tables differ there).
 */
const FOLDS_BEYOND_ASCII = new Set(['k', 's', 'K', 'S']);

/** Whether c can stand in a case-insensitive literal: ASCII only, where both engines fold alike. */
function foldsSafely(c: string): boolean {
  return c.charCodeAt(0) < 128 && !FOLDS_BEYOND_ASCII.has(c);
}

/** Shorter literals occur in nearly every message: they would rule nothing out. */
const MIN_LITERAL = 3;

/**
 * Strings of which every match of the pattern contains at least one; null when no such
 * list can be read from it (then nothing can be ruled out). For each top-level alternative
 * the most telling requirement is kept: the longest run of plain characters, or a group
 * that must occur (not made optional by ?, * or {0,…}) whose own alternatives all have one.
 */
export function requiredLiterals(pattern: string, caseInsensitive: boolean): string[] | null {
  const out: string[] = [];
  // Requirements found in the current alternative: each is "one of these strings".
  let found: string[][] = [];
  let run = '';
  let lastWasLiteral = false;
  const endRun = () => {
    if (run.length >= MIN_LITERAL) found.push([run]);
    run = '';
    lastWasLiteral = false;
  };
  const endAlternative = (): boolean => {
    endRun();
    // The requirement whose shortest string is longest rules out the most.
    const shortest = (list: string[]) => Math.min(...list.map((l) => l.length));
    const best = found.reduce<string[] | null>((a, b) => (a === null || shortest(b) > shortest(a) ? b : a), null);
    found = [];
    if (!best) return false;
    out.push(...best);
    return true;
  };
  const literal = (c: string) => {
    if (caseInsensitive && !foldsSafely(c)) return endRun();
    run += c;
    lastWasLiteral = true;
  };
  /** A quantifier makes the atom before it optional or repeated: it leaves the run. */
  const quantifier = () => {
    if (lastWasLiteral) run = run.slice(0, -1);
    endRun();
  };
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] as string;
    switch (c) {
      case '\\': {
        const next = pattern[i + 1];
        if (next === undefined) return null;
        i++;
        if (ESCAPED_LITERAL.test(next)) literal(next);
        // A character by code (\x41, \u0041, \cJ, \0), a property (\p{L}) or a reference:
        // what follows the letter belongs to the escape, so the rest cannot be read here.
        else if (/[xucpPk0-9]/.test(next)) return null;
        // A class (\d \w \s …), an assertion (\b) or a control character (\n \t).
        else endRun();
        break;
      }
      case '|':
        if (!endAlternative()) return null;
        break;
      case '(': {
        // A flag group such as (?i) changes how the rest is read: not understood here.
        if (pattern[i + 1] === '?' && pattern[i + 2] !== ':') return null;
        const close = skipGroup(pattern, i);
        if (close < 0) return null;
        endRun();
        if (!optionalAfter(pattern, close + 1)) {
          const inner = requiredLiterals(pattern.slice(pattern[i + 1] === '?' ? i + 3 : i + 1, close), caseInsensitive);
          if (inner) found.push(inner);
        }
        i = close;
        break;
      }
      case '[': {
        const close = skipClass(pattern, i);
        if (close < 0) return null;
        i = close;
        endRun();
        break;
      }
      case '{': {
        const m = /^\{\d+(,\d*)?\}\??/.exec(pattern.slice(i, i + 24));
        if (!m) return null;
        quantifier();
        i += m[0].length - 1;
        break;
      }
      case '?':
      case '*':
      case '+':
        quantifier();
        break;
      case '.':
      case '^':
      case '$':
        endRun();
        break;
      case ')':
      case ']':
      case '}':
        return null;
      default:
        literal(c);
    }
  }
  if (!endAlternative()) return null;
  return out;
}

/** Whether the quantifier at `at` (if any) lets the atom before it occur zero times. */
function optionalAfter(pattern: string, at: number): boolean {
  const c = pattern[at];
  if (c === '?' || c === '*') return true;
  return c === '{' && /^\{0*(,|\})/.test(pattern.slice(at, at + 8));
}

/** Index of the ")" that closes the group opened at `open`, or -1. */
function skipGroup(pattern: string, open: number): number {
  let depth = 0;
  for (let i = open; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') {
      i = skipClass(pattern, i);
      if (i < 0) return -1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** Index of the "]" that closes the class opened at `open`, or -1 (also for forms whose reading differs between engines). */
function skipClass(pattern: string, open: number): number {
  let i = open + 1;
  if (pattern[i] === '^') i++;
  // "[]" and "[^]" mean different things to JavaScript and to RE2.
  if (pattern[i] === ']') return -1;
  for (; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') return -1;
    else if (c === ']') return i;
  }
  return -1;
}

/**
 * A test that is false only when no match is possible: some alternative's literal must
 * occur in the text. Case-insensitive literals are searched with a literal-only regular
 * expression (no quantifier, so its time is linear in the text).
 */
export function literalPrefilter(pattern: string, flags: string): LiteralPrefilter | null {
  const caseInsensitive = flags.includes('i');
  const literals = requiredLiterals(pattern, caseInsensitive);
  if (!literals) return null;
  if (!caseInsensitive) return (text) => literals.some((l) => text.includes(l));
  const searches = literals.map((l) => new RegExp(l.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&'), 'i'));
  return (text) => searches.some((re) => re.test(text));
}
