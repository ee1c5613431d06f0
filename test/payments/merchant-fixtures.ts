/** Merchants, stores and tills for payments tests, each on fresh ids. */
import { randomBytes } from 'node:crypto';
import type { Ledger } from '../../src/ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers } from '../../src/ledger/types.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { ownedAccountId } from '../../src/ledger/owned-accounts.ts';

export interface TestMerchant {
  readonly merchantId: string;
  readonly receivableAccountId: string;
  readonly storeId: string;
  readonly terminalIds: readonly string[];
  readonly otherStoreId: string;
}

export async function createTestMerchant(db: Database, ledger: Ledger, name = `Shop ${randomBytes(3).toString('hex')}`): Promise<TestMerchant> {
  const merchantId = uuidv7();
  const receivableAccountId = ownedAccountId(AccountCodes.merchantReceivable, merchantId);
  await ledger.createAccounts([{ id: receivableAccountId, ledger: Ledgers.JPY, code: AccountCodes.merchantReceivable, flags: AccountFlags.none, reference: `merchant:${merchantId}` }]);
  await db.pool.query(`insert into merchants (id, name, category_code, receivable_account_id) values ($1, $2, '5411', $3)`, [merchantId, name, receivableAccountId]);
  const storeId = uuidv7();
  const otherStoreId = uuidv7();
  await db.pool.query(`insert into stores (id, merchant_id, name, city, postal_code) values ($1, $2, 'Main store', 'Chiyoda-ku', '100-0001'), ($3, $2, 'Second store', 'Chiyoda-ku', '100-0001')`, [storeId, merchantId, otherStoreId]);
  const terminalIds = [uuidv7(), uuidv7()];
  await db.pool.query(`insert into terminals (id, store_id, name) values ($1, $3, 'Till 1'), ($2, $3, 'Till 2')`, [terminalIds[0], terminalIds[1], storeId]);
  return { merchantId, receivableAccountId, storeId, terminalIds, otherStoreId };
}
