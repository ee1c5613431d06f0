/**
 * Withdrawal of the funds-transfer balance to the customer's own bank account (issue 19): the account behind
 * a direct-debit mandate the customer confirmed with the bank's own code, paid by the sandbox bank's
 * `POST /v1/mandates/{id}/payouts` (Koban never holds the full account number).
 *
 * The amount and the fee leave the balance (110 → bank clearing 310, 110 → fee revenue 400, one linked chain)
 * in the transaction that writes the row, under the customer's lock and limits; then the bank is asked
 * (Idempotency-Key `wd-<id>`). The bank's word decides: `paid` completes it, `failed` (or a refusal) returns
 * amount and fee once (legs with ids derived from the withdrawal, under the row's lock); no answer leaves it
 * `processing` and the leased job asks again with the same key, then reads the payout.
 */
import { PLATFORM_ACCOUNTS } from '../../ledger/platform-accounts.ts';
import { TransferCodes } from '../../ledger/types.ts';
import type { RequestOrigin } from '../../platform/audit/security-log.ts';
import { assert } from '../../platform/assert.ts';
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { fundsTransferAccountId, mayLeaveAs } from '../balance-kinds.ts';
import { isCustomerVerified } from '../balances.ts';
import { lockCustomerWallet } from '../customer-lock.ts';
import { ownFundingSource } from '../funding-sources.ts';
import type { Payout } from '../funding/bank.ts';
import type { ProviderResult } from '../funding/provider-result.ts';
import type { WalletSession } from '../identity-port.ts';
import { refuseUnlessAllowed } from '../risk-port.ts';
import { moneyLimitsFor } from '../tiers.ts';
import { inMoneyTransaction, leg, legId, moveWithin, requestHash, type TransfersDeps } from './common.ts';
import { refuseOverLimit, withdrawalUsage } from './money-limits.ts';
import { notify } from './notices.ts';

export type WithdrawalStatus = 'processing' | 'completed' | 'failed';

export interface WithdrawalRow {
  id: string;
  customer_id: string;
  funding_source_id: string;
  amount_minor: bigint;
  fee_minor: bigint;
  status: WithdrawalStatus;
  provider_ref: string | null;
  failure_code: string | null;
  idempotency_key: string;
  request_hash: Buffer;
  next_check_at: Date;
  created_at: Date;
  finished_at: Date | null;
}

export interface WithdrawalRequest {
  readonly idempotencyKey: string;
  readonly fundingSourceId: string;
  readonly amountMinor: bigint;
  readonly grant: string | undefined;
  readonly pin: string | undefined;
}

const OPEN_BATCH_MAX = 50;
const RECHECK_MS = 30_000;
const WITHDRAWALS_LIST_MAX = 50;

export function withdrawalView(row: WithdrawalRow) {
  return {
    withdrawalId: row.id, status: row.status, amount: row.amount_minor.toString(), fee: row.fee_minor.toString(), fundingSourceId: row.funding_source_id,
    failureCode: row.failure_code, createdAt: row.created_at.toISOString(), finishedAt: row.finished_at?.toISOString() ?? null,
  };
}

export async function loadWithdrawal(db: Queryable, id: string, forUpdate = false): Promise<WithdrawalRow | null> {
  const result = await db.query<WithdrawalRow>(`select * from withdrawals where id = $1${forUpdate ? ' for update' : ''}`, [id]);
  return result.rows[0] ?? null;
}

export async function listWithdrawals(db: Queryable, customerId: string): Promise<WithdrawalRow[]> {
  return (await db.query<WithdrawalRow>('select * from withdrawals where customer_id = $1 order by created_at desc limit $2', [customerId, WITHDRAWALS_LIST_MAX])).rows;
}

async function replayed(db: Queryable, customerId: string, key: string, hash: Buffer): Promise<WithdrawalRow | null> {
  const row = (await db.query<WithdrawalRow>('select * from withdrawals where customer_id = $1 and idempotency_key = $2', [customerId, key])).rows[0];
  if (row === undefined) return null;
  if (!row.request_hash.equals(hash)) throw new KobanError('idempotency_key_reused');
  return row;
}

