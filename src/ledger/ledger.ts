/**
 * The ledger module's public face. Every write goes through one batcher per process (group commit);
 * reads are plain queries. Callers (wallet, payments, operations) build TransferRequests with bigint
 * amounts; the HTTP adapter in routes.ts parses JSON into the same shape.
 */
import type pg from 'pg';
import { assert } from '../platform/assert.ts';
import { sleep, sqlState, type Database, type Queryable } from '../platform/db/database.ts';
import { releaseAfter } from '../platform/db/resilience.ts';
import { KobanError } from '../platform/errors.ts';
import type { Metrics } from '../platform/metrics.ts';
import { createBatcher, type Batcher } from './batcher.ts';
import type { LedgerOperation } from './engine.ts';
import { readAccount, readAccounts, insertAccounts, changeAccountStatus, type NewAccount } from './accounts.ts';
import { readStatement, type Statement, type StatementQuery } from './statement.ts';
import { LateAccountChanged, runBatch, toTransfer, type TransferRow } from './store.ts';
import type { Account, AccountStatus, Transfer, TransferRequest, TransferResult, TransferResultCode, PendingStatus } from './types.ts';
import { LEDGER_LIMITS, validateTransferRequests } from './validate.ts';

export interface LedgerOptions {
  readonly maxAmountMinor: bigint;
  /** Operations per database transaction (TigerBeetle uses ~8k; we measured 256–2048 as the sweet spot). */
  readonly batchItemsMax?: number;
  readonly queuedItemsMax?: number;
  /** Batches written at once, each on its own connection (see batcher.ts). */
  readonly batchesInFlightMax?: number;
  /** Gather an event-loop turn's requests before starting a second batch (batcher.ts); default on. */
  readonly gatherTurn?: boolean;
  /** Share a full queue between the in-flight slots when none is busy (batcher.ts); default on. */
  readonly splitIdle?: boolean;
  readonly metrics?: Metrics;
}

export type TransferLookup =
  | { readonly state: 'created'; readonly transfer: Transfer }
  | { readonly state: 'failed'; readonly result: TransferResultCode };

export interface Ledger {
  readonly maxAmountMinor: bigint;
  createAccounts(accounts: readonly NewAccount[]): Promise<Account[]>;
  /** Pass `within` (the caller's transaction client) when calling from inside `withTransaction`. */
  getAccount(id: string, within?: Queryable): Promise<Account | null>;
  getAccounts(ids: readonly string[], within?: Queryable): Promise<Account[]>;
  setAccountStatus(id: string, status: AccountStatus): Promise<Account>;
  /** One group: linked chains inside it commit or fail together. Validates shape first. */
  createTransfers(requests: readonly TransferRequest[]): Promise<TransferResult[]>;
  /**
   * Several groups written in the caller's open transaction (`client` has begun; the caller commits or
   * rolls back): for a module whose own rows must commit with the money (payments' group commit). The
   * ledger still owns the SQL and takes its locks in its one global order. Answers one result list per
   * group. A conflict it would retry on its own (serialization failure, deadlock, a concurrent insert of
   * the same id, an account whose status changed under the batch) is thrown: the caller rolls back and
   * decides again (`isLedgerRetryable`).
   */
  createTransfersWithin(client: pg.PoolClient, groups: ReadonlyArray<readonly TransferRequest[]>): Promise<TransferResult[][]>;
  lookupTransfer(id: string): Promise<TransferLookup | null>;
  /** A hold's state (pending, posted, voided, expired) and its expiry on the ledger's clock; null when no such hold. */
  holdStatus(pendingId: string): Promise<{ readonly status: PendingStatus; readonly expiresAt: Date } | null>;
  statement(query: StatementQuery): Promise<Statement>;
  /** Releases holds whose timeout has passed; returns how many it released. */
  expireDueHolds(limit?: number): Promise<number>;
  /** Waits for queued writes (used at shutdown). */
  drain(): Promise<void>;
}

