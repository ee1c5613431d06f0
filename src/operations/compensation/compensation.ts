/**
 * Compensation: repay fraud victims from the compensation account (ledger code 600).
 *
 * 1. Flag the fraudulent transfers (from a case, or found by a ledger query).
 * 2. Create a batch: victims come from cases or from every flagged transfer not yet compensated. Each
 *    wallet's loss is computed from the ledger: flagged payments out of the wallet minus flagged top-ups
 *    into it (those are reversed by the card issuer or bank, listed in the CSV exports instead).
 * 3. Review, propose, and have a second operator approve (four eyes, proposals.ts).
 * 4. Execute: one ledger transfer per victim with an id derived from (batch, wallet), so executing again
 *    — after a crash, a timeout, or twice at once — asks the ledger for the same transfers and pays
 *    nobody twice. Each flagged transfer belongs to at most one batch.
 */
import { PLATFORM_ACCOUNTS } from '../../ledger/platform-accounts.ts';
import type pg from 'pg';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { derivedUuid, isUuid, uuidv7 } from '../../platform/ids.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { AccountCodes, Ledgers, TransferCodes, type TransferRequest } from '../../ledger/types.ts';
import { LEDGER_LIMITS } from '../../ledger/validate.ts';
import { recordAudit } from '../audit/audit-log.ts';
import type { CustomerWallets } from '../adapters.ts';
import { requireApproved, type Decider, type Proposal, type Proposals } from '../proposals/proposals.ts';

export const BATCH_ITEMS_MAX = 10_000;
export const FLAGS_PER_REQUEST_MAX = 1000;

export type BatchStatus = 'draft' | 'proposed' | 'approved' | 'executed' | 'rejected';

export interface BatchItem {
  readonly walletAccountId: string;
  readonly customerRef: string | null;
  readonly lossMinor: bigint;
  readonly transferId: string;
  readonly status: 'pending' | 'paid';
}

export interface Batch {
  readonly id: string;
  readonly title: string;
  readonly status: BatchStatus;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly proposalId: string | null;
  readonly executedAt: Date | null;
  readonly totalMinor: bigint;
  readonly items: readonly BatchItem[];
}

export type VictimSource = { readonly caseIds: readonly string[] } | { readonly allFlagged: true };

export interface Compensation {
  /** With `customerId` (picked from the account's transactions), every transfer must be one of that customer's wallet. */
  flagTransfers(transferIds: readonly string[], reason: string, caseId: string | null, by: Decider, scope?: { customerId: string }): Promise<number>;
  createBatch(title: string, source: VictimSource, by: Decider): Promise<Batch>;
  get(batchId: string): Promise<Batch>;
  propose(batchId: string, by: Decider): Promise<Proposal>;
  decide(batchId: string, approve: boolean, by: Decider): Promise<Batch>;
  execute(batchId: string, by: Decider): Promise<Batch>;
  exportCsv(batchId: string, audience: 'card_issuers' | 'banks'): Promise<string>;
}

async function walletOfPickedAccount(wallets: CustomerWallets, customerId: string): Promise<string> {
  const walletAccountId = isUuid(customerId) ? await wallets.walletAccountIdOf(customerId) : null;
  if (walletAccountId === null) throw new KobanError('wallet_not_found');
  return walletAccountId;
}

/** A list picked from one account's transactions may hold nothing else (a forged or stale form changes nothing). */
async function requireTransfersOfAccount(client: pg.PoolClient, transferIds: readonly string[], walletAccountId: string): Promise<void> {
  const foreign = await client.query<{ id: string }>(
    'select id from transfers where id = any($1::uuid[]) and debit_account_id <> $2 and credit_account_id <> $2 limit 10', [transferIds, walletAccountId]);
  if (foreign.rows.length > 0) {
    throw new KobanError('transfer_not_in_account', { detail: 'every picked transfer must move money into or out of this customer\'s wallet', extensions: { transferIds: foreign.rows.map((row) => row.id) } });
  }
}

/** A UUID from (batch, wallet): the same victim in the same batch always gets the same transfer id. */
export function compensationTransferId(batchId: string, walletAccountId: string): string {
  return derivedUuid('koban-compensation', batchId, walletAccountId);
}

