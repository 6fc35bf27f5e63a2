import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import type { Policy } from '../policy/schema.js';
import type { Logger } from '../observability/logger.js';
import { MESSAGE, type ClusterMessage } from './messages.js';

/**
 * Several Borderpatrol processes sharing one listening socket (node:cluster), so that one
 * machine's cores all take connections: a single event loop spends most of a message's CPU
 * in the SMTP conversation itself, which no thread pool can take over.
 *
 * The primary runs no SMTP server. It starts the workers, starts a new one when one dies,
 * passes SIGHUP (reload) and SIGTERM/SIGINT (finish what is in flight, then stop) on to
 * all of them, and adds up their metrics for whichever worker answers GET /metrics.
 *
 * State shared between messages (greylisting, rate limits, Bayes, history) must live in
 * Redis then: the embedded store belongs to one process, so the policy refuses workers > 1
 * without store.redis, and `auto` means one worker per core only with Redis.
 */

/** How many worker processes the policy asks for; 1 means no cluster at all. */
export function workerCount(p: Policy): number {
  if (p.workers === 'auto') return p.store.redis ? os.availableParallelism() : 1;
  return p.workers;
}

export interface PrimaryOptions {
  count: number;
  log: Logger;
  /** ms the workers get to finish transactions in flight on shutdown. */
  graceMs: number;
}

/** A worker that dies this soon after starting counts as a crash loop. */
const CRASH_WINDOW_MS = 60_000;
const MAX_CRASHES = 5;

/** Run the primary until the workers are stopped; resolves with the exit code. */
export function runPrimary(o: PrimaryOptions): Promise<number> {
  const { log } = o;
  const aggregator = new AggregatorRegistry();
  const ready = new Set<Worker>();
  const crashes: number[] = [];
  let stopping = false;

  return new Promise<number>((resolve) => {
    const fork = (): void => {
      const w = cluster.fork();
      w.on('message', (m: ClusterMessage) => void onMessage(w, m));
    };

    const onMessage = async (w: Worker, m: ClusterMessage): Promise<void> => {
      if (m?.type === MESSAGE.ready) {
        ready.add(w);
        if (ready.size === o.count) log.info({ event: 'workers_started', workers: o.count }, `${o.count} workers listening`);
      } else if (m?.type === MESSAGE.metricsRequest) {
        let text = '';
        let error = '';
        try {
          text = await aggregator.clusterMetrics();
        } catch (err) {
          error = (err as Error).message;
        }
        if (w.isConnected()) w.send({ type: MESSAGE.metricsReply, id: m.id, text, error } satisfies ClusterMessage);
      }
    };

    cluster.on('exit', (w, code, signal) => {
      const wasReady = ready.delete(w);
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) {
          log.info({ event: 'stopped' }, 'all workers stopped');
          resolve(0);
        }
        return;
      }
      log.error({ event: 'worker_exit', pid: w.process.pid, code, signal }, 'worker died');
      // A worker that never got as far as listening will not do better the second time
      // (a port in use, a policy it cannot read): stop instead of looping.
      const now = Date.now();
      crashes.push(now);
      while (crashes.length > 0 && (crashes[0] as number) < now - CRASH_WINDOW_MS) crashes.shift();
      if (!wasReady || crashes.length > MAX_CRASHES) {
        log.error({ event: 'workers_failed', crashes: crashes.length }, 'workers keep failing: stopping');
        stop('worker failure');
        process.exitCode = 1;
        return;
      }
      setTimeout(fork, 1000).unref();
    });

    const stop = (reason: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ event: 'stopping', reason }, 'stopping workers');
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w);
      if (workers.length === 0) return resolve(process.exitCode === 1 ? 1 : 0);
      for (const w of workers) w.process.kill('SIGTERM');
      // Past the grace time (plus a margin to flush), nothing in flight is left to save.
      setTimeout(() => {
        for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
      }, o.graceMs + 5000).unref();
    };

    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      for (const w of Object.values(cluster.workers ?? {})) w?.send({ type: MESSAGE.reload } satisfies ClusterMessage);
    });

    // Workers accept on the shared socket themselves: handing each connection over from the
    // primary (Node's round-robin default) cost about a tenth of the throughput, and under
    // load the kernel spreads connections evenly enough.
    if (!process.env.NODE_CLUSTER_SCHED_POLICY) cluster.schedulingPolicy = cluster.SCHED_NONE;
    for (let i = 0; i < o.count; i++) fork();
  });
}
