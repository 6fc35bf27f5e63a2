import type { AdminServer } from './server.js';
import type { Store } from '../stores/types.js';
import { aggregate } from '../history/stats.js';

const DEFAULT_WINDOW = 3600;
const MAX_WINDOW = 7 * 86_400;

/**
 * GET /stats?window=SECONDS (default the last hour): verdict counts by action and by
 * refusal reason, from the history the server keeps (`history.size` entries). What
 * `borderpatrol stats` prints. Password-protected like /history, which it summarises.
 */
export function addStatsRoutes(admin: AdminServer, deps: { store: Store; historySize: () => number }): void {
  admin.add({
    method: 'GET',
    path: '/stats',
    auth: true,
    handle: async (req) => {
      const raw = req.url.searchParams.get('window');
      const window = raw === null ? DEFAULT_WINDOW : Number(raw);
      if (!Number.isInteger(window) || window < 1 || window > MAX_WINDOW) {
        return { status: 400, body: { error: `window must be a whole number of seconds from 1 to ${MAX_WINDOW}` } };
      }
      const capacity = Math.max(1, deps.historySize());
      const lines = await deps.store.historyRead(capacity);
      return { body: aggregate(lines, new Date(), window, capacity) };
    },
  });
}