export async function startWithdrawal(deps: TransfersDeps, session: WalletSession, request: WithdrawalRequest, origin: RequestOrigin | null): Promise<{ withdrawal: WithdrawalRow; replayed: boolean }> {
  const customerId = session.customerId;
  const db = deps.wallet.db.pool;
  const hash = requestHash(['withdraw', request.fundingSourceId, request.amountMinor]);
  const earlier = await replayed(db, customerId, request.idempotencyKey, hash);
  if (earlier !== null) return { withdrawal: earlier, replayed: true };
  // After the replay check: a retry of a withdrawal asked before the switch went off learns its outcome.
  deps.wallet.switches?.assertOn('withdrawals');
  if (deps.wallet.bank === null) throw new KobanError('withdrawal_unavailable');
  assert(mayLeaveAs('funds_transfer', 'withdrawal') && !mayLeaveAs('prepaid', 'withdrawal'), 'only funds-transfer money is withdrawn');
  if (!(await isCustomerVerified(db, customerId))) throw new KobanError('funds_transfer_not_verified');
  const source = await ownFundingSource(db, customerId, request.fundingSourceId);
  if (source.kind !== 'bank' || source.status !== 'active' || source.bank_mandate_id === null) throw new KobanError('bank_account_required');
  await deps.identity.authorizeWithdrawal(session, { grant: request.grant, pin: request.pin, amountMinor: request.amountMinor, fundingSourceId: source.id }, origin);
  await refuseUnlessAllowed(deps.wallet.risk, {
    kind: 'withdrawal', accountId: customerId, deviceId: session.deviceKey ?? session.deviceId, ip: origin?.ip ?? null, amountMinor: request.amountMinor,
    cardRef: `bank:${source.bank_mandate_id}`,
  });
  const now = deps.clock();
  const fee = deps.wallet.config.transfers.withdrawalFeeMinor;
  const started = await inMoneyTransaction(deps, async (client) => {
    await lockCustomerWallet(client, customerId);
    const raced = await replayed(client, customerId, request.idempotencyKey, hash);
    if (raced !== null) return { withdrawal: raced, replayed: true };
    refuseOverLimit(moneyLimitsFor(deps.wallet.config, 'verified'), 'withdrawal', await withdrawalUsage(client, customerId, now), request.amountMinor);
    const id = uuidv7();
    const row = (await client.query<WithdrawalRow>(
      `insert into withdrawals (id, customer_id, funding_source_id, amount_minor, fee_minor, status, idempotency_key, request_hash, next_check_at, created_at)
       values ($1, $2, $3, $4, $5, 'processing', $6, $7, $8, $8) returning *`,
      [id, customerId, source.id, request.amountMinor, fee, request.idempotencyKey, hash, now])).rows[0];
    assert(row !== undefined, 'the withdrawal row was written');
    const account = fundsTransferAccountId(customerId);
    const legs = [leg(legId('withdraw', id), account, PLATFORM_ACCOUNTS.bankClearing, request.amountMinor, TransferCodes.withdrawal, `withdrawal:${id}`)];
    if (fee > 0n) legs.push(leg(legId('withdraw-fee', id), account, PLATFORM_ACCOUNTS.feeRevenue, fee, TransferCodes.fee, `withdrawal:${id}`));
    await moveWithin(deps, client, legs);
    await notify(client, customerId, 'withdrawal_started', request.amountMinor, `bank account ending ${source.bank_account_last4 ?? '????'}`, id);
    return { withdrawal: row, replayed: false };
  });
  if (started.replayed) return started;
  return { withdrawal: await askBank(deps, started.withdrawal), replayed: false };
}

/** Asks the bank to pay (same key every time: the bank pays once) and applies a definite answer. */
async function askBank(deps: TransfersDeps, row: WithdrawalRow): Promise<WithdrawalRow> {
  const bank = deps.wallet.bank;
  if (bank === null) return row;
  const source = await ownFundingSource(deps.wallet.db.pool, row.customer_id, row.funding_source_id).catch(() => null);
  const answer: ProviderResult<Payout> = row.provider_ref !== null
    ? await bank.getPayout(row.provider_ref)
    : source?.bank_mandate_id == null
      ? { ok: false, error: { kind: 'rejected', httpStatus: 409, code: 'mandate_not_active', message: 'the bank account was removed', param: null, declineCode: null } }
      : await bank.payoutToMandate({ mandateId: source.bank_mandate_id, amountMinor: row.amount_minor, reference: `wd-${row.id}`, idempotencyKey: `wd-${row.id}` });
  if (!answer.ok) {
    if (answer.error.kind === 'outcome_unknown') return (await recheckLater(deps, row.id)) ?? row;
    return settleWithdrawal(deps, row.id, { status: 'failed', failureCode: `bank_refused:${answer.error.code}`, providerRef: row.provider_ref });
  }
  const payout = answer.value;
  if (payout.amountMinor !== row.amount_minor) throw new Error(`the bank's payout ${payout.id} does not match withdrawal ${row.id}`);
  if (payout.status === 'accepted') return (await recordRef(deps, row.id, payout.id)) ?? row;
  return settleWithdrawal(deps, row.id, { status: payout.status === 'paid' ? 'completed' : 'failed', failureCode: payout.failureCode, providerRef: payout.id });
}

