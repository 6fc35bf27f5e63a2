import path from 'node:path';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from './types.js';
import { bayesRetention } from './retention.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import { redact } from '../net/redis-url.js';

export interface OpenStoreOptions {
  /**
   * Milliseconds to wait for Redis at start. The server starts anyway when Redis is late
   * (checks follow their on_error until it connects); tools that need the data fail instead.
   */
  readyTimeout?: number;
  requireReady?: boolean;
  /**
   * The embedded store has one writer per data dir: 'write' (the default: the server, or a
   * CLI command that writes) takes its lock and is refused while another process holds it;
   * 'read' opens it read-only beside a running server.
   */
  access?: 'write' | 'read';
  /** Who opens it, as named to a process refused by the writer lock ("serve", "learn"…). */
  role?: string;
  /** Embedded store: sync every acknowledged write (the default), or once at close (a batch command). */
  sync?: 'each' | 'on_close';
}

/**
 * Pick the store from policy: Redis when store.redis (or --redis) is set, else the embedded
 * SQLite store in store.data_dir. A relative data_dir is taken from the working directory
 * (the documented default is ./data beside where the server runs), not from the policies
 * directory: state does not belong among the files admins edit.
 */
export async function openStore(policy: CompiledPolicy, log: Logger, metrics: Metrics | null, options: OpenStoreOptions = {}): Promise<Store> {
  const s = policy.policy.store;
  if (!s.redis) {
    return new SqliteStore({ dataDir: path.resolve(s.data_dir), access: options.access ?? 'write', role: options.role ?? 'serve', sync: options.sync ?? 'each', retention: bayesRetention(policy.policy), log, metrics });
  }
  // ioredis is loaded only when Redis is configured: an embedded setup starts without it.
  const { RedisStore } = await import('./redis/redis-store.js');
  const store = new RedisStore({ url: s.redis, prefix: s.prefix, commandTimeout: s.command_timeout, log, metrics });
  try {
    await store.ready(options.readyTimeout ?? 5000);
  } catch (err) {
    if (options.requireReady) {
      await store.close();
      throw err;
    }
    log.error(
      { event: 'redis_unavailable', redis: redact(s.redis), err: (err as Error).message },
      'starting without Redis: checks that need it follow their on_error until it connects',
    );
  }
  return store;
}
