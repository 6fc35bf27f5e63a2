import { AggregatorRegistry } from 'prom-client';
import type { RunningServer } from '../main.js';
import { MESSAGE, type ClusterMessage } from './messages.js';

/**
 * The worker's side of the cluster (see primary.ts): tell the primary we listen, reload on
 * its word, let it collect this worker's metrics, and answer GET /metrics with the sum over
 * all workers rather than this one's share.
 */
export function joinCluster(server: RunningServer): void {
  const send = (m: ClusterMessage): void => {
    if (process.connected) process.send?.(m);
  };
  // prom-client answers the primary's collection requests from these registries.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([server.metrics.registry]);

  const pending = new Map<number, { resolve: (text: string) => void; reject: (e: Error) => void }>();
  let next = 0;
  server.metrics.source = () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      setTimeout(() => {
        if (pending.delete(id)) reject(new Error('the primary did not answer with the metrics'));
      }, 10_000).unref();
      send({ type: MESSAGE.metricsRequest, id });
    });

  process.on('message', (m: ClusterMessage) => {
    if (m?.type === MESSAGE.reload) void server.policy.reload('SIGHUP');
    else if (m?.type === MESSAGE.metricsReply) {
      const p = pending.get(m.id);
      pending.delete(m.id);
      if (m.error) p?.reject(new Error(m.error));
      else p?.resolve(m.text);
    }
  });
  send({ type: MESSAGE.ready });
}
