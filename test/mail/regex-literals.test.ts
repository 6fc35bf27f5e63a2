import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import YAML from 'yaml';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { requiredLiterals, literalPrefilter, foldCase } from '../../src/mail/regex-literals.js';
import { compileLinear } from '../../src/mail/linear-regex.js';
import { LiteralScanner } from '../../src/mail/literal-scan.js';

/** RE2 alone, as the rules ran before the prefilter: the reference the prefilter must never contradict. */
function re2(pattern: string, flags: string): (text: string) => boolean {
  let bits = 0;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  const re = RE2JS.compile(pattern, bits);
  return (t) => re.test(t);
}

test('what every match needs: runs, required groups, alternatives', () => {
  assert.deepEqual(requiredLiterals('order form', false), 'order form');
  assert.deepEqual(requiredLiterals('nothing to lose|no obligation', false), { any: ['nothing to lose', 'no obligation'] });
  // An optional character or group of plain strings: the run stands for each way it can be read.
  assert.deepEqual(requiredLiterals('colou?r chart', false), { any: ['color chart', 'colour chart'] });
  assert.deepEqual(requiredLiterals('win (big )?prizes', false), { any: ['win prizes', 'win big prizes'] });
  assert.deepEqual(requiredLiterals('not (a |the )spam', false), { any: ['not a spam', 'not the spam'] });
  assert.deepEqual(requiredLiterals('this (e-?mail|message) is', false), { any: ['this email is', 'this e-mail is', 'this message is'] });
  // Repeated, or too many ways: the run ends; an optional group adds nothing, a required one counts.
  assert.deepEqual(requiredLiterals('win (gigantic ){0,2}prize', false), { all: ['prize', 'win '] });
  assert.deepEqual(requiredLiterals('a?b?c?d?e?fgh', false), 'fgh');
  assert.deepEqual(requiredLiterals('(big|huge) (win|prize) (in|for) (april|may|june)', false), { all: [{ any: ['big win in ', 'big win for ', 'big prize in ', 'big prize for ', 'huge win in ', 'huge win for ', 'huge prize in ', 'huge prize for '] }, { any: ['april', 'may', 'june'] }] });
  assert.deepEqual(requiredLiterals('win (gigantic )*prize', false), { all: ['prize', 'win '] });
  assert.deepEqual(requiredLiterals('\\b(viagra|cialis)\\b', false), { any: ['viagra', 'cialis'] });
  assert.deepEqual(requiredLiterals('(?:viagra|cialis)+ now', false), { all: [{ any: ['viagra', 'cialis'] }, ' now'] });
  assert.deepEqual(requiredLiterals('\\$\\$\\$', false), '$$$');
  // A character that must occur n times stays in the run n times.
  assert.deepEqual(requiredLiterals('!{3,}', false), '!!!');
  assert.deepEqual(requiredLiterals('yes+ way', false), { all: [' way', 'yes'] });
  // Short literals are kept only where an alternative has nothing longer.
  assert.deepEqual(requiredLiterals('!!|\\s!', false), { any: ['!!', '!'] });
  // A digit class that must occur is a need of one of ten characters.
  const digit = { any: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] };
  assert.deepEqual(requiredLiterals('\\$\\d{1,3}(,\\d{3})+', false), { all: ['$', digit, { all: [',', digit] }] });
  assert.deepEqual(requiredLiterals('^\\d{1,3}(\\.\\d{1,3}){3}$', false), { all: [digit, { all: ['.', digit] }] });
  assert.deepEqual(requiredLiterals('ab\\d?c|\\d*xyz|x\\d{0,3}', false), { any: [{ all: ['ab', 'c'] }, 'xyz', 'x'] });
  assert.deepEqual(requiredLiterals('abc|x', false), { any: ['abc', 'x'] });
  // A character beyond the BMP is two UTF-16 units: a quantifier after it must not leave half of it as a need.
  for (const [pattern, text] of [['abc😀?', 'abcd'], ['abc😀*', 'abcd'], ['abc😀{0,2}', 'abcd'], ['x😀y', 'x😀y']]) {
    const pre = literalPrefilter(pattern, '');
    assert.equal(!pre || pre(text), re2(pattern, '')(text), `${pattern} on ${text}`);
  }
  // RE2's quoted text (\Q…\E) is literal, not syntax: no prefilter is read from it.
  assert.equal(requiredLiterals('a\\Qx{2}\\E b', false), null);
  assert.equal(re2('a \\Qx{2}\\E b', '')('a x{2} b'), true);
  // At most four needs per alternative, the longest first.
  assert.deepEqual(requiredLiterals('aaa.bbbb.ccccc.dddddd.eeeeeee', false), { all: ['eeeeeee', 'dddddd', 'ccccc', 'bbbb'] });
});

test('anything not fully understood gives no prefilter (RE2 always runs)', () => {
  for (const p of ['(?i)free money', '\\x41BCDEF', '\\u0041BCDEF', '\\cJabcdef', '\\p{L}abcdef', '[]abc]xyzw', 'a{2', 'ab)c']) {
    assert.equal(requiredLiterals(p, false), null, p);
  }
  // Each alternative needs a literal of its own, or nothing can be ruled out.
  assert.equal(requiredLiterals('free money|\\w+', false), null);
});

