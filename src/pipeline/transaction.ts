import crypto from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Store } from '../stores/types.js';
import type { ClientInfo, RecordedForce, RecordedHit, TransactionContext } from './context.js';

/** A short random id, like a Postfix queue id: easy to grep, unique enough per day. */
export function newId(): string {
  return crypto.randomBytes(6).toString('hex').toUpperCase();
}

export interface NewTransaction {
  connectionId: string;
  client: ClientInfo;
  policy: CompiledPolicy;
  store: Store;
  log: Logger;
  /** Hits and allow marks from the connection's own phases (connect, helo). */
  inherited?: { hits: readonly RecordedHit[]; forced: readonly RecordedForce[]; allowlisted: boolean; trusted: boolean };
  signal?: AbortSignal;
  id?: string;
}

export function newTransaction(t: NewTransaction): TransactionContext {
  const id = t.id ?? newId();
  return {
    id,
    connectionId: t.connectionId,
    client: t.client,
    envelope: { from: '', rcpts: [] },
    currentRcpt: null,
    message: null,
    policy: t.policy,
    store: t.store,
    log: t.log.child({ tx: id }),
    signal: t.signal ?? new AbortController().signal,
    hits: [...(t.inherited?.hits ?? [])],
    forced: [...(t.inherited?.forced ?? [])],
    allowlisted: t.inherited?.allowlisted ?? false,
    trusted: t.inherited?.trusted ?? false,
  };
}
