import pg from 'pg';
import { wrapPool, type Database } from './database.ts';
import { boundedPoolOptions, DEFAULT_DATABASE_TIMEOUTS, guardPoolClients, waitForDatabase, type DatabaseTimeouts } from './resilience.ts';

export interface PostgresOptions {
  readonly timeouts?: DatabaseTimeouts;
  /** How long start-up waits for an unreachable server (0: refuse at once). */
  readonly startupWaitMs?: number;
  readonly log?: (message: string) => void;
}

/** Opens a pool to a PostgreSQL 15+ server. Commits are durable (the server's fsync settings). */
export async function openPostgres(url: string, poolSize: number, options: PostgresOptions = {}): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    application_name: 'koban',
    // A limit on everything: waiting for a connection, a statement, an idle transaction (resilience.ts).
    ...boundedPoolOptions(options.timeouts ?? DEFAULT_DATABASE_TIMEOUTS),
  });
  guardPoolClients(pool);
  let version: number;
  try {
    version = await waitForDatabase(() => serverVersion(pool), { deadlineMs: options.startupWaitMs ?? 0, log: options.log ?? (() => undefined) });
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  if (version < 150000) {
    await pool.end();
    throw new Error(`Koban needs PostgreSQL 15 or newer; the server at DATABASE_URL runs ${version}`);
  }
  const target = new URL(url);
  return wrapPool({ kind: 'postgres', pool, description: `PostgreSQL ${version} at ${target.hostname}:${target.port || 5432}${target.pathname}` });
}

async function serverVersion(pool: pg.Pool): Promise<number> {
  const result = await pool.query<{ server_version_num: string }>('show server_version_num');
  return Number(result.rows[0]?.server_version_num ?? 0);
}
