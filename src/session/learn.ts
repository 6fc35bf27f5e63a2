import type { BayesClass, LearnResult } from '../stores/types.js';
import { learnMessage } from '../bayes/learn.js';
import { bayesLimits } from '../bayes/limits.js';
import { trainNeural } from '../checks/neural/train.js';
import { isNeuralInput } from '../checks/neural/model.js';
import { scanMessage, type ScanDeps } from './scan.js';

/**
 * One learn event (`learn`, rspamc learn_spam / learn_ham): Bayes learns the message's
 * tokens, and when that taught it something new (not a message it already had as this
 * class) the neural layer learns the message's symbols, found by scanning it as `scan`
 * and `/checkv2` do (a local client, read-only), so the model learns from the same vector
 * it will later judge.
 */
export async function learnEvent(deps: ScanDeps, raw: Buffer, cls: BayesClass): Promise<LearnResult> {
  const policy = deps.policy.policy;
  const result = await learnMessage(deps.store, raw, cls, bayesLimits(policy));
  if (result === 'already_learned' || !policy.neural.enabled) return result;
  const verdict = await scanMessage(deps, raw, { ip: '127.0.0.1', helo: 'localhost', rcpts: [] });
  // The verdict carries scores; the factor a check gave is the score over the symbol's weight.
  const factor = (name: string, score: number) => {
    const weight = deps.policy.weight(name);
    return weight === 0 ? 1 : Math.abs(score / weight);
  };
  const inputs = verdict.hits.filter((h) => isNeuralInput(h.name)).map((h) => ({ name: h.name, factor: factor(h.name, h.score) }));
  const trained = await trainNeural(deps.store, inputs, cls, policy.neural.learning_rate);
  if (trained === 'conflict') deps.log.warn({ event: 'neural_learn_conflict', class: cls }, 'neural layer: too many concurrent updates, this message was not learned');
  return result;
}
