import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { uppercaseShare } from '../../src/checks/content/letter-case.js';
import { LiteralScanner } from '../../src/mail/literal-scan.js';

/** The plain definition: a cased letter has distinct lower and upper forms; a capital is its own upper form. */
function referenceShare(s: string): { letters: number; ratio: number } {
  let letters = 0;
  let upper = 0;
  for (const ch of s.split('')) {
    const up = ch.toUpperCase();
    if (ch.toLowerCase() === up) continue;
    letters++;
    if (ch === up) upper++;
  }
  return { letters, ratio: letters > 0 ? upper / letters : 0 };
}

test('uppercaseShare counts like the case mappings, for every UTF-16 unit and on mixed text', () => {
  for (let unit = 0; unit < 65_536; unit++) {
    const s = String.fromCharCode(unit);
    assert.deepEqual(uppercaseShare(s), referenceShare(s), `U+${unit.toString(16)}`);
  }
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
      assert.deepEqual(uppercaseShare(s), referenceShare(s));
    }),
    { numRuns: 500 },
  );
  assert.deepEqual(uppercaseShare('FREE Money ÉTÉ'), { letters: 12, ratio: 8 / 12 });
});

test('the literal scanner finds exactly the literals a substring search finds, overlapping and nested ones too', () => {
  const literals = ['he', 'she', 'his', 'hers', 'sir', 'sir/madam', 'madam', 'a', '$$$', '!!', 'ünï', 'x\u212Ay'];
  const scanner = new LiteralScanner(literals);
  const expected = (text: string) => new Set(literals.filter((l) => text.includes(l)));
  assert.deepEqual(scanner.scan('ushers'), new Set(['he', 'she', 'hers']));
  assert.deepEqual(scanner.scan('dear sir/madam!!'), new Set(['sir', 'sir/madam', 'madam', 'a', '!!']));
  assert.deepEqual(scanner.scan(''), new Set());
  const piece = fc.oneof(fc.constantFrom(...literals, 's', 'h', 'e', 'r', '/', '$', '!', 'ü', 'x', '\u212A'), fc.string({ maxLength: 3 }));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 20 }), (pieces) => {
      const text = pieces.join('');
      assert.deepEqual(scanner.scan(text), expected(text));
    }),
    { numRuns: 1000 },
  );
});

test('the literal scanner stays linear on text made of near misses', () => {
  const scanner = new LiteralScanner(['aaaaaaaaaaaaaaaaaaab', 'aaaaaaaaaaaaaaaaaaac', 'ab', 'ba', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaad']);
  for (const text of ['a'.repeat(262_144), 'ab'.repeat(131_072), 'aaaaaaaaaaaaaaaaaaa\u00e9'.repeat(13_000)]) {
    const started = performance.now();
    scanner.scan(text);
    const ms = performance.now() - started;
    // One table step per character: milliseconds for 256 K characters under any load.
    assert.ok(ms < 2000, `${Math.round(ms)} ms`);
  }
});

test('no scanner for literals whose table would be too large: the rules then search one by one', () => {
  const many = Array.from({ length: 3000 }, (_, i) => `${String.fromCharCode(0x4e00 + i)}literal number ${i} of a very long policy`);
  assert.equal(LiteralScanner.for(many), null);
  assert.ok(LiteralScanner.for(['free', 'money']));
});
