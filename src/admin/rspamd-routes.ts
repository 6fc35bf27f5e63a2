import type { AdminServer } from './server.js';
import type { Metrics } from '../observability/metrics.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Store } from '../stores/types.js';
import type { Action } from '../decision/verdict.js';
import { sumBy, total } from '../observability/prom-text.js';

/** rspamd's names for our actions, as rspamc, its users and monitoring agents expect them. */
export const RSPAMD_ACTIONS: Readonly<Record<Action, string>> = {
  accept: 'no action',
  add_header: 'add header',
  rewrite_subject: 'rewrite subject',
  greylist: 'greylist',
  soft_reject: 'soft reject',
  reject: 'reject',
};

/**
 * Final actions of transactions that are not verdicts on a message: refused before any
 * content (`tempfail` is a 4xx at MAIL or RCPT, which rspamd would call a soft reject) or
 * never finished (`abandoned`, not counted as scanned).
 */
const OTHER_ACTIONS: Readonly<Record<string, string | null>> = { tempfail: 'soft reject', abandoned: null };

/** rspamd counts these as spam in `rspamc stat` (every action stronger than greylist). */
const SPAM_ACTIONS = new Set(['reject', 'soft reject', 'rewrite subject', 'add header']);

export interface RspamdRouteDeps {
  metrics: Metrics;
  store: Store;
  policy: () => CompiledPolicy;
  version: string;
}

/**
 * The read-only controller routes that `rspamc stat`, `rspamc counters` and monitoring
 * agents written for rspamd call: /stat, /counters and /ping. Figures come from the same
 * metrics as GET /metrics (summed over workers) and the learned counts from the store.
 */
export function addRspamdRoutes(admin: AdminServer, deps: RspamdRouteDeps): void {
  admin.add({ method: 'GET', path: '/ping', handle: () => ({ headers: { 'Content-Type': 'text/plain' }, body: 'pong\r\n' }) });

  admin.add({
    method: 'GET',
    path: '/stat',
    handle: async () => {
      const text = await deps.metrics.source();
      const actions: Record<string, number> = Object.fromEntries(Object.values(RSPAMD_ACTIONS).map((a) => [a, 0]));
      for (const [ours, count] of Object.entries(sumBy(text, 'borderpatrol_transactions_total', 'action'))) {
        const name = ours in OTHER_ACTIONS ? OTHER_ACTIONS[ours] : (RSPAMD_ACTIONS[ours as Action] ?? ours);
        if (name) actions[name] = (actions[name] ?? 0) + count;
      }
      const scanned = Object.values(actions).reduce((a, b) => a + b, 0);
      const spam = Object.entries(actions).reduce((sum, [name, n]) => sum + (SPAM_ACTIONS.has(name) ? n : 0), 0);
      const learned = await deps.store.bayesTotals();
      const statfile = (symbol: string, label: string, revision: number) => ({ symbol, label, type: deps.store.kind, revision, size: 0, total: 0, used: 0, languages: 0, users: 1 });
      return {
        body: {
          version: deps.version,
          uptime: Math.round(process.uptime()),
          read_only: false,
          scanned,
          learned: learned.spam + learned.ham,
          actions,
          spam_count: spam,
          ham_count: scanned - spam,
          connections: total(text, 'borderpatrol_connections_total'),
          control_connections: 0,
          statfiles: [statfile('BAYES_SPAM', 'spam', learned.spam), statfile('BAYES_HAM', 'ham', learned.ham)],
          total_learns: learned.spam + learned.ham,
        },
      };
    },
  });

  admin.add({
    method: 'GET',
    path: '/counters',
    handle: async () => {
      const hits = sumBy(await deps.metrics.source(), 'borderpatrol_symbol_hits_total', 'symbol');
      const policy = deps.policy();
      const uptime = Math.max(1, process.uptime());
      const names = new Set([...Object.keys(policy.policy.symbols), ...Object.keys(hits)]);
      return {
        body: [...names].sort().map((symbol) => ({
          symbol,
          weight: policy.weight(symbol),
          hits: hits[symbol] ?? 0,
          frequency: (hits[symbol] ?? 0) / uptime,
          frequency_stddev: 0,
          time: 0,
        })),
      };
    },
  });
}
