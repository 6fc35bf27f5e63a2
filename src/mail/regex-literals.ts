/**
 * A quick "can this pattern match at all?" test for the linear-time regex engine: literal
 * text a match must contain. RE2 in plain JavaScript is about ten times slower than V8's own
 * engine, and most rules never match most messages; substring searches (linear, with no
 * pattern an attacker controls) rule out most of them before RE2 runs.
 *
 * The extraction is conservative by construction: it returns null (no prefilter, always run
 * RE2) whenever the pattern uses anything it does not fully understand, so skipping RE2 is
 * only ever done when RE2 could not have matched.
 */

/** Case-folds a text the way foldCase does; callers may pass one that remembers its answers. */
export type Folder = (text: string) => string;

export type LiteralPrefilter = (text: string, fold?: Folder) => boolean;

/**
 * What a match needs: a literal (searched in the text as is, or in its case-folded form for
 * a case-insensitive pattern), all of several needs, or any one of several.
 */
export type Need = string | { all: Need[] } | { any: Need[] };

/** Escaped characters that stand for themselves (everything else after a backslash is a class or an assertion). */
const ESCAPED_LITERAL = /^[\\.^$|?*+()[\]{}/\-#&~'"!%,:;<=>@`_ ]$/;

/** Shorter literals occur in nearly every message: they are kept only where there is nothing better. */
const MIN_LITERAL = 3;

/** Needs checked per alternative at most: each is a search through the whole text. */
const MAX_NEEDS = 4;

/**
 * The text a case-insensitive literal is searched in. RE2 matches an ASCII character
 * case-insensitively against the characters of its Unicode simple case-folding orbit: the
 * other ASCII case, and for k and s also U+212A KELVIN SIGN and U+017F LATIN SMALL LETTER
 * LONG S. Lower-casing maps the Kelvin sign to k but leaves the long s as it is, so it is
 * mapped here. Non-ASCII literal characters are never searched (folding tables differ).
 */
export function foldCase(text: string): string {
  const lower = text.toLowerCase();
  return lower.includes('\u017f') ? lower.replaceAll('\u017f', 's') : lower;
}

/** Length of the shortest literal that satisfies a need: longer ones rule out more. */
function weight(n: Need): number {
  if (typeof n === 'string') return n.length;
  if ('all' in n) return Math.max(...n.all.map(weight));
  return Math.min(...n.any.map(weight));
}

/**
 * What every match of the pattern needs, or null when nothing can be read from it (then
 * nothing can be ruled out). Within one alternative every run of plain characters and every
 * group that must occur (not made optional by ?, * or {0,…}) is a need; of several
 * alternatives one must hold. Case-insensitive literals come lower-cased, for foldCase's text.
 */
export function requiredLiterals(pattern: string, caseInsensitive: boolean): Need | null {
  const alternatives: Need[] = [];
  let found: Need[] = [];
  let run = '';
  let lastWasLiteral = false;
  const endRun = () => {
    if (run.length > 0) found.push(run);
    run = '';
    lastWasLiteral = false;
  };
  const endAlternative = (): boolean => {
    endRun();
    const byWeight = found.sort((a, b) => weight(b) - weight(a));
    found = [];
    if (byWeight.length === 0) return false;
    const strong = byWeight.filter((n) => weight(n) >= MIN_LITERAL).slice(0, MAX_NEEDS);
    // Short literals are a need of their own only when the alternative has nothing longer.
    const needs = strong.length > 0 ? strong : byWeight.slice(0, 1);
    alternatives.push(needs.length === 1 ? (needs[0] as Need) : { all: needs });
    return true;
  };
  const literal = (c: string) => {
    // Non-ASCII characters fold differently in the two worlds: they end the literal.
    if (caseInsensitive && c.charCodeAt(0) >= 128) return endRun();
    run += caseInsensitive ? c.toLowerCase() : c;
    lastWasLiteral = true;
  };
  /**
   * A quantifier applies to the atom before it: when that may occur zero times it leaves
   * the run; when it must occur `min` times or more, that many copies stay in the run.
   */
  const quantifier = (min: number) => {
    if (lastWasLiteral) {
      const c = run.slice(-1);
      run = min === 0 ? run.slice(0, -1) : run + c.repeat(Math.min(min, 16) - 1);
    }
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
          if (inner !== null) found.push(inner);
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
        const m = /^\{(\d+)(,\d*)?\}\??/.exec(pattern.slice(i, i + 24));
        if (!m) return null;
        quantifier(Number(m[1]));
        i += m[0].length - 1;
        break;
      }
      case '?':
      case '*':
        quantifier(0);
        break;
      case '+':
        quantifier(1);
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
  return alternatives.length === 1 ? (alternatives[0] as Need) : { any: alternatives };
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

/** Characters that mean something in a JavaScript regular expression. */
const SPECIAL = /[\\^$.*+?()[\]{}|/-]/g;

/**
 * A need as a test of a text. Literals one of which must occur are searched with one
 * regular expression made only of those literals (no quantifier, class or group: it tries
 * each literal at each position, so its time is linear in the text), which V8 runs in one
 * native pass, many times faster than a substring search for each of them.
 */
function tester(need: Need): (text: string) => boolean {
  if (typeof need === 'string') return literalSearch([need]);
  if ('all' in need) {
    const parts = need.all.map(tester);
    return (text) => parts.every((t) => t(text));
  }
  const strings = need.any.filter((n): n is string => typeof n === 'string');
  if (strings.length === need.any.length) return literalSearch(strings);
  const parts = need.any.map(tester);
  return (text) => parts.some((t) => t(text));
}

function literalSearch(literals: readonly string[]): (text: string) => boolean {
  const re = new RegExp(literals.map((l) => l.replace(SPECIAL, '\\$&')).join('|'));
  return (text) => re.test(text);
}

/**
 * A test that is false only when no match is possible. A case-insensitive pattern's
 * literals are searched in the case-folded text, which `fold` may hand out from a cache
 * shared by the rules of a message.
 */
export function literalPrefilter(pattern: string, flags: string): LiteralPrefilter | null {
  const caseInsensitive = flags.includes('i');
  const need = requiredLiterals(pattern, caseInsensitive);
  if (need === null) return null;
  const holds = tester(need);
  if (!caseInsensitive) return (text) => holds(text);
  return (text, fold = foldCase) => holds(fold(text));
}
