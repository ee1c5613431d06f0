/**
 * Prometheus metrics (prom-client). One registry per Koban instance, so tests that start several
 * instances in one process do not collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly ledgerBatchSize: Histogram;
  readonly ledgerBatchDuration: Histogram;
  readonly ledgerTransfers: Counter<'result'>;
  /** Ledger batches decided again, by reason (a late account's status changed, serialization, deadlock, a racing insert). */
  readonly ledgerBatchRetries: Counter<'reason'>;
  /** Live feed entries sent to streams, by what woke the read: a NOTIFY, the safety-net poll, a resume. Poll deliveries mean LISTEN missed something. */
  readonly liveFeedDeliveries: Counter<'cause'>;
}

/** `nodeId`: published as koban_node_info{node="…"} 1, so each node's series can be told apart. */
export function createMetrics(options: { defaultMetrics?: boolean; nodeId?: string } = {}): Metrics {
  const registry = new Registry();
  if (options.nodeId !== undefined) {
    new Gauge({ name: 'koban_node_info', help: 'This Koban node (KOBAN_NODE_ID, else hostname:pid)', labelNames: ['node'], registers: [registry] }).set({ node: options.nodeId }, 1);
  }
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'koban_' });
  return {
    registry,
    httpRequestDuration: new Histogram({
      name: 'koban_http_request_duration_seconds', help: 'HTTP request duration', labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
    }),
    ledgerBatchSize: new Histogram({
      name: 'koban_ledger_batch_operations', help: 'Operations per ledger database transaction',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048], registers: [registry],
    }),
    ledgerBatchDuration: new Histogram({
      name: 'koban_ledger_batch_duration_seconds', help: 'Time to write one ledger batch, commit included',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers: [registry],
    }),
    ledgerTransfers: new Counter({ name: 'koban_ledger_transfers_total', help: 'Transfer outcomes', labelNames: ['result'], registers: [registry] }),
    ledgerBatchRetries: new Counter({ name: 'koban_ledger_batch_retries_total', help: 'Ledger batches decided again', labelNames: ['reason'], registers: [registry] }),
    liveFeedDeliveries: new Counter({ name: 'koban_live_feed_deliveries_total', help: 'Live feed entries sent to open streams, by what woke the read', labelNames: ['cause'], registers: [registry] }),
  };
}

/** Leased background jobs (src/platform/leases.ts) as seen by this node: which leases it holds, and its runs of each job. */
export function registerJobMetrics(metrics: Metrics, jobs: { held(): string[]; runs(): Record<string, number> }): void {
  new Gauge({
    name: 'koban_lease_held', help: 'Background job leases this node holds (1) or not (0)', labelNames: ['job'], registers: [metrics.registry],
    collect() {
      const held = new Set(jobs.held());
      for (const job of Object.keys(jobs.runs())) this.set({ job }, held.has(job) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'koban_background_job_runs', help: 'Runs of each leased background job on this node since it started', labelNames: ['job'], registers: [metrics.registry],
    collect() {
      for (const [job, runs] of Object.entries(jobs.runs())) this.set({ job }, runs);
    },
  });
}
