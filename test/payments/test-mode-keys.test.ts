/**
 * Test and live API keys (issue 15, src/merchants/test-twin.ts), as threats: a test key authenticates as the
 * merchant's test twin, so it cannot read, refund, cancel or capture a live payment; a live key never sees test
 * payments; test money never reaches the live settlement or any payout. Test orders are paid by test wallets
 * (src/wallet/test-wallets.ts): test money on the test ledger, which a real wallet can never pay with.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, listApiKeys } from '../../src/merchants/api-keys.ts';
import { setMerchantPayoutAccount } from '../../src/merchants/payout-accounts.ts';
import { testTwinId } from '../../src/merchants/test-twin.ts';
import { closeBusinessDay } from '../../src/payments/settlement/close.ts';
import { businessDate } from '../../src/payments/time.ts';
import { testCustomerHeader } from '../../src/payments/test-support/header-authenticator.ts';
import { createTestWallet } from '../../src/wallet/test-wallets.ts';
import { PLATFORM_ACCOUNTS, TEST_PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { ownedAccountId } from '../../src/ledger/owned-accounts.ts';
import { AccountCodes, Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { setMerchantStatus } from '../../src/merchants/onboarding.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { derivedUuid, uuidv7 } from '../../src/platform/ids.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
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

/** A developer's test wallet holding `balance` test yen, as the paying customer. */
async function testWallet(balance: bigint): Promise<CustomerContext> {
  const wallet = await createTestWallet(h.db, h.ledger, h.merchant.merchantId, { label: 'tester', initialMinor: balance, createdBy: null });
  return { customerId: wallet.customerId, walletAccountId: wallet.walletAccountId, deviceId: `device-${wallet.customerId}` };
}

