/**
 * How Koban survives its database (issue 12): a dropped connection fails only the requests that
 * were using it, the pool replaces it, waiting for a connection or a statement is bounded, and
 * start-up waits for a database that is not up yet instead of refusing.
 *
 * The root cause of the crashes this file prevents: `pg` emits `'error'` on a client whose socket
 * breaks, and pg-pool listens for it only while the client sits idle in the pool. A client held by a
 * transaction, a ledger batch or a LISTEN helper had no listener, so Node turned the event into an
 * uncaught exception and the process exited. Every client now gets a listener the moment the pool
 * creates it; the query in flight still rejects with the error, which fails its own request only.
 */
import type pg from 'pg';

/** Bounds on waiting for the database; PostgreSQL enforces the statement and idle-in-transaction ones. */
export interface DatabaseTimeouts {
  /** Waiting for a pool connection (or opening one). */
  readonly acquireTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly idleInTransactionTimeoutMs: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = { acquireTimeoutMs: 5_000, statementTimeoutMs: 20_000, idleInTransactionTimeoutMs: 30_000 };

/**
 * A server that stops answering (a stopped backend, a blackholed link) never cancels a statement
 * itself: the client gives up this long after the server's own statement timeout should have fired.
 */
const CLIENT_READ_MARGIN_MS = 5_000;

/** The pg.Pool options that bound every wait. */
export function boundedPoolOptions(timeouts: DatabaseTimeouts): pg.PoolConfig {
  return {
    connectionTimeoutMillis: timeouts.acquireTimeoutMs,
    statement_timeout: timeouts.statementTimeoutMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs,
    query_timeout: timeouts.statementTimeoutMs + CLIENT_READ_MARGIN_MS,
    // A link that silently drops packets is noticed by TCP keepalives instead of never.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  };
}

/**
 * Every client the pool creates handles its own `'error'` events for its whole life. The error also
 * rejects the query in flight (or the next one), so the caller learns of it; here it is only counted
 * and reported, never rethrown. Idle clients' errors arrive on the pool's `'error'` event.
 */
export function guardPoolClients(pool: pg.Pool, onError: (error: Error) => void = () => undefined): void {
  pool.on('connect', (client) => {
    client.on('error', onError);
  });
  pool.on('error', onError);
  pool.on('release', (_error: Error | undefined, client: pg.PoolClient) => retireIfMidQuery(client));
}

/**
 * A client handed back while a query is still outstanding (the client-side read timeout gave up on a
 * server that stopped answering) would make the next borrower wait behind that query: pg-pool drops a
 * client it sees as not queryable, so it is marked so. pg-pool reads the same flag (its own TODO
 * says it has no public interface for it yet).
 */
function retireIfMidQuery(client: pg.PoolClient): void {
  const internals = client as unknown as { _getActiveQuery?: () => unknown; _queryable?: boolean };
  if (typeof internals._getActiveQuery === 'function' && internals._getActiveQuery() != null) internals._queryable = false;
}

/**
 * Hands a client back; one whose connection failed (or timed out mid-query, leaving the protocol in an
 * unknown state) is destroyed so the pool opens a fresh one instead of lending a broken one again.
 */
export function releaseAfter(client: pg.PoolClient, error: unknown): void {
  client.release(error !== undefined && isConnectionFailure(error) ? asError(error) : undefined);
}

/**
 * True when the database could not be reached or did not answer in time — the request may succeed on
 * retry — as opposed to an error in the statement itself.
 */
export function isConnectionFailure(error: unknown): boolean {
  const code = sqlState(error);
  if (code !== null && NODE_NETWORK_CODES.has(code)) return true;
  if (code !== null && /^[0-9A-Z]{5}$/.test(code)) return UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08');
  const message = error instanceof Error ? error.message : '';
  return UNAVAILABLE_MESSAGES.some((text) => message.includes(text));
}

/** Statement or lock waits cancelled by the server's timeouts; retrying later may succeed. */
const UNAVAILABLE_SQLSTATES = new Set([
  '57014', // query_canceled: statement_timeout
  '25P03', // idle_in_transaction_session_timeout
  '55P03', // lock_not_available: lock_timeout
  '57P01', // admin_shutdown: pg_terminate_backend, a fast shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or shutting down
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
]);

const NODE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

/** pg and pg-pool report these as plain Errors without a code. */
const UNAVAILABLE_MESSAGES = [
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'Query read timeout',
  'not queryable',
  'Client was closed and is not queryable',
  'connection timeout',
];

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** Start-up: attempts spaced 250 ms, 500 ms, … up to this, until the deadline. */
const STARTUP_BACKOFF_MAX_MS = 5_000;

/**
 * Runs `probe` until it succeeds, backing off between attempts while the failure is the database not
 * being reachable yet (it is starting, restarting, or the network is not up). Any other failure
 * (wrong password, no such database) is a configuration error and is thrown at once.
 */
export async function waitForDatabase<T>(probe: () => Promise<T>, options: { deadlineMs: number; log: (message: string) => void; sleep?: (ms: number) => Promise<void> }): Promise<T> {
  const pause = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await probe();
      if (attempt > 1) options.log(`database reachable after ${attempt} attempts`);
      return result;
    } catch (error) {
      const waitedMs = Date.now() - started;
      if (!isConnectionFailure(error) || waitedMs >= options.deadlineMs) throw error;
      const delayMs = Math.min(STARTUP_BACKOFF_MAX_MS, 250 * 2 ** Math.min(attempt - 1, 10), options.deadlineMs - waitedMs);
      options.log(`waiting for the database (attempt ${attempt}: ${describeFailure(error)}); next attempt in ${delayMs} ms`);
      await pause(delayMs);
    }
  }
}

function describeFailure(error: unknown): string {
  const code = sqlState(error) ?? '';
  const message = error instanceof Error ? error.message : String(error);
  return code === '' ? message : `${code} ${message}`;
}

/** The error's `code`: a SQLSTATE from the server, or a Node network code. */
function sqlState(error: unknown): string | null {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') return error.code;
  return null;
}
