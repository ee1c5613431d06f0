/**
 * Per-tier daily (24 h) and monthly (30 days) limits on money leaving a customer (issue 19): sends and
 * withdrawals are decided here under the customer's lock, in the transaction that writes them, so two
 * at once cannot each see the old total; payments are decided by `paymentLimitRefusal`, the payments
 * pipeline's "tier payment limit" step. The per-transfer maximum of a type 2 funds-transfer business (¥1,000,000) applies to every
 * send and withdrawal whatever the tier.
 */
import type { TierMoneyLimits, WalletConfig } from '../../platform/config.ts';
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError, type ProblemCode } from '../../platform/errors.ts';
import { TransferCodes, TransferFlags } from '../../ledger/types.ts';
import { FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR, fundsTransferAccountId } from '../balance-kinds.ts';
import { allowance, moneyLimitsFor, tierOf, type Allowance, type Tier } from '../tiers.ts';
import type { WalletDeps } from '../deps.ts';

const DAY_MS = 86_400_000;
const MONTH_MS = 30 * DAY_MS;

export type MoneyOut = 'send' | 'withdrawal' | 'payment';

export interface Usage {
  readonly dayMinor: bigint;
  readonly monthMinor: bigint;
}

/** Sends that count: every send in the window except those that came back (declined or returned). */
export async function sendUsage(db: Queryable, customerId: string, now: Date): Promise<Usage> {
  return sums(db, `select coalesce(sum(amount_minor) filter (where created_at > $2), 0)::bigint as day, coalesce(sum(amount_minor), 0)::bigint as month
    from p2p_transfers where sender_id = $1 and created_at > $3 and status in ('pending', 'completed')`, customerId, now);
}

/** Withdrawals that count: in flight or paid (a failed one returned its money). */
export async function withdrawalUsage(db: Queryable, customerId: string, now: Date): Promise<Usage> {
  return sums(db, `select coalesce(sum(amount_minor) filter (where created_at > $2), 0)::bigint as day, coalesce(sum(amount_minor), 0)::bigint as month
    from withdrawals where customer_id = $1 and created_at > $3 and status <> 'failed'`, customerId, now);
}

/**
 * Payments from the customer's balances (prepaid wallet and funds-transfer; points are Koban's gift, not the
 * customer's money, and do not count), from the ledger: a hold counts once it is captured (posted). Refunds
 * and cancels are **not netted**: a refunded payment still counts in its window, and a refund is never spending.
 * Netting would let a merchant in league with a customer reset the limit with refunds and pay the same money
 * again and again, which is what the limit is there to stop; the customer waits for the window to pass.
 */
export async function paymentUsage(db: Queryable, customerId: string, now: Date): Promise<Usage> {
  return (await paymentLimitFacts(db, customerId, now)).usage;
}

/**
 * The customer's tier and paid totals over 24 h and 30 days in **one** prepared statement (the payments
 * pipeline runs it once per payment). The partial index `transfers_payments_by_debit_account` (migration 0390)
 * makes it a range scan over the customer's last 30 days of payment transfers, whatever their history.
 */
export async function paymentLimitFacts(db: Queryable, customerId: string, now: Date): Promise<{ tier: Tier; usage: Usage }> {
  const result = await db.query<{ verified: boolean; day: bigint; month: bigint }>({
    name: 'wallet_payment_limit_facts',
    text: `select exists (select 1 from customer_verifications where customer_id = $1) as verified,
             coalesce(sum(t.amount) filter (where t.created_at > $3), 0)::bigint as day, coalesce(sum(t.amount), 0)::bigint as month
           from transfers t
           where t.debit_account_id = any(array(select account_id from customer_wallets where customer_id = $1) || $2::uuid)
             and t.code = ${TransferCodes.payment} and t.flags & ${TransferFlags.pending | TransferFlags.voidPendingTransfer} = 0 and t.created_at > $4`,
    values: [customerId, fundsTransferAccountId(customerId), new Date(now.getTime() - DAY_MS), new Date(now.getTime() - MONTH_MS)],
  });
  const row = result.rows[0];
  if (row === undefined) throw new Error('payment limit facts returned no row');
  return { tier: row.verified ? 'verified' : 'basic', usage: { dayMinor: BigInt(row.day), monthMinor: BigInt(row.month) } };
}

