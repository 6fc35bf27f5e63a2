import { z } from 'zod';
import { checkBase, defineManifest } from '../manifest.js';

/**
 * Fuzzy signatures (see shingles.ts): messages learned as spam or ham with `rspamc
 * fuzzy_add` or `borderpatrol fuzzy add` are recognised again when a copy's text agrees
 * closely enough, whatever greeting, name or link it carries.
 */
export const fuzzySchema = z
  .strictObject({
    ...checkBase,
    /** Share of the 32 min-hashes a message must share with a learned one (0.5 = about half its three-word shingles). */
    min_similarity: z.number().gt(0).max(1).default(0.5),
    /** Texts with fewer words get no signature: short texts agree too easily. */
    min_words: z.number().int().min(3).default(20),
  })
  .prefault({});

/** rspamd's flag numbers for the symbols (its default fuzzy rule): 1 spam, 2 probable spam, 3 ham. */
export const FUZZY_FLAGS: Readonly<Record<number, string>> = { 1: 'FUZZY_DENIED', 2: 'FUZZY_PROB', 3: 'FUZZY_WHITE' };

export const fuzzyManifest = defineManifest({
  name: 'fuzzy',
  runs: { fuzzy: 'data' },
  schema: fuzzySchema,
  symbols: Object.values(FUZZY_FLAGS),
});
