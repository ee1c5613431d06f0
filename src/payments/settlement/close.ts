/**
 * The daily close per merchant: for one business day (JST), gross payments, refunds and cancels, fees,
 * and the net. The net moves in the ledger from the merchant's receivable (200) to its payout account
 * (210); whatever the payout account then holds is instructed to the bank and moved on to the bank
 * clearing account when the bank accepts it. A negative day (refunds above sales) moves money back and
 * shrinks the next payout. Idempotent: a day is closed once per merchant; re-running finishes what a
 * crash interrupted (the ledger answers `exists` for transfers already made).
 */
import type pg from 'pg';
import type { Ledger } from '../../ledger/ledger.ts';
import { Ledgers, TransferCodes } from '../../ledger/types.ts';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { ensureCashOwedAccount, ensurePayoutAccount, merchantBooks, payoutBankAccount } from '../../merchants/payout-accounts.ts';
import { cashTakenOn, merchantsWithCashOn } from '../../wallet/cash/cash-top-ups.ts';
import type { SecretBox } from '../../merchants/secret-box.ts';
import { payoutsHeld } from '../../merchants/onboarding.ts';
import type { Payout, PayoutRequest } from '../../wallet/funding/bank.ts';
import type { ProviderResult } from '../../wallet/funding/provider-result.ts';
import type { MerchantEventSink } from '../deps.ts';
import { runLegs } from '../ledger-legs.ts';
import { PLATFORM_ACCOUNTS } from '../../ledger/platform-accounts.ts';
import { businessDate, isBusinessDate } from '../time.ts';
import { reconcilePayouts } from './payout-outcomes.ts';

/** The part of the bank rail settlement needs (src/wallet/funding/bank.ts's BankRail satisfies it). */
export interface PayoutRail {
  payout(request: PayoutRequest): Promise<ProviderResult<Payout>>;
  getPayout(payoutId: string): Promise<ProviderResult<Payout>>;
}

export interface SettlementDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly box: SecretBox;
  readonly rail: PayoutRail | null;
  readonly now: () => Date;
  /** The merchant event `settlement.statement_ready`, written with the statement (none when absent). */
  readonly events?: MerchantEventSink;
}

export interface Settlement {
  readonly id: string; readonly merchantId: string; readonly businessDate: string;
  readonly paymentsCount: number; readonly refundsCount: number;
  readonly grossMinor: bigint; readonly refundsMinor: bigint; readonly feesMinor: bigint;
  /** Cash the merchant's stores took for customer top-ups that day, net of voids made that day (issue 19). */
  readonly cashTopUpsCount: number; readonly cashTopUpsMinor: bigint;
  /** gross − refunds − fees: what moves from the receivable to the payout account. */
  readonly salesNetMinor: bigint;
  /** salesNet − cash: what the day adds to the payout (negative: the merchant owes it, carried into the next payout). */
  readonly netMinor: bigint;
  readonly settlementTransferId: string | null; readonly cashTransferId: string | null; readonly payoutAmountMinor: bigint | null; readonly payoutTransferId: string | null;
  readonly payoutReference: string | null; readonly payoutStatus: string; readonly payoutFailure: string | null;
}

const MERCHANTS_PER_CLOSE_MAX = 10_000;

/** Closes `date` for every merchant with activity that day. The day must be over (JST). */
export async function closeBusinessDay(deps: SettlementDeps, date: string): Promise<Settlement[]> {
  if (!isBusinessDate(date)) throw new KobanError('validation_failed', { errors: [{ pointer: '/date', message: 'must be YYYY-MM-DD' }] });
  if (date >= businessDate(deps.now())) throw new KobanError('settlement_not_ready', { detail: `${date} is not over yet in Japan` });
  // Earlier payouts that failed at the bank are returned first, so their money leaves again with today's.
  await reconcilePayouts(deps);
  const merchants = await deps.db.pool.query<{ merchant_id: string }>(
    `select merchant_id from payments where business_date = $1 union select merchant_id from payments where cancel_business_date = $1
     union select merchant_id from refunds where business_date = $1 and status = 'REFUNDED' order by 1 limit $2`, [date, MERCHANTS_PER_CLOSE_MAX]);
  // A merchant whose stores only took cash that day is closed too: the cash it owes is netted from its payout.
  const ids = new Set([...merchants.rows.map((row) => row.merchant_id), ...await merchantsWithCashOn(deps.db.pool, date, MERCHANTS_PER_CLOSE_MAX)]);
  const settlements: Settlement[] = [];
  for (const merchantId of [...ids].sort().slice(0, MERCHANTS_PER_CLOSE_MAX)) settlements.push(await closeMerchantDay(deps, merchantId, date));
  return settlements;
}

