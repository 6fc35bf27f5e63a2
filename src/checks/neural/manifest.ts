import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

/**
 * The neural layer (like rspamd's neural module): a small model over the symbols the other
 * checks found, trained by the same learn events as Bayes (learn, rspamc learn_spam /
 * learn_ham, autolearn), kept in the store. See model.ts.
 */
export const neuralSchema = z
  .strictObject({
    ...checkBase,
    /** No verdict until the model has learned at least this many messages of EACH class. */
    min_learns: z.number().int().min(0).default(100),
    /** NEURAL_SPAM from this spam probability (factor growing to 1 at probability 1); NEURAL_HAM mirrors it. */
    spam_probability: z.number().min(0.5).max(1).default(0.8),
    ham_probability: z.number().min(0).max(0.5).default(0.2),
    /** Step size of each training update. */
    learning_rate: z.number().gt(0).max(1).default(0.1),
    /** Seconds a server keeps the model it read before reading it again (a training elsewhere shows up within this). */
    reload_seconds: z.number().int().min(0).max(3600).default(10),
  })
  .prefault({});

export type NeuralPolicy = z.output<typeof neuralSchema>;

export const NEURAL_SYMBOLS: readonly string[] = ['NEURAL_SPAM', 'NEURAL_HAM'];

export const neuralManifest = defineManifest({
  name: 'neural',
  runs: { neural: 'data' },
  schema: neuralSchema,
  symbols: NEURAL_SYMBOLS,
});
