/**
 * Ledger accounts whose owner derives their id (src/ledger/owned-accounts.ts): a customer's wallet and a
 * merchant's payout account. Two first requests at once, from two processes, create one account; an
 * account created but never mapped (a crash between the two writes) is adopted, not duplicated.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLedger, type Ledger } from '../../src/ledger/ledger.ts';
import { ownedAccountId } from '../../src/ledger/owned-accounts.ts';
import { AccountCodes, AccountFlags, Ledgers } from '../../src/ledger/types.ts';
import { ensurePayoutAccount } from '../../src/merchants/payout-accounts.ts';
import { ensureCustomerWallet } from '../../src/wallet/customer-wallets.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { expectLedgerConsistent, MAX_AMOUNT } from '../ledger/fixtures.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';
import { createTestMerchant } from './merchant-fixtures.ts';

let db: TestDatabase;
let other: Database;
let ledger: Ledger;
let otherLedger: Ledger;
/** Two Koban processes: their own pools and ledgers on one database. */
const processes = (): Array<{ db: Database; ledger: Ledger }> => [{ db, ledger }, { db: other, ledger: otherLedger }];

beforeAll(async () => {
  db = await createTestDatabase();
  other = await openAnotherConnection(db);
  ledger = createLedger(db, { maxAmountMinor: MAX_AMOUNT });
  otherLedger = createLedger(other, { maxAmountMinor: MAX_AMOUNT });
});
afterAll(async () => {
  await expectLedgerConsistent(db);
  await other.close();
  await db.close();
});

async function accountsReferencing(reference: string): Promise<string[]> {
  return (await db.pool.query<{ id: string }>('select id from accounts where reference = $1', [reference])).rows.map((row) => row.id);
}

describe('a customer\'s wallet account', () => {
  it('concurrent first requests from two processes create one account and one mapping', async () => {
    const customerId = randomUUID();
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => {
      const p = processes()[i % 2]!;
      return ensureCustomerWallet(p.db, p.ledger, customerId);
    }));
    const expected = ownedAccountId(AccountCodes.customerWallet, customerId);
    expect(new Set(answers)).toEqual(new Set([expected]));
    expect(await accountsReferencing(`customer:${customerId}`)).toEqual([expected]);
    const mapped = await db.pool.query('select account_id from customer_wallets where customer_id = $1', [customerId]);
    expect(mapped.rows).toEqual([{ account_id: expected }]);
  });

  it('an account created but never mapped (a crash in between) is adopted, not duplicated', async () => {
    const customerId = randomUUID();
    const id = ownedAccountId(AccountCodes.customerWallet, customerId);
    // The first attempt's account write, then the crash: no customer_wallets row.
    await ledger.createAccounts([{ id, ledger: Ledgers.JPY, code: AccountCodes.customerWallet, flags: AccountFlags.debitsMustNotExceedCredits, reference: `customer:${customerId}` }]);
    expect((await db.pool.query('select 1 from customer_wallets where customer_id = $1', [customerId])).rowCount).toBe(0);
    expect(await ensureCustomerWallet(other, otherLedger, customerId)).toBe(id);
    expect(await accountsReferencing(`customer:${customerId}`)).toEqual([id]);
  });

  it('two customers never share a wallet', () => {
    const a = randomUUID();
    expect(ownedAccountId(AccountCodes.customerWallet, a)).not.toBe(ownedAccountId(AccountCodes.customerWallet, randomUUID()));
    // Nor does one owner's wallet collide with its other accounts.
    expect(ownedAccountId(AccountCodes.customerWallet, a)).not.toBe(ownedAccountId(AccountCodes.merchantPayout, a));
    expect(ownedAccountId(AccountCodes.customerWallet, a.toUpperCase())).toBe(ownedAccountId(AccountCodes.customerWallet, a));
  });
});

describe('a merchant\'s payout account', () => {
  it('concurrent first requests from two processes create one account, recorded on the merchant', async () => {
    const { merchantId } = await createTestMerchant(db, ledger);
    const answers = await Promise.all(Array.from({ length: 24 }, (_, i) => ((p) => ensurePayoutAccount(p.db, p.ledger, merchantId))(processes()[i % 2]!)));
    const expected = ownedAccountId(AccountCodes.merchantPayout, merchantId);
    expect(new Set(answers)).toEqual(new Set([expected]));
    expect(await accountsReferencing(`merchant-payout:${merchantId}`)).toEqual([expected]);
    const merchant = await db.pool.query('select payout_account_id from merchants where id = $1', [merchantId]);
    expect(merchant.rows).toEqual([{ payout_account_id: expected }]);
  });

  it('an account created but never recorded on the merchant (a crash in between) is adopted, not duplicated', async () => {
    const { merchantId } = await createTestMerchant(db, ledger);
    const id = ownedAccountId(AccountCodes.merchantPayout, merchantId);
    await ledger.createAccounts([{ id, ledger: Ledgers.JPY, code: AccountCodes.merchantPayout, flags: AccountFlags.none, reference: `merchant-payout:${merchantId}` }]);
    expect(await ensurePayoutAccount(other, otherLedger, merchantId)).toBe(id);
    expect(await accountsReferencing(`merchant-payout:${merchantId}`)).toEqual([id]);
  });

  it('the receivable account of a merchant is derived the same way', async () => {
    const merchant = await createTestMerchant(db, ledger);
    expect(merchant.receivableAccountId).toBe(ownedAccountId(AccountCodes.merchantReceivable, merchant.merchantId));
  });
});
