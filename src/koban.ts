/**
 * The composition root: configuration and a database in, a running Koban out. `main.ts` uses it for
 * `npm start`, the tests use it to boot real instances (several at once when they test nodes).
 */
import type { Config } from './platform/config.ts';
import type { Database } from './platform/db/database.ts';
import { createMetrics, type Metrics } from './platform/metrics.ts';
import { createHttpApp, type App } from './http/app.ts';
import { registerHealthRoutes } from './http/health.ts';
import { createLedger, type Ledger } from './ledger/ledger.ts';
import { registerLedgerRoutes } from './ledger/routes.ts';

export interface Koban {
  readonly config: Config;
  readonly db: Database;
  readonly app: App;
  readonly ledger: Ledger;
  readonly metrics: Metrics;
  /** Starts background work (hold expiry). Not started by tests that drive time themselves. */
  startBackgroundWork(): void;
  close(): Promise<void>;
}

export async function createKoban(config: Config, db: Database): Promise<Koban> {
  const metrics = createMetrics();
  const ledger = createLedger(db, { maxAmountMinor: config.ledgerMaxAmountMinor, metrics });
  const app = await createHttpApp({ logLevel: config.logLevel, metrics, publicUrl: config.publicUrl });
  registerHealthRoutes(app, db);
  if (config.ledgerApiToken !== null) registerLedgerRoutes(app, ledger, config.ledgerApiToken);
  const timers: NodeJS.Timeout[] = [];
  let closing = false;

  return {
    config, db, app, ledger, metrics,
    startBackgroundWork() {
      timers.push(startSweeper(ledger, config.pendingSweepIntervalMs, (error) => app.log.error({ err: error }, 'hold sweeper failed')));
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const timer of timers) clearInterval(timer);
      await app.close();
      await ledger.drain();
    },
  };
}

/** Releases expired holds every interval; never runs two sweeps at once in one process. */
function startSweeper(ledger: Ledger, intervalMs: number, onError: (error: unknown) => void): NodeJS.Timeout {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    ledger.expireDueHolds().catch(onError).finally(() => {
      running = false;
    });
  }, intervalMs);
  timer.unref();
  return timer;
}
