/**
 * Test wallets on the merchant portal's Developers API (src/wallet/test-wallets.ts) over HTTP on a real Koban:
 * a developer makes a sandbox customer with free test yen, tops it up (idempotently) and pays the merchant's test
 * mode with it; the threats: test money paying a live store, a clerk or another merchant using the wallet.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { Ledgers } from '../../src/ledger/types.ts';
import { testTwinId } from '../../src/merchants/test-twin.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { derivedUuid } from '../../src/platform/ids.ts';
import type { Client } from '../identity/support.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { signInAs, type SignedInOperator } from '../operations/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { addStaff, approvedMerchant } from './portal-support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let reviewer: SignedInOperator;
let merchantId: string;
let owner: Client;
let storeId: string;

beforeAll(async () => {
  env = await startTestKoban();
  koban = env.koban;
  reviewer = await signInAs(koban, 'support');
  ({ merchantId, owner } = await approvedMerchant(koban, reviewer));
  const store = await owner.request({ method: 'POST', url: '/v1/merchant/stores', body: { name: '渋谷店', address: '渋谷1-1', city: 'Shibuya-ku', cityLocal: '渋谷区', postalCode: '150-0002' } });
  expect(store.statusCode, store.body).toBe(201);
  storeId = store.json().id;
  // The first test key makes the test twin, with its copy of the store.
  expect((await owner.request({ method: 'POST', url: '/v1/merchant/api-keys', body: { mode: 'test', name: 'sandbox' } })).statusCode).toBe(201);
});
afterAll(async () => {
  await expectLedgerConsistent(koban.db);
  await env.close();
});

const storeQr = (merchant: string, store: string) => buildStaticQrPayload({ merchantId: merchant, storeId: store, categoryCode: '5411', merchantName: 'Koban Shoten', merchantCity: 'Shibuya-ku', postalCode: '150-0002' });

describe('test wallets on the Developers page', () => {
  it('a developer makes a test wallet with free test yen, tops it up once per Idempotency-Key and pays the test store with it', async () => {
    const made = await owner.request({ method: 'POST', url: '/v1/merchant/test-wallets', body: { label: 'QA phone', initialBalance: 5_000 } });
    expect(made.statusCode, made.body).toBe(201);
    expect(made.json()).toMatchObject({ label: 'QA phone', balance: 5_000 });
    const id = String(made.json().testWalletId);
    const account = await koban.db.pool.query<{ ledger: number }>('select a.ledger from customer_wallets w join accounts a on a.id = w.account_id where w.customer_id = $1', [id]);
    expect(account.rows[0]?.ledger).toBe(Ledgers.TEST_JPY);

    const topUp = { method: 'POST' as const, url: `/v1/merchant/test-wallets/${id}/top-ups`, headers: { 'idempotency-key': 'top-up-1' } };
    expect((await owner.request({ ...topUp, body: { amount: 1_000 } })).json()).toMatchObject({ balance: 6_000 });
    expect((await owner.request({ ...topUp, body: { amount: 1_000 } })).json()).toMatchObject({ balance: 6_000 });
    const changed = await owner.request({ ...topUp, body: { amount: 2_000 } });
    expect([changed.statusCode, changed.json().code]).toEqual([422, 'idempotency_key_reused']);

    const paid = await owner.request({ method: 'POST', url: `/v1/merchant/test-wallets/${id}/payments`, body: { payload: storeQr(testTwinId(merchantId), derivedUuid('koban-test-twin-store', storeId)), amount: 1_200, idempotencyKey: 'qa-1' } });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ status: 'COMPLETED', amount: 1_200 });
    const code = await owner.request({ method: 'POST', url: `/v1/merchant/test-wallets/${id}/payment-code` });
    expect(code.statusCode, code.body).toBe(200);
    expect(String(code.json().code)).toMatch(/^[0-9]+$/);
    const listed = await owner.request({ method: 'GET', url: '/v1/merchant/test-wallets' });
    expect(listed.json().testWallets).toEqual([expect.objectContaining({ testWalletId: id, balance: 4_800 })]);
    const audited = await koban.db.pool.query(`select action from audit_events where target_id = $1 order by occurred_at`, [id]);
    expect(audited.rows.map((r) => r.action)).toEqual(expect.arrayContaining(['test_wallet.created', 'test_wallet.topped_up']));
  });

  it('a test wallet cannot pay the live store: refused with nothing moved', async () => {
    const made = await owner.request({ method: 'POST', url: '/v1/merchant/test-wallets', body: { label: 'thief?' } });
    const id = String(made.json().testWalletId);
    const refused = await owner.request({ method: 'POST', url: `/v1/merchant/test-wallets/${id}/payments`, body: { payload: storeQr(merchantId, storeId), amount: 500 } });
    expect([refused.statusCode, refused.json().code]).toEqual([403, 'payment_mode_mismatch']);
    const listed = await owner.request({ method: 'GET', url: '/v1/merchant/test-wallets' });
    expect(listed.json().testWallets).toEqual(expect.arrayContaining([expect.objectContaining({ testWalletId: id, balance: 10_000 })]));
  });

  it('a clerk cannot make or use test wallets, and another merchant cannot see or use this one', async () => {
    const id = String((await owner.request({ method: 'GET', url: '/v1/merchant/test-wallets' })).json().testWallets[0].testWalletId);
    const clerk = (await addStaff(koban, owner, 'clerk')).client;
    expect((await clerk.request({ method: 'POST', url: '/v1/merchant/test-wallets', body: { label: 'x' } })).statusCode).toBe(403);
    expect((await clerk.request({ method: 'POST', url: `/v1/merchant/test-wallets/${id}/top-ups`, body: { amount: 1 } })).statusCode).toBe(403);
    const other = (await approvedMerchant(koban, reviewer)).owner;
    expect((await other.request({ method: 'GET', url: '/v1/merchant/test-wallets' })).json().testWallets).toEqual([]);
    expect((await other.request({ method: 'POST', url: `/v1/merchant/test-wallets/${id}/top-ups`, body: { amount: 1 } })).statusCode).toBe(404);
    expect((await other.request({ method: 'POST', url: `/v1/merchant/test-wallets/${id}/payment-code` })).statusCode).toBe(404);
  });
});