export function createCompensation(db: Database, ledger: Ledger, proposals: Proposals, wallets: () => CustomerWallets): Compensation {
  const compensation: Compensation = {
    async flagTransfers(transferIds, reason, caseId, by, scope) {
      if (transferIds.length === 0 || transferIds.length > FLAGS_PER_REQUEST_MAX || !transferIds.every(isUuid)) {
        throw new KobanError('validation_failed', { errors: [{ pointer: '/body/transferIds', message: `1 to ${FLAGS_PER_REQUEST_MAX} transfer ids` }] });
      }
      // Read before the transaction (the adapter uses the pool): the account the operator picked from.
      const walletAccountId = scope === undefined ? null : await walletOfPickedAccount(wallets(), scope.customerId);
      return withTransaction(db, async (client) => {
        const found = await client.query<{ id: string }>('select id from transfers where id = any($1::uuid[])', [transferIds]);
        if (found.rows.length !== new Set(transferIds).size) throw new KobanError('transfer_not_found', { detail: 'every flagged transfer must exist in the ledger' });
        if (walletAccountId !== null) await requireTransfersOfAccount(client, transferIds, walletAccountId);
        const inserted = await client.query('insert into fraud_flags (transfer_id, case_id, reason, flagged_by) select unnest($1::uuid[]), $2, $3, $4 on conflict do nothing',
          [transferIds, caseId, reason, `operator:${by.operatorId}`]);
        await recordAudit(client, { actor: { kind: 'operator', id: by.operatorId }, action: 'compensation.transfers_flagged', target: { kind: 'case', id: caseId ?? '-' },
          reason, outcome: 'success', details: { transferIds: transferIds.slice(0, 100), count: transferIds.length }, ip: by.ip ?? null, requestId: by.requestId ?? null });
        return inserted.rowCount ?? 0;
      });
    },
    async createBatch(title, source, by) {
      const walletFilter = 'caseIds' in source ? await walletsOfCases(db, wallets(), source.caseIds) : null;
      const batchId = uuidv7();
      await withTransaction(db, async (client) => {
        const losses = await computeLosses(client, walletFilter);
        const paid = losses.wallets.filter((w) => w.lossMinor > 0n);
        if (losses.transferIds.length === 0) throw new KobanError('compensation_batch_state', { detail: 'no flagged transfer is waiting for compensation' });
        const total = paid.reduce((sum, w) => sum + w.lossMinor, 0n);
        await client.query('insert into compensation_batches (id, title, created_by, total_minor, item_count) values ($1, $2, $3, $4, $5)', [batchId, title, by.operatorId, total.toString(), paid.length]);
        await client.query(`insert into compensation_items (batch_id, wallet_account_id, loss_minor, transfer_id)
          select $1, w, l, t from unnest($2::uuid[], $3::bigint[], $4::uuid[]) as x(w, l, t)`,
          [batchId, paid.map((w) => w.walletAccountId), paid.map((w) => w.lossMinor.toString()), paid.map((w) => compensationTransferId(batchId, w.walletAccountId))]);
        await client.query(`insert into compensated_transfers (transfer_id, batch_id, wallet_account_id) select t, $1, w from unnest($2::uuid[], $3::uuid[]) as x(t, w)`,
          [batchId, losses.transferIds, losses.transferWallets]);
        await recordAudit(client, { actor: { kind: 'operator', id: by.operatorId }, action: 'compensation.batch_created', target: { kind: 'compensation_batch', id: batchId },
          reason: title, outcome: 'success', details: { victims: paid.length, totalMinor: total, flaggedTransfers: losses.transferIds.length }, ip: by.ip ?? null, requestId: by.requestId ?? null });
      });
      await fillCustomerRefs(db, wallets, batchId);
      return compensation.get(batchId);
    },
    get: (batchId) => getBatch(db, batchId),
    async propose(batchId, by) {
      return withTransaction(db, async (client) => {
        const batch = await lockBatch(client, batchId);
        if (batch.status !== 'draft' && batch.status !== 'rejected') throw new KobanError('compensation_batch_state', { detail: `batch is ${batch.status}` });
        const proposal = await proposals.propose(client, { kind: 'compensation_batch', subjectId: batchId, by,
          summary: { totalMinor: batch.total_minor.toString(), victims: batch.item_count } });
        await client.query(`update compensation_batches set status = 'proposed', proposal_id = $2 where id = $1`, [batchId, proposal.id]);
        return proposal;
      });
    },
    async decide(batchId, approve, by) {
      const batch = await getBatch(db, batchId);
      if (batch.status !== 'proposed' || batch.proposalId === null) throw new KobanError('compensation_batch_state', { detail: `batch is ${batch.status}` });
      const decided = await proposals.decide(batch.proposalId, approve, by, async (client) => {
        await client.query(`update compensation_batches set status = 'approved' where id = $1 and status = 'proposed'`, [batchId]);
      });
      if (!approve) await db.pool.query(`update compensation_batches set status = 'rejected' where id = $1 and status = 'proposed'`, [batchId]);
      assert(decided.status === (approve ? 'approved' : 'rejected'), 'proposal decided as asked');
      return getBatch(db, batchId);
    },
    async execute(batchId, by) {
      const batch = await withTransaction(db, async (client) => {
        const row = await lockBatch(client, batchId);
        if (row.status !== 'approved' && row.status !== 'executed') throw new KobanError('compensation_batch_state', { detail: `batch is ${row.status}; it must be approved by a second operator first` });
        await requireApproved(client, row.proposal_id, 'compensation_batch', batchId);
        return row;
      });
      const source = PLATFORM_ACCOUNTS.compensation;
      const items = (await getBatch(db, batchId)).items;
      const paidIds: string[] = [];
      for (let start = 0; start < items.length; start += LEDGER_LIMITS.transfersPerRequestMax) {
        const chunk = items.slice(start, start + LEDGER_LIMITS.transfersPerRequestMax);
        const results = await ledger.createTransfers(chunk.map((item): TransferRequest => ({
          id: item.transferId, debitAccountId: source, creditAccountId: item.walletAccountId, amount: item.lossMinor, pendingId: null,
          ledger: Ledgers.JPY, code: TransferCodes.compensation, flags: 0, timeoutSeconds: 0, reference: `compensation:${batchId}`,
        })));
        for (const result of results) if (result.result === 'created' || result.result === 'exists') paidIds.push(result.id);
      }
      await withTransaction(db, async (client) => {
        await client.query(`update compensation_items set status = 'paid' where batch_id = $1 and transfer_id = any($2::uuid[])`, [batchId, paidIds]);
        const allPaid = paidIds.length === items.length;
        if (allPaid) await client.query(`update compensation_batches set status = 'executed', executed_at = coalesce(executed_at, now()) where id = $1`, [batchId]);
        await recordAudit(client, { actor: { kind: 'operator', id: by.operatorId }, action: 'compensation.executed', target: { kind: 'compensation_batch', id: batchId },
          reason: by.reason, outcome: allPaid ? 'success' : 'failure', details: { items: items.length, paid: paidIds.length, wasExecuted: batch.status === 'executed' },
          ip: by.ip ?? null, requestId: by.requestId ?? null });
      });
      return getBatch(db, batchId);
    },
    exportCsv: (batchId, audience) => exportCsv(db, batchId, audience),
  };
  return compensation;
}

