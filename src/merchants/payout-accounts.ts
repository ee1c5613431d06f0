/**
 * A merchant's payout side: the ledger account its settled money waits in (code 210) and the bank
 * account it is paid to (the account number kept only sealed). Settlement (src/payments/settlement)
 * calls here; only this module writes `merchants.payout_account_id` and `merchant_payout_accounts`.
 */
import type { Ledger } from '../ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { ownedAccountId } from '../ledger/owned-accounts.ts';
import type { SecretBox } from './secret-box.ts';

export interface PayoutBankAccount {
  readonly bankCode: string; readonly branchCode: string; readonly accountType: 'ordinary' | 'current';
  readonly accountNumber: string; readonly holderNameKana: string;
}

export const payoutAccountContext = (merchantId: string): string => `merchant-payout-account:${merchantId}`;

/** The merchant's payout ledger account, created and recorded on first use; its id is derived from the merchant, so a race or a crash leaves no orphan. */
export async function ensurePayoutAccount(db: Database, ledger: Ledger, merchantId: string): Promise<string> {
  const current = await db.pool.query<{ payout_account_id: string | null }>('select payout_account_id from merchants where id = $1', [merchantId]);
  const known = current.rows[0]?.payout_account_id;
  if (known !== undefined && known !== null) return known;
  const id = ownedAccountId(AccountCodes.merchantPayout, merchantId);
  // On the merchant's own ledger: a test twin's settles test money into a test account that no bank is ever paid from.
  const { ledger: books } = await merchantBooks(db, merchantId);
  await ledger.createAccounts([{ id, ledger: books, code: AccountCodes.merchantPayout, flags: AccountFlags.none, reference: `merchant-payout:${merchantId}` }]);
  const set = await db.pool.query<{ payout_account_id: string }>(
    `update merchants set payout_account_id = coalesce(payout_account_id, $2) where id = $1 returning payout_account_id`, [merchantId, id]);
  const chosen = set.rows[0]?.payout_account_id;
  assert(chosen !== undefined, 'merchant exists');
  return chosen;
}

/** The merchant's receivable account and the ledger it is on (`Ledgers.TEST_JPY` for a test twin). */
export async function merchantBooks(db: Database, merchantId: string): Promise<{ receivableAccountId: string; ledger: number }> {
  const result = await db.pool.query<{ receivable_account_id: string; ledger: number }>(
    'select m.receivable_account_id, a.ledger from merchants m join accounts a on a.id = m.receivable_account_id where m.id = $1', [merchantId]);
  const row = result.rows[0];
  assert(row !== undefined, 'merchant exists');
  return { receivableAccountId: row.receivable_account_id, ledger: row.ledger };
}

export async function receivableAccount(db: Database, merchantId: string): Promise<string> {
  const result = await db.pool.query<{ receivable_account_id: string }>('select receivable_account_id from merchants where id = $1', [merchantId]);
  const id = result.rows[0]?.receivable_account_id;
  assert(id !== undefined, 'merchant exists');
  return id;
}

export async function payoutBankAccount(db: Database, box: SecretBox, merchantId: string): Promise<PayoutBankAccount | null> {
  const result = await db.pool.query<{ bank_code: string; branch_code: string; account_type: 'ordinary' | 'current'; account_number_sealed: Buffer; holder_name_kana: string }>(
    // A test twin (test-twin.ts) is never paid out, whatever row it may have: test money never reaches a bank.
    `select a.bank_code, a.branch_code, a.account_type, a.account_number_sealed, a.holder_name_kana
     from merchant_payout_accounts a join merchants m on m.id = a.merchant_id where a.merchant_id = $1 and m.test_twin_of is null`, [merchantId]);
  const row = result.rows[0];
  if (row === undefined) return null;
  return { bankCode: row.bank_code, branchCode: row.branch_code, accountType: row.account_type, accountNumber: box.open(row.account_number_sealed, payoutAccountContext(merchantId)), holderNameKana: row.holder_name_kana };
}

export async function setMerchantPayoutAccount(db: Database, box: SecretBox, merchantId: string, bank: PayoutBankAccount): Promise<void> {
  if (!/^[0-9]{7}$/.test(bank.accountNumber)) throw new KobanError('validation_failed', { errors: [{ pointer: '/accountNumber', message: 'must be 7 digits' }] });
  const twin = await db.pool.query('select 1 from merchants where id = $1 and test_twin_of is not null', [merchantId]);
  if (twin.rowCount !== 0) throw new KobanError('validation_failed', { detail: 'a test-mode merchant has no payout account' });
  await db.pool.query(
    `insert into merchant_payout_accounts (merchant_id, bank_code, branch_code, account_type, account_number_sealed, account_number_last4, holder_name_kana)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (merchant_id) do update set bank_code = excluded.bank_code, branch_code = excluded.branch_code, account_type = excluded.account_type,
       account_number_sealed = excluded.account_number_sealed, account_number_last4 = excluded.account_number_last4, holder_name_kana = excluded.holder_name_kana, updated_at = now()`,
    [merchantId, bank.bankCode, bank.branchCode, bank.accountType, box.seal(bank.accountNumber, payoutAccountContext(merchantId)), bank.accountNumber.slice(-4), bank.holderNameKana]);
}

/**
 * The merchant's cash-owed account (code 220, issue 19): its stores' cash top-ups debit it, the daily close
 * credits it from the payout account. Its id is derived from the merchant, so creating it is idempotent and
 * needs no mapping.
 */
export async function ensureCashOwedAccount(ledger: Ledger, merchantId: string): Promise<string> {
  const id = ownedAccountId(AccountCodes.merchantCashOwed, merchantId);
  await ledger.createAccounts([{ id, ledger: Ledgers.JPY, code: AccountCodes.merchantCashOwed, flags: AccountFlags.none, reference: `merchant-cash-owed:${merchantId}` }]);
  return id;
}
