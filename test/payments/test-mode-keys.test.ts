/**
 * Test and live API keys (issue 15, src/merchants/test-twin.ts), as threats: a test key authenticates as the
 * merchant's test twin, so it cannot read, refund, cancel or capture a live payment; a live key never sees test
 * payments; test money never reaches the live settlement or any payout.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, listApiKeys } from '../../src/merchants/api-keys.ts';
import { setMerchantPayoutAccount } from '../../src/merchants/payout-accounts.ts';
import { testTwinId } from '../../src/merchants/test-twin.ts';
import { closeBusinessDay } from '../../src/payments/settlement/close.ts';
import { businessDate } from '../../src/payments/time.ts';
import { testCustomerHeader } from '../../src/payments/test-support/header-authenticator.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
let testKey: { apiKey: string; apiSecret: string };
const jpy = (n: number) => ({ amount: n, currency: 'JPY' });

beforeAll(async () => {
  h = await startHarness({ customerRoutes: true, hooks: { requireStrongConfirmation: async () => true } });
  testKey = await createApiKey(h.db, h.module.box, h.ledger, h.merchant.merchantId, { mode: 'test', name: 'CI sandbox' });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

/** An order QR made with `credential`, paid by a new customer: its merchantPaymentId and paymentId. */
async function paidOrder(credential: { apiKey: string; apiSecret: string }, merchantPaymentId: string, amount: number, extra: Record<string, unknown> = {}) {
  const created = await opa(h, { method: 'POST', url: '/v2/codes', credential, body: { merchantPaymentId, amount: jpy(amount), codeType: 'ORDER_QR', ...extra } });
  expect(created.statusCode, created.body).toBe(201);
  const customer = await createCustomer(h.db, h.ledger, 10_000n);
  if (h.app === null) throw new Error('customer routes not mounted');
  const paid = await h.app.inject({ method: 'POST', url: `/v1/wallet/qr/${String(created.json().data.codeId)}/pay`, headers: testCustomerHeader(customer) });
  expect(paid.statusCode, paid.body).toBe(200);
  return { merchantPaymentId, paymentId: String(paid.json().paymentId), customer, status: String(paid.json().status) };
}

