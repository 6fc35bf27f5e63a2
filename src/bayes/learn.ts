import type { ParsedMessage } from '../mail/parsed-message.js';
import { parseMessage, type ParseLimits } from '../mail/parse.js';
import type { BayesClass, BayesRetention, LearnResult, Store } from '../stores/types.js';
import { tokenizeKeys, type TokenizerLimits } from './tokenizer.js';
import { messageDigest } from './digest.js';

/**
 * The stored keys of a message's tokens, computed once per parsed message: the Bayes check
 * and autolearn read the same message in one transaction and must see the same tokens as
 * `learn` does, so all three come through here.
 */
const cache = new WeakMap<ParsedMessage, string[]>();

export function messageKeys(msg: ParsedMessage, limits: TokenizerLimits): string[] {
  let keys = cache.get(msg);
  if (!keys) {
    keys = tokenizeKeys(msg, limits);
    cache.set(msg, keys);
  }
  return keys;
}

/** Learn one parsed message: the store records its digest, so repeats and class moves are handled there. */
export function learnParsed(store: Store, msg: ParsedMessage, cls: BayesClass, limits: TokenizerLimits, retention?: BayesRetention): Promise<LearnResult> {
  return store.bayesLearn(messageDigest(msg), messageKeys(msg, limits), cls, retention);
}

/** Learn one raw message (what `learn`, the admin learn endpoints and the benchmark use). */
export async function learnMessage(
  store: Store,
  raw: Buffer,
  cls: BayesClass,
  limits: { parse: ParseLimits; tokenizer: TokenizerLimits; retention?: BayesRetention },
): Promise<LearnResult> {
  return learnParsed(store, await parseMessage(raw, limits.parse), cls, limits.tokenizer, limits.retention);
}