export async function closeMerchantDay(deps: SettlementDeps, merchantId: string, date: string): Promise<Settlement> {
  const payoutAccount = await ensurePayoutAccount(deps.db, deps.ledger, merchantId);
  const settlement = await withTransaction(deps.db, (client) => recordTotals(deps, client, merchantId, date));
  // A test twin settles on the test ledger, into a payout account no bank is ever paid from (payoutBankAccount).
  const { receivableAccountId: receivable, ledger } = await merchantBooks(deps.db, merchantId);
  if (settlement.settlementTransferId !== null) {
    const toPayout = settlement.salesNetMinor > 0n;
    const moved = await runLegs(deps.ledger, [{
      id: settlement.settlementTransferId, debitAccountId: toPayout ? receivable : payoutAccount, creditAccountId: toPayout ? payoutAccount : receivable,
      amountMinor: toPayout ? settlement.salesNetMinor : -settlement.salesNetMinor, code: TransferCodes.settlement, reference: `settlement:${settlement.id}`, ledger,
    }]);
    assert(moved.ok, 'a settlement between a merchant\'s own unflagged accounts cannot be refused');
  }
  if (settlement.cashTransferId !== null) {
    // The cash the stores took is paid out of the payout account into the cash-owed account (which the top-ups
    // debited), so the debt is settled by netting. More cash than sales leaves the payout account below zero:
    // nothing is paid, and the next days' sales fill it before anything leaves for the bank (carried forward).
    const cashOwed = await ensureCashOwedAccount(deps.ledger, merchantId);
    const owes = settlement.cashTopUpsMinor > 0n;
    const moved = await runLegs(deps.ledger, [{
      id: settlement.cashTransferId, debitAccountId: owes ? payoutAccount : cashOwed, creditAccountId: owes ? cashOwed : payoutAccount,
      amountMinor: owes ? settlement.cashTopUpsMinor : -settlement.cashTopUpsMinor, code: TransferCodes.settlement, reference: `settlement-cash:${settlement.id}`, ledger: Ledgers.JPY,
    }]);
    assert(moved.ok, 'netting cash between a merchant\'s own unflagged accounts cannot be refused');
  }
  if (settlement.payoutStatus !== 'pending') return settlement;
  return instructPayout(deps, settlement, payoutAccount);
}

