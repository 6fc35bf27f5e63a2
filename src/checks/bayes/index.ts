import { defineCheck, NO_HITS } from '../../pipeline/check.js';
import { bayesManifest } from './manifest.js';
import { classify } from '../../bayes/classifier.js';
import { bayesHit } from '../../bayes/confidence.js';
import { messageKeys } from '../../bayes/learn.js';
import { autolearn } from '../../bayes/autolearn.js';
import { tokenizerLimits } from '../../bayes/limits.js';

/**
 * The Bayes classifier at end of DATA. It runs last, so autolearn can judge the message by
 * every other check's score. Until `min_learns` messages of each class are learned it says
 * nothing: a classifier trained on a handful of mails is confidently wrong.
 */
export const bayesCheck = defineCheck(bayesManifest, () => {
  // Until min_learns is reached the classifier says nothing, so tokenizing the message
  // and fetching its tokens is work thrown away (half the CPU of a message on a fresh
  // install). While the last answer was "not trained yet", only the learned totals are
  // asked for (one small read); once trained, tokens and totals go out together.
  let trained = false;
  return {
    bayes: async (ctx) => {
      const msg = ctx.message;
      if (!msg) return NO_HITS;
      const settings = ctx.policy.policy.bayes;
      const enough = (t: { spam: number; ham: number }) => t.spam >= settings.min_learns && t.ham >= settings.min_learns;
      if (!trained && !enough(await ctx.store.bayesTotals())) {
        autolearn(ctx);
        return NO_HITS;
      }
      const keys = messageKeys(msg, tokenizerLimits(ctx.policy.policy));
      const result = await classify(ctx.store, keys);
      const ready = enough(result.totals);
      trained = ready;
      const hit = ready ? bayesHit(result.probability, settings) : null;
      ctx.log.debug(
        { event: 'bayes', ready, probability: result.probability, tokens: keys.length, used: result.used, learned: result.totals },
        'bayes classified',
      );
      autolearn(ctx);
      return hit ? { hits: [hit] } : NO_HITS;
    },
  };
});