describe('test and live keys', () => {
  it('lists both keys with their mode and name; the test key belongs to the twin, the live one to the merchant', async () => {
    const keys = await listApiKeys(h.db, h.merchant.merchantId);
    expect(keys).toEqual(expect.arrayContaining([
      expect.objectContaining({ apiKey: testKey.apiKey, mode: 'test', name: 'CI sandbox', status: 'active' }),
      expect.objectContaining({ apiKey: h.credential.apiKey, mode: 'live', name: null }),
    ]));
    const ids = await opa(h, { method: 'GET', url: '/v2/merchant/ids', credential: testKey });
    expect(ids.json().data.merchantId).toBe(testTwinId(h.merchant.merchantId));
  });

  it('an SDK configured with the live merchant id still works with a test key, as the twin; a live key cannot assume the twin', async () => {
    const assumingLive = await opa(h, { method: 'GET', url: '/v2/merchant/ids', credential: testKey, headers: { 'x-assume-merchant': h.merchant.merchantId } });
    expect([resultCode(assumingLive), assumingLive.json().data.merchantId]).toEqual(['SUCCESS', testTwinId(h.merchant.merchantId)]);
    const liveAssumingTwin = await opa(h, { method: 'GET', url: '/v2/merchant/ids', headers: { 'x-assume-merchant': testTwinId(h.merchant.merchantId) } });
    expect(resultCode(liveAssumingTwin)).toBe('OP_OUT_OF_SCOPE');
    const testAssumingOther = await opa(h, { method: 'GET', url: '/v2/merchant/ids', credential: testKey, headers: { 'x-assume-merchant': crypto.randomUUID() } });
    expect(resultCode(testAssumingOther)).toBe('OP_OUT_OF_SCOPE');
  });

  it('a test key cannot read, refund, cancel or capture a live payment', async () => {
    const live = await paidOrder(h.credential, 'live-order-1', 1_000);
    const authorized = await paidOrder(h.credential, 'live-auth-1', 500, { isAuthorization: true });
    expect(authorized.status).toBe('AUTHORIZED');
    const balance = await balanceOf(h.ledger, live.customer.walletAccountId);

    expect(resultCode(await opa(h, { method: 'GET', url: '/v2/payments/live-order-1', credential: testKey }))).toBe('RESOURCE_NOT_FOUND');
    expect(resultCode(await opa(h, { method: 'GET', url: '/v2/codes/payments/live-order-1', credential: testKey }))).toBe('DYNAMIC_QR_PAYMENT_NOT_FOUND');
    const listed = await opa(h, { method: 'GET', url: '/v2/payments', credential: testKey });
    expect(JSON.stringify(listed.json().data)).not.toContain(live.paymentId);
    const refund = await opa(h, { method: 'POST', url: '/v2/refunds', credential: testKey, body: { merchantRefundId: 'steal-refund', paymentId: live.paymentId, amount: jpy(1_000) } });
    expect(resultCode(refund)).toBe('RESOURCE_NOT_FOUND');
    // PayPay's cancel accepts an unknown id (202); the live payment is untouched.
    expect(resultCode(await opa(h, { method: 'DELETE', url: '/v2/payments/live-order-1', credential: testKey }))).toBe('REQUEST_ACCEPTED');
    const capture = await opa(h, { method: 'POST', url: '/v2/payments/capture', credential: testKey, body: { merchantPaymentId: 'live-auth-1', merchantCaptureId: 'steal-capture', amount: jpy(500) } });
    expect(resultCode(capture)).toBe('RESOURCE_NOT_FOUND');
    const revert = await opa(h, { method: 'POST', url: '/v2/payments/preauthorize/revert', credential: testKey, body: { merchantRevertId: 'steal-revert', paymentId: authorized.paymentId } });
    expect(resultCode(revert)).toBe('RESOURCE_NOT_FOUND');

    const seen = await opa(h, { method: 'GET', url: '/v2/payments/live-order-1' });
    expect(seen.json().data).toMatchObject({ status: 'COMPLETED', refunds: { data: [] } });
    expect((await opa(h, { method: 'GET', url: '/v2/payments/live-auth-1' })).json().data.status).toBe('AUTHORIZED');
    expect(await balanceOf(h.ledger, live.customer.walletAccountId)).toBe(balance);
  });

  it('a live key does not see test payments, events or test orders made on the mapped stores', async () => {
    // The live store's id names the twin's copy of it under a test key.
    const test = await paidOrder(testKey, 'test-order-1', 2_000, { storeId: h.merchant.storeId });
    const stored = await h.db.pool.query<{ merchant_id: string; store_id: string }>('select merchant_id, store_id from payments where id = $1', [test.paymentId]);
    expect(stored.rows[0]?.merchant_id).toBe(testTwinId(h.merchant.merchantId));
    expect(stored.rows[0]?.store_id).not.toBe(h.merchant.storeId);
    expect((await opa(h, { method: 'GET', url: '/v2/payments/test-order-1', credential: testKey })).json().data).toMatchObject({ status: 'COMPLETED', storeId: h.merchant.storeId });

    expect(resultCode(await opa(h, { method: 'GET', url: '/v2/payments/test-order-1' }))).toBe('RESOURCE_NOT_FOUND');
    const listed = await opa(h, { method: 'GET', url: '/v2/payments' });
    expect(JSON.stringify(listed.json().data)).not.toContain(test.paymentId);
    const events = await opa(h, { method: 'GET', url: '/v2/events' });
    expect(JSON.stringify(events.json().data)).not.toContain(test.paymentId);
    const refund = await opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId: 'live-steals-test', paymentId: test.paymentId, amount: jpy(100) } });
    expect(resultCode(refund)).toBe('RESOURCE_NOT_FOUND');
  });

  it('test money never reaches the live settlement or a payout', async () => {
    const day = businessDate(new Date());
    h.clock.now = new Date(Date.now() + 2 * 86_400_000);
    try {
      const settlements = await closeBusinessDay({ db: h.db, ledger: h.ledger, box: h.module.box, rail: null, now: () => h.clock.now }, day);
      const live = settlements.find((s) => s.merchantId === h.merchant.merchantId);
      const twin = settlements.find((s) => s.merchantId === testTwinId(h.merchant.merchantId));
      const testGross = await h.db.pool.query<{ gross: bigint }>('select coalesce(sum(amount_minor), 0)::bigint as gross from payments where merchant_id = $1 and business_date = $2', [testTwinId(h.merchant.merchantId), day]);
      const liveGross = await h.db.pool.query<{ gross: bigint }>('select coalesce(sum(amount_minor), 0)::bigint as gross from payments where merchant_id = $1 and business_date = $2', [h.merchant.merchantId, day]);
      expect(testGross.rows[0]?.gross).toBeGreaterThan(0n);
      expect(live?.grossMinor).toBe(liveGross.rows[0]?.gross);
      expect(twin?.grossMinor).toBe(testGross.rows[0]?.gross);
      expect(twin?.payoutStatus).not.toBe('instructed');
    } finally {
      h.clock.now = new Date();
    }
    // Nor can anyone give the twin a bank account to be paid into.
    await expect(setMerchantPayoutAccount(h.db, h.module.box, testTwinId(h.merchant.merchantId), { bankCode: '0001', branchCode: '001', accountType: 'ordinary', accountNumber: '1234567', holderNameKana: 'ﾃｽﾄ' }))
      .rejects.toMatchObject({ code: 'validation_failed' });
  });
});