async function recordTotals(deps: SettlementDeps, client: pg.PoolClient, merchantId: string, date: string): Promise<Settlement> {
  const existing = await readSettlement(client, merchantId, date);
  if (existing !== null) return existing;
  const totals = await client.query<{ payments_count: number; gross: bigint; fees: bigint; refunds_count: number; refunds: bigint; fee_refunds: bigint; cancels: bigint; cancel_fees: bigint }>(
    `select
       (select count(*)::int from payments where merchant_id = $1 and business_date = $2) as payments_count,
       (select coalesce(sum(amount_minor), 0)::bigint from payments where merchant_id = $1 and business_date = $2) as gross,
       (select coalesce(sum(fee_minor), 0)::bigint from payments where merchant_id = $1 and business_date = $2) as fees,
       (select count(*)::int from refunds where merchant_id = $1 and business_date = $2 and status = 'REFUNDED') as refunds_count,
       (select coalesce(sum(amount_minor), 0)::bigint from refunds where merchant_id = $1 and business_date = $2 and status = 'REFUNDED') as refunds,
       (select coalesce(sum(fee_refund_minor), 0)::bigint from refunds where merchant_id = $1 and business_date = $2 and status = 'REFUNDED') as fee_refunds,
       (select coalesce(sum(cancel_amount_minor), 0)::bigint from payments where merchant_id = $1 and cancel_business_date = $2) as cancels,
       (select coalesce(sum(cancel_fee_minor), 0)::bigint from payments where merchant_id = $1 and cancel_business_date = $2) as cancel_fees`,
    [merchantId, date]);
  const t = totals.rows[0];
  assert(t !== undefined, 'totals row');
  const refundsMinor = t.refunds + t.cancels;
  const feesMinor = t.fees - t.fee_refunds - t.cancel_fees;
  const salesNetMinor = t.gross - refundsMinor - feesMinor;
  const cash = await cashTakenOn(client, merchantId, date);
  const netMinor = salesNetMinor - cash.amountMinor;
  const inserted = await client.query(
    `insert into settlements (id, merchant_id, business_date, payments_count, refunds_count, gross_minor, refunds_minor, fees_minor, net_minor,
       settlement_transfer_id, payout_status, created_at, cash_top_ups_count, cash_top_ups_minor, sales_net_minor, cash_transfer_id)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11, $12, $13, $14, $15) on conflict (merchant_id, business_date) do nothing`,
    [uuidv7(), merchantId, date, t.payments_count, t.refunds_count, t.gross, refundsMinor, feesMinor, netMinor, salesNetMinor === 0n ? null : uuidv7(), deps.now(),
      cash.count, cash.amountMinor, salesNetMinor, cash.amountMinor === 0n ? null : uuidv7()]);
  const stored = await readSettlement(client, merchantId, date);
  assert(stored !== null && stored.salesNetMinor === stored.grossMinor - stored.refundsMinor - stored.feesMinor, 'settlement balances');
  assert(stored.netMinor === stored.salesNetMinor - stored.cashTopUpsMinor, 'the day\'s net is its sales net less the cash taken');
  // Once per statement, in its transaction (PayPay's `file.created` in spirit; the CSV is fetched by API).
  if (inserted.rowCount === 1 && deps.events !== undefined) {
    await deps.events.record(client, { type: 'settlement.statement_ready', merchantId, paymentId: null, data: statementView(stored) });
  }
  return stored;
}

async function instructPayout(deps: SettlementDeps, settlement: Settlement, payoutAccount: string): Promise<Settlement> {
  const account = await deps.ledger.getAccount(payoutAccount);
  assert(account !== null, 'payout account exists');
  const owed = account.creditsPosted - account.debitsPosted;
  if (owed <= 0n) return setPayout(deps.db, settlement, { status: 'nothing_to_pay' });
  // An operator's payout hold (issue 13): the money stays in the payout account and leaves with the first close after the hold is lifted.
  if (await payoutsHeld(deps.db, settlement.merchantId)) return setPayout(deps.db, settlement, { status: 'held' });
  const bank = await payoutBankAccount(deps.db, deps.box, settlement.merchantId);
  if (bank === null || deps.rail === null) return setPayout(deps.db, settlement, { status: 'no_payout_account' });
  const reference = `koban-settlement:${settlement.businessDate}`;
  const result = await deps.rail.payout({ ...bank, amountMinor: owed, reference, idempotencyKey: `settlement-${settlement.id}` });
  if (!result.ok) {
    // Unknown outcome: stays pending; the next close run retries with the same idempotency key.
    if (result.error.kind === 'outcome_unknown') return settlement;
    return setPayout(deps.db, settlement, { status: 'rejected', failure: `${result.error.code}: ${result.error.message}`.slice(0, 300) });
  }
  const payoutTransferId = uuidv7();
  const moved = await runLegs(deps.ledger, [{ id: payoutTransferId, debitAccountId: payoutAccount, creditAccountId: PLATFORM_ACCOUNTS.bankClearing, amountMinor: owed, code: TransferCodes.payout, reference: `payout:${result.value.id}`, ledger: Ledgers.JPY }]);
  assert(moved.ok, 'moving a payout to bank clearing cannot be refused');
  return setPayout(deps.db, settlement, { status: 'instructed', amountMinor: owed, transferId: payoutTransferId, reference: result.value.id });
}

