import crypto from 'node:crypto';
import type { Logger } from '../observability/logger.js';
import type { CompiledPolicy } from '../policy/compiled.js';
import type { Store } from '../stores/types.js';
import type { ClientInfo, TransactionContext } from './context.js';
import type { RecordedForce, RecordedHit } from '../decision/hits.js';

/** Random bytes drawn in bulk: one call to the system for every 1,024 ids, not one per id. */
const ID_POOL = Buffer.alloc(6 * 1024);
let idOffset = ID_POOL.length;

/** A short random id, like a Postfix queue id: easy to grep, unique enough per day. */
export function newId(): string {
  if (idOffset >= ID_POOL.length) {
    crypto.randomFillSync(ID_POOL);
    idOffset = 0;
  }
  idOffset += 6;
  return ID_POOL.toString('hex', idOffset - 6, idOffset).toUpperCase();
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
    onAccepted: new Map(),
  };
}
