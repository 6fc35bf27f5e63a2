import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import YAML from 'yaml';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { requiredLiterals, literalPrefilter } from '../../src/mail/regex-literals.js';
import { compileLinear } from '../../src/mail/linear-regex.js';

/** RE2 alone, as the rules ran before the prefilter: the reference the prefilter must never contradict. */
function re2(pattern: string, flags: string): (text: string) => boolean {
  let bits = 0;
  if (flags.includes('i')) bits |= RE2JS.CASE_INSENSITIVE;
  if (flags.includes('m')) bits |= RE2JS.MULTILINE;
  if (flags.includes('s')) bits |= RE2JS.DOTALL;
  const re = RE2JS.compile(pattern, bits);
  return (t) => re.test(t);
}

test('the literal every match contains: runs, required groups, alternatives', () => {
  assert.deepEqual(requiredLiterals('order form', false), ['order form']);
  assert.deepEqual(requiredLiterals('nothing to lose|no obligation', false), ['nothing to lose', 'no obligation']);
  // A quantified character leaves the run; an optional group adds nothing; a required one counts.
  assert.deepEqual(requiredLiterals('colou?r chart', false), ['r chart']);
  assert.deepEqual(requiredLiterals('win (big )?prizes', false), ['prizes']);
  assert.deepEqual(requiredLiterals('win (gigantic )?prize', false), ['prize']);
  assert.deepEqual(requiredLiterals('win (gigantic ){0,2}prize', false), ['prize']);
  assert.deepEqual(requiredLiterals('win (gigantic )*prize', false), ['prize']);
  assert.deepEqual(requiredLiterals('\\b(viagra|cialis)\\b', false), ['viagra', 'cialis']);
  assert.deepEqual(requiredLiterals('(?:viagra|cialis)+ now', false), ['viagra', 'cialis']);
  assert.deepEqual(requiredLiterals('\\$\\$\\$', false), ['$$$']);
});

test('anything not fully understood gives no prefilter (RE2 always runs)', () => {
  for (const p of ['(?i)free money', '\\x41BCDEF', '\\u0041BCDEF', '\\cJabcdef', '\\p{L}abcdef', '[]abc]xyzw', 'abc|x', 'a{2', 'ab)c', '(abc|d)']) {
    assert.equal(requiredLiterals(p, false), null, p);
  }
  // Each alternative needs a literal of its own, or nothing can be ruled out.
  assert.equal(requiredLiterals('free money|\\d+', false), null);
});

test('case-insensitive: k and s (which RE2 folds with U+212A and U+017F) and non-ASCII characters end a run', () => {
  assert.deepEqual(requiredLiterals('risk free', true), [' free']);
  assert.deepEqual(requiredLiterals('caf\u00e9 ordering', true), [' ordering']);
  // The Kelvin sign matches k case-insensitively in RE2; the prefilter must not rule it out.
  const pre = literalPrefilter('kelvin scale', 'i');
  assert.ok(pre);
  assert.ok(re2('kelvin scale', 'i')('\u212Aelvin \u017Fcale'));
  assert.ok(pre('\u212Aelvin \u017Fcale'));
  assert.ok(pre('KELVIN SCALE'));
  assert.equal(pre('nothing here'), false);
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
  ];
  for (const { pattern, flags } of [...shipped, ...extra]) {
    const pre = literalPrefilter(pattern, flags);
    if (!pre) continue;
    const reference = re2(pattern, flags);
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
        return pre(text) || !reference(text);
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
