import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collapseWhiteSpace } from '../../src/mail/linear-text.js';
import { rng } from '../bayes/synthetic.js';

const collapsedByRegex = (s: string) => s.replace(/\s+/g, ' ').trim();

// Every character \s matches, a few that look like space but are not (U+200B, U+180E), Latin-1,
// wide characters and both halves of a surrogate pair (alone as well as paired).
const ALPHABET = [
  ...'\t\n\v\f\r \u00a0\u1680\u2000\u2005\u200a\u2028\u2029\u202f\u205f\u3000\ufeff',
  '\u200b', '\u180e', 'a', 'Z', '7', '.', '\u00e9', '\u00ff', '\u0100', '\u4e2d', '\ud83d', '\ude00', '\ud83d\ude00',
];

test('collapseWhiteSpace reads as the regular expression it replaces, for narrow and wide text', () => {
  const random = rng(16);
  for (let round = 0; round < 3000; round++) {
    const length = Math.floor(random() * 40);
    let s = '';
    for (let i = 0; i < length; i++) s += ALPHABET[Math.floor(random() * ALPHABET.length)];
    assert.equal(collapseWhiteSpace(s), collapsedByRegex(s), JSON.stringify(s));
  }
  for (const s of ['', ' ', '\r\n\t', 'word', '  two   words  ', '\u00e9t\u00e9\u00a0\u00e9t\u00e9', '\u4e2d  \u6587', 'x\u3000\ufeffy'])
    assert.equal(collapseWhiteSpace(s), collapsedByRegex(s), JSON.stringify(s));
});

test('collapseWhiteSpace: a long text after a short one, and a short one after a long one, come out whole', () => {
  const long = 'word \t '.repeat(200_000) + '\u4e2d';
  const short = ' a  b ';
  assert.equal(collapseWhiteSpace(short), 'a b');
  assert.equal(collapseWhiteSpace(long), collapsedByRegex(long));
  assert.equal(collapseWhiteSpace(short), 'a b');
  assert.equal(collapseWhiteSpace('x'.repeat(300_000)), 'x'.repeat(300_000));
});
