import type { Config } from '../config.ts';
import type { Database } from './database.ts';
import type { FolderLock } from './folder-lock.ts';
import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';

/** DATABASE_URL selects a PostgreSQL server; otherwise the embedded PGlite folder. */
export async function openDatabase(config: Config, heldLock?: FolderLock, log: (message: string) => void = (message) => process.stderr.write(`${message}\n`)): Promise<Database> {
  if (config.databaseUrl !== null) {
    const limits = config.limits;
    return openPostgres(config.databaseUrl, config.databasePoolSize, {
      timeouts: { acquireTimeoutMs: limits.databaseAcquireTimeoutMs, statementTimeoutMs: limits.databaseStatementTimeoutMs, idleInTransactionTimeoutMs: limits.databaseIdleInTransactionTimeoutMs },
      startupWaitMs: limits.databaseStartupWaitMs,
      log,
    });
  }
  return openPglite({ dataDir: config.dataDir, nodeEnv: config.nodeEnv, acquireTimeoutMs: config.limits.databaseAcquireTimeoutMs, ...(heldLock === undefined ? {} : { heldLock }) });
}