interface Losses { wallets: Array<{ walletAccountId: string; lossMinor: bigint }>; transferIds: string[]; transferWallets: string[] }

/** Per customer wallet: flagged payments out minus flagged top-ups in, over flagged transfers no batch has taken yet. */
async function computeLosses(client: pg.PoolClient, walletFilter: readonly string[] | null): Promise<Losses> {
  const rows = await client.query<{ transfer_id: string; wallet: string; signed_minor: bigint }>(
    `select f.transfer_id, w.id as wallet, case when t.debit_account_id = w.id then t.amount else -t.amount end as signed_minor
     from fraud_flags f
     join transfers t on t.id = f.transfer_id
     join accounts w on w.id in (t.debit_account_id, t.credit_account_id) and w.code = $1
     where not exists (select 1 from compensated_transfers c where c.transfer_id = f.transfer_id)
       and t.flags & 10 = 0
       and ($2::uuid[] is null or w.id = any($2::uuid[]))
     order by f.transfer_id
     for update of f`, [AccountCodes.customerWallet, walletFilter]);
  if (rows.rows.length > BATCH_ITEMS_MAX) throw new KobanError('batch_too_large', { detail: `at most ${BATCH_ITEMS_MAX} flagged transfers per batch` });
  const byWallet = new Map<string, bigint>();
  // A transfer between two wallets counts for both (one lost, one gained) but is taken once.
  const taken = new Map<string, string>();
  for (const row of rows.rows) {
    byWallet.set(row.wallet, (byWallet.get(row.wallet) ?? 0n) + row.signed_minor);
    if (!taken.has(row.transfer_id)) taken.set(row.transfer_id, row.wallet);
  }
  return {
    wallets: [...byWallet].map(([walletAccountId, lossMinor]) => ({ walletAccountId, lossMinor })),
    transferIds: [...taken.keys()],
    transferWallets: [...taken.values()],
  };
}

