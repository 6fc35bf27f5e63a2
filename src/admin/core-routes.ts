import type { AdminServer } from './server.js';
import type { Metrics } from '../observability/metrics.js';
import type { PolicyHolder } from '../policy/holder.js';
import type { Relay } from '../relay/relay.js';
import { instanceName } from '../history/record.js';

/** Health, metrics, policy status and reload: the routes every deployment needs. */
/** relay: null when Borderpatrol relays nothing (mode milter: Postfix delivers); health is then the listener's. */
export function addCoreRoutes(admin: AdminServer, deps: { metrics: Metrics; policy: PolicyHolder; relay: Pick<Relay, 'probe'> | null; listening: () => boolean }): void {
  admin.add({
    method: 'GET',
    path: '/healthz',
    handle: async () => {
      const listening = deps.listening();
      const relay = deps.relay === null ? null : listening ? await deps.relay.probe() : false;
      const ok = listening && relay !== false;
      return { status: ok ? 200 : 503, body: { status: ok ? 'ok' : 'unavailable', listening, relay } };
    },
  });
  admin.add({
    method: 'GET',
    path: '/metrics',
    handle: async () => ({ headers: { 'Content-Type': deps.metrics.registry.contentType }, body: await deps.metrics.source() }),
  });
  // dry_run and the instance name beside the reload status: a monitor sees at once that a
  // machine refuses nothing, and which machine it asked.
  const status = () => ({ ...deps.policy.status(), dry_run: deps.policy.get().policy.dry_run, instance: instanceName(deps.policy.get()) });
  // A problem's message may quote the line it is about (a list file that is really a
  // symlink to a secret would show its lines): without the password, where but not what.
  admin.add({
    method: 'GET',
    path: '/policy/status',
    handle: (req) => {
      const s = status();
      if (admin.authorized(req.headers)) return { body: s };
      return { body: { ...s, problems: s.problems.map((p) => ({ file: p.file, line: p.line, col: p.col })) } };
    },
  });
  admin.add({
    method: 'POST',
    path: '/policy/reload',
    handle: async () => {
      const applied = await deps.policy.reload('admin');
      const now = status();
      return { status: now.ok ? 200 : 422, body: { applied, ...now } };
    },
  });
}
