import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chi2Q, combine, tokenProbability, DEFAULT_CLASSIFIER, type ClassifierParams } from '../../src/bayes/classifier.js';
import type { BayesTokenCounts } from '../../src/stores/types.js';
import { rng } from './synthetic.js';

/** Combining written plainly: every token's probability, the strongest maxTokens by a stable sort. */
function reference(counts: readonly BayesTokenCounts[], totals: BayesTokenCounts, p: ClassifierParams): { probability: number; used: number } {
  const probs = counts.map((c) => tokenProbability(c, totals, p)).filter((f) => Math.abs(f - 0.5) >= p.minDeviation);
  if (probs.length === 0) return { probability: 0.5, used: 0 };
  const kept = [...probs].sort((a, b) => Math.abs(b - 0.5) - Math.abs(a - 0.5)).slice(0, p.maxTokens);
  const lnSpam = kept.reduce((s, f) => s + Math.log(1 - f), 0);
  const lnHam = kept.reduce((s, f) => s + Math.log(f), 0);
  const spamminess = 1 - chi2Q(-2 * lnSpam, 2 * kept.length);
  const hamminess = 1 - chi2Q(-2 * lnHam, 2 * kept.length);
  return { probability: (1 + spamminess - hamminess) / 2, used: kept.length };
}

describe('chi-square combining keeps the strongest tokens', () => {
  it('takes the same tokens as a stable sort by strength, ties included, to float precision', () => {
    const next = rng(5);
    const totals = { spam: 300, ham: 700 };
    for (let round = 0; round < 300; round++) {
      // Few distinct counts make many tokens exactly as strong (ties at the cut), both ways.
      const kinds = Array.from({ length: 1 + Math.floor(next() * 12) }, () => ({ spam: Math.floor(next() * 30), ham: Math.floor(next() * 30) }));
      const counts = Array.from({ length: Math.floor(next() * 700) }, () => kinds[Math.floor(next() * kinds.length)]!);
      const p = { ...DEFAULT_CLASSIFIER, maxTokens: 1 + Math.floor(next() * 200) };
      const got = combine(counts, totals, p);
      const want = reference(counts, totals, p);
      assert.equal(got.used, want.used);
      assert.ok(Math.abs(got.probability - want.probability) <= 1e-12 * Math.max(1, Math.abs(want.probability)), `${got.probability} vs ${want.probability}`);
    }
  });

  it('weighs the two sides of a tie at the cut in the order the tokens came', () => {
    const totals = { spam: 100, ham: 100 };
    const spammy = { spam: 9, ham: 1 };
    const hammy = { spam: 1, ham: 9 };
    // Exactly as strong either way: with room for one, the first one decides.
    const p = { ...DEFAULT_CLASSIFIER, maxTokens: 1 };
    assert.ok(combine([spammy, hammy], totals, p).probability > 0.5);
    assert.ok(combine([hammy, spammy], totals, p).probability < 0.5);
  });
});