async function recordRef(deps: TransfersDeps, id: string, providerRef: string): Promise<WithdrawalRow | null> {
  const result = await deps.wallet.db.pool.query<WithdrawalRow>(
    `update withdrawals set provider_ref = $2, next_check_at = $3 where id = $1 and status = 'processing' returning *`, [id, providerRef, new Date(deps.clock().getTime() + RECHECK_MS)]);
  return result.rows[0] ?? null;
}

async function recheckLater(deps: TransfersDeps, id: string): Promise<WithdrawalRow | null> {
  const result = await deps.wallet.db.pool.query<WithdrawalRow>(
    `update withdrawals set next_check_at = $2 where id = $1 and status = 'processing' returning *`, [id, new Date(deps.clock().getTime() + RECHECK_MS)]);
  return result.rows[0] ?? null;
}

/** The bank's final word, applied once under the row's lock; a failure returns amount and fee in the same transaction. */
async function settleWithdrawal(deps: TransfersDeps, id: string, outcome: { status: 'completed' | 'failed'; failureCode: string | null; providerRef: string | null }): Promise<WithdrawalRow> {
  return inMoneyTransaction(deps, async (client) => {
    const row = await loadWithdrawal(client, id, true);
    assert(row !== null, 'a withdrawal being settled exists');
    if (row.status !== 'processing') return row;
    if (outcome.status === 'failed') {
      const account = fundsTransferAccountId(row.customer_id);
      const legs = [leg(legId('withdraw-return', id), PLATFORM_ACCOUNTS.bankClearing, account, row.amount_minor, TransferCodes.withdrawalReturn, `withdrawal:${id}`)];
      if (row.fee_minor > 0n) legs.push(leg(legId('withdraw-fee-return', id), PLATFORM_ACCOUNTS.feeRevenue, account, row.fee_minor, TransferCodes.withdrawalReturn, `withdrawal:${id}`));
      await moveWithin(deps, client, legs);
    }
    const updated = (await client.query<WithdrawalRow>(
      `update withdrawals set status = $2, failure_code = $3, provider_ref = coalesce($4, provider_ref), finished_at = $5 where id = $1 and status = 'processing' returning *`,
      [id, outcome.status, outcome.status === 'failed' ? (outcome.failureCode ?? 'failed') : null, outcome.providerRef, deps.clock()])).rows[0];
    assert(updated !== undefined, 'a locked processing withdrawal is settled once');
    await notify(client, row.customer_id, outcome.status === 'completed' ? 'withdrawal_completed' : 'withdrawal_failed', row.amount_minor, 'bank account', id);
    return updated;
  });
}

/** A bank webhook about a payout (already verified and re-read by the caller's rules): read the payout again and apply it. */
export async function advanceWithdrawal(deps: TransfersDeps, id: string): Promise<WithdrawalRow | null> {
  const row = await loadWithdrawal(deps.wallet.db.pool, id);
  if (row === null || row.status !== 'processing') return row;
  return askBank(deps, row);
}

/** The leased job: open withdrawals whose next check is due are asked again. */
export async function reconcileWithdrawals(deps: TransfersDeps): Promise<number> {
  const due = await deps.wallet.db.pool.query<WithdrawalRow>(
    `select * from withdrawals where status = 'processing' and next_check_at <= $1 order by next_check_at limit $2`, [deps.clock(), OPEN_BATCH_MAX]);
  for (const row of due.rows) await askBank(deps, row);
  return due.rows.length;
}

export async function ownWithdrawal(db: Queryable, customerId: string, id: string): Promise<WithdrawalRow> {
  const row = await loadWithdrawal(db, id);
  if (row === null || row.customer_id !== customerId) throw new KobanError('withdrawal_not_found');
  return row;
}
