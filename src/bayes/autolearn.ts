import type { TransactionContext } from '../pipeline/context.js';
import { scoreHits } from '../decision/score.js';
import type { BayesPolicy } from '../checks/bayes/manifest.js';
import type { BayesClass } from '../stores/types.js';
import { learnParsed } from './learn.js';
import { bayesRetention } from '../stores/retention.js';
import { BAYES_SYMBOLS } from '../checks/bayes/manifest.js';
import { tokenizerLimits } from './limits.js';

/**
 * Which class, if any, a message should be learned as on its own: the score of every OTHER
 * symbol decides (Bayes never trains itself on its own opinion, or one early mistake would
 * feed on itself).
 */
export function autolearnClass(ctx: TransactionContext, settings: BayesPolicy['autolearn']): BayesClass | null {
  if (!settings.enabled || !ctx.message || ctx.message.truncated) return null;
  const others = ctx.hits.filter((h) => !BAYES_SYMBOLS.includes(h.name));
  const { score } = scoreHits(others, ctx.policy);
  if (score >= settings.spam_score) return 'spam';
  if (score <= settings.ham_score) return 'ham';
  return null;
}

/** Learn in the background: the SMTP client never waits for training. */
export function autolearn(ctx: TransactionContext): void {
  const cls = autolearnClass(ctx, ctx.policy.policy.bayes.autolearn);
  const msg = ctx.message;
  if (!cls || !msg) return;
  learnParsed(ctx.store, msg, cls, tokenizerLimits(ctx.policy.policy), bayesRetention(ctx.policy.policy)).then(
    (result) => ctx.log.info({ event: 'bayes_autolearn', class: cls, result }, 'bayes autolearn'),
    (err: Error) => ctx.log.warn({ event: 'bayes_autolearn_error', err: err.message }, 'bayes autolearn failed'),
  );
}
