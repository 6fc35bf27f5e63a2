import type { Metrics } from '../observability/metrics.js';
import { recordVerdict, type TransactionSummary } from '../history/record.js';
import type { TransactionContext } from '../pipeline/context.js';
import type { Recorder } from './types.js';

/**
 * The live recorder: metrics, the transaction log line and the history entry (written to
 * the transaction's store, which for a read-only view is a no-op).
 */
export function liveRecorder(metrics: Metrics): Recorder {
  return {
    transaction(summary: TransactionSummary, tx: TransactionContext) {
      metrics.transactions.inc({ action: summary.action });
      recordVerdict(summary, tx, tx.store, tx.policy);
    },
    refused: (phase, reason) => metrics.rejections.inc({ phase, reason }),
    connectionOpened: () => metrics.activeConnections.inc(),
    connectionClosed: () => metrics.activeConnections.dec(),
    scanSeconds: (s) => metrics.scanLatency.observe(s),
    relaySeconds: (s) => metrics.relayLatency.observe(s),
  };
}

/** For scan and /checkv2: nothing is counted or recorded; the caller reports the result. */
export const quietRecorder: Recorder = {
  transaction: () => undefined,
  refused: () => undefined,
  connectionOpened: () => undefined,
  connectionClosed: () => undefined,
  scanSeconds: () => undefined,
  relaySeconds: () => undefined,
};
