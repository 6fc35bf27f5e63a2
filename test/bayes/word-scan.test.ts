import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { scanWords } from '../../src/bayes/word-scan.js';
import { rng } from './synthetic.js';

/** The expression the scan stands for. */
const WORD = /[\p{L}\p{N}$€£¥][\p{L}\p{N}$€£¥%'’.@_!*-]*/gu;

const scanned = (text: string) => scanWords(text);

describe('word scan', () => {
  it('finds what the word expression matches on hand-picked text', () => {
    for (const text of [
      '',
      'Hello, world! 100% free $$$ p*rn ... don’t e-mail me@example.com_',
      '€500 £20 ¥3000 -x- ’quoted’ ***',
      'Ünïcödé wörds, Привет мир, 中文字符, العربية, १२३ ٤٥٦',
      '𝐁𝐨𝐥𝐝 math letters 𝟏𝟐 and emoji 😀 between',
      'lone \uD835 high and \uDC01 low surrogates\uD835',
      'tab\tnew\nline\r\ncr\u00a0nbsp\u200bzero-width',
    ])
      assert.deepEqual(scanned(text), text.match(WORD) ?? [], text);
  });

  it('finds what the word expression matches on random text of every kind of character', () => {
    const next = rng(3);
    const pieces = ['a', 'Z', '7', '$', '€', '£', '¥', '%', "'", '’', '.', '@', '_', '!', '*', '-', ' ', ',', '\n', 'é', 'ß', 'Ж', '中', '٣', 'Ⅻ', '²', '😀', '𝐀', '\uD835', '\uDC00', '\u0301', '\u200d', '#', '/'];
    for (let round = 0; round < 2000; round++) {
      let text = '';
      const length = Math.floor(next() * 40);
      for (let i = 0; i < length; i++) text += pieces[Math.floor(next() * pieces.length)];
      assert.deepEqual(scanned(text), text.match(WORD) ?? [], JSON.stringify(text));
    }
  });

  it('finds what the word expression matches in real mail', () => {
    // The golden messages the repository holds: plain, HTML, MIME, phishing and spam.
    const golden = path.resolve(import.meta.dirname, '..', 'golden');
    const text = fs.readdirSync(golden).filter((f) => f.endsWith('.eml')).map((f) => fs.readFileSync(path.join(golden, f), 'utf8'));
    assert.ok(text.length >= 5);
    for (const t of text) assert.deepEqual(scanned(t.toLowerCase()), t.toLowerCase().match(WORD) ?? []);
  });
});
