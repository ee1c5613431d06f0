/**
 * Abolition of the prepaid instrument (資金決済法 Art. 20, issue 19): once the procedure is active, a customer
 * claims their whole prepaid balance to their own bank account; payouts go in batches through the bank rail.
 *
 * Exactly once, even when a batch runs twice (or two nodes run it at once):
 * - a claim is taken by one batch (`for update skip locked`); the money leaves the wallet by a ledger transfer
 *   (prepaid → bank clearing 310, code payout) whose id is derived from (claim, attempt), so a second run gets
 *   `exists`, never a second debit;
 * - the payout is asked of the bank with the idempotency key `abolition-<claim>-<attempt>`, so a second run (or
 *   a crash between the commit and the call) gets the same payout back, never a second one;
 * - the bank's word decides: `paid` closes the claim; `failed` returns the money (bank clearing → wallet, id
 *   derived from (claim, attempt, "return"): once) and puts the claim back to `pending` with the next attempt,
 *   under a guard on (status `sent`, attempt), so two runs seeing the same failure return it once.
 */
import type { Ledger } from '../../ledger/ledger.ts';
import { PLATFORM_ACCOUNTS } from '../../ledger/platform-accounts.ts';
import { availableBalance, isSuccess, Ledgers, TransferCodes } from '../../ledger/types.ts';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { derivedUuid, uuidv7 } from '../../platform/ids.ts';
import { mayLeaveAs } from '../balance-kinds.ts';
import type { BankRail } from '../funding/bank.ts';

export const ABOLITION_BATCH_MAX = 100;
export const CLAIM_PERIOD_MIN_DAYS = 60;
const ATTEMPTS_MAX = 10;

export interface BankAccount {
  readonly bankCode: string;
  readonly branchCode: string;
  readonly accountNumber: string;
  readonly holderNameKana: string;
}

export type ClaimStatus = 'pending' | 'sent' | 'paid' | 'refused';

export interface Claim {
  readonly id: string;
  readonly customerId: string;
  readonly walletAccountId: string;
  readonly amountMinor: bigint;
  readonly status: ClaimStatus;
  readonly attempt: number;
  readonly payoutId: string | null;
  readonly failureCode: string | null;
  readonly accountNumberLast4: string;
  readonly createdAt: Date;
}

interface ClaimRow {
  id: string; customer_id: string; wallet_account_id: string; amount_minor: string; status: ClaimStatus; attempt: number; payout_id: string | null;
  failure_code: string | null; bank_code: string; branch_code: string; account_number: string; holder_name_kana: string; created_at: Date;
}
const CLAIM_COLUMNS = 'id, customer_id, wallet_account_id, amount_minor::text, status, attempt, payout_id, failure_code, bank_code, branch_code, account_number, holder_name_kana, created_at';

function toClaim(row: ClaimRow): Claim {
  return {
    id: row.id, customerId: row.customer_id, walletAccountId: row.wallet_account_id, amountMinor: BigInt(row.amount_minor), status: row.status, attempt: row.attempt,
    payoutId: row.payout_id, failureCode: row.failure_code, accountNumberLast4: row.account_number.slice(-4), createdAt: row.created_at,
  };
}

export interface Procedure {
  readonly id: string;
  readonly startedAt: Date;
  readonly claimDeadline: Date;
}

export interface AbolitionDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly bank: BankRail | null;
  readonly now: () => Date;
}

export async function activeProcedure(db: Queryable): Promise<Procedure | null> {
  const row = (await db.query<{ id: string; started_at: Date; claim_deadline: Date }>('select id, started_at, claim_deadline from abolition_procedures')).rows[0];
  return row === undefined ? null : { id: row.id, startedAt: row.started_at, claimDeadline: row.claim_deadline };
}

/**
 * Records the procedure (the four-eyes decision is the caller's: two different operators). Idempotent: a
 * second start answers the first procedure.
 */
export async function recordProcedure(db: Queryable, startedBy: string, approvedBy: string, at: Date, claimDays: number): Promise<Procedure> {
  assert(startedBy !== approvedBy, 'four eyes: the approver is not the proposer');
  if (claimDays < CLAIM_PERIOD_MIN_DAYS) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/claimDays', message: `at least ${CLAIM_PERIOD_MIN_DAYS}` }] });
  await db.query(
    `insert into abolition_procedures (id, started_at, claim_deadline, started_by, approved_by) values ($1, $2, $3, $4, $5) on conflict do nothing`,
    [uuidv7(), at, new Date(at.getTime() + claimDays * 86_400_000), startedBy, approvedBy]);
  const procedure = await activeProcedure(db);
  assert(procedure !== null, 'the procedure exists');
  return procedure;
}

