import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

/** The Bayes classifier (src/bayes/): when it speaks, how sure it must be, and autolearn. */
export const bayesSchema = z
  .strictObject({
    ...checkBase,
    /** No verdict until at least this many messages of EACH class have been learned. */
    min_learns: z.number().int().min(0).default(200),
    /**
     * BAYES_SPAM fires at a spam probability of at least this; its factor (confidence) grows
     * from 0 at this probability to 1 at `spam_certain`. BAYES_HAM mirrors it below 0.5.
     */
    spam_probability: z.number().min(0.5).max(1).default(0.6),
    spam_certain: z.number().min(0.5).max(1).default(0.9999),
    ham_probability: z.number().min(0).max(0.5).default(0.4),
    ham_certain: z.number().min(0).max(0.5).default(0.0001),
    /** Unique tokens read per message (headers first, word pairs last). */
    max_tokens: z.number().int().min(50).max(20_000).default(2500),
    /** Characters of decoded text (and of HTML) read per message. */
    max_text: z.number().int().min(1000).max(1_000_000).default(40_000),
    /**
     * Days a token (and a learned message's digest) is kept after it was last learned; what
     * no message has taught for this long is dropped, so the store stays bounded. 0 keeps all.
     */
    expire_days: z.number().int().min(0).max(3650).default(180),
    /** Most tokens stored; past it the rarest are dropped (Redis: no new tokens are added). */
    max_stored_tokens: z.number().int().min(10_000).max(100_000_000).default(2_000_000),
    autolearn: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** Learn as spam when the score WITHOUT the Bayes symbols is at least this. */
        spam_score: z.number().default(12),
        /** Learn as ham when the score without the Bayes symbols is at most this. */
        ham_score: z.number().default(-1),
      })
      .prefault({}),
  })
  .superRefine((b, ctx) => {
    if (b.spam_certain <= b.spam_probability) {
      ctx.addIssue({ code: 'custom', path: ['spam_certain'], message: `spam_certain must be above spam_probability (${b.spam_probability})` });
    }
    if (b.ham_certain >= b.ham_probability) {
      ctx.addIssue({ code: 'custom', path: ['ham_certain'], message: `ham_certain must be below ham_probability (${b.ham_probability})` });
    }
    if (b.autolearn.ham_score >= b.autolearn.spam_score) {
      ctx.addIssue({ code: 'custom', path: ['autolearn', 'ham_score'], message: `ham_score must be below spam_score (${b.autolearn.spam_score})` });
    }
  })
  .prefault({});

export type BayesPolicy = z.output<typeof bayesSchema>;

/** The symbols the Bayes check emits; their weights live in policies/symbols.yaml. */
export const BAYES_SYMBOLS: readonly string[] = ['BAYES_SPAM', 'BAYES_HAM'];

export const bayesManifest = defineManifest({
  name: 'bayes',
  runs: { bayes: 'data' },
  schema: bayesSchema,
  symbols: BAYES_SYMBOLS,
});
