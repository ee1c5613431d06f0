/**
 * One way to reach the database for every backend: the `pg` driver (and Kysely on top of it for
 * ordinary queries). PostgreSQL servers get a real pool; PGlite gets a one-connection pool through
 * its node-postgres bridge. Same driver means same type parsing: int8 is a bigint everywhere.
 */
import pg from 'pg';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Kysely, PostgresDialect } from 'kysely';
import { AssertionFailed } from '../assert.ts';
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
  guardPoolAgainstOpenTransactions(options.pool);
  const kysely = new Kysely<KobanTables>({ dialect: new PostgresDialect({ pool: options.pool }) });
  let closed = false;
  return {
    kind: options.kind,
    durability: options.kind === 'postgres' ? 'durable' : 'trial',
    pool: options.pool,
    get kysely() {
      assertOutsideTransaction(options.pool, 'db.kysely');
      return kysely;
    },
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

export interface TransactionOptions {
  attemptsMax?: number;
  isolation?: 'read committed' | 'repeatable read' | 'serializable';
  /**
   * Plan every prepared statement of the transaction once per connection (`plan_cache_mode =
   * force_generic_plan`, `set local`: it ends with the transaction). For long named statements whose
   * custom plan costs more than it saves: PostgreSQL's own choice kept re-planning the risk batch
   * statement on every call (bench/risk-batch.ts). Sent with the `begin`, so it costs no round trip.
   */
  genericPlans?: boolean;
}

/**
 * Runs `work` in one transaction on one connection. Retries only on the errors PostgreSQL asks
 * callers to retry (serialization failure, deadlock), a bounded number of times, so a lock
 * conflict never surfaces to an API caller as a 500.
 */
export async function withTransaction<T>(
  db: Database,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const attemptsMax = options.attemptsMax ?? 5;
  for (let attempt = 1; ; attempt++) {
    const client = await db.pool.connect();
    let failure: unknown;
    try {
      await client.query(beginStatement(options));
      const result = await insideTransaction(db.pool, () => work(client));
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

/**
 * `begin`, and with `genericPlans` the setting, as one simple-protocol message (no parameters: PostgreSQL and
 * PGlite both run several statements in one). For callers that open their own transaction (a group commit).
 */
export function beginStatement(options: Pick<TransactionOptions, 'isolation' | 'genericPlans'> = {}): string {
  const begin = `begin isolation level ${options.isolation ?? 'read committed'}`;
  return options.genericPlans === true ? `${begin}; set local plan_cache_mode = force_generic_plan` : begin;
}

/**
 * Code running inside `withTransaction` must use the transaction's client, never the pool of the same
 * database: on PostgreSQL a pool query runs on a second connection, outside the transaction (it neither
 * sees the transaction's writes nor rolls back with it), and on PGlite, whose pool has one connection,
 * it waits for the transaction's own connection for ever. So reaching the pool from inside is a bug, in
 * every environment, and fails at once with an assertion naming it.
 */
interface TransactionScope {
  readonly pool: pg.Pool;
  /** False once the transaction ended: work it started in the background may use the pool then. */
  open: boolean;
}

const openTransactions = new AsyncLocalStorage<readonly TransactionScope[]>();

async function insideTransaction<T>(pool: pg.Pool, work: () => Promise<T>): Promise<T> {
  const scope: TransactionScope = { pool, open: true };
  try {
    return await openTransactions.run([...(openTransactions.getStore() ?? []), scope], work);
  } finally {
    scope.open = false;
  }
}

/** True while the caller runs inside a transaction of this pool's database. */
export function isInsideTransaction(pool: pg.Pool): boolean {
  return (openTransactions.getStore() ?? []).some((scope) => scope.open && scope.pool === pool);
}

function assertOutsideTransaction(pool: pg.Pool, what: string): void {
  if (isInsideTransaction(pool)) {
    throw new AssertionFailed(
      `${what} was called inside withTransaction on the same database: use the transaction's client ` +
        '(on PGlite this waits on itself for ever; on PostgreSQL it runs outside the transaction)',
    );
  }
}

/** Wraps the pool's own connect and query (Kysely goes through connect) with the check above. */
function guardPoolAgainstOpenTransactions(pool: pg.Pool): void {
  const connect = pool.connect.bind(pool) as (...args: unknown[]) => unknown;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  Object.assign(pool, {
    connect: (...args: unknown[]) => {
      assertOutsideTransaction(pool, 'db.pool.connect()');
      return connect(...args);
    },
    query: (...args: unknown[]) => {
      assertOutsideTransaction(pool, 'db.pool.query()');
      return query(...args);
    },
  });
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
