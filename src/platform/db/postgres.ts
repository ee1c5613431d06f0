import pg from 'pg';
import { wrapPool, type Database } from './database.ts';

/** Opens a pool to a PostgreSQL 15+ server. Commits are durable (the server's fsync settings). */
export async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    application_name: 'koban',
    // A limit on everything: no statement may hold a connection for more than 30 s.
    statement_timeout: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  pool.on('error', () => undefined); // idle-client errors resurface on the next query
  const version = await serverVersion(pool);
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
