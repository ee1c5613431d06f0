/**
 * Demo data for `npm start`: a few customers' wallets with balances and one merchant (a convenience
 * store chain) with two stores and their tills. (The platform accounts come from src/ledger/platform-accounts.ts.)
 * Every id is fixed and every write idempotent, so seeding an already seeded database changes
 * nothing — a restart never tops the demo wallets up twice.
 */
import type { Database } from '../platform/db/database.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { requireTransferCreated } from '../ledger/ledger.ts';
import { ensurePlatformAccounts, PLATFORM_ACCOUNTS } from '../ledger/platform-accounts.ts';
import { AccountCodes, AccountFlags, Ledgers, TransferCodes } from '../ledger/types.ts';
import { ensureMerchant, ensureStore, ensureTerminal } from '../merchants/directory.ts';

export const DEMO = {
  customers: [
    { name: 'hanako', wallet: '00000000-0000-7000-8000-000000001001', balance: 12_000n },
    { name: 'taro', wallet: '00000000-0000-7000-8000-000000001002', balance: 3_500n },
    { name: 'yuki', wallet: '00000000-0000-7000-8000-000000001003', balance: 50_000n },
  ],
  merchant: {
    id: '00000000-0000-7000-8000-000000002001',
    name: 'Koban Mart',
    categoryCode: '5411',
    receivable: '00000000-0000-7000-8000-000000002201',
    stores: [
      { id: '00000000-0000-7000-8000-000000002101', name: 'Koban Mart Shibuya', address: '2-1 Dogenzaka, Shibuya, Tokyo', lat: 35.6580, lon: 139.6994,
        city: 'Shibuya-ku', cityLocal: '渋谷区', postalCode: '150-0043',
        terminals: [{ id: '00000000-0000-7000-8000-000000002111', name: 'Till 1' }, { id: '00000000-0000-7000-8000-000000002112', name: 'Till 2' }] },
      { id: '00000000-0000-7000-8000-000000002102', name: 'Koban Mart Umeda', address: '3-1 Umeda, Kita, Osaka', lat: 34.7025, lon: 135.4959,
        city: 'Osaka-shi', cityLocal: '大阪市', postalCode: '530-0001',
        terminals: [{ id: '00000000-0000-7000-8000-000000002121', name: 'Till 1' }] },
    ],
  },
} as const;

export async function seedDemoData(db: Database, ledger: Ledger): Promise<void> {
  const account = (id: string, code: number, flags: number, reference: string) => ({ id, ledger: Ledgers.JPY, code, flags, reference });
  await ensurePlatformAccounts(ledger);
  await ledger.createAccounts([
    account(DEMO.merchant.receivable, AccountCodes.merchantReceivable, AccountFlags.none, `merchant:${DEMO.merchant.id}`),
    ...DEMO.customers.map((c) => account(c.wallet, AccountCodes.customerWallet, AccountFlags.debitsMustNotExceedCredits, `demo-customer:${c.name}`)),
  ]);
  await seedMerchant(db);
  // Opening balances as ordinary card top-ups, with fixed ids: a second run answers `exists`.
  requireTransferCreated(await ledger.createTransfers(DEMO.customers.map((c, index) => ({
    id: `00000000-0000-7000-8000-00000000300${index + 1}`, debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: c.wallet, amount: c.balance,
    pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.seed, flags: 0, timeoutSeconds: 0, reference: 'demo opening balance',
  }))));
}

async function seedMerchant(db: Database): Promise<void> {
  const m = DEMO.merchant;
  await ensureMerchant(db, { id: m.id, name: m.name, categoryCode: m.categoryCode, receivableAccountId: m.receivable });
  for (const store of m.stores) {
    await ensureStore(db, { id: store.id, merchantId: m.id, name: store.name, address: store.address, latitude: store.lat, longitude: store.lon,
      city: store.city, cityLocal: store.cityLocal, postalCode: store.postalCode });
    for (const terminal of store.terminals) await ensureTerminal(db, { id: terminal.id, storeId: store.id, name: terminal.name });
  }
}
