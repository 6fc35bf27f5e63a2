import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzzyShingles, fuzzySignature, type FuzzySignature } from '../../src/checks/fuzzy/shingles.js';
import { messageShingles, messageSignature } from '../../src/checks/fuzzy/signature.js';
import { parseMessage } from '../../src/mail/parse.js';
import { testPolicy } from './helpers.js';
import { sampleTexts } from './fuzzy-texts.js';

/**
 * Signatures already learned stay valid: the signatures of fixed texts and messages are the
 * ones pinned in fuzzy-signatures.json, digest and every min-hash, and the min-hashes alone
 * (what a lookup computes) are the same as those of the full signature.
 */

const here = path.dirname(fileURLToPath(import.meta.url));
const pinned = JSON.parse(fs.readFileSync(path.join(here, 'fuzzy-signatures.json'), 'utf8')) as {
  texts: Array<FuzzySignature | null>;
  messages: Record<string, FuzzySignature | null>;
};

test('the signatures of the sample texts are the pinned ones', () => {
  const texts = sampleTexts();
  assert.equal(texts.length, pinned.texts.length);
  texts.forEach((text, i) => {
    assert.deepEqual(fuzzySignature(text, 3), pinned.texts[i], `text ${i}`);
    assert.deepEqual(fuzzyShingles(text, 3), pinned.texts[i]?.shingles ?? null, `text ${i}, min-hashes only`);
  });
  assert.ok(pinned.texts.filter(Boolean).length >= 20, 'most samples are long enough to sign');
});

test('the signatures of the golden messages are the pinned ones', async () => {
  const limits = (await testPolicy()).policy.limits;
  const golden = path.join(here, '..', 'golden');
  let signed = 0;
  for (const [file, want] of Object.entries(pinned.messages)) {
    const msg = await parseMessage(fs.readFileSync(path.join(golden, file)), limits);
    assert.deepEqual(messageSignature(msg, 20), want, file);
    assert.deepEqual(messageShingles(msg, 20), want?.shingles ?? null, file);
    if (want) signed++;
  }
  assert.ok(signed >= 3, `${signed} golden messages signed`);
});

test('signing another text in between changes nothing (the word buffer is reused)', () => {
  const long = sampleTexts().at(-1) ?? '';
  const first = fuzzySignature(long, 3);
  fuzzySignature('short text that is long enough to sign here', 3);
  assert.deepEqual(fuzzySignature(long, 3), first);
});
