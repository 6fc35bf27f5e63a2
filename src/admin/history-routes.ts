import type { AdminServer } from './server.js';
import type { Store } from '../stores/types.js';
import { readHistory } from '../history/read.js';

const DEFAULT_LIMIT = 1000;
const MAX_LIMIT = 100_000;

/**
 * GET /history?limit=N — the newest verdicts, newest first, as the JSON entries the
 * server keeps (symbols hit with their factors, never the mail). `policy whatif` replays
 * them under a draft policy. Password-protected: the entries name senders and recipients.
 */
export function addHistoryRoutes(admin: AdminServer, deps: { store: Store }): void {
  admin.add({
    method: 'GET',
    path: '/history',
    auth: true,
    handle: async (req) => {
      const raw = req.url.searchParams.get('limit');
      const limit = raw === null ? DEFAULT_LIMIT : Number(raw);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
        return { status: 400, body: { error: `limit must be a whole number from 1 to ${MAX_LIMIT}` } };
      }
      const entries = await readHistory(deps.store, limit);
      return { body: { count: entries.length, entries } };
    },
  });
}