/** The customer's claim of their whole prepaid balance, within the claim period; one open claim at a time. */
export async function claimBalance(deps: AbolitionDeps, customerId: string, walletAccountId: string, account: BankAccount): Promise<Claim> {
  assert(mayLeaveAs('prepaid', 'abolition_refund'), 'the law orders this refund of a prepaid balance');
  const now = deps.now();
  const procedure = await activeProcedure(deps.db.pool);
  if (procedure === null) throw new KobanError('abolition_not_active');
  if (now.getTime() >= procedure.claimDeadline.getTime()) throw new KobanError('abolition_claim_period_over');
  const wallet = await deps.ledger.getAccount(walletAccountId);
  const amount = wallet === null ? 0n : availableBalance(wallet);
  if (amount <= 0n) throw new KobanError('abolition_nothing_to_claim');
  const inserted = await deps.db.pool.query<ClaimRow>(
    `insert into abolition_claims (id, procedure_id, customer_id, wallet_account_id, amount_minor, bank_code, branch_code, account_number, holder_name_kana, status, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $10, $10) on conflict (customer_id) where status in ('pending', 'sent') do nothing returning ${CLAIM_COLUMNS}`,
    [uuidv7(), procedure.id, customerId, walletAccountId, amount, account.bankCode, account.branchCode, account.accountNumber, account.holderNameKana, now]);
  const row = inserted.rows[0];
  if (row === undefined) throw new KobanError('abolition_claim_open');
  return toClaim(row);
}

export async function claimsOf(db: Queryable, customerId: string): Promise<Claim[]> {
  return (await db.query<ClaimRow>(`select ${CLAIM_COLUMNS} from abolition_claims where customer_id = $1 order by created_at desc limit 20`, [customerId])).rows.map(toClaim);
}

const debitId = (claim: Pick<Claim, 'id' | 'attempt'>): string => derivedUuid('koban-abolition-debit', claim.id, String(claim.attempt));
const returnId = (claim: Pick<Claim, 'id' | 'attempt'>): string => derivedUuid('koban-abolition-return', claim.id, String(claim.attempt));
const payoutKey = (claim: Pick<Claim, 'id' | 'attempt'>): string => `abolition-${claim.id}-${claim.attempt}`;

/**
 * One batch: takes up to `limit` pending claims, moves each claim's money out of the wallet and asks the bank to
 * pay it; then asks the bank about claims already sent and settles those it decided. Returns how many claims it
 * touched. Safe to run twice or on two nodes at once (see the top of this file).
 */
export async function runPayoutBatch(deps: AbolitionDeps, limit = ABOLITION_BATCH_MAX): Promise<number> {
  assert(limit > 0 && limit <= ABOLITION_BATCH_MAX, 'a bounded batch');
  if (deps.bank === null) throw new KobanError('funding_unavailable', { detail: 'no bank rail is configured' });
  const sent = await sendPending(deps, deps.bank, limit);
  const settled = await settleSent(deps, deps.bank, limit);
  return sent + settled;
}

async function sendPending(deps: AbolitionDeps, bank: BankRail, limit: number): Promise<number> {
  const taken = await withTransaction(deps.db, async (client) => {
    const rows = await client.query<ClaimRow>(`select ${CLAIM_COLUMNS} from abolition_claims where status = 'pending' order by created_at limit $1 for update skip locked`, [limit]);
    if (rows.rows.length === 0) return [];
    const claims = rows.rows.map((row) => ({ claim: toClaim(row), row }));
    // The money leaves the prepaid balance in the transaction that marks the claims sent: both or neither.
    const results = await deps.ledger.createTransfersWithin(client, claims.map(({ claim }) => [{ id: debitId(claim), debitAccountId: claim.walletAccountId,
      creditAccountId: PLATFORM_ACCOUNTS.bankClearing, amount: claim.amountMinor, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.payout, flags: 0,
      timeoutSeconds: 0, reference: `abolition:${claim.id}` }]));
    const out: Array<{ claim: Claim; row: ClaimRow }> = [];
    for (const [index, { claim, row }] of claims.entries()) {
      const result = results[index]?.[0];
      assert(result !== undefined, 'one result per claim');
      if (isSuccess(result.result)) {
        await client.query(`update abolition_claims set status = 'sent', updated_at = $2 where id = $1`, [claim.id, deps.now()]);
        out.push({ claim, row });
      } else {
        // The balance was spent (or the wallet frozen) since the claim: nothing left the wallet; operators see why.
        await client.query(`update abolition_claims set status = 'refused', failure_code = $2, updated_at = $3 where id = $1`, [claim.id, `ledger_${result.result}`, deps.now()]);
      }
    }
    return out;
  });
  for (const { claim, row } of taken) await askBank(deps, bank, claim, row);
  return taken.length;
}

