/**
 * One way to reach the database for every backend: the `pg` driver (and Kysely on top of it for
 * ordinary queries). PostgreSQL servers get a real pool; PGlite gets a one-connection pool through
 * its node-postgres bridge. Same driver means same type parsing: int8 is a bigint everywhere.
 */
import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { KobanTables } from './tables.ts';
import { releaseAfter } from './resilience.ts';

// int8 → bigint. Without this, pg hands back strings and a careless `+` concatenates money.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => BigInt(value));

export type DatabaseKind = 'postgres' | 'pglite';

export interface Database {
  readonly kind: DatabaseKind;
  /** `durable` for a PostgreSQL server; `trial` for PGlite, which never fsyncs. */
  readonly durability: 'durable' | 'trial';
  readonly pool: pg.Pool;
  readonly kysely: Kysely<KobanTables>;
  /** A short description safe to print (never a password). */
  readonly description: string;
  close(): Promise<void>;
}

export function wrapPool(options: {
  kind: DatabaseKind;
  pool: pg.Pool;
  description: string;
  onClose?: () => Promise<void>;
}): Database {
  const kysely = new Kysely<KobanTables>({ dialect: new PostgresDialect({ pool: options.pool }) });
  let closed = false;
  return {
    kind: options.kind,
    durability: options.kind === 'postgres' ? 'durable' : 'trial',
    pool: options.pool,
    kysely,
    description: options.description,
    async close() {
      if (closed) return;
      closed = true;
      await kysely.destroy();
      // Kysely only ends a pool it has used; end ours whatever happened.
      if (!options.pool.ended) await options.pool.end();
      await options.onClose?.();
    },
  };
}

export type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Runs `work` in one transaction on one connection. Retries only on the errors PostgreSQL asks
 * callers to retry (serialization failure, deadlock), a bounded number of times, so a lock
 * conflict never surfaces to an API caller as a 500.
 */
export async function withTransaction<T>(
  db: Database,
  work: (client: pg.PoolClient) => Promise<T>,
  options: { attemptsMax?: number; isolation?: 'read committed' | 'repeatable read' | 'serializable' } = {},
): Promise<T> {
  const attemptsMax = options.attemptsMax ?? 5;
  for (let attempt = 1; ; attempt++) {
    const client = await db.pool.connect();
    let failure: unknown;
    try {
      await client.query(`begin isolation level ${options.isolation ?? 'read committed'}`);
      const result = await work(client);
      await client.query('commit');
      return result;
    } catch (error) {
      failure = error;
      await client.query('rollback').catch(() => undefined);
      if (attempt >= attemptsMax || !isRetryable(error)) throw error;
      await sleep(Math.min(50, 2 ** attempt) * Math.random());
    } finally {
      // A broken connection is destroyed, not lent again (resilience.ts).
      releaseAfter(client, failure);
    }
  }
}

const RETRYABLE_SQLSTATES = new Set(['40001', '40P01']);

export function isRetryable(error: unknown): boolean {
  return sqlState(error) !== null && RETRYABLE_SQLSTATES.has(sqlState(error) ?? '');
}

export function sqlState(error: unknown): string | null {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return null;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
