import { parseMessage, type ParseLimits } from '../../mail/parse.js';
import type { Store } from '../../stores/types.js';
import { FUZZY_FLAGS } from './manifest.js';
import { messageSignature } from './signature.js';

/** What adding or deleting one message's signature did. */
export type FuzzyLearnResult = 'added' | 'deleted' | 'not_found' | 'too_short';

export interface FuzzyLearnOptions {
  op: 'add' | 'del';
  /** 1 spam, 2 probable spam, 3 ham (rspamd's numbering). */
  flag: number;
  weight: number;
  parse: ParseLimits;
  minWords: number;
}

export class FuzzyFlagError extends Error {}

/** A flag given by a client: one of FUZZY_FLAGS. */
export function fuzzyFlag(value: string | undefined): number {
  const flag = value === undefined || value === '' ? 1 : Number(value);
  if (!Number.isInteger(flag) || !(flag in FUZZY_FLAGS)) {
    throw new FuzzyFlagError(`flag ${value}: expected ${Object.entries(FUZZY_FLAGS).map(([n, s]) => `${n} (${s})`).join(', ')}`);
  }
  return flag;
}

/** Add or delete one raw message's fuzzy signature (what `rspamc fuzzy_add` and `borderpatrol fuzzy` do). */
export async function fuzzyLearn(store: Store, raw: Buffer, o: FuzzyLearnOptions): Promise<{ result: FuzzyLearnResult; digest: string }> {
  const signature = messageSignature(await parseMessage(raw, o.parse), o.minWords);
  if (!signature) return { result: 'too_short', digest: '' };
  if (o.op === 'add') {
    await store.fuzzyAdd(signature.digest, signature.shingles, o.flag, o.weight);
    return { result: 'added', digest: signature.digest };
  }
  return { result: (await store.fuzzyDelete(signature.digest, signature.shingles)) ? 'deleted' : 'not_found', digest: signature.digest };
}
