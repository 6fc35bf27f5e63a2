import type { AdminServer, AdminRequest, AdminResponse } from './server.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Pipeline } from '../pipeline/runner.js';
import type { Store, BayesClass } from '../stores/types.js';
import type { Logger } from '../observability/logger.js';
import { learnEvent } from '../session/learn.js';
import { normalizeLineEnds } from '../session/message-reader.js';
import { scanMessage } from '../session/scan.js';
import { RSPAMD_ACTIONS } from './rspamd-routes.js';

export interface LearnRouteDeps {
  policy: () => CompiledPolicy;
  store: Store;
  pipeline: Pipeline;
  log: Logger;
  /** Largest message accepted (limits.max_message_size when the server started). */
  maxBody: number;
}

/**
 * Training and scanning over HTTP in rspamd's protocol, so Debian's `rspamc` works unchanged:
 * `rspamc -h HOST:PORT -P PASSWORD learn_spam|learn_ham FILE` POSTs the message to
 * /learnspam or /learnham with a `Password` header and prints the JSON answer;
 * `rspamc symbols FILE` POSTs to /checkv2 (with optional IP, Helo, From, Rcpt headers).
 * Every route here needs the admin password. A message already learned as that class is
 * answered 208 with an error text, as rspamd does (rspamc still exits 0).
 */
export function addLearnRoutes(admin: AdminServer, deps: LearnRouteDeps): void {
  const learn = (cls: BayesClass) => async (req: AdminRequest): Promise<AdminResponse> => {
    if (req.body.length === 0) return { status: 400, body: { error: 'empty message: POST the message as the request body' } };
    const policy = deps.policy();
    const result = await learnEvent({ policy, store: deps.store, pipeline: deps.pipeline, log: deps.log }, normalizeLineEnds(req.body), cls);
    deps.log.info({ event: 'bayes_learn', class: cls, result, size: req.body.length, client: req.headers['user-agent'] ?? '' }, 'bayes learned over HTTP');
    if (result === 'already_learned') return { status: 208, body: { error: `message has already been learned as ${cls}, ignoring it`, result } };
    return { body: { success: true, result } };
  };
  admin.add({ method: 'POST', path: '/learnspam', auth: true, maxBody: deps.maxBody, handle: learn('spam') });
  admin.add({ method: 'POST', path: '/learnham', auth: true, maxBody: deps.maxBody, handle: learn('ham') });

  const check = async (req: AdminRequest): Promise<AdminResponse> => {
    if (req.body.length === 0) return { status: 400, body: { error: 'empty message: POST the message as the request body' } };
    const started = performance.now();
    const policy = deps.policy();
    const header = (name: string) => {
      const v = req.headers[name];
      return Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : [];
    };
    const from = header('from')[0];
    const verdict = await scanMessage({ policy, store: deps.store, pipeline: deps.pipeline, log: deps.log }, normalizeLineEnds(req.body), {
      ip: header('ip')[0] ?? '127.0.0.1',
      helo: header('helo')[0] ?? 'localhost',
      rcpts: header('rcpt'),
      ...(from !== undefined ? { from } : {}),
    });
    const symbols = Object.fromEntries(
      verdict.hits.map((h) => [
        h.name,
        {
          name: h.name,
          score: h.score,
          metric_score: policy.weight(h.name),
          ...(policy.policy.symbols[h.name]?.description ? { description: policy.policy.symbols[h.name]?.description } : {}),
          ...(h.detail ? { options: [h.detail] } : {}),
        },
      ]),
    );
    return {
      body: {
        is_skipped: false,
        score: verdict.score,
        required_score: policy.policy.actions.reject,
        action: RSPAMD_ACTIONS[verdict.action],
        symbols,
        ...(verdict.reply ? { messages: { smtp_message: `${verdict.reply.enhanced} ${verdict.reply.text}` } } : {}),
        time_real: Math.round(performance.now() - started) / 1000,
      },
    };
  };
  admin.add({ method: 'POST', path: '/checkv2', auth: true, maxBody: deps.maxBody, handle: check });

  admin.add({
    method: 'GET',
    path: '/bayes',
    handle: async () => {
      const totals = await deps.store.bayesTotals();
      const min = deps.policy().policy.bayes.min_learns;
      return { body: { learned: totals, min_learns: min, ready: totals.spam >= min && totals.ham >= min } };
    },
  });
}
