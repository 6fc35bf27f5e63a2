import type { Policy } from '../policy/schema.js';
import type { ParseLimits } from '../mail/parse.js';
import type { TokenizerLimits } from './tokenizer.js';
import type { BayesRetention } from '../stores/types.js';
import { bayesRetention } from '../stores/retention.js';

/** How much of a message is parsed and tokenised: the same for scan, learn and the live proxy. */
export function tokenizerLimits(policy: Readonly<Policy>): TokenizerLimits {
  return { maxTokens: policy.bayes.max_tokens, maxTextChars: policy.bayes.max_text };
}

export function bayesLimits(policy: Readonly<Policy>): { parse: ParseLimits; tokenizer: TokenizerLimits; retention: BayesRetention } {
  return { parse: policy.limits, tokenizer: tokenizerLimits(policy), retention: bayesRetention(policy) };
}
