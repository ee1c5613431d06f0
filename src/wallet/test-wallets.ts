/**
 * Test wallets (issue 15 follow-up): sandbox customers a merchant's developer makes on the portal's Developers
 * page to pay the merchant's test mode (its test twin, src/merchants/test-twin.ts) — PayPay's sandbox test users.
 *
 * - The wallet account is on the **test ledger** (`Ledgers.TEST_JPY`), as the twin's books are: the ledger refuses
 *   any transfer between it and a real-yen account, so no real money can reach a test wallet and no test money can
 *   reach a live merchant, even by a bug. The payment pipeline says so first, with `payment_mode_mismatch`
 *   (src/payments/standing-step.ts).
 * - Topped up for free from the test-money issuer account (`TEST_PLATFORM_ACCOUNTS.moneyIssuer`, same ledger).
 * - A test customer has a wallet and nothing else: no identity (no sign-in, contacts, card, bank or KYC), so no
 *   real-money path of the wallet app (card or cash top-up, send, withdrawal) can ever be started for it. The
 *   developer pays with it from the portal (order QR, store QR, or a customer payment code for a test till).
 */
import { randomUUID } from 'node:crypto';
import type { Ledger } from '../ledger/ledger.ts';
import { ownedAccountId } from '../ledger/owned-accounts.ts';
import { TEST_PLATFORM_ACCOUNTS } from '../ledger/platform-accounts.ts';
import { AccountCodes, AccountFlags, availableBalance, isSuccess, Ledgers, TransferCodes } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import { withTransaction, type Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { derivedUuid } from '../platform/ids.ts';

/** Per merchant: enough for a test team, small enough that nobody farms customers from the portal. */
export const TEST_WALLETS_PER_MERCHANT_MAX = 20;
/** What a new test wallet holds when the developer does not say. */
export const TEST_WALLET_DEFAULT_INITIAL_MINOR = 10_000n;
/** One top-up's most (test yen); any number of top-ups. */
export const TEST_TOP_UP_MAX_MINOR = 1_000_000n;

export interface TestWallet {
  readonly customerId: string;
  readonly walletAccountId: string;
  readonly label: string;
  readonly balanceMinor: bigint;
  readonly createdAt: Date;
}

/** Makes a test wallet for a live merchant's developers, topped up with `initialMinor` test yen. */
export async function createTestWallet(db: Database, ledger: Ledger, merchantId: string, wallet: { label: string; initialMinor?: bigint; createdBy: string | null }): Promise<TestWallet> {
  const initialMinor = wallet.initialMinor ?? TEST_WALLET_DEFAULT_INITIAL_MINOR;
  requireTopUpAmount(initialMinor, true);
  const merchant = await db.pool.query<{ test_twin_of: string | null; count: number }>(
    'select m.test_twin_of, (select count(*)::int from test_wallets w where w.merchant_id = m.id) as count from merchants m where m.id = $1', [merchantId]);
  const row = merchant.rows[0];
  if (row === undefined) throw new KobanError('merchant_not_found');
  assert(row.test_twin_of === null, 'test wallets belong to the live merchant whose developers use them');
  if (row.count >= TEST_WALLETS_PER_MERCHANT_MAX) throw new KobanError('validation_failed', { detail: `at most ${TEST_WALLETS_PER_MERCHANT_MAX} test wallets per merchant` });
  const customerId = randomUUID();
  const accountId = ownedAccountId(AccountCodes.customerWallet, customerId);
  // Outside the transaction (the ledger writes through its own pool); a crash after it leaves an empty test account.
  await ledger.createAccounts([{ id: accountId, ledger: Ledgers.TEST_JPY, code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits, reference: `test-customer:${customerId}` }]);
  await withTransaction(db, async (client) => {
    await client.query('insert into customer_wallets (customer_id, account_id) values ($1, $2)', [customerId, accountId]);
    await client.query('insert into test_wallets (customer_id, merchant_id, account_id, label, created_by) values ($1, $2, $3, $4, $5)',
      [customerId, merchantId, accountId, wallet.label, wallet.createdBy]);
  });
  if (initialMinor > 0n) await topUpTestWallet(db, ledger, merchantId, customerId, initialMinor, `initial:${customerId}`);
  return readTestWallet(db, ledger, merchantId, customerId);
}

/**
 * Free test yen from the issuer. `key` makes it idempotent (the transfer id is derived from it): a retry with the
 * same key and amount answers the first top-up; the same key with another amount is refused.
 */
export async function topUpTestWallet(db: Database, ledger: Ledger, merchantId: string, customerId: string, amountMinor: bigint, key: string | null): Promise<TestWallet> {
  requireTopUpAmount(amountMinor, false);
  const wallet = await readTestWallet(db, ledger, merchantId, customerId);
  const [result] = await ledger.createTransfers([{
    // Without a key every call is a new top-up (test money: a duplicate creates no real money).
    id: key === null ? randomUUID() : derivedUuid('koban-test-top-up', customerId, key), debitAccountId: TEST_PLATFORM_ACCOUNTS.moneyIssuer, creditAccountId: wallet.walletAccountId,
    amount: amountMinor, pendingId: null, ledger: Ledgers.TEST_JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: `test-top-up:${customerId}`,
  }]);
  assert(result !== undefined, 'one result per transfer');
  if (result.result === 'exists_with_different_fields') throw new KobanError('idempotency_key_reused');
  if (!isSuccess(result.result)) throw new KobanError('transfers_rejected', { detail: result.result });
  return readTestWallet(db, ledger, merchantId, customerId);
}

/** The merchant's test wallets with their balances, oldest first. */
export async function listTestWallets(db: Database, ledger: Ledger, merchantId: string): Promise<TestWallet[]> {
  const rows = await db.pool.query<{ customer_id: string; account_id: string; label: string; created_at: Date }>(
    'select customer_id, account_id, label, created_at from test_wallets where merchant_id = $1 order by created_at, customer_id', [merchantId]);
  const accounts = new Map((await ledger.getAccounts(rows.rows.map((r) => r.account_id))).map((a) => [a.id, a]));
  return rows.rows.map((r) => {
    const account = accounts.get(r.account_id);
    assert(account !== undefined && account.ledger === Ledgers.TEST_JPY, 'a test wallet\'s account is on the test ledger');
    return { customerId: r.customer_id, walletAccountId: r.account_id, label: r.label, balanceMinor: availableBalance(account), createdAt: r.created_at };
  });
}

/** One of this merchant's test wallets (another merchant's is "not found"). */
export async function readTestWallet(db: Database, ledger: Ledger, merchantId: string, customerId: string): Promise<TestWallet> {
  const found = await db.pool.query<{ account_id: string; label: string; created_at: Date }>(
    'select account_id, label, created_at from test_wallets where customer_id = $1 and merchant_id = $2', [customerId, merchantId]);
  const row = found.rows[0];
  if (row === undefined) throw new KobanError('not_found', { detail: 'no such test wallet for this merchant' });
  const account = await ledger.getAccount(row.account_id);
  assert(account !== null && account.ledger === Ledgers.TEST_JPY, 'a test wallet\'s account is on the test ledger');
  return { customerId, walletAccountId: row.account_id, label: row.label, balanceMinor: availableBalance(account), createdAt: row.created_at };
}

function requireTopUpAmount(amountMinor: bigint, zeroAllowed: boolean): void {
  if (amountMinor < (zeroAllowed ? 0n : 1n) || amountMinor > TEST_TOP_UP_MAX_MINOR) {
    throw new KobanError('validation_failed', { errors: [{ pointer: '/body/amount', message: `must be ${zeroAllowed ? 0 : 1} to ${TEST_TOP_UP_MAX_MINOR} test yen` }] });
  }
}