const BATCH_ATTEMPTS_MAX = 8;
// 40001 serialization, 40P01 deadlock (cannot happen with ordered locks, kept as a belt), 23505 a
// concurrent writer in another process created the same transfer id first: retrying re-reads it.
const RETRY_SQLSTATES = new Set(['40001', '40P01', '23505']);

export function createLedger(db: Database, options: LedgerOptions): Ledger {
  const batcher = createOperationBatcher(db, options);
  return {
    maxAmountMinor: options.maxAmountMinor,
    createAccounts: (accounts) => insertAccounts(db, accounts),
    getAccount: (id, within) => readAccount(within ?? db.pool, id),
    getAccounts: (ids, within) => readAccounts(within ?? db.pool, ids),
    setAccountStatus: (id, status) => changeAccountStatus(db, id, status),
    async createTransfers(requests) {
      validateTransferRequests(requests, options.maxAmountMinor, '/transfers');
      const results = await batcher.submit(requests.map((request) => ({ kind: 'transfer', request: canonicalIds(request) })));
      for (const result of results) options.metrics?.ledgerTransfers.inc({ result: result.result });
      return results;
    },
    async createTransfersWithin(client, groups) {
      groups.forEach((requests, index) => validateTransferRequests(requests, options.maxAmountMinor, `/groups/${index}`));
      const started = performance.now();
      const outcome = await runBatch(client, groups.map((requests) => requests.map((request) => ({ kind: 'transfer' as const, request: canonicalIds(request) }))), { callerTransaction: true });
      options.metrics?.ledgerBatchSize.observe(groups.reduce((sum, g) => sum + g.length, 0));
      options.metrics?.ledgerBatchDuration.observe((performance.now() - started) / 1000);
      for (const result of outcome.results.flat()) options.metrics?.ledgerTransfers.inc({ result: result.result });
      return outcome.results;
    },
    lookupTransfer: (id) => lookupTransfer(db, id),
    async holdStatus(pendingId) {
      const held = await db.pool.query<{ status: PendingStatus; expires_at: Date }>('select status, expires_at from pending_transfers where id = $1', [pendingId.toLowerCase()]);
      const row = held.rows[0];
      return row === undefined ? null : { status: row.status, expiresAt: row.expires_at };
    },
    statement: (query) => readStatement(db, query),
    async expireDueHolds(limit = 500) {
      const due = await db.pool.query<{ id: string }>(
        `select id from pending_transfers where status = 'pending' and expires_at <= now() order by expires_at limit $1`, [limit]);
      if (due.rows.length === 0) return 0;
      // Expiries are independent: sent as groups no larger than a request may be.
      const chunks: LedgerOperation[][] = [];
      for (let i = 0; i < due.rows.length; i += LEDGER_LIMITS.transfersPerRequestMax) {
        chunks.push(due.rows.slice(i, i + LEDGER_LIMITS.transfersPerRequestMax).map((row) => ({ kind: 'expire', pendingId: row.id })));
      }
      const results = (await Promise.all(chunks.map((chunk) => batcher.submit(chunk)))).flat();
      return results.filter((result) => result.result === 'created').length;
    },
    drain: () => batcher.drain(),
  };
}

/** PostgreSQL hands uuids back in lowercase; the engine matches ids as strings, so it gets them that way too. */
function canonicalIds(request: TransferRequest): TransferRequest {
  return {
    ...request,
    id: request.id.toLowerCase(),
    debitAccountId: request.debitAccountId?.toLowerCase() ?? null,
    creditAccountId: request.creditAccountId?.toLowerCase() ?? null,
    pendingId: request.pendingId?.toLowerCase() ?? null,
  };
}