async function askBank(deps: AbolitionDeps, bank: BankRail, claim: Claim, row: ClaimRow): Promise<void> {
  const answer = await bank.payout({ bankCode: row.bank_code, branchCode: row.branch_code, accountNumber: row.account_number, holderNameKana: row.holder_name_kana,
    amountMinor: claim.amountMinor, reference: `abolition:${claim.id}`, idempotencyKey: payoutKey(claim) });
  // No answer: the claim stays `sent` without a payout id and the next batch asks again with the same key.
  if (!answer.ok) return;
  await deps.db.pool.query(`update abolition_claims set payout_id = $3, updated_at = $4 where id = $1 and attempt = $2 and status = 'sent'`, [claim.id, claim.attempt, answer.value.id, deps.now()]);
}

async function settleSent(deps: AbolitionDeps, bank: BankRail, limit: number): Promise<number> {
  const rows = await deps.db.pool.query<ClaimRow>(`select ${CLAIM_COLUMNS} from abolition_claims where status = 'sent' order by updated_at limit $1`, [limit]);
  let settled = 0;
  for (const row of rows.rows) {
    const claim = toClaim(row);
    if (claim.payoutId === null) {
      await askBank(deps, bank, claim, row);
      continue;
    }
    const payout = await bank.getPayout(claim.payoutId);
    if (!payout.ok || payout.value.status === 'accepted') continue;
    if (payout.value.status === 'paid') {
      await deps.db.pool.query(`update abolition_claims set status = 'paid', updated_at = $3 where id = $1 and attempt = $2 and status = 'sent'`, [claim.id, claim.attempt, deps.now()]);
    } else {
      await returnFailed(deps, claim, payout.value.failureCode ?? 'payout_failed');
    }
    settled++;
  }
  return settled;
}

/** The bank failed the payout: the money comes back to the wallet once and the claim waits for the next batch. */
async function returnFailed(deps: AbolitionDeps, claim: Claim, failureCode: string): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    const moved = await client.query(
      `update abolition_claims set status = case when attempt < $3 then 'pending' else 'refused' end, attempt = least(attempt + 1, $3), payout_id = null,
         failure_code = $4, updated_at = $5 where id = $1 and attempt = $2 and status = 'sent'`, [claim.id, claim.attempt, ATTEMPTS_MAX, failureCode, deps.now()]);
    if (moved.rowCount !== 1) return; // another run returned it first
    const [results] = await deps.ledger.createTransfersWithin(client, [[{ id: returnId(claim), debitAccountId: PLATFORM_ACCOUNTS.bankClearing,
      creditAccountId: claim.walletAccountId, amount: claim.amountMinor, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.payoutReturn, flags: 0,
      timeoutSeconds: 0, reference: `abolition-return:${claim.id}` }]]);
    assert(results !== undefined && results.every((r) => isSuccess(r.result)), 'a failed payout returns its money');
  });
}

/**
 * The regulator's list of what is still owed (CSV): each customer's prepaid balance now, and their claim. Rows are
 * read in pages of the ledger's accounts (code 100) with a positive balance, then those with an open claim.
 */
export async function outstandingCsv(db: Queryable, limit = 100_000): Promise<string> {
  const rows = await db.query<{ customer_id: string; balance: string; claim_status: string | null; claimed: string | null }>(
    `select w.customer_id, (a.credits_posted - a.debits_posted)::text as balance, c.status as claim_status, c.amount_minor::text as claimed
     from customer_wallets w join accounts a on a.id = w.account_id
     left join lateral (select status, amount_minor from abolition_claims where customer_id = w.customer_id order by created_at desc limit 1) c on true
     where a.ledger = $2 and (a.credits_posted - a.debits_posted > 0 or c.status in ('pending', 'sent'))
     order by w.customer_id limit $1`, [limit, Ledgers.JPY]);
  const lines = ['customer_id,prepaid_balance_jpy,claim_status,claimed_jpy'];
  for (const r of rows.rows) lines.push([r.customer_id, r.balance, r.claim_status ?? '', r.claimed ?? ''].join(','));
  return `${lines.join('\r\n')}\r\n`;
}
