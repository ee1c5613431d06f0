/**
 * Which of a customer's balances pay a payment (issue 19): reads the balances and the customer's spend order
 * and asks the pure `planSpend` (spend-order.ts). The payments pipeline's "choose accounts" step calls this.
 */
import type { Ledger } from '../ledger/ledger.ts';
import { availableBalance, type Account } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import { fundsTransferAccountId, mayLeaveAs } from './balance-kinds.ts';
import { pointsAccountId } from './promo/relay.ts';
/** The tier's payment limits, for the payments pipeline's "tier payment limit" step (the wallet owns tiers and usage). */
export { paymentLimitRefusal, paymentLimitRefusals } from './transfers/money-limits.ts';
import { DEFAULT_SPEND_ORDER, planSpend, type SpendableBalance, type SpendLeg, type SpendOrder } from './spend-order.ts';

export interface PaymentSpendRequest {
  readonly customerId: string;
  /** The prepaid wallet account the payment was staged with. */
  readonly walletAccountId: string;
  readonly amountMinor: bigint;
}

/**
 * The legs that pay, or null when the customer holds no funds-transfer balance and never earned points (then
 * the whole amount comes from the wallet, as it always did — one query for the common case). Points pay first. A wallet that is frozen or closed
 * pays everything from the wallet, so the ledger refuses the payment as before (`wallet_frozen`) rather than
 * a frozen customer paying from their other balance.
 */
export async function planPaymentSpend(db: Database, ledger: Ledger, request: PaymentSpendRequest): Promise<SpendLeg[] | null> {
  assert(mayLeaveAs('prepaid', 'payment') && mayLeaveAs('funds_transfer', 'payment'), 'both balances may pay merchants');
  const found = await db.pool.query<{ verified: boolean; has_points: boolean; spend_order: SpendOrder | null }>(
    `select exists (select 1 from customer_verifications where customer_id = $1) as verified,
       exists (select 1 from promo_grants where customer_id = $1 and granted_minor > 0) as has_points,
       (select spend_order from wallet_spend_orders where customer_id = $1) as spend_order`, [request.customerId]);
  const facts = found.rows[0];
  assert(facts !== undefined, 'one row of facts');
  if (!facts.verified && !facts.has_points) return null;
  const fundsTransferId = fundsTransferAccountId(request.customerId);
  const pointsId = pointsAccountId(request.customerId);
  const accounts = new Map((await ledger.getAccounts([request.walletAccountId, fundsTransferId, pointsId])).map((a) => [a.id, a]));
  const wallet = accounts.get(request.walletAccountId);
  const whole: SpendLeg[] = [{ kind: 'prepaid', accountId: request.walletAccountId, amountMinor: request.amountMinor }];
  if (wallet === undefined || wallet.status !== 'active') return whole;
  const balances: SpendableBalance[] = [spendable('prepaid', wallet)];
  const fundsTransfer = facts.verified ? accounts.get(fundsTransferId) : undefined;
  if (fundsTransfer !== undefined && fundsTransfer.status === 'active') balances.push(spendable('funds_transfer', fundsTransfer));
  const points = accounts.get(pointsId);
  if (points !== undefined && points.status === 'active' && availableBalance(points) > 0n) balances.push(spendable('points', points));
  return planSpend(balances, request.amountMinor, facts.spend_order ?? DEFAULT_SPEND_ORDER);
}

function spendable(kind: SpendableBalance['kind'], account: Account): SpendableBalance {
  return { kind, accountId: account.id, availableMinor: availableBalance(account) };
}

/**
 * Which of these customers may pay from more than one balance (identity-verified: a funds-transfer balance
 * exists or may be filled; or they earned points). The payments' group commit settles their payments on the single path, whose
 * "choose accounts" step stores a spend plan (`planPaymentSpend`); everyone else pays from the wallet alone.
 */
export async function customersWithSeveralBalances(client: Queryable, customerIds: readonly string[]): Promise<ReadonlySet<string>> {
  if (customerIds.length === 0) return new Set();
  const found = await client.query<{ customer_id: string }>({
    name: 'wallet_customers_with_several_balances',
    text: `select customer_id from customer_verifications where customer_id = any($1::uuid[])
           union select customer_id from promo_grants where customer_id = any($1::uuid[]) and granted_minor > 0`,
    values: [[...new Set(customerIds)]],
  });
  return new Set(found.rows.map((row) => row.customer_id));
}
