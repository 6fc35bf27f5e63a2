import path from 'node:path';
import { loadPolicy, type Override } from '../../src/policy/load.js';
import type { CompiledPolicy } from '../../src/policy/compiled.js';
import { createChecks } from '../../src/checks/registry.js';
import { Pipeline } from '../../src/pipeline/runner.js';
import { SqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import type { Store } from '../../src/stores/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { Session } from '../../src/session/session.js';
import { quietRecorder } from '../../src/session/recorder.js';
import type { Deliverer, RecipientVerifier } from '../../src/session/types.js';
import type { Delivery } from '../../src/relay/relay.js';

/**
 * A Session on the shipped policies (with overrides and stand-in list files), the real
 * checks and an in-memory store; no socket. `delivered` collects what reached the deliverer.
 */
export interface SessionBench {
  policy: CompiledPolicy;
  store: Store;
  pipeline: Pipeline;
  delivered: Delivery[];
  open(deps?: { deliverer?: Deliverer | null; verifier?: RecipientVerifier | null; store?: Store }): Session;
}

export async function sessionBench(set: Record<string, string> = {}, files: Record<string, string> = {}): Promise<SessionBench> {
  const overrides: Override[] = Object.entries({ offline: 'true', 'tls.enabled': 'false', hostname: 'mx.borderpatrol.test', ...set }).map(([key, value]) => ({ key, value }));
  const { compiled: policy } = await loadPolicy(path.resolve('policies'), { overrides, files: new Map(Object.entries(files)) });
  const store = new SqliteStore();
  const log = silentLogger();
  const pipeline = new Pipeline(createChecks({ store, log, metrics: null }));
  const delivered: Delivery[] = [];
  const deliverer: Deliverer = {
    deliver: async (d) => {
      delivered.push(d);
      return { accepted: true, reply: { code: 250, enhanced: '2.0.0', text: 'Ok: queued as 4XYZ' }, queueId: '4XYZ', refusedRcpts: [] };
    },
  };
  return {
    policy,
    store,
    pipeline,
    delivered,
    open: (deps = {}) =>
      new Session({
        policy: () => policy,
        pipeline,
        store: deps.store ?? store,
        deliverer: deps.deliverer === undefined ? deliverer : deps.deliverer,
        verifier: deps.verifier ?? null,
        recorder: quietRecorder,
        log,
      }),
  };
}

/** A small message with CRLF line ends. */
export function message(headers: Record<string, string>, body = 'Hello,\r\nsee you tomorrow.\r\n'): Buffer {
  const head = Object.entries({ From: 'Alice <alice@sender.test>', To: 'bob@example.com', Subject: 'lunch', 'Message-ID': '<m1@sender.test>', Date: 'Thu, 26 Nov 2026 10:00:00 +0000', ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.from(head + '\r\n' + body);
}
