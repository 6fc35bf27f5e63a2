import type { AdminServer, AdminRequest, AdminResponse } from './server.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Store } from '../stores/types.js';
import type { Logger } from '../observability/logger.js';
import { normalizeLineEnds } from '../session/message-reader.js';
import { fuzzyFlag, FuzzyFlagError, fuzzyLearn } from '../checks/fuzzy/learn.js';

export interface FuzzyRouteDeps {
  policy: () => CompiledPolicy;
  store: Store;
  log: Logger;
  maxBody: number;
}

/**
 * Fuzzy signatures learned over HTTP in rspamd's controller protocol, so Debian's `rspamc`
 * works unchanged: `rspamc -h HOST:PORT -P PASSWORD fuzzy_add -f FLAG -w WEIGHT FILE` POSTs
 * to /fuzzyadd with `Flag` and `Weight` headers, `fuzzy_del` to /fuzzydel. Both need the
 * admin password.
 */
export function addFuzzyRoutes(admin: AdminServer, deps: FuzzyRouteDeps): void {
  const learn = (op: 'add' | 'del') => async (req: AdminRequest): Promise<AdminResponse> => {
    if (req.body.length === 0) return { status: 400, body: { error: 'empty message: POST the message as the request body' } };
    const header = (name: string): string | undefined => {
      const v = req.headers[name];
      return Array.isArray(v) ? v[0] : v;
    };
    let flag: number;
    try {
      flag = fuzzyFlag(header('flag'));
    } catch (err) {
      if (err instanceof FuzzyFlagError) return { status: 400, body: { error: err.message } };
      throw err;
    }
    const weight = Number(header('weight') ?? 1);
    if (!Number.isFinite(weight) || weight <= 0) return { status: 400, body: { error: `weight ${header('weight')}: expected a positive number` } };
    const policy = deps.policy().policy;
    const { result, digest } = await fuzzyLearn(deps.store, normalizeLineEnds(req.body), { op, flag, weight, parse: policy.limits, minWords: policy.fuzzy.min_words });
    deps.log.info({ event: `fuzzy_${op}`, flag, weight, result, digest, size: req.body.length }, `fuzzy signature ${op === 'add' ? 'added' : 'deleted'} over HTTP`);
    if (result === 'too_short') return { status: 400, body: { error: `message has fewer than fuzzy.min_words (${policy.fuzzy.min_words}) words: no signature` } };
    if (result === 'not_found') return { status: 404, body: { error: 'no fuzzy signature stored for this message' } };
    return { body: { success: true, result, hashes: [digest], flag } };
  };
  admin.add({ method: 'POST', path: '/fuzzyadd', auth: true, maxBody: deps.maxBody, handle: learn('add') });
  admin.add({ method: 'POST', path: '/fuzzydel', auth: true, maxBody: deps.maxBody, handle: learn('del') });
}
