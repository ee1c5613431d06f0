/**
 * Migration 0460's handling of test twins made before test money had a ledger of its own: a twin account no transfer
 * touched moves to the test ledger in place; one that real yen reached stops the migration with its id, rather than
 * strand or hide that money. The migration's `do` block is run again here on twins set up as they were before it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLedger, requireTransferCreated, type Ledger } from '../../src/ledger/ledger.ts';
import { ensurePlatformAccounts, PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createTestMerchant } from '../payments/merchant-fixtures.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let ledger: Ledger;
beforeAll(async () => {
  db = await createTestDatabase();
  ledger = createLedger(db, { maxAmountMinor: 100_000_000_000n });
  await ensurePlatformAccounts(ledger);
});
afterAll(async () => {
  await ledger.drain();
  await db.close();
});

const migration = readFileSync(new URL('../../migrations/0460_test_money_ledger.sql', import.meta.url), 'utf8');
const moveTwins = migration.slice(migration.indexOf('do $$'));

/** A twin as test-twin.ts made it before 0460: its receivable on the real-yen ledger. */
async function oldTwin(): Promise<{ twinId: string; receivable: string }> {
  const live = await createTestMerchant(db, ledger);
  const twinId = uuidv7();
  const receivable = uuidv7();
  await ledger.createAccounts([{ id: receivable, ledger: Ledgers.JPY, code: AccountCodes.merchantReceivable, flags: AccountFlags.none, reference: `merchant:${twinId}` }]);
  await db.pool.query(`insert into merchants (id, name, category_code, status, receivable_account_id, test_twin_of) values ($1, 'old twin (test)', '5411', 'active', $2, $3)`,
    [twinId, receivable, live.merchantId]);
  return { twinId, receivable };
}

const ledgerOf = async (accountId: string) => (await db.pool.query<{ ledger: number }>('select ledger from accounts where id = $1', [accountId])).rows[0]?.ledger;

it('moves an untouched twin receivable to the test ledger in place, and stops on one that real yen reached, naming it', async () => {
  const untouched = await oldTwin();
  await db.pool.query(moveTwins);
  expect(await ledgerOf(untouched.receivable)).toBe(Ledgers.TEST_JPY);

  const paid = await oldTwin();
  requireTransferCreated(await ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: paid.receivable, amount: 500n, pendingId: null,
    ledger: Ledgers.JPY, code: TransferCodes.payment, flags: 0, timeoutSeconds: 0, reference: 'a real wallet paid a test order' }]));
  await expect(db.pool.query(moveTwins)).rejects.toThrow(new RegExp(`test twin account ${paid.receivable} holds real yen`));
  expect(await ledgerOf(paid.receivable)).toBe(Ledgers.JPY);
  await expectLedgerConsistent(db);
});
