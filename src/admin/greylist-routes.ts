import type { AdminServer, AdminRequest } from './server.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Store } from '../stores/types.js';

const MAX_LIMIT = 10_000;

/**
 * GET /greylist?match=TEXT&limit=N lists entries whose GROUP|ID key contains TEXT;
 * POST /greylist/release with {"key": "GROUP|ID"} (or ?key=) lets one through at once.
 * Both need the admin password: the entries are senders' and recipients' addresses.
 */
export function addGreylistRoutes(admin: AdminServer, deps: { store: Store; policy: () => CompiledPolicy }): void {
  admin.add({
    method: 'GET',
    path: '/greylist',
    auth: true,
    handle: async (req) => {
      const match = req.url.searchParams.get('match') ?? '';
      const limitText = req.url.searchParams.get('limit') ?? '100';
      const limit = Number(limitText);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return { status: 400, body: { error: `limit must be a whole number from 1 to ${MAX_LIMIT}` } };
      const entries = await deps.store.greylistList(match, limit);
      return {
        body: {
          entries: entries.map((e) => ({ key: e.key, first_seen: new Date(e.firstSeen).toISOString(), passed: e.passed, ttl: e.ttl })),
        },
      };
    },
  });
  admin.add({
    method: 'POST',
    path: '/greylist/release',
    maxBody: 64 * 1024,
    handle: async (req) => {
      const key = releaseKey(req);
      if (!key) return { status: 400, body: { error: 'give the entry as {"key": "GROUP|ID"} (see GET /greylist)' } };
      const released = await deps.store.greylistRelease(key, deps.policy().policy.greylist.pass_ttl);
      return released ? { body: { released: true, key } } : { status: 404, body: { error: 'no such greylist entry', key } };
    },
  });
}

function releaseKey(req: AdminRequest): string | null {
  const fromQuery = req.url.searchParams.get('key');
  if (fromQuery) return fromQuery;
  if (req.body.length === 0) return null;
  try {
    const parsed = JSON.parse(req.body.toString('utf8')) as { key?: unknown };
    return typeof parsed.key === 'string' && parsed.key ? parsed.key : null;
  } catch {
    return null;
  }
}