function createOperationBatcher(db: Database, options: LedgerOptions): Batcher<LedgerOperation[], TransferResult[]> {
  const itemsMax = options.batchItemsMax ?? 1024;
  // A request's transfers are one group and a group is never split: a batch must hold the largest.
  assert(itemsMax >= LEDGER_LIMITS.transfersPerRequestMax, `batchItemsMax must be at least ${LEDGER_LIMITS.transfersPerRequestMax}`);
  return createBatcher<LedgerOperation[], TransferResult[]>({
    itemsMax,
    queuedItemsMax: options.queuedItemsMax ?? itemsMax * 64,
    inFlightMax: options.batchesInFlightMax ?? 2,
    gatherTurn: options.gatherTurn ?? true,
    splitIdle: options.splitIdle ?? true,
    sizeOf: (group) => group.length,
    write: async (groups) => {
      const started = performance.now();
      const results = await writeWithRetry(db, groups, (reason) => options.metrics?.ledgerBatchRetries.inc({ reason }));
      options.metrics?.ledgerBatchSize.observe(groups.reduce((sum, g) => sum + g.length, 0));
      options.metrics?.ledgerBatchDuration.observe((performance.now() - started) / 1000);
      return results;
    },
  });
}

/** Why a batch is decided again (koban_ledger_batch_retries_total): a late account's status changed, or a SQLSTATE. */
export type RetryReason = 'late_account_changed' | 'serialization_failure' | 'deadlock' | 'concurrent_insert';
const RETRY_REASONS: Readonly<Record<string, RetryReason>> = { '40001': 'serialization_failure', '40P01': 'deadlock', '23505': 'concurrent_insert' };

async function writeWithRetry(db: Database, groups: LedgerOperation[][], onRetry: (reason: RetryReason) => void): Promise<TransferResult[][]> {
  for (let attempt = 1; ; attempt++) {
    const client = await db.pool.connect();
    let failure: unknown;
    try {
      const outcome = await runBatch(client, groups);
      return outcome.results;
    } catch (error) {
      failure = error;
      await rollbackQuietly(client);
      if (attempt >= BATCH_ATTEMPTS_MAX || !RETRY_SQLSTATES.has(sqlState(error) ?? '')) throw error;
      onRetry(error instanceof LateAccountChanged ? 'late_account_changed' : RETRY_REASONS[sqlState(error) ?? ''] ?? 'serialization_failure');
      await sleep(Math.random() * Math.min(20, 2 ** attempt));
    } finally {
      // A broken connection fails this batch's requests only; it is destroyed and the pool opens another.
      releaseAfter(client, failure);
    }
  }
}

async function rollbackQuietly(client: pg.PoolClient): Promise<void> {
  try {
    await client.query('rollback');
  } catch {
    // the connection is broken; release() hands it back and the pool discards it
  }
}

async function lookupTransfer(db: Database, id: string): Promise<TransferLookup | null> {
  const transfer = await db.pool.query<TransferRow>(
    `select id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags, timeout_seconds, reference, created_at
     from transfers where id = $1`, [id]);
  const row = transfer.rows[0];
  if (row !== undefined) return { state: 'created', transfer: toTransfer(row) };
  const failed = await db.pool.query<{ result: TransferResultCode }>('select result from transfer_failures where id = $1', [id]);
  const failure = failed.rows[0];
  return failure === undefined ? null : { state: 'failed', result: failure.result };
}

/** A conflict the caller of `createTransfersWithin` should roll back and decide again, as the ledger's own batches do. */
export function isLedgerRetryable(error: unknown): boolean {
  return error instanceof LateAccountChanged || RETRY_SQLSTATES.has(sqlState(error) ?? '');
}

export function requireTransferCreated(results: readonly TransferResult[]): Transfer[] {
  const failed = results.filter((result) => result.result !== 'created' && result.result !== 'exists');
  if (failed.length > 0) {
    throw new KobanError('transfers_rejected', {
      detail: failed.map((f) => `${f.id}: ${f.result}`).join('; '),
      extensions: { results: failed.map((f) => ({ id: f.id, result: f.result })) },
    });
  }
  return results.map((result) => {
    assert(result.transfer !== null, 'a created transfer is returned');
    return result.transfer;
  });
}
