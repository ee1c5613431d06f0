/**
 * Test mode (issue 15): a merchant's **test twin** is a sandbox merchant (`merchants.test_twin_of` = the live
 * merchant) that every test-mode API key belongs to. The OPA listener authenticates a test key as the twin,
 * so whatever it creates or reads — orders, payments, refunds, events, settlements — is the twin's: every
 * read is already scoped to the authenticated merchant, so a test key cannot see, refund or cancel a live
 * payment, and a live key never sees test data. The twin has no payout account and the merchant cannot give it
 * one (the portal acts on the live merchant), so test money never reaches a payout.
 *
 * Made on the first test key with copies of the live merchant's stores and terminals (ids derived from the
 * live ones), each named in the twin by the live store's/terminal's own external id or, without one, by the
 * live Koban id: a request naming `storeId: "store-001"` (or the live store's uuid) books the test order on the
 * twin's copy. Stores added later are copied when the next test key is created. Idempotent throughout.
 */
import type { Ledger } from '../ledger/ledger.ts';
import { ownedAccountId } from '../ledger/owned-accounts.ts';
import { AccountCodes, AccountFlags, Ledgers } from '../ledger/types.ts';
import { assert } from '../platform/assert.ts';
import { withTransaction, type Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { derivedUuid } from '../platform/ids.ts';

export const testTwinId = (liveMerchantId: string): string => derivedUuid('koban-test-twin', liveMerchantId);

/** The twin's id, making it (and copying stores and terminals it lacks) when needed. A twin has no twin. */
export async function ensureTestTwin(db: Database, ledger: Ledger, liveMerchantId: string): Promise<string> {
  const live = await db.pool.query<{ test_twin_of: string | null }>('select test_twin_of from merchants where id = $1', [liveMerchantId]);
  const row = live.rows[0];
  if (row === undefined) throw new KobanError('merchant_not_found');
  assert(row.test_twin_of === null, 'a test twin has no twin of its own');
  const twinId = testTwinId(liveMerchantId);
  const receivable = ownedAccountId(AccountCodes.merchantReceivable, twinId);
  // Outside the transaction (the ledger writes through its own pool); idempotent by id. On the test ledger: no
  // real yen can ever be credited to a twin (migration 0460 moved the receivables of twins made before).
  await ledger.createAccounts([{ id: receivable, ledger: Ledgers.TEST_JPY, code: AccountCodes.merchantReceivable, flags: AccountFlags.none, reference: `merchant:${twinId}` }]);
  await withTransaction(db, async (client) => {
    await client.query(
      `insert into merchants (id, name, name_latin, category_code, status, receivable_account_id, test_twin_of)
       select $1, left(name || ' (test)', 200), name_latin, category_code, 'active', $2, id from merchants where id = $3
       on conflict (id) do nothing`, [twinId, receivable, liveMerchantId]);
    const stores = await client.query<{ id: string; external_id: string | null }>(
      `select s.id, x.external_id from stores s left join merchant_external_ids x on x.kind = 'store' and x.target_id = s.id
       where s.merchant_id = $1 and s.status <> 'closed'`, [liveMerchantId]);
    for (const store of stores.rows) {
      const copy = derivedUuid('koban-test-twin-store', store.id);
      await client.query(
        `insert into stores (id, merchant_id, name, address, latitude, longitude, city, city_local, postal_code)
         select $1, $2, name, address, latitude, longitude, city, city_local, postal_code from stores where id = $3 on conflict (id) do nothing`, [copy, twinId, store.id]);
      await client.query(`insert into merchant_external_ids (merchant_id, kind, external_id, target_id) values ($1, 'store', $2, $3) on conflict do nothing`,
        [twinId, store.external_id ?? store.id, copy]);
    }
    const terminals = await client.query<{ id: string; store_id: string; external_id: string | null }>(
      `select t.id, t.store_id, x.external_id from terminals t join stores s on s.id = t.store_id
         left join merchant_external_ids x on x.kind = 'terminal' and x.target_id = t.id
       where s.merchant_id = $1 and t.status = 'active' and s.status <> 'closed'`, [liveMerchantId]);
    for (const terminal of terminals.rows) {
      const copy = derivedUuid('koban-test-twin-terminal', terminal.id);
      await client.query(`insert into terminals (id, store_id, name) select $1, $2, name from terminals where id = $3 on conflict (id) do nothing`,
        [copy, derivedUuid('koban-test-twin-store', terminal.store_id), terminal.id]);
      await client.query(`insert into merchant_external_ids (merchant_id, kind, external_id, target_id) values ($1, 'terminal', $2, $3) on conflict do nothing`,
        [twinId, terminal.external_id ?? terminal.id, copy]);
    }
  });
  return twinId;
}

/** The merchant and its twin: whose keys a merchant's portal lists and revokes. */
export async function merchantAndTwin(db: Database, merchantId: string): Promise<string[]> {
  const twin = await db.pool.query<{ id: string }>('select id from merchants where test_twin_of = $1', [merchantId]);
  return [merchantId, ...twin.rows.map((r) => r.id)];
}
