/**
 * The ledger's PostgreSQL side, TigerBeetle's prefetch → execute → commit in one transaction:
 *  1. read the held transfers that posts/voids/expiries refer to (immutable, so no lock needed),
 *  2. lock every account the batch touches, in id order (one order everywhere: no deadlocks),
 *  3. read, now under those locks, the existing transfers/failures for the batch's ids and the
 *     status of the holds,
 *  4. run the pure engine,
 *  5. write everything in one statement: new transfers, remembered failures, the final totals of
 *     each changed account (once per batch, however many transfers hit a hot merchant), holds.
 * Reading idempotency state only after the locks means a retry racing its original on the same
 * accounts always sees the original's outcome.
 */
import type pg from 'pg';
import { assert } from '../platform/assert.ts';
import { executeBatch, type AccountState, type BatchOutcome, type BatchState, type LedgerOperation } from './engine.ts';
import { hasFlag, TransferFlags, type PendingStatus, type Transfer, type TransferResultCode } from './types.ts';

const TRANSFER_COLUMNS = `t.id, t.debit_account_id, t.credit_account_id, t.amount, t.pending_id, t.ledger, t.code,
  t.flags, t.timeout_seconds, t.reference, t.created_at`;

export interface TransferRow {
  id: string; debit_account_id: string; credit_account_id: string; amount: bigint; pending_id: string | null;
  ledger: number; code: number; flags: number; timeout_seconds: number; reference: string | null; created_at: Date;
}

export function toTransfer(row: TransferRow): Transfer {
  return {
    id: row.id, debitAccountId: row.debit_account_id, creditAccountId: row.credit_account_id, amount: row.amount,
    pendingId: row.pending_id, ledger: row.ledger, code: row.code, flags: row.flags,
    timeoutSeconds: row.timeout_seconds, reference: row.reference, createdAt: row.created_at,
  };
}

/**
 * Runs one batch in its own transaction on `client` (begin … commit) and returns the engine's
 * outcome. Round trips are the cost at low load, so they are few: begin+clock, [held transfers],
 * lock, idempotency state, write, commit.
 */
export async function runBatch(client: pg.PoolClient, groups: ReadonlyArray<readonly LedgerOperation[]>): Promise<BatchOutcome> {
  const { transferIds, pendingIds, requestAccountIds } = collectIds(groups);
  const now = await beginTransaction(client);
  const held = await readTransfers(client, pendingIds);
  const accountIds = new Set(requestAccountIds);
  for (const transfer of held.values()) {
    accountIds.add(transfer.debitAccountId);
    accountIds.add(transfer.creditAccountId);
  }
  const accounts = await lockAccounts(client, [...accountIds]);
  const known = await readIdempotencyState(client, transferIds);
  const state: BatchState = { now, accounts, transfers: known.transfers, failures: known.failures, pendings: await readPendings(client, held) };
  for (const [id, transfer] of held) if (!state.transfers.has(id)) state.transfers.set(id, transfer);
  const outcome = executeBatch(state, groups);
  await writeOutcome(client, outcome, now);
  await client.query('commit');
  return outcome;
}

function collectIds(groups: ReadonlyArray<readonly LedgerOperation[]>) {
  const transferIds = new Set<string>();
  const pendingIds = new Set<string>();
  const requestAccountIds = new Set<string>();
  for (const group of groups) {
    for (const operation of group) {
      if (operation.kind === 'expire') {
        pendingIds.add(operation.pendingId);
        continue;
      }
      const request = operation.request;
      transferIds.add(request.id);
      if (request.pendingId !== null) pendingIds.add(request.pendingId);
      if (request.debitAccountId !== null) requestAccountIds.add(request.debitAccountId);
      if (request.creditAccountId !== null) requestAccountIds.add(request.creditAccountId);
    }
  }
  return { transferIds: [...transferIds], pendingIds: [...pendingIds], requestAccountIds };
}

async function beginTransaction(client: pg.PoolClient): Promise<Date> {
  // One round trip for both. now() is the transaction's start: one clock, the database's, for
  // every Koban node (hold expiry must not depend on which node's clock is right).
  const results = (await client.query('begin; select now() as now')) as unknown as Array<pg.QueryResult<{ now: Date }>>;
  const now = results[1]?.rows[0]?.now;
  assert(now instanceof Date, 'database returned a timestamp');
  return now;
}

async function readTransfers(client: pg.PoolClient, ids: readonly string[]): Promise<Map<string, Transfer>> {
  if (ids.length === 0) return new Map();
  const result = await client.query<TransferRow>({
    name: 'ledger_read_transfers',
    text: `select ${TRANSFER_COLUMNS} from transfers t where t.id = any($1::uuid[])`,
    values: [ids],
  });
  return new Map(result.rows.map((row) => [row.id, toTransfer(row)]));
}

async function lockAccounts(client: pg.PoolClient, ids: readonly string[]): Promise<Map<string, AccountState>> {
  if (ids.length === 0) return new Map();
  const result = await client.query<{
    id: string; ledger: number; flags: number; status: AccountState['status'];
    debits_pending: bigint; debits_posted: bigint; credits_pending: bigint; credits_posted: bigint;
  }>({
    name: 'ledger_lock_accounts',
    text: `select id, ledger, flags, status, debits_pending, debits_posted, credits_pending, credits_posted
           from accounts where id = any($1::uuid[]) order by id for update`,
    values: [ids],
  });
  const accounts = new Map<string, AccountState>();
  for (const row of result.rows) {
    assert(row.debits_posted >= 0n && row.credits_posted >= 0n, 'stored totals are non-negative');
    accounts.set(row.id, {
      id: row.id, ledger: row.ledger, flags: row.flags, status: row.status,
      debitsPending: row.debits_pending, debitsPosted: row.debits_posted,
      creditsPending: row.credits_pending, creditsPosted: row.credits_posted,
    });
  }
  return accounts;
}

