import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadPolicy, type Override } from './policy/load.js';
import { PolicyHolder } from './policy/holder.js';
import { splitHostPort } from './net/schema.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics } from './observability/metrics.js';
import { VERSION } from './observability/version.js';
import { createChecks } from './checks/registry.js';
import { Pipeline } from './pipeline/runner.js';
import { Relay } from './relay/relay.js';
import { SmtpDoor } from './smtp/server.js';
import { openStore } from './stores/open.js';
import type { Store } from './stores/types.js';
import { AdminServer, adminExposure } from './admin/server.js';
import { addCoreRoutes } from './admin/core-routes.js';
import { addHistoryRoutes } from './admin/history-routes.js';
import { addHistoryView } from './admin/history-view.js';
import { addStatsRoutes } from './admin/stats-routes.js';
import { addLearnRoutes } from './admin/learn-routes.js';
import { addFuzzyRoutes } from './admin/fuzzy-routes.js';
import { addRspamdRoutes } from './admin/rspamd-routes.js';
import { addGreylistRoutes } from './admin/greylist-routes.js';
import { liveRecorder } from './session/recorder.js';
import { PolicyWatcher } from './policy/watcher.js';
import { MilterServer } from './milter/server.js';
import { isMilterMode } from './policy/mode.js';
import { Session } from './session/session.js';
import { Semaphore } from './pipeline/runner.js';

export interface ServeOptions {
  policiesDir: string;
  overrides: Override[];
  logger?: Logger;
}

export interface RunningServer {
  smtp: AddressInfo;
  policy: PolicyHolder;
  store: Store;
  metrics: Metrics;
  relay: Relay;
  door: SmtpDoor;
  /** The milter listener (mode milter), or null. */
  milter: MilterServer | null;
  admin: AdminServer;
  /** Where the admin listener is bound, or null when admin.enabled is false. */
  adminAddress: AddressInfo | null;
  stop(): Promise<void>;
}

/** Composition root: the only place that picks the store and wires the parts together. */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.logger ?? createLogger();
  const metrics = new Metrics();
  const dir = path.resolve(options.policiesDir);
  const { compiled } = await loadPolicy(dir, { overrides: options.overrides });
  if (compiled.policy.admin.enabled) {
    const exposed = adminExposure(compiled.policy.admin.listen, splitHostPort(compiled.policy.admin.listen).host, compiled.policy.admin.password);
    if (exposed) throw new Error(exposed);
  }
  const holder = new PolicyHolder(compiled, dir, options.overrides, log, metrics);
  const store = await openStore(compiled, log, metrics);
  const pipeline = new Pipeline(createChecks({ store, log, metrics }), metrics);
  const relay = new Relay(compiled);
  const door = new SmtpDoor({
    policy: () => holder.get(),
    log,
    metrics,
    session: { pipeline, store, deliverer: relay, verifier: relay, recorder: liveRecorder(metrics) },
  });
  holder.onChange((p) => {
    relay.applyPolicy(p);
    door.applyPolicy(p);
  });
  const { host, port } = splitHostPort(compiled.policy.listen);
  // Mode milter: Postfix keeps the SMTP port and asks us through the milter protocol.
  // The same Session as the SMTP door, without a deliverer (Postfix delivers) or a
  // recipient verifier (Postfix checked the recipients before it asked us).
  const milterScans = new Semaphore(compiled.policy.limits.max_concurrent_scans);
  const milter = isMilterMode(compiled.policy)
    ? new MilterServer(
        (o) => new Session({ policy: () => holder.get(), log, pipeline, store, deliverer: null, verifier: null, recorder: liveRecorder(metrics), scans: milterScans }, o),
        () => holder.get(),
        log,
        metrics,
        // One budget for message bytes in the process, whichever door holds them.
        door.memory,
      )
    : null;
  holder.onChange((p) => milterScans.setLimit(p.policy.limits.max_concurrent_scans));
  let address: AddressInfo;
  try {
    address = milter ? await milter.listen(host, port) : await door.listener.listen(host, port);
  } catch (err) {
    relay.close();
    await store.close();
    throw err;
  }
  const admin = new AdminServer(() => holder.get().policy.admin.password, log);
  addCoreRoutes(admin, { metrics, policy: holder, relay: milter ? null : relay, listening: () => (milter ? milter.server.listening : door.listener.server.listening) });
  addGreylistRoutes(admin, { store, policy: () => holder.get() });
  addHistoryRoutes(admin, { store });
  addHistoryView(admin, { store, dryRun: () => holder.get().policy.dry_run });
  addStatsRoutes(admin, { store, historySize: () => holder.get().policy.history.size });
  addLearnRoutes(admin, { policy: () => holder.get(), store, pipeline, log, maxBody: compiled.policy.limits.max_message_size });
  addFuzzyRoutes(admin, { policy: () => holder.get(), store, log, maxBody: compiled.policy.limits.max_message_size });
  addRspamdRoutes(admin, { metrics, store, policy: () => holder.get(), version: VERSION });
  let adminAddress: AddressInfo | null = null;
  if (compiled.policy.admin.enabled) {
    const a = splitHostPort(compiled.policy.admin.listen);
    adminAddress = await admin.listen(a.host, a.port);
  }
  // Edits (including `list add` and `policy set`) take effect live; a broken one is kept out.
  const watcher = new PolicyWatcher(dir, (reason) => holder.reload(reason), log);
  await watcher.start();
  log.info({ event: 'listening', address: address.address, port: address.port, mode: compiled.policy.mode, relay: milter ? null : `${compiled.policy.relay.host}:${compiled.policy.relay.port}`, store: store.kind, policy_version: compiled.version, version: VERSION, dry_run: compiled.policy.dry_run }, 'borderpatrol listening');
  if (compiled.policy.dry_run) log.warn({ event: 'dry_run_on' }, 'dry-run is on: nothing is refused; verdicts are logged, recorded and stamped as what would have been done');
  let stopping: Promise<void> | null = null;
  return {
    smtp: address,
    policy: holder,
    store,
    metrics,
    relay,
    door,
    milter,
    admin,
    adminAddress,
    stop: () =>
      (stopping ??= (async () => {
        log.info({ event: 'stopping', in_flight: door.activeTransactions }, 'shutting down: finishing transactions in flight');
        watcher.stop();
        const graceMs = holder.get().policy.limits.shutdown_grace * 1000;
        if (milter) await milter.stop(graceMs);
        else await door.stop(graceMs);
        relay.close();
        await admin.close();
        await store.close();
        log.info({ event: 'stopped' }, 'stopped');
      })()),
  };
}
