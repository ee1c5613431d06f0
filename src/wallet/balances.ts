/**
 * A customer's balances in the ledger (issue 19): the prepaid wallet account every customer has
 * (`customer_wallets`, code 100) and, once their identity is verified, a funds-transfer account (code 110,
 * id derived from the customer). The rules of each kind are in `balance-kinds.ts`, the spend order in
 * `spend-order.ts`.
 */
import type { Ledger } from '../ledger/ledger.ts';
import { AccountCodes, AccountFlags, availableBalance, Ledgers, type Account, type AccountStatus } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { fundsTransferAccountId, topUpDestination, type BalanceKind } from './balance-kinds.ts';
import { ensureCustomerWallet } from './customer-wallets.ts';
import { DEFAULT_SPEND_ORDER, SPEND_ORDERS, type SpendOrder } from './spend-order.ts';

export interface BalanceView {
  readonly kind: BalanceKind;
  readonly accountId: string;
  readonly status: AccountStatus;
  readonly balanceMinor: bigint;
  readonly availableMinor: bigint;
}

export interface CustomerBalances {
  readonly prepaid: BalanceView | null;
  /** Null until the customer is verified and has a funds-transfer account. */
  readonly fundsTransfer: BalanceView | null;
  readonly verified: boolean;
  readonly spendOrder: SpendOrder;
}

export async function isCustomerVerified(db: Queryable, customerId: string): Promise<boolean> {
  if (!isUuid(customerId)) return false;
  const found = await db.query('select 1 from customer_verifications where customer_id = $1', [customerId]);
  return found.rowCount === 1;
}

/**
 * Records that a customer's identity is verified and opens their funds-transfer account (idempotent).
 * Only the verification's own path calls this (the eKYC provider's signed word, or an operator's review).
 */
export async function markCustomerVerified(db: Database, ledger: Ledger, customerId: string, source: string, at: Date): Promise<string> {
  const accountId = await openFundsTransferAccount(ledger, customerId);
  await recordVerification(db.pool, customerId, source, at);
  return accountId;
}

/** The account first (an empty account is harmless), so the verification can be written in the caller's transaction. */
export async function openFundsTransferAccount(ledger: Ledger, customerId: string): Promise<string> {
  assert(isUuid(customerId), 'a customer id');
  return ensureFundsTransferAccount(ledger, customerId);
}

export async function recordVerification(db: Queryable, customerId: string, source: string, at: Date): Promise<void> {
  assert(isUuid(customerId), 'a customer id');
  assert(source.length > 0 && source.length <= 200, 'a verification names its source');
  await db.query('insert into customer_verifications (customer_id, verified_at, source) values ($1, $2, $3) on conflict (customer_id) do nothing', [customerId, at, source]);
}

async function ensureFundsTransferAccount(ledger: Ledger, customerId: string): Promise<string> {
  const id = fundsTransferAccountId(customerId);
  await ledger.createAccounts([{ id, ledger: Ledgers.JPY, code: AccountCodes.customerFundsTransfer, flags: AccountFlags.debitsMustNotExceedCredits, reference: `customer-funds-transfer:${customerId}` }]);
  return id;
}

/**
 * The account a top-up from this kind of source fills: card → prepaid; bank → funds-transfer when the
 * customer is verified (their account exists from the verification on), otherwise prepaid.
 */
export async function topUpAccountFor(db: Database, ledger: Ledger, customerId: string, sourceKind: 'card' | 'bank'): Promise<{ kind: BalanceKind; accountId: string }> {
  const kind = topUpDestination(sourceKind, sourceKind === 'bank' && await isCustomerVerified(db.pool, customerId));
  if (kind === 'funds_transfer') return { kind, accountId: await ensureFundsTransferAccount(ledger, customerId) };
  return { kind, accountId: await ensureCustomerWallet(db, ledger, customerId) };
}

export async function readSpendOrder(db: Queryable, customerId: string): Promise<SpendOrder> {
  const found = await db.query<{ spend_order: SpendOrder }>('select spend_order from wallet_spend_orders where customer_id = $1', [customerId]);
  return found.rows[0]?.spend_order ?? DEFAULT_SPEND_ORDER;
}

export async function setSpendOrder(db: Database, customerId: string, order: string): Promise<SpendOrder> {
  if (!(SPEND_ORDERS as readonly string[]).includes(order)) {
    throw new KobanError('validation_failed', { errors: [{ pointer: '/body/spendOrder', message: `must be one of ${SPEND_ORDERS.join(', ')}` }] });
  }
  await db.pool.query(
    `insert into wallet_spend_orders (customer_id, spend_order) values ($1, $2)
     on conflict (customer_id) do update set spend_order = excluded.spend_order, updated_at = now()`, [customerId, order]);
  return order as SpendOrder;
}

export async function readCustomerBalances(db: Database, ledger: Ledger, customerId: string): Promise<CustomerBalances> {
  const [wallet, verified, spendOrder] = await Promise.all([
    db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customerId]),
    isCustomerVerified(db.pool, customerId),
    readSpendOrder(db.pool, customerId),
  ]);
  const prepaidId = wallet.rows[0]?.account_id ?? null;
  const accounts = await ledger.getAccounts([...(prepaidId === null ? [] : [prepaidId]), ...(verified ? [fundsTransferAccountId(customerId)] : [])]);
  const byId = new Map(accounts.map((account) => [account.id, account]));
  const prepaid = prepaidId === null ? undefined : byId.get(prepaidId);
  const fundsTransfer = verified ? byId.get(fundsTransferAccountId(customerId)) : undefined;
  return {
    prepaid: prepaid === undefined ? null : view('prepaid', prepaid),
    fundsTransfer: fundsTransfer === undefined ? null : view('funds_transfer', fundsTransfer),
    verified, spendOrder,
  };
}

function view(kind: BalanceKind, account: Account): BalanceView {
  return { kind, accountId: account.id, status: account.status, balanceMinor: account.creditsPosted - account.debitsPosted, availableMinor: availableBalance(account) };
}
