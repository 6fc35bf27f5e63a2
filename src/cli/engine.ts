import path from 'node:path';
import { loadPolicy, type Override } from '../policy/load.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import { PolicyError } from '../policy/errors.js';
import { createChecks } from '../checks/registry.js';
import { Pipeline } from '../pipeline/runner.js';
import { openStore } from '../stores/open.js';
import type { Store } from '../stores/types.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { UsageError } from './common.js';
import { DataDirInUseError } from '../stores/sqlite/writer-lock.js';

/**
 * What `scan` and `learn` run on: the same policy, store and checks a server built from the
 * same --policies / --data-dir / --redis / --set would use, without any listener. Logs go
 * to stderr (stdout carries results), warnings and up unless BORDERPATROL_LOG_LEVEL says otherwise.
 */
export interface Engine {
  policy: CompiledPolicy;
  store: Store;
  pipeline: Pipeline;
  log: Logger;
  close(): Promise<void>;
}

/**
 * `access: 'write'` for commands that change the store (learn, greylist release): with the
 * embedded store they are refused while a server holds the data dir and told to go through
 * it (--server). Reading commands open it read-only beside a running server.
 */
export async function openEngine(options: { policiesDir: string; overrides: readonly Override[]; log?: Logger; access: 'read' | 'write'; command: string }): Promise<Engine> {
  const log = options.log ?? createLogger({ stderr: true, level: process.env.BORDERPATROL_LOG_LEVEL ?? 'warn' });
  let policy: CompiledPolicy;
  try {
    ({ compiled: policy } = await loadPolicy(path.resolve(options.policiesDir), { overrides: options.overrides }));
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(`the policy is not valid:\n${err.message}`);
    throw err;
  }
  // A tool without its data is useless: fail when Redis is not there, unlike the server.
  let store: Store;
  try {
    // A command reports when it is done and closes the store first: one sync at close is enough.
    store = await openStore(policy, log, null, { requireReady: true, access: options.access, role: options.command, sync: 'on_close' });
  } catch (err) {
    if (err instanceof DataDirInUseError) {
      throw new UsageError(`${err.message}, which writes to it; ${options.command} cannot write beside it: go through the server with --server URL (its admin listener, e.g. http://127.0.0.1:11334)`);
    }
    throw err;
  }
  const pipeline = new Pipeline(createChecks({ store, log, metrics: null }));
  return { policy, store, pipeline, log, close: () => store.close() };
}
