import { RE2JS } from 're2js';
import { literalPrefilter, type Folder, type LiteralPrefilter } from './regex-literals.js';

/**
 * Regular expressions written by the admin run on RE2's engine (re2js, plain JavaScript):
 * its time grows with the length of the text and never with the pattern's ambiguity, so a
 * rule like `^(a+)+$` cannot hold the event loop on a crafted subject the way a
 * backtracking engine would. The price is RE2's syntax: no backreferences and no
 * lookaround, the two features that need backtracking. A pattern using them is refused
 * when the policy is loaded, with the reason.
 */

/**
 * `fold` gives the text's case-folded form for the literal prefilter, and `found` the
 * prefilter's literals that occur in it (see LiteralPrefilter): the rules of one message
 * pass ones that remember their answers, so each text is folded and scanned once, not once
 * per rule. `prefilter` is null when no literal can be read from the pattern.
 */
export interface LinearMatcher {
  (text: string, fold?: Folder, found?: ReadonlySet<string>): boolean;
  readonly prefilter: LiteralPrefilter | null;
}

const FLAG_BITS: Readonly<Record<string, number>> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  // RE2 always matches whole Unicode characters; "u" changes nothing.
  u: 0,
};

/** Why a pattern cannot run on the linear engine, in words an admin can act on. */
function refusal(pattern: string, engineMessage: string): string {
  if (/\\[1-9]|\\k</.test(pattern)) return 'backreferences (\\1, \\k<name>) need a backtracking engine, whose time can grow exponentially; rewrite without them';
  if (/\(\?<?[=!]/.test(pattern)) return 'lookahead and lookbehind ((?=, (?!, (?<=, (?<!) need a backtracking engine, whose time can grow exponentially; rewrite without them';
  return `not accepted by the linear-time (RE2) engine: ${engineMessage}`;
}

/**
 * The pattern compiled for the linear engine, or an Error saying why it cannot be. A pattern
 * must also be a valid JavaScript expression, so both engines agree on what it means.
 */
export function compileLinear(pattern: string, flags: string): LinearMatcher {
  new RegExp(pattern, flags);
  let bits = 0;
  for (const f of flags) bits |= FLAG_BITS[f] ?? 0;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, bits);
  } catch (err) {
    throw new Error(refusal(pattern, (err as Error).message));
  }
  // Most rules match few messages: a literal every match must contain rules them out
  // before RE2 runs (about ten times slower than V8's own engine).
  const prefilter = literalPrefilter(pattern, flags);
  const matches = prefilter ? (text: string, fold?: Folder, found?: ReadonlySet<string>) => prefilter(text, fold, found) && re.test(text) : (text: string) => re.test(text);
  return Object.assign(matches, { prefilter });
}