test('case-insensitive literals are searched lower-cased in the case-folded text; non-ASCII characters end a run', () => {
  assert.deepEqual(requiredLiterals('Risk Free', true), 'risk free');
  assert.deepEqual(requiredLiterals('caf\u00e9 ordering', true), { all: [' ordering', 'caf'] });
  // RE2 matches k with the Kelvin sign and s with the long s: the prefilter must not rule them out.
  const pre = literalPrefilter('kelvin scale', 'i');
  assert.ok(pre);
  assert.ok(re2('kelvin scale', 'i')('\u212Aelvin \u017Fcale'));
  assert.ok(pre('\u212Aelvin \u017Fcale'));
  assert.ok(pre('KELVIN SCALE'));
  assert.equal(pre('nothing here'), false);
});

test('foldCase maps every character RE2 matches case-insensitively with an ASCII character onto that character, lower-cased', () => {
  const anyAscii = RE2JS.compile('[\\x00-\\x7f]', RE2JS.CASE_INSENSITIVE);
  const beyond: number[] = [];
  for (let cp = 128; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (anyAscii.test(String.fromCodePoint(cp))) beyond.push(cp);
  }
  // Today's tables: the Kelvin sign and the long s. Whatever they hold, each must fold right.
  assert.ok(beyond.includes(0x212a) && beyond.includes(0x17f));
  for (const cp of beyond) {
    const ch = String.fromCodePoint(cp);
    for (let a = 0; a < 128; a++) {
      const ascii = String.fromCharCode(a);
      if (RE2JS.compile(RE2JS.quote(ascii), RE2JS.CASE_INSENSITIVE).test(ch)) assert.equal(foldCase(ch), ascii.toLowerCase(), `U+${cp.toString(16)}`);
    }
  }
  for (let a = 0; a < 128; a++) assert.equal(foldCase(String.fromCharCode(a)), String.fromCharCode(a).toLowerCase());
});

const shipped = (YAML.parse(fs.readFileSync('policies/checks/content.yaml', 'utf8')) as { rules: Array<{ match?: string; pattern?: string; flags?: string }> }).rules
  .filter((r) => r.match === 'regex' && r.pattern)
  .map((r) => ({ pattern: r.pattern as string, flags: r.flags ?? '' }));

test('shipped rules: the prefilter never says no where RE2 says yes, on random text made of the pattern\'s own pieces', () => {
  const extra = [
    { pattern: 'money.back guarantee|risk.free', flags: 'i' },
    { pattern: '\\b(this (e-?mail|message) is not spam|not (a )?spam)\\b', flags: 'i' },
    { pattern: 'order (form|now)+ today', flags: '' },
    { pattern: 'x{0,3}abc(def){0}ghi', flags: '' },
    { pattern: 'abc(defghij)?klm', flags: '' },
    { pattern: 'ta+k{2,}s+ing|sk{1,3}y|(ask|kiss){2}', flags: 'i' },
    { pattern: 'dear (sir|madam)|(offer|deal)s? (is|are) (free|risk.free)', flags: 'i' },
  ];
  for (const { pattern, flags } of [...shipped, ...extra]) {
    const pre = literalPrefilter(pattern, flags);
    if (!pre) continue;
    const reference = re2(pattern, flags);
    // The same answer from one scan for the literals of several patterns.
    const scanner = new LiteralScanner([...pre.literals, 'spam', 'free', 'e', 'ee']);
    const words = pattern.split(/[^A-Za-z0-9$<:!]+/).filter(Boolean);
    const piece = fc.oneof(
      fc.constantFrom(...words, ' ', '-', '.', '_', '!', '\u212A', '\u017F', '\u00c9'),
      fc.constantFrom(...words).map((w) => w.toUpperCase()),
      fc.constantFrom(...words).map((w) => w.replace(/s/g, '\u017F').replace(/k/g, '\u212A')),
      fc.string({ maxLength: 3 }),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const text = pieces.join(pieces.length % 2 ? ' ' : '');
        const found = scanner.scan(pre.caseInsensitive ? foldCase(text) : text);
        return (pre(text) || !reference(text)) && pre(text, undefined, found) === pre(text);
      }),
      { numRuns: 300 },
    );
  }
});

test('compiled rules give the same answers with and without the prefilter', () => {
  const texts = ['Risk-free offer, no obligation!', 'Dear friend, CLICK HERE', '<FORM action=x>', 'plain note about lunch', 'Search engine ranking for you'];
  for (const { pattern, flags } of shipped) {
    const withPrefilter = compileLinear(pattern, flags);
    const reference = re2(pattern, flags);
    for (const t of texts) assert.equal(withPrefilter(t), reference(t), `${pattern} on ${t}`);
  }
});

test('the literal search stays linear on text made of near misses', () => {
  // Every literal starts like the text at every position and fails at its last character.
  const pattern = 'aaaaaaaaaaaaaaaaaaab|aaaaaaaaaaaaaaaaaaac|aaaaaaaaaaaaaaaaaaad|(?:aaaaaaaaaaaaaaaaaaae|aaaaaaaaaaaaaaaaaaaf) aaaaaaaaaaaaaaaaaaag';
  for (const flags of ['', 'i']) {
    const pre = literalPrefilter(pattern, flags);
    assert.ok(pre);
    const text = 'a'.repeat(262_144);
    const started = performance.now();
    assert.equal(pre(text), false);
    const ms = performance.now() - started;
    // Linear: some milliseconds for 256 K characters; a search whose time grew faster would take minutes.
    assert.ok(ms < 2000, `${Math.round(ms)} ms`);
  }
});
