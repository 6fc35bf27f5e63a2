import type { BayesTokenCounts, Store } from '../stores/types.js';

/**
 * Robinson–Fisher ("chi-square") combining, as in SpamBayes and SpamAssassin's Bayes:
 *
 * - each token's spam probability is smoothed toward `unknownProb` by `strength`, so a
 *   token seen once counts for little and one seen a thousand times for a lot;
 * - only tokens at least `minDeviation` away from 0.5 count, at most `maxTokens` of them
 *   (the strongest), so a long message cannot drown the evidence in noise;
 * - Fisher's method turns the spam and ham evidence into two chi-square probabilities,
 *   and their balance is the message's spam probability. Unlike Graham's product this
 *   gives a real "unsure" (near 0.5) when a message has strong evidence both ways.
 */
export interface ClassifierParams {
  strength: number;
  unknownProb: number;
  minDeviation: number;
  maxTokens: number;
}

export const DEFAULT_CLASSIFIER: ClassifierParams = { strength: 0.45, unknownProb: 0.5, minDeviation: 0.1, maxTokens: 150 };

export interface Classification {
  /** Spam probability 0..1; 0.5 means no evidence either way. */
  probability: number;
  /** Tokens that took part. */
  used: number;
}

/** Smoothed spam probability of one token given its counts and the learned totals. */
export function tokenProbability(c: BayesTokenCounts, totals: BayesTokenCounts, p: ClassifierParams): number {
  const n = c.spam + c.ham;
  if (n === 0) return p.unknownProb;
  const spamRatio = c.spam / Math.max(1, totals.spam);
  const hamRatio = c.ham / Math.max(1, totals.ham);
  const raw = spamRatio / (spamRatio + hamRatio);
  return (p.strength * p.unknownProb + n * raw) / (p.strength + n);
}

/** Probability that a chi-square statistic with `dof` (even) degrees of freedom is at least x2. */
export function chi2Q(x2: number, dof: number): number {
  const m = x2 / 2;
  let term = Math.exp(-m);
  let sum = term;
  for (let i = 1; i < dof / 2; i++) {
    term *= m / i;
    sum += term;
  }
  return Math.min(sum, 1);
}

export function combine(counts: readonly BayesTokenCounts[], totals: BayesTokenCounts, p: ClassifierParams = DEFAULT_CLASSIFIER): Classification {
  const probs: number[] = [];
  for (const c of counts) {
    const f = tokenProbability(c, totals, p);
    if (Math.abs(f - 0.5) >= p.minDeviation) probs.push(f);
  }
  if (probs.length === 0) return { probability: 0.5, used: 0 };
  // The strongest maxTokens: those further from 0.5 than the maxTokens-th strongest, then
  // as many as are missing of those exactly as far, first come first taken. (A numeric sort
  // of the distances finds that one; sorting the probabilities with a comparator cost more
  // than the rest of the classifier.)
  let threshold = -1;
  let ties = 0;
  if (probs.length > p.maxTokens) {
    const distances = new Float64Array(probs.length);
    for (let i = 0; i < probs.length; i++) distances[i] = Math.abs(probs[i]! - 0.5);
    distances.sort();
    threshold = distances[distances.length - p.maxTokens]!;
    ties = p.maxTokens;
    for (let i = distances.length - 1; distances[i]! > threshold; i--) ties--;
  }
  // Sums of logs, not products: a product of 150 small numbers underflows to 0.
  let lnSpam = 0;
  let lnHam = 0;
  let used = 0;
  for (const f of probs) {
    const distance = Math.abs(f - 0.5);
    if (distance < threshold || (distance === threshold && ties-- <= 0)) continue;
    lnSpam += Math.log(1 - f);
    lnHam += Math.log(f);
    used++;
  }
  const dof = 2 * used;
  const spamminess = 1 - chi2Q(-2 * lnSpam, dof);
  const hamminess = 1 - chi2Q(-2 * lnHam, dof);
  return { probability: (1 + spamminess - hamminess) / 2, used };
}

export interface StoreClassification extends Classification {
  totals: BayesTokenCounts;
}

/**
 * Look the tokens and the learned totals up together (both requests go out at once, so a
 * Redis store answers in one round trip) and combine them.
 */
export async function classify(store: Store, keys: readonly string[], p: ClassifierParams = DEFAULT_CLASSIFIER): Promise<StoreClassification> {
  const [counts, totals] = await Promise.all([store.bayesGetTokens(keys), store.bayesTotals()]);
  return { ...combine(counts, totals, p), totals };
}
