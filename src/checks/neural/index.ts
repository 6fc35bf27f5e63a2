import { defineCheck, NO_HITS } from '../../pipeline/check.js';
import type { TransactionContext } from '../../pipeline/context.js';
import { autolearnClass } from '../../bayes/autolearn.js';
import { isReadOnly } from '../../stores/read-only.js';
import type { Store } from '../../stores/types.js';
import { neuralManifest } from './manifest.js';
import { isNeuralInput, parseModel, predict, type NeuralModel } from './model.js';
import { trainNeural } from './train.js';

/**
 * The neural layer at end of DATA, after every other check (it reads their symbols). It
 * never speaks alone: without at least one other symbol it says nothing, and its score is
 * capped below the lowest score that greylists or rejects, so however it was trained it
 * cannot refuse a message that has no other evidence.
 */
export const neuralCheck = defineCheck(neuralManifest, () => {
  let cached: { at: number; model: NeuralModel | null } | null = null;
  const load = async (store: Store, reloadSeconds: number): Promise<NeuralModel | null> => {
    const now = Date.now();
    if (!cached || now - cached.at >= reloadSeconds * 1000) {
      const record = await store.neuralLoad();
      cached = { at: now, model: record ? parseModel(record.model) : null };
    }
    return cached.model;
  };
  return {
    neural: async (ctx) => {
      if (!ctx.message) return NO_HITS;
      const settings = ctx.policy.policy.neural;
      autolearnNeural(ctx);
      const evidence = ctx.hits.filter((h) => isNeuralInput(h.name));
      if (evidence.length === 0) return NO_HITS;
      const model = await load(ctx.store, settings.reload_seconds);
      if (!model || model.spam < settings.min_learns || model.ham < settings.min_learns) return NO_HITS;
      const p = predict(model, evidence);
      ctx.log.debug({ event: 'neural', probability: p, inputs: evidence.length }, 'neural layer scored');
      if (p >= settings.spam_probability) return hit(ctx, 'NEURAL_SPAM', (p - settings.spam_probability) / (1 - settings.spam_probability), p);
      if (p <= settings.ham_probability) return hit(ctx, 'NEURAL_HAM', (settings.ham_probability - p) / settings.ham_probability, p);
      return NO_HITS;
    },
  };
});

/** Below the lowest score that greylists or rejects: the cap on what the layer may add. */
export function neuralCap(ctx: TransactionContext): number {
  const a = ctx.policy.policy.actions;
  const blocking = [a.greylist, a.reject].filter((v): v is number => typeof v === 'number' && v > 0);
  return blocking.length ? Math.min(...blocking) * 0.5 : Infinity;
}

function hit(ctx: TransactionContext, name: string, confidence: number, p: number) {
  const weight = Math.abs(ctx.policy.weight(name));
  const cap = neuralCap(ctx);
  // A weight set above the cap is scaled down, not trusted: the cap is the promise.
  const factor = Math.min(1, Math.max(0.05, confidence), weight > 0 ? cap / weight : 1);
  return { hits: [{ name, factor, detail: `p=${p.toFixed(3)}` }] };
}

/** Train in the background from a message the other checks are sure about (bayes.autolearn decides). */
function autolearnNeural(ctx: TransactionContext): void {
  const cls = autolearnClass(ctx, ctx.policy.policy.bayes.autolearn);
  if (!cls || isReadOnly(ctx.store)) return;
  const inputs = ctx.hits.filter((h) => isNeuralInput(h.name)).map((h) => ({ name: h.name, ...(h.factor !== undefined ? { factor: h.factor } : {}) }));
  trainNeural(ctx.store, inputs, cls, ctx.policy.policy.neural.learning_rate).then(
    (result) => ctx.log.info({ event: 'neural_autolearn', class: cls, result }, 'neural autolearn'),
    (err: Error) => ctx.log.warn({ event: 'neural_autolearn_error', err: err.message }, 'neural autolearn failed'),
  );
}
