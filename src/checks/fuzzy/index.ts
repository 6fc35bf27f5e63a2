import { defineCheck, NO_HITS } from '../../pipeline/check.js';
import { FUZZY_FLAGS, fuzzyManifest } from './manifest.js';
import { SHINGLES } from './shingles.js';
import { messageShingles } from './signature.js';

/**
 * At end of DATA: the message's fuzzy signature is looked up in the store; a learned one
 * that agrees on at least fuzzy.min_similarity of its min-hashes scores the symbol of its
 * flag, with the agreement as factor (a closer copy weighs more).
 */
export const fuzzyCheck = defineCheck(fuzzyManifest, (deps) => ({
  fuzzy: async (ctx) => {
    // With no signature stored there is nothing to find: the signature is not computed.
    if (!ctx.message || !ctx.store.fuzzyAny()) return NO_HITS;
    const section = ctx.policy.policy.fuzzy;
    const shingles = messageShingles(ctx.message, section.min_words);
    if (!shingles) return NO_HITS;
    const found = await ctx.store.fuzzyFind(shingles, Math.ceil(section.min_similarity * SHINGLES));
    const symbol = found ? FUZZY_FLAGS[found.flag] : undefined;
    if (!found || !symbol) return NO_HITS;
    const share = found.matched / SHINGLES;
    deps.log.debug({ event: 'fuzzy_match', tx: ctx.id, digest: found.digest, flag: found.flag, similarity: share }, 'fuzzy signature matched');
    return { hits: [{ name: symbol, factor: share, detail: `${found.digest.slice(0, 12)} ${Math.round(share * 100)}%` }] };
  },
}));
