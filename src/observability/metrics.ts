import { Registry, Counter, Gauge, Histogram, collectDefaultMetrics } from 'prom-client';

/** Every Prometheus metric the server exposes on the admin listener's /metrics. */
export class Metrics {
  readonly registry = new Registry();
  /** The text GET /metrics serves: this process's registry, or (in a cluster worker) the sum over all workers. */
  source: () => Promise<string> = () => this.registry.metrics();
  readonly connections = new Counter({ name: 'borderpatrol_connections_total', help: 'Client connections accepted', registers: [this.registry] });
  readonly connectionsRefused = new Counter({
    name: 'borderpatrol_connections_refused_total',
    help: 'Connections refused before the greeting',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly activeConnections = new Gauge({ name: 'borderpatrol_active_connections', help: 'Open client connections', registers: [this.registry] });
  readonly transactions = new Counter({
    name: 'borderpatrol_transactions_total',
    help: 'Finished transactions by final action',
    labelNames: ['action'],
    registers: [this.registry],
  });
  readonly rejections = new Counter({
    name: 'borderpatrol_rejections_total',
    help: 'Commands or messages refused, by phase and reason',
    labelNames: ['phase', 'reason'],
    registers: [this.registry],
  });
  readonly relayLatency = new Histogram({
    name: 'borderpatrol_relay_seconds',
    help: 'Time for Postfix to take a message',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly scanLatency = new Histogram({
    name: 'borderpatrol_scan_seconds',
    help: 'Time to parse and score a message',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly checkDuration = new Histogram({
    name: 'borderpatrol_check_seconds',
    help: 'Time per check',
    labelNames: ['check'],
    buckets: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 2],
    registers: [this.registry],
  });
  /** Symbol hits by name (what `rspamc counters` shows); the symbols are the policy's, so the label set is bounded. */
  readonly symbolHits = new Counter({ name: 'borderpatrol_symbol_hits_total', help: 'Times a check reported each symbol', labelNames: ['symbol'], registers: [this.registry] });
  readonly checkErrors = new Counter({ name: 'borderpatrol_check_errors_total', help: 'Checks that failed or timed out', labelNames: ['check'], registers: [this.registry] });
  readonly storeErrors = new Counter({ name: 'borderpatrol_store_errors_total', help: 'Store operations that failed', labelNames: ['operation'], registers: [this.registry] });
  readonly policyReloads = new Counter({ name: 'borderpatrol_policy_reloads_total', help: 'Policy reload attempts', labelNames: ['result'], registers: [this.registry] });
  readonly policyValid = new Gauge({
    name: 'borderpatrol_policy_valid',
    help: '1 when the policy files on disk are valid and in force, 0 while a broken edit is being ignored',
    // Over workers: 0 as soon as one of them runs on a stale policy.
    aggregator: 'min',
    registers: [this.registry],
  });
  readonly policyLoadedAt = new Gauge({
    name: 'borderpatrol_policy_loaded_timestamp_seconds',
    help: 'When the policy in force was loaded',
    // Over workers: the newest load (a sum of timestamps means nothing).
    aggregator: 'max',
    registers: [this.registry],
  });

  constructor(options: { defaults?: boolean } = {}) {
    if (options.defaults !== false) {
      collectDefaultMetrics({ register: this.registry, prefix: 'borderpatrol_' });
      // prom-client leaves the start time out of a cluster's sum; the oldest worker's is the
      // service's uptime as far as a dashboard is concerned.
      const started = this.registry.getSingleMetric('borderpatrol_process_start_time_seconds') as unknown as { aggregator: string } | undefined;
      if (started) started.aggregator = 'min';
    }
    this.policyValid.set(1);
  }
}
