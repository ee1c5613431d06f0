/** The customer → wallet mapping. A wallet is a ledger account (code 100, flag 1: it can never go below zero). */
import type { Ledger } from '../ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers } from '../ledger/types.ts';
import type { Database } from '../platform/db/database.ts';
import { ownedAccountId } from '../ledger/owned-accounts.ts';

/**
 * Returns the customer's wallet account id, creating wallet and mapping once (idempotent). The new
 * wallet's id is derived from the customer (ledger/owned-accounts.ts): concurrent first calls, or a call
 * after a crash between the account and the mapping, all land on the same account.
 */
export async function ensureCustomerWallet(db: Database, ledger: Ledger, customerId: string, accountId: string = ownedAccountId(AccountCodes.customerWallet, customerId)): Promise<string> {
  const known = knownWallets(db).get(customerId);
  if (known !== undefined) return known;
  const existing = await db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customerId]);
  if (existing.rows[0] !== undefined) return remember(db, customerId, existing.rows[0].account_id);
  await ledger.createAccounts([{ id: accountId, ledger: Ledgers.JPY, code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits, reference: `customer:${customerId}` }]);
  // No conflict target: two first requests inserting the same row may collide on either unique index (customer_id
  // or account_id, whichever the second insert checks first); `on conflict (customer_id)` let the account_id one
  // through as an error. The read below still insists the mapping is this customer's.
  await db.pool.query('insert into customer_wallets (customer_id, account_id) values ($1, $2) on conflict do nothing', [customerId, accountId]);
  const stored = await db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customerId]);
  const row = stored.rows[0];
  if (row === undefined) throw new Error('customer wallet mapping was not written');
  return remember(db, customerId, row.account_id);
}

/**
 * Mappings already read, per database: a row of customer_wallets is written once and never updated or
 * deleted, so a mapping read is true for ever and on every node. Every authenticated wallet request
 * asks (wiring.ts customerAuthenticator); this spares the payment path a statement. Bounded: past
 * KNOWN_WALLETS_MAX the oldest entry goes.
 */
const KNOWN_WALLETS_MAX = 100_000;
const knownWalletsByDatabase = new WeakMap<Database, Map<string, string>>();

function knownWallets(db: Database): Map<string, string> {
  let known = knownWalletsByDatabase.get(db);
  if (known === undefined) {
    known = new Map();
    knownWalletsByDatabase.set(db, known);
  }
  return known;
}

function remember(db: Database, customerId: string, accountId: string): string {
  const known = knownWallets(db);
  if (known.size >= KNOWN_WALLETS_MAX) {
    const oldest = known.keys().next();
    if (oldest.done !== true) known.delete(oldest.value);
  }
  known.set(customerId, accountId);
  return accountId;
}

/**
 * Maps customers to wallet accounts that already exist (the demo wallets, created by the seed under
 * their own reference). A customer or an account already mapped is left as it is.
 */
export async function linkCustomerWallets(db: Database, links: readonly { customerId: string; accountId: string }[]): Promise<void> {
  await db.pool.query(
    `insert into customer_wallets (customer_id, account_id) select * from unnest($1::uuid[], $2::uuid[]) on conflict do nothing`,
    [links.map((link) => link.customerId), links.map((link) => link.accountId)]);
}
