/**
 * `koban start --workers N` / `KOBAN_WORKERS=N npm start` (issue 18): N Koban processes on one machine.
 *
 * Built on `node:cluster` rather than N child processes behind HAProxy: the workers share the listening
 * ports (the primary accepts each connection and hands it to a worker in turn), so one machine needs no
 * balancer and no port per worker, and the primary restarts a worker that dies. Each worker is a whole
 * Koban (`src/main.ts`: own event loop, pool, LISTEN connection, background-job leases) with its own
 * KOBAN_NODE_ID (`<KOBAN_NODE_ID or hostname>-w<i>`), so /healthz and the metrics say which one answered.
 * Several machines are still put behind HAProxy (deploy/haproxy.cfg), one server line per machine.
 *
 * Worker 1 starts alone (it migrates under the advisory lock, seeds, makes the development TLS
 * certificate), the others once it is serving. SIGTERM or SIGINT to the primary is passed to every worker,
 * each drains (src/http/drain.ts) within KOBAN_SHUTDOWN_GRACE_MS, and the primary exits when all have.
 */
import cluster, { type Worker } from 'node:cluster';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { Config } from './platform/config.ts';

/** What a worker sends the primary once it serves (src/main.ts). */
export const WORKER_READY = 'koban-worker-ready';
/** A worker that dies is started again after this, unless Koban is stopping. */
const RESTART_DELAY_MS = 1_000;

export async function superviseWorkers(config: Config, log: (message: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<void> {
  const base = process.env.KOBAN_NODE_ID ?? hostname();
  const workers = new Map<number, Worker>();
  let stopping = false;

  const fork = (index: number): Promise<void> => new Promise((resolve) => {
    // Each worker enforces its share of a merchant key's rate limit in memory (merchants/opa/rate-limit.ts).
    const worker = cluster.fork({ KOBAN_WORKERS: '1', KOBAN_NODE_ID: `${base}-w${index}`, KOBAN_OPA_RATE_NODES: String(config.payments.opaRateNodes * config.workers) });
    workers.set(index, worker);
    let served = false;
    worker.on('message', (message: unknown) => {
      if (message !== WORKER_READY) return;
      served = true;
      resolve();
    });
    worker.once('exit', (code, signal) => {
      workers.delete(index);
      resolve();
      if (stopping) return;
      if (!served) {
        // It never served (its error is above): starting it again would fail the same way.
        log(`koban worker ${index} exited (${code ?? signal}) before serving: stopping`);
        stop('SIGTERM');
        process.exitCode = 1;
        return;
      }
      log(`koban worker ${index} (${base}-w${index}, pid ${worker.process.pid}) exited (${code ?? signal}); starting it again`);
      setTimeout(() => { if (!stopping) void fork(index); }, RESTART_DELAY_MS).unref();
    });
  });

  cluster.setupPrimary({ exec: fileURLToPath(new URL('./main.ts', import.meta.url)) });
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping ${workers.size} workers (each drains within ${config.limits.shutdownGraceMs} ms)`);
    for (const worker of workers.values()) worker.process.kill('SIGTERM');
    const exitAll = setInterval(() => {
      if (workers.size > 0) return;
      clearInterval(exitAll);
      process.exit(process.exitCode ?? 0);
    }, 50);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Ctrl-C reaches the workers too (one process group); they ignore SIGINT and stop on the primary's SIGTERM only.
  process.on('SIGINT', () => stop('SIGINT'));

  await fork(1);
  await Promise.all(Array.from({ length: config.workers - 1 }, (_, i) => fork(i + 2)));
  if (!stopping) log(`Koban: ${config.workers} workers serving (${[...workers.keys()].map((i) => `${base}-w${i}`).join(', ')})`);
}
