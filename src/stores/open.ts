import path from 'node:path';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from './types.js';
import { MemoryStore } from './memory/memory-store.js';
import { RedisStore } from './redis/redis-store.js';
import { redact } from './redis/url.js';

export interface OpenStoreOptions {
  /**
   * Milliseconds to wait for Redis at start. The server starts anyway when Redis is late
   * (checks follow their on_error until it connects); tools that need the data fail instead.
   */
  readyTimeout?: number;
  requireReady?: boolean;
}

/**
 * Pick the store from policy: Redis when store.redis (or --redis) is set, else the embedded
 * store persisted in store.data_dir. A relative data_dir is taken from the working directory
 * (the documented default is ./data beside where the server runs), not from the policies
 * directory: state does not belong among the files admins edit.
 */
export async function openStore(policy: CompiledPolicy, log: Logger, metrics: Metrics | null, options: OpenStoreOptions = {}): Promise<Store> {
  const s = policy.policy.store;
  if (!s.redis) {
    const store = new MemoryStore({ dataDir: path.resolve(s.data_dir), log, metrics });
    await store.ready();
    return store;
  }
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