/** Existing transfers and remembered failures for the batch's ids, in one query, under the locks. */
async function readIdempotencyState(client: pg.PoolClient, ids: readonly string[]) {
  const transfers = new Map<string, Transfer>();
  const failures = new Map<string, TransferResultCode>();
  if (ids.length === 0) return { transfers, failures };
  const result = await client.query<TransferRow & { failure: TransferResultCode | null }>({
    name: 'ledger_read_idempotency_state',
    text: `select ${TRANSFER_COLUMNS}, null::text as failure from transfers t where t.id = any($1::uuid[])
           union all
           select f.id, null, null, null, null, null, null, null, null, null, null, f.result from transfer_failures f where f.id = any($1::uuid[])`,
    values: [ids],
  });
  for (const row of result.rows) {
    if (row.failure === null) transfers.set(row.id, toTransfer(row));
    else failures.set(row.id, row.failure);
  }
  return { transfers, failures };
}

async function readPendings(client: pg.PoolClient, held: Map<string, Transfer>) {
  const pendings = new Map<string, { transfer: Transfer; status: PendingStatus; expiresAt: Date }>();
  const ids = [...held.values()].filter((t) => hasFlag(t.flags, TransferFlags.pending)).map((t) => t.id);
  if (ids.length === 0) return pendings;
  const result = await client.query<{ id: string; status: PendingStatus; expires_at: Date }>({
    name: 'ledger_read_pendings',
    text: 'select id, status, expires_at from pending_transfers where id = any($1::uuid[])',
    values: [ids],
  });
  for (const row of result.rows) {
    const transfer = held.get(row.id);
    assert(transfer !== undefined, 'a pending status belongs to a held transfer');
    pendings.set(row.id, { transfer, status: row.status, expiresAt: row.expires_at });
  }
  assert(pendings.size === ids.length, 'every pending transfer has a status row');
  return pendings;
}

const WRITE_OUTCOME = `
with new_transfers as (
  insert into transfers (id, debit_account_id, credit_account_id, amount, pending_id, ledger, code, flags, timeout_seconds, reference, created_at)
  select id, debit, credit, amount, pending, ledger, code, flags, timeout, reference, $11::timestamptz
  from unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[], $5::uuid[], $6::int[], $7::smallint[], $8::int[], $9::int[], $10::text[])
    as u(id, debit, credit, amount, pending, ledger, code, flags, timeout, reference)
  returning 1
), new_failures as (
  insert into transfer_failures (id, result) select * from unnest($12::uuid[], $13::text[])
  on conflict (id) do nothing
  returning 1
), new_totals as (
  update accounts a set debits_pending = u.dp, debits_posted = u.dpo, credits_pending = u.cp, credits_posted = u.cpo
  from unnest($14::uuid[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[]) as u(id, dp, dpo, cp, cpo)
  -- The redundant "= any" makes the planner fetch the rows through the primary key instead of
  -- hashing a sequential scan of all accounts (measured: 10 ms → 2 ms for 256 rows of 21,000).
  where a.id = u.id and a.id = any($14::uuid[])
  returning 1
), holds as (
  insert into pending_transfers (id, status, expires_at, resolved_at)
  select id, status, expires_at, case when status = 'pending' then null else $11::timestamptz end
  from unnest($19::uuid[], $20::text[], $21::timestamptz[]) as u(id, status, expires_at)
  on conflict (id) do update set status = excluded.status, resolved_at = excluded.resolved_at
  returning 1
)
select (select count(*) from new_transfers)::int as transfers, (select count(*) from new_totals)::int as accounts,
       (select count(*) from holds)::int as holds`;

async function writeOutcome(client: pg.PoolClient, outcome: BatchOutcome, now: Date): Promise<void> {
  const nothingToWrite = outcome.created.length === 0 && outcome.failures.length === 0
    && outcome.changedAccounts.length === 0 && outcome.pendingChanges.length === 0;
  if (nothingToWrite) return;
  const t = outcome.created;
  const a = outcome.changedAccounts;
  const p = outcome.pendingChanges;
  const result = await client.query<{ transfers: number; accounts: number; holds: number }>({
    name: 'ledger_write_outcome',
    text: WRITE_OUTCOME,
    values: [
      t.map((x) => x.id), t.map((x) => x.debitAccountId), t.map((x) => x.creditAccountId), t.map((x) => x.amount),
      t.map((x) => x.pendingId), t.map((x) => x.ledger), t.map((x) => x.code), t.map((x) => x.flags),
      t.map((x) => x.timeoutSeconds), t.map((x) => x.reference), now,
      outcome.failures.map((x) => x.id), outcome.failures.map((x) => x.result),
      a.map((x) => x.id), a.map((x) => x.debitsPending), a.map((x) => x.debitsPosted), a.map((x) => x.creditsPending), a.map((x) => x.creditsPosted),
      p.map((x) => x.id), p.map((x) => x.status), p.map((x) => x.expiresAt),
    ],
  });
  const written = result.rows[0];
  // Pair assertions: what the database says it wrote is what the engine decided.
  assert(written?.transfers === t.length, `wrote ${written?.transfers} of ${t.length} transfers`);
  assert(written.accounts === a.length, `updated ${written.accounts} of ${a.length} accounts`);
  assert(written.holds === p.length, `wrote ${written.holds} of ${p.length} holds`);
}
