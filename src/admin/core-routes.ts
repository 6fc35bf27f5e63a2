import type { AdminServer } from './server.js';
import type { Metrics } from '../observability/metrics.js';
import type { PolicyHolder } from '../policy/holder.js';
import type { Relay } from '../relay/relay.js';

/** Health, metrics, policy status and reload: the routes every deployment needs. */
export function addCoreRoutes(admin: AdminServer, deps: { metrics: Metrics; policy: PolicyHolder; relay: Relay; listening: () => boolean }): void {
  admin.add({
    method: 'GET',
    path: '/healthz',
    handle: async () => {
      const listening = deps.listening();
      const relay = listening ? await deps.relay.probe() : false;
      const ok = listening && relay;
      return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'unavailable', listening, relay } };
    },
  });
  admin.add({
    method: 'GET',
    path: '/metrics',
    handle: async () => ({ headers: { 'Content-Type': deps.metrics.registry.contentType }, body: await deps.metrics.source() }),
  });
  // A problem's message may quote the line it is about (a list file that is really a
  // symlink to a secret would show its lines): without the password, where but not what.
  admin.add({
    method: 'GET',
    path: '/policy/status',
    handle: (req) => {
      const status = deps.policy.status();
      if (admin.authorized(req.headers)) return { body: status };
      return { body: { ...status, problems: status.problems.map((p) => ({ file: p.file, line: p.line, col: p.col })) } };
    },
  });
  admin.add({
    method: 'POST',
    path: '/policy/reload',
    handle: async () => {
      const applied = await deps.policy.reload('admin');
      const status = deps.policy.status();
      return { status: status.ok ? 200 : 422, body: { applied, ...status } };
    },
  });
}