async function walletsOfCases(db: Database, wallets: CustomerWallets, caseIds: readonly string[]): Promise<string[]> {
  if (caseIds.length === 0 || caseIds.length > 1000 || !caseIds.every(isUuid)) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/caseIds', message: '1 to 1000 case ids' }] });
  const found = await db.pool.query<{ account_id: string }>('select distinct account_id from cases where id = any($1::uuid[])', [caseIds]);
  const ids = await Promise.all(found.rows.map((row) => wallets.walletAccountIdOf(row.account_id)));
  return ids.filter((id): id is string => id !== null);
}

async function fillCustomerRefs(db: Database, wallets: () => CustomerWallets, batchId: string): Promise<void> {
  let directory: CustomerWallets;
  try {
    directory = wallets();
  } catch {
    return; // without a wallet directory the export shows wallet ids only
  }
  const items = await db.pool.query<{ wallet_account_id: string }>('select wallet_account_id from compensation_items where batch_id = $1', [batchId]);
  for (const item of items.rows) {
    const customer = await directory.customerIdOf(item.wallet_account_id);
    if (customer !== null) await db.pool.query('update compensation_items set customer_ref = $3 where batch_id = $1 and wallet_account_id = $2', [batchId, item.wallet_account_id, customer]);
  }
}

interface BatchRow { id: string; title: string; status: BatchStatus; created_by: string; created_at: Date; proposal_id: string | null; executed_at: Date | null; total_minor: bigint; item_count: number }

async function lockBatch(client: pg.PoolClient, batchId: string): Promise<BatchRow> {
  const found = await client.query<BatchRow>('select * from compensation_batches where id = $1 for update', [isUuid(batchId) ? batchId : null]);
  if (found.rows[0] === undefined) throw new KobanError('compensation_batch_not_found');
  return found.rows[0];
}

async function getBatch(db: Database, batchId: string): Promise<Batch> {
  const found = await db.pool.query<BatchRow>('select * from compensation_batches where id = $1', [isUuid(batchId) ? batchId : null]);
  const row = found.rows[0];
  if (row === undefined) throw new KobanError('compensation_batch_not_found');
  const items = await db.pool.query<{ wallet_account_id: string; customer_ref: string | null; loss_minor: bigint; transfer_id: string; status: 'pending' | 'paid' }>(
    'select wallet_account_id, customer_ref, loss_minor, transfer_id, status from compensation_items where batch_id = $1 order by wallet_account_id limit $2', [batchId, BATCH_ITEMS_MAX]);
  return {
    id: row.id, title: row.title, status: row.status, createdBy: row.created_by, createdAt: row.created_at, proposalId: row.proposal_id, executedAt: row.executed_at,
    totalMinor: row.total_minor,
    items: items.rows.map((i) => ({ walletAccountId: i.wallet_account_id, customerRef: i.customer_ref, lossMinor: i.loss_minor, transferId: i.transfer_id, status: i.status })),
  };
}

/** The fraudulent top-ups in a batch, for the issuers (card rail) or banks (bank rail) to reverse. */
async function exportCsv(db: Database, batchId: string, audience: 'card_issuers' | 'banks'): Promise<string> {
  await getBatch(db, batchId);
  const clearing = audience === 'card_issuers' ? AccountCodes.fundingClearingCard : AccountCodes.fundingClearingBank;
  const rows = await db.pool.query<{ id: string; created_at: Date; wallet: string; amount: bigint; reference: string | null; reason: string }>(
    `select t.id, t.created_at, c.wallet_account_id as wallet, t.amount, t.reference, f.reason
     from compensated_transfers c join transfers t on t.id = c.transfer_id join fraud_flags f on f.transfer_id = c.transfer_id
     join accounts src on src.id = t.debit_account_id
     where c.batch_id = $1 and src.code = $2 order by t.created_at, t.id limit $3`, [batchId, clearing, BATCH_ITEMS_MAX]);
  const lines = [['transfer_id', 'created_at', 'wallet_account_id', 'amount_minor', 'currency', 'funding_reference', 'reason', 'batch_id'].join(',')];
  for (const row of rows.rows) {
    lines.push([row.id, row.created_at.toISOString(), row.wallet, row.amount.toString(), 'JPY', row.reference ?? '', row.reason, batchId].map(csvField).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** RFC 4180 quoting, and no leading formula characters (CSV injection into a spreadsheet). */
function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}
