import type { Policy } from '../policy/schema.js';
import type { BayesRetention } from './types.js';

/** What the policy says about keeping learned Bayes data (bayes.expire_days, bayes.max_stored_tokens). */
export function bayesRetention(policy: Readonly<Policy>): BayesRetention {
  return { expireSeconds: policy.bayes.expire_days * 86_400, maxTokens: policy.bayes.max_stored_tokens };
}
