import { optionalAfter, skipClass, skipGroup } from './regex-syntax.js';

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

/**
 * A prefilter's answer for a text. `found`, when given, is the set of literals (of
 * `literals`) that occur in the text, case-folded for a case-insensitive pattern: a caller
 * that scans once for the literals of many patterns passes it; without it the prefilter
 * searches the text itself.
 */
export interface LiteralPrefilter {
  (text: string, fold?: Folder, found?: ReadonlySet<string>): boolean;
  /** Every literal the prefilter looks for. */
  readonly literals: readonly string[];
  /** Whether those literals are to be looked for in the case-folded text. */
  readonly caseInsensitive: boolean;
}

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

const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** Strings a run may stand for at most (each optional piece doubles them). */
const MAX_VARIANTS = 16;

/** A pattern read: what every match needs, and when it is a finite set of strings, that set. */
interface Reading {
  need: Need;
  exact: string[] | null;
}

/**
 * What every match of the pattern needs, or null when nothing can be read from it (then
 * nothing can be ruled out). Within one alternative every run of plain characters and every
 * group that must occur (not made optional by ?, * or {0,…}) is a need; of several
 * alternatives one must hold. A run goes on through optional characters and through groups
 * that are a few plain strings ("not (a )?spam" needs "not spam" or "not a spam").
 * Case-insensitive literals come lower-cased, for foldCase's text.
 */
export function requiredLiterals(pattern: string, caseInsensitive: boolean): Need | null {
  return read(pattern, caseInsensitive)?.need ?? null;
}

function read(pattern: string, caseInsensitive: boolean): Reading | null {
  const alternatives: Need[] = [];
  let exact: string[] | null = [];
  let found: Need[] = [];
  // The strings the current run may stand for; it is exact while nothing broke it.
  let run: string[] = [''];
  let broken = false;
  let lastWasLiteral = false;
  const endRun = () => {
    const variants = [...new Set(run)];
    if (Math.min(...variants.map((v) => v.length)) > 0) found.push(variants.length === 1 ? (variants[0] as string) : { any: variants });
    run = [''];
    broken = true;
    lastWasLiteral = false;
  };
  const endAlternative = (): boolean => {
    if (exact && !broken && exact.length + run.length <= MAX_VARIANTS) exact.push(...run);
    else exact = null;
    endRun();
    broken = false;
    const byWeight = found.sort((a, b) => weight(b) - weight(a));
    found = [];
    if (byWeight.length === 0) return false;
    const strong = byWeight.filter((n) => weight(n) >= MIN_LITERAL);
    // Short literals are needs of their own only when the alternative has nothing longer.
    const needs = (strong.length > 0 ? strong : byWeight).slice(0, MAX_NEEDS);
    alternatives.push(needs.length === 1 ? (needs[0] as Need) : { all: needs });
    return true;
  };
  /** The run followed by one of `tails`, when that keeps it small enough. */
  const extend = (tails: readonly string[]): boolean => {
    if (run.length * tails.length > MAX_VARIANTS) return false;
    run = run.flatMap((r) => tails.map((t) => r + t));
    return true;
  };
  const literal = (c: string) => {
    const code = c.charCodeAt(0);
    // Non-ASCII characters fold differently in the two worlds: they end the literal. Half of
    // a character beyond the BMP is read here one UTF-16 unit at a time, so a quantifier
    // after it would cut the pair in two: such a character ends the literal too.
    if ((caseInsensitive && code >= 128) || (code >= 0xd800 && code <= 0xdfff)) return endRun();
    run = run.map((r) => r + (caseInsensitive ? c.toLowerCase() : c));
    lastWasLiteral = true;
  };
  /**
   * A quantifier applies to the atom before it: an optional character doubles the run's
   * strings (with and without it); otherwise it ends the run, leaving the character out
   * when it may occur zero times and `min` copies of it when it must occur that often.
   */
  const quantifier = (min: number, optional: boolean) => {
    if (lastWasLiteral) {
      const without = run.map((r) => r.slice(0, -1));
      if (optional && run.length * 2 <= MAX_VARIANTS) {
        run = [...without, ...run];
        lastWasLiteral = false;
        return;
      }
      run = min === 0 ? without : run.map((r) => r + r.slice(-1).repeat(Math.min(min, 16) - 1));
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
        // A digit (RE2's \d is ASCII 0-9, which no case folds): one must occur unless the class is optional.
        else if (next === 'd') {
          endRun();
          if (!optionalAfter(pattern, i + 1)) found.push({ any: DIGITS });
        }
        // A character by code (\x41, \u0041, \cJ, \0), a property (\p{L}), a reference or
        // RE2's quoted text (\Q…\E): what follows the letter belongs to the escape, so the
        // rest cannot be read here.
        else if (/[xucpPkQ0-9]/.test(next)) return null;
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
        const inner = read(pattern.slice(pattern[i + 1] === '?' ? i + 3 : i + 1, close), caseInsensitive);
        const after = pattern[close + 1];
        i = close;
        lastWasLiteral = false;
        // A group of a few plain strings, once or optionally once ("?" or lazy "??"): the run goes on through it.
        if (inner?.exact && after !== '*' && after !== '+' && after !== '{') {
          const optional = after === '?';
          if (extend(optional ? ['', ...inner.exact] : inner.exact)) {
            if (optional) i += pattern[close + 2] === '?' ? 2 : 1;
            break;
          }
        }
        endRun();
        if (inner && !optionalAfter(pattern, close + 1)) found.push(inner.need);
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
        quantifier(Number(m[1]), false);
        i += m[0].length - 1;
        break;
      }
      case '?':
        quantifier(0, pattern[i + 1] !== '?');
        break;
      case '*':
        quantifier(0, false);
        break;
      case '+':
        quantifier(1, false);
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
  const need = alternatives.length === 1 ? (alternatives[0] as Need) : { any: alternatives };
  return { need, exact: exact && exact.length > 0 && !exact.includes('') ? exact : null };
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

function literalsOf(need: Need): string[] {
  if (typeof need === 'string') return [need];
  return ('all' in need ? need.all : need.any).flatMap(literalsOf);
}

function holdsIn(need: Need, found: ReadonlySet<string>): boolean {
  if (typeof need === 'string') return found.has(need);
  if ('all' in need) return need.all.every((n) => holdsIn(n, found));
  return need.any.some((n) => holdsIn(n, found));
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
  const test = (text: string, fold: Folder = foldCase, found?: ReadonlySet<string>): boolean => {
    if (found) return holdsIn(need, found);
    return holds(caseInsensitive ? fold(text) : text);
  };
  return Object.assign(test, { literals: [...new Set(literalsOf(need))], caseInsensitive });
}