/** `sql` reads $1 (who: a customer id, or the accounts), $2 (24 h ago) and $3 (30 days ago). */
async function sums(db: Queryable, sql: string, who: unknown, now: Date): Promise<Usage> {
  const result = await db.query<{ day: bigint; month: bigint }>(sql, [who, new Date(now.getTime() - DAY_MS), new Date(now.getTime() - MONTH_MS)]);
  const row = result.rows[0];
  if (row === undefined) throw new Error('usage query returned no row');
  return { dayMinor: row.day, monthMinor: row.month };
}

function limitsOf(limits: TierMoneyLimits, what: MoneyOut): { day: bigint; month: bigint } {
  if (what === 'send') return { day: limits.sendDailyMaxMinor, month: limits.sendMonthlyMaxMinor };
  if (what === 'withdrawal') return { day: limits.withdrawalDailyMaxMinor, month: limits.withdrawalMonthlyMaxMinor };
  return { day: limits.paymentDailyMaxMinor, month: limits.paymentMonthlyMaxMinor };
}

export interface MoneyAllowance {
  readonly perTransferMax: bigint | null;
  readonly daily: Allowance;
  readonly monthly: Allowance;
}

export function moneyAllowance(limits: TierMoneyLimits, what: MoneyOut, usage: Usage): MoneyAllowance {
  const caps = limitsOf(limits, what);
  return { perTransferMax: what === 'payment' ? null : FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR, daily: allowance(caps.day, usage.dayMinor), monthly: allowance(caps.month, usage.monthMinor) };
}

/** Refuses an amount above any limit, naming it and what is still possible. Call under the customer's lock. */
export function refuseOverLimit(limits: TierMoneyLimits, what: 'send' | 'withdrawal', usage: Usage, amountMinor: bigint): void {
  const allowed = moneyAllowance(limits, what, usage);
  const code: ProblemCode = what === 'send' ? 'send_limit_exceeded' : 'withdrawal_limit_exceeded';
  const checks: Array<[string, bigint, bigint]> = [
    ['per_transfer', FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR, FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR],
    ['daily', allowed.daily.limitMinor, allowed.daily.remainingMinor],
    ['monthly', allowed.monthly.limitMinor, allowed.monthly.remainingMinor],
  ];
  for (const [limit, limitMinor, remaining] of checks) {
    if (amountMinor > remaining) {
      throw new KobanError(code, {
        detail: `the ${limit.replace('_', ' ')} limit is ${limitMinor}; at most ${remaining} more now`,
        extensions: { limit, limitAmount: limitMinor.toString(), available: remaining.toString() },
      });
    }
  }
}

/** What this customer may still pay, send and withdraw today and this month (`GET /v1/customer/limits`). */
export async function moneyAllowances(deps: Pick<WalletDeps, 'db' | 'config'>, customerId: string, now: Date): Promise<{ tier: Tier } & Record<MoneyOut, MoneyAllowance>> {
  const db = deps.db.pool;
  const tier = await tierOf(db, customerId);
  const limits = moneyLimitsFor(deps.config, tier);
  const [send, withdrawal, payment] = await Promise.all([sendUsage(db, customerId, now), withdrawalUsage(db, customerId, now), paymentUsage(db, customerId, now)]);
  return { tier, send: moneyAllowance(limits, 'send', send), withdrawal: moneyAllowance(limits, 'withdrawal', withdrawal), payment: moneyAllowance(limits, 'payment', payment) };
}