async function setPayout(db: Database, settlement: Settlement, payout: { status: string; failure?: string; amountMinor?: bigint; transferId?: string; reference?: string }): Promise<Settlement> {
  await db.pool.query(
    `update settlements set payout_status = $2, payout_failure = $3, payout_amount_minor = $4, payout_transfer_id = $5, payout_reference = $6 where id = $1 and payout_status = 'pending'`,
    [settlement.id, payout.status, payout.failure ?? null, payout.amountMinor ?? null, payout.transferId ?? null, payout.reference ?? null]);
  const stored = await readSettlement(db.pool, settlement.merchantId, settlement.businessDate);
  assert(stored !== null, 'settlement readable');
  return stored;
}

interface SettlementRow {
  id: string; merchant_id: string; business_date: string; payments_count: number; refunds_count: number; gross_minor: bigint; refunds_minor: bigint;
  fees_minor: bigint; net_minor: bigint; settlement_transfer_id: string | null; cash_top_ups_count: number; cash_top_ups_minor: bigint; sales_net_minor: bigint | null; cash_transfer_id: string | null; payout_amount_minor: bigint | null; payout_transfer_id: string | null;
  payout_reference: string | null; payout_status: string; payout_failure: string | null;
}

/** A statement as the merchant API shows it: money as strings of digits (the net may be negative). */
export function statementView(s: Settlement) {
  return {
    statementId: s.id, businessDate: s.businessDate, currency: 'JPY', paymentsCount: s.paymentsCount, refundsCount: s.refundsCount,
    grossAmount: s.grossMinor.toString(), refundsAmount: s.refundsMinor.toString(), feesAmount: s.feesMinor.toString(),
    cashTopUpsCount: s.cashTopUpsCount, cashTopUpsAmount: s.cashTopUpsMinor.toString(), netAmount: s.netMinor.toString(),
    payoutStatus: s.payoutStatus, payoutAmount: s.payoutAmountMinor?.toString() ?? null,
    csvPath: `/v2/settlements/${s.businessDate}/csv`,
  };
}

export const STATEMENTS_PAGE_MAX = 100;

/** The merchant's statements, newest business day first; `before` (a business date) pages back. */
export async function listStatements(db: Pick<pg.Pool, 'query'>, merchantId: string, page: { limit: number; before: string | null }): Promise<{ statements: Settlement[]; hasMore: boolean }> {
  const limit = Math.min(Math.max(1, page.limit), STATEMENTS_PAGE_MAX);
  const result = await db.query<{ business_date: string }>(
    `select business_date from settlements where merchant_id = $1 and ($2::text is null or business_date < $2) order by business_date desc limit $3`,
    [merchantId, page.before, limit + 1]);
  const statements: Settlement[] = [];
  for (const row of result.rows.slice(0, limit)) {
    const statement = await readSettlement(db, merchantId, row.business_date);
    assert(statement !== null, 'a listed statement is readable');
    statements.push(statement);
  }
  return { statements, hasMore: result.rows.length > limit };
}

export async function readSettlement(db: Pick<pg.Pool, 'query'>, merchantId: string, date: string): Promise<Settlement | null> {
  const result = await db.query<SettlementRow>(`select * from settlements where merchant_id = $1 and business_date = $2`, [merchantId, date]);
  const r = result.rows[0];
  if (r === undefined) return null;
  return {
    id: r.id, merchantId: r.merchant_id, businessDate: r.business_date, paymentsCount: r.payments_count, refundsCount: r.refunds_count,
    grossMinor: r.gross_minor, refundsMinor: r.refunds_minor, feesMinor: r.fees_minor, netMinor: r.net_minor, settlementTransferId: r.settlement_transfer_id,
    cashTopUpsCount: r.cash_top_ups_count, cashTopUpsMinor: r.cash_top_ups_minor, salesNetMinor: r.sales_net_minor ?? r.net_minor, cashTransferId: r.cash_transfer_id,
    payoutAmountMinor: r.payout_amount_minor, payoutTransferId: r.payout_transfer_id, payoutReference: r.payout_reference, payoutStatus: r.payout_status, payoutFailure: r.payout_failure,
  };
}
