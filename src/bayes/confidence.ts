import type { SymbolHit } from '../decision/hits.js';

export interface ConfidenceBands {
  spam_probability: number;
  spam_certain: number;
  ham_probability: number;
  ham_certain: number;
}

function logit(p: number): number {
  const q = Math.min(1 - 1e-12, Math.max(1e-12, p));
  return Math.log(q / (1 - q));
}

/** 0 at `from`, 1 at `to`, measured in log-odds and clamped. */
function scale(p: number, from: number, to: number): number {
  const f = (logit(p) - logit(from)) / (logit(to) - logit(from));
  return Math.round(Math.min(1, Math.max(0, f)) * 1000) / 1000;
}

/**
 * Spam probability → BAYES_SPAM or BAYES_HAM with a factor (confidence 0..1), or nothing in
 * the unsure middle. The scale is in log-odds, not in probability: chi-square combining puts
 * most messages beyond 0.99, and the difference between 0.99 and 0.99999 is exactly the
 * difference between "probably" and "certainly".
 */
export function bayesHit(probability: number, bands: ConfidenceBands): SymbolHit | null {
  const detail = `p=${probability.toFixed(6)}`;
  if (probability >= bands.spam_probability) {
    const factor = scale(probability, bands.spam_probability, bands.spam_certain);
    return factor > 0 ? { name: 'BAYES_SPAM', factor, detail } : null;
  }
  if (probability <= bands.ham_probability) {
    const factor = scale(1 - probability, 1 - bands.ham_probability, 1 - bands.ham_certain);
    return factor > 0 ? { name: 'BAYES_HAM', factor, detail } : null;
  }
  return null;
}