/**
 * The payments pipeline's "tier payment limit" step (src/payments/pipeline.ts) asks this: null when a payment
 * of `amountMinor` fits the customer's tier's 24-hour and 30-day payment limits, else the refusal
 * (`payment_limit_exceeded`, naming the limit and what can still be paid). One statement (`paymentLimitFacts`).
 * Not under a lock: see the wallet README for the bound on payments racing in the same instant.
 */
export async function paymentLimitRefusal(config: Pick<WalletConfig, 'transfers'>, db: Queryable, customerId: string, amountMinor: bigint, now: Date): Promise<KobanError | null> {
  const { tier, usage } = await paymentLimitFacts(db, customerId, now);
  return paymentRefusalOf(config, tier, usage, amountMinor);
}

/**
 * `paymentLimitRefusal` for many payments at once, one statement whatever their count (the payments group commit
 * asks once per batch, issue 11). Payments of the same customer in one call are each judged against the usage
 * before all of them, as separate calls at the same instant would be.
 */
export async function paymentLimitRefusals(config: Pick<WalletConfig, 'transfers'>, db: Queryable, asks: ReadonlyArray<{ customerId: string; amountMinor: bigint }>, now: Date): Promise<Array<KobanError | null>> {
  if (asks.length === 0) return [];
  const facts = await paymentLimitFactsOf(db, asks.map((ask) => ask.customerId), now);
  return asks.map((ask) => {
    const found = facts.get(ask.customerId);
    if (found === undefined) throw new Error('payment limit facts returned no row for a customer');
    return paymentRefusalOf(config, found.tier, found.usage, ask.amountMinor);
  });
}

/** `paymentLimitFacts` of several customers: one prepared statement, each customer's sums an index range scan. */
async function paymentLimitFactsOf(db: Queryable, customerIds: readonly string[], now: Date): Promise<Map<string, { tier: Tier; usage: Usage }>> {
  const distinct = [...new Set(customerIds)];
  const result = await db.query<{ customer_id: string; verified: boolean; day: bigint; month: bigint }>({
    name: 'wallet_payment_limit_facts_of',
    text: `select w.customer_id::text as customer_id, exists (select 1 from customer_verifications v where v.customer_id = w.customer_id) as verified, u.day, u.month
           from unnest($1::uuid[], $2::uuid[]) as w (customer_id, funds_transfer_id)
           cross join lateral (
             select coalesce(sum(t.amount) filter (where t.created_at > $3), 0)::bigint as day, coalesce(sum(t.amount), 0)::bigint as month
             from transfers t
             where t.debit_account_id = any(array(select c.account_id from customer_wallets c where c.customer_id = w.customer_id) || w.funds_transfer_id)
               and t.code = ${TransferCodes.payment} and t.flags & ${TransferFlags.pending | TransferFlags.voidPendingTransfer} = 0 and t.created_at > $4) u`,
    values: [distinct, distinct.map(fundsTransferAccountId), new Date(now.getTime() - DAY_MS), new Date(now.getTime() - MONTH_MS)],
  });
  return new Map(result.rows.map((row) => [row.customer_id, { tier: row.verified ? 'verified' : 'basic', usage: { dayMinor: BigInt(row.day), monthMinor: BigInt(row.month) } }]));
}

function paymentRefusalOf(config: Pick<WalletConfig, 'transfers'>, tier: Tier, usage: Usage, amountMinor: bigint): KobanError | null {
  const allowed = moneyAllowance(moneyLimitsFor(config, tier), 'payment', usage);
  const tightest = allowed.daily.remainingMinor <= allowed.monthly.remainingMinor ? { limit: 'daily', ...allowed.daily } : { limit: 'monthly', ...allowed.monthly };
  if (amountMinor <= tightest.remainingMinor) return null;
  return new KobanError('payment_limit_exceeded', {
    detail: `the ${tightest.limit} payment limit of this account is ${tightest.limitMinor}; at most ${tightest.remainingMinor} more can be paid now`,
    extensions: { limit: tightest.limit, limitAmount: tightest.limitMinor.toString(), available: tightest.remainingMinor.toString() },
  });
}
