import { DataDirInUseError } from '../stores/sqlite/writer-lock.js';
import cluster from 'node:cluster';
import path from 'node:path';
import { commonOptions, overridesFrom, parse, UsageError } from '../cli/common.js';
import { adminPassword } from '../cli/password.js';
import { loadPolicy } from '../policy/load.js';
import { runPrimary, workerCount } from './primary.js';
import { joinCluster } from './worker.js';
import { startServer } from '../main.js';
import { createLogger, isLogFormat } from '../observability/logger.js';
import { startHeapRelease } from '../observability/heap-release.js';
import { PolicyError } from '../policy/errors.js';

export const SERVE_HELP = `Usage: borderpatrol serve [options]

Run the SMTP proxy in front of Postfix.

  --policies DIR      policy directory (default ./policies)
  --listen HOST:PORT  SMTP listener (default 0.0.0.0:25)
  --relay HOST:PORT   Postfix listener to relay to (default 127.0.0.1:10025)
  --admin HOST:PORT   admin HTTP listener (default 127.0.0.1:11334)
  --redis URL         shared state in Redis (redis://, rediss://, redis+sentinel://, redis+cluster://)
  --data-dir DIR      embedded store directory (default ./data)
  --set KEY=VALUE     override any policy key by its dotted path (repeatable)
  --dry-run           log and stamp what would be rejected, reject nothing
  --log-format human|json
                      log lines for a person (the default on a terminal) or one JSON
                      object per line (the default otherwise; also BORDERPATROL_LOG_FORMAT)

The admin password (admin.password) is read from $BORDERPATROL_PASSWORD, or from the first
line of the file $BORDERPATROL_PASSWORD_FILE names, when set.
`;

export async function serveCommand(args: string[]): Promise<number> {
  const { values } = parse(args, {
    ...commonOptions,
    listen: { type: 'string' },
    relay: { type: 'string' },
    admin: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    'log-format': { type: 'string' },
  }, false);
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return 0;
  }
  const format = values['log-format'];
  if (format !== undefined && !isLogFormat(format)) throw new UsageError(`--log-format ${format}: expected human or json`);
  const log = createLogger(format ? { format } : {});
  // The password from the environment (never the command line, which every user can read
  // in the process list); --set admin.password still wins, as it comes later.
  const password = adminPassword();
  const overrides = [...(password ? [{ key: 'admin.password', value: password }] : []), ...overridesFrom(values)];
  let server;
  try {
    if (cluster.isPrimary) {
      // workers > 1: this process only starts and watches the workers (primary.ts).
      const { policy } = (await loadPolicy(path.resolve(values.policies), { overrides })).compiled;
      const count = workerCount(policy);
      if (count > 1) return await runPrimary({ count, log, graceMs: policy.limits.shutdown_grace * 1000 });
    }
    server = await startServer({ policiesDir: values.policies, overrides, logger: log });
  } catch (err) {
    if (err instanceof PolicyError) {
      process.stderr.write(`borderpatrol: the policy is not valid:\n${err.message}\n`);
      return 1;
    }
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EACCES') {
      process.stderr.write(
        `borderpatrol: permission denied to listen on a port below 1024.\n` +
          `  Either listen on another port (--listen 0.0.0.0:2525, and redirect 25 to it),\n` +
          `  or grant the capability: setcap cap_net_bind_service=+ep "$(command -v node)",\n` +
          `  or run under systemd with AmbientCapabilities=CAP_NET_BIND_SERVICE (see docs/).\n`,
      );
      return 1;
    }
    if (err instanceof DataDirInUseError) {
      process.stderr.write(`borderpatrol: ${err.message}: one server per data dir. Stop that one first, or give this one its own --data-dir.\n`);
      return 1;
    }
    if (e.code === 'EADDRINUSE') {
      process.stderr.write(`borderpatrol: the listen address is already in use (${e.message}).\n`);
      return 1;
    }
    throw err;
  }
  const running = server;
  if (cluster.isWorker) joinCluster(running);
  // Heap pages a burst of mail left pooled go back to the system once the server is quiet.
  const release = startHeapRelease({
    onRelease: (r) => log.debug({ event: 'heap_release', before_mb: Math.round(r.beforeBytes / 1e6), after_mb: Math.round(r.afterBytes / 1e6), pause_ms: Math.round(r.pauseMs) }, 'heap pages returned after a burst'),
  });
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      log.info({ event: 'signal', signal }, 'signal received');
      release.stop();
      void running.stop().then(() => {
        // A worker's IPC channel to the primary would keep it alive past the stop: leave now,
        // so SIGTERM is done as soon as the transactions in flight are.
        if (cluster.isWorker) process.exit(0);
        resolve(0);
      });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGHUP', () => void running.policy.reload('SIGHUP'));
  });
}