/** An order QR made with `credential`, paid by a new customer (a test wallet for a test key): its merchantPaymentId and paymentId. */
async function paidOrder(credential: { apiKey: string; apiSecret: string }, merchantPaymentId: string, amount: number, extra: Record<string, unknown> = {}) {
  const created = await opa(h, { method: 'POST', url: '/v2/codes', credential, body: { merchantPaymentId, amount: jpy(amount), codeType: 'ORDER_QR', ...extra } });
  expect(created.statusCode, created.body).toBe(201);
  const customer = credential === testKey ? await testWallet(10_000n) : await createCustomer(h.db, h.ledger, 10_000n);
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

describe('test money and real money never meet (test wallets, the test ledger)', () => {
  const twinStoreId = () => derivedUuid('koban-test-twin-store', h.merchant.storeId);
  const storeQr = (merchantId: string, storeId: string) => buildStaticQrPayload({ merchantId, storeId, categoryCode: '5411', merchantName: 'Test Shop', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
  const order = async (credential: { apiKey: string; apiSecret: string }, merchantPaymentId: string, extra: Record<string, unknown> = {}) => {
    const created = await opa(h, { method: 'POST', url: '/v2/codes', credential, body: { merchantPaymentId, amount: jpy(700), codeType: 'ORDER_QR', ...extra } });
    expect(created.statusCode, created.body).toBe(201);
    return String(created.json().data.codeId);
  };
  const atTill = async (credential: { apiKey: string; apiSecret: string }, customer: CustomerContext, merchantPaymentId: string) => opa(h, {
    method: 'POST', url: '/v2/till/payments', credential,
    body: { merchantPaymentId, code: (await h.module.payments.mintPaymentCode(customer)).code, amount: jpy(300), storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] },
  });

  it('a real wallet cannot pay a test-mode order, store QR, pre-authorisation or till: refused before any money moves', async () => {
    const real = await createCustomer(h.db, h.ledger, 10_000n);
    const orderCode = await order(testKey, 'real-pays-test-order');
    const authCode = await order(testKey, 'real-pays-test-auth', { isAuthorization: true });
    await expect(h.module.payments.payDynamicQr(real, orderCode)).rejects.toMatchObject({ code: 'payment_mode_mismatch', status: 403 });
    await expect(h.module.payments.payDynamicQr(real, authCode)).rejects.toMatchObject({ code: 'payment_mode_mismatch' });
    await expect(h.module.payments.payStaticQr(real, storeQr(testTwinId(h.merchant.merchantId), twinStoreId()), 500n, 'real-pays-twin-store')).rejects.toMatchObject({ code: 'payment_mode_mismatch' });
    const tillAnswer = await atTill(testKey, real, 'real-pays-test-till');
    expect([tillAnswer.statusCode, resultCode(tillAnswer)]).toEqual([400, 'UNACCEPTABLE_OP']);

    expect(await balanceOf(h.ledger, real.walletAccountId)).toBe(10_000n);
    // Nothing was claimed: the test order is still open, and a test wallet pays it.
    expect((await opa(h, { method: 'GET', url: '/v2/codes/payments/real-pays-test-order', credential: testKey })).json().data.status).toBe('CREATED');
    const tester = await testWallet(1_000n);
    expect((await h.module.payments.payDynamicQr(tester, orderCode)).status).toBe('COMPLETED');
    expect(await balanceOf(h.ledger, tester.walletAccountId)).toBe(300n);
    const tillByTester = await atTill(testKey, tester, 'test-pays-test-till');
    expect([tillByTester.statusCode, resultCode(tillByTester)]).toEqual([200, 'SUCCESS']);
    expect(await balanceOf(h.ledger, tester.walletAccountId)).toBe(0n);
  });

  it('test money comes back to the test wallet on a refund, a cancel and a partial capture, all on the test ledger', async () => {
    const tester = await testWallet(5_000n);
    const feesBefore = await balanceOf(h.ledger, TEST_PLATFORM_ACCOUNTS.feeRevenue);
    const realFeesBefore = await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue);
    const refunded = await h.module.payments.payDynamicQr(tester, await order(testKey, 'test-refunded'));
    const refund = await opa(h, { method: 'POST', url: '/v2/refunds', credential: testKey, body: { merchantRefundId: 'test-refund-1', paymentId: refunded.id, amount: jpy(200) } });
    expect(resultCode(refund), refund.body).toBe('SUCCESS');
    await h.module.payments.payDynamicQr(tester, await order(testKey, 'test-canceled'));
    expect(resultCode(await opa(h, { method: 'DELETE', url: '/v2/payments/test-canceled', credential: testKey }))).toBe('REQUEST_ACCEPTED');
    const authorized = await h.module.payments.payDynamicQr(tester, await order(testKey, 'test-captured', { isAuthorization: true }));
    expect(authorized.status).toBe('AUTHORIZED');
    const capture = await opa(h, { method: 'POST', url: '/v2/payments/capture', credential: testKey, body: { merchantPaymentId: 'test-captured', merchantCaptureId: 'test-capture-1', amount: jpy(400), orderDescription: 'fuel' } });
    expect(resultCode(capture), capture.body).toBe('SUCCESS');
    // 5,000 − (700 − 200 refunded) − 0 (canceled) − 400 captured.
    expect(await balanceOf(h.ledger, tester.walletAccountId)).toBe(4_100n);
    expect(await balanceOf(h.ledger, TEST_PLATFORM_ACCOUNTS.feeRevenue)).toBeGreaterThan(feesBefore);
    expect(await balanceOf(h.ledger, PLATFORM_ACCOUNTS.feeRevenue)).toBe(realFeesBefore);
  });

  it('a test wallet cannot pay a live merchant: order QR, store QR or till', async () => {
    const tester = await testWallet(5_000n);
    const liveOrder = await order(h.credential, 'test-pays-live-order');
    await expect(h.module.payments.payDynamicQr(tester, liveOrder)).rejects.toMatchObject({ code: 'payment_mode_mismatch' });
    await expect(h.module.payments.payStaticQr(tester, storeQr(h.merchant.merchantId, h.merchant.storeId), 500n, 'test-pays-live-store')).rejects.toMatchObject({ code: 'payment_mode_mismatch' });
    const tillAnswer = await atTill(h.credential, tester, 'test-pays-live-till');
    expect([tillAnswer.statusCode, resultCode(tillAnswer)]).toEqual([400, 'UNACCEPTABLE_OP']);
    expect(await balanceOf(h.ledger, tester.walletAccountId)).toBe(5_000n);
    expect((await opa(h, { method: 'GET', url: '/v2/codes/payments/test-pays-live-order' })).json().data.status).toBe('CREATED');
  });

  it('the ledger itself refuses a transfer between test money and real money, whichever ledger the caller names', async () => {
    const tester = await testWallet(1_000n);
    const real = await createCustomer(h.db, h.ledger, 1_000n);
    const attempts = [
      { debitAccountId: tester.walletAccountId, creditAccountId: h.merchant.receivableAccountId, ledger: Ledgers.TEST_JPY },
      { debitAccountId: tester.walletAccountId, creditAccountId: h.merchant.receivableAccountId, ledger: Ledgers.JPY },
      { debitAccountId: real.walletAccountId, creditAccountId: ownedAccountId(AccountCodes.merchantReceivable, testTwinId(h.merchant.merchantId)), ledger: Ledgers.JPY },
      { debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: tester.walletAccountId, ledger: Ledgers.JPY },
      { debitAccountId: TEST_PLATFORM_ACCOUNTS.moneyIssuer, creditAccountId: real.walletAccountId, ledger: Ledgers.TEST_JPY },
    ];
    for (const attempt of attempts) {
      const [result] = await h.ledger.createTransfers([{ id: uuidv7(), ...attempt, amount: 100n, pendingId: null, code: TransferCodes.payment, flags: 0, timeoutSeconds: 0, reference: 'cross-ledger' }]);
      expect(result?.result).toMatch(/^(accounts_must_have_the_same_ledger|transfer_must_have_the_same_ledger_as_accounts)$/);
    }
    expect([await balanceOf(h.ledger, tester.walletAccountId), await balanceOf(h.ledger, real.walletAccountId)]).toEqual([1_000n, 1_000n]);
  });

  it('test money never reaches a settlement or payout of real money: the twin settles on the test ledger only', async () => {
    const twin = testTwinId(h.merchant.merchantId);
    await paidOrder(testKey, 'test-order-settled', 1_500);
    const day = businessDate(new Date());
    h.clock.now = new Date(Date.now() + 2 * 86_400_000);
    try {
      await closeBusinessDay({ db: h.db, ledger: h.ledger, box: h.module.box, rail: null, now: () => h.clock.now }, day);
    } finally {
      h.clock.now = new Date();
    }
    const books = await h.db.pool.query<{ receivable_ledger: number; payout_ledger: number | null }>(
      `select r.ledger as receivable_ledger, p.ledger as payout_ledger from merchants m join accounts r on r.id = m.receivable_account_id
       left join accounts p on p.id = m.payout_account_id where m.id = $1`, [twin]);
    expect(books.rows[0]).toEqual({ receivable_ledger: Ledgers.TEST_JPY, payout_ledger: Ledgers.TEST_JPY });
    // Every transfer touching a twin account, and every test payment's fee, is test money; no real-yen transfer touches them.
    const crossing = await h.db.pool.query<{ n: number }>(
      `select count(*)::int as n from transfers t join merchants m on m.id = $1
       where t.ledger <> ${Ledgers.TEST_JPY} and (t.debit_account_id in (m.receivable_account_id, m.payout_account_id) or t.credit_account_id in (m.receivable_account_id, m.payout_account_id))`, [twin]);
    expect(crossing.rows[0]?.n).toBe(0);
    const testFees = await balanceOf(h.ledger, TEST_PLATFORM_ACCOUNTS.feeRevenue);
    expect(testFees).toBeGreaterThan(0n);
    const payouts = await h.db.pool.query<{ n: number }>(`select count(*)::int as n from settlements where merchant_id = $1 and payout_status = 'instructed'`, [twin]);
    expect(payouts.rows[0]?.n).toBe(0);
  });

  it('a suspended or closed live merchant\'s test mode refuses payments too', async () => {
    const deps = { db: h.db, ledger: h.ledger, box: h.module.box, now: () => new Date(), fourEyesAboveMinor: 1_000_000n };
    const tester = await testWallet(2_000n);
    const orderCode = await order(testKey, 'test-order-while-suspended');
    await setMerchantStatus(deps, h.merchant.merchantId, 'suspended', 'test: investigation', { kind: 'system', id: 'test' }, null);
    try {
      await expect(h.module.payments.payDynamicQr(tester, orderCode)).rejects.toMatchObject({ code: 'merchant_not_active' });
      const tillAnswer = await atTill(testKey, tester, 'test-till-while-suspended');
      expect(resultCode(tillAnswer)).toBe('OP_OUT_OF_SCOPE');
      await expect(h.module.payments.payStaticQr(tester, storeQr(testTwinId(h.merchant.merchantId), twinStoreId()), 100n, 'twin-store-while-suspended')).rejects.toMatchObject({ code: 'merchant_not_active' });
      expect(await balanceOf(h.ledger, tester.walletAccountId)).toBe(2_000n);
    } finally {
      await setMerchantStatus(deps, h.merchant.merchantId, 'active', 'test: cleared', { kind: 'system', id: 'test' }, null);
    }
    expect((await h.module.payments.payDynamicQr(tester, orderCode)).status).toBe('COMPLETED');
  });
});
