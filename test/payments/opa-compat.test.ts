/**
 * Issue 15, items 1–3: merchant-chosen store and terminal ids, result codes as PayPay documents them, and
 * tolerant reading of PayPay-compatible requests (with the payment-details fields PayPay returns).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { KOBAN_STRONG_CONFIRMATION_ABOVE: '1000000' } });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

let seq = 0;
const id = (prefix: string) => `${prefix}-${Date.now()}-${seq++}`;
const jpy = (amount: number) => ({ amount, currency: 'JPY' });

async function nameStore(storeId: string, externalId: string | null) {
  return opa(h, { method: 'POST', url: `/v2/merchant/stores/${storeId}`, body: { externalId } });
}
async function nameTerminal(terminalId: string, externalId: string | null) {
  return opa(h, { method: 'POST', url: `/v2/merchant/terminals/${terminalId}`, body: { externalId } });
}

async function tillPayment(customer: CustomerContext, body: Record<string, unknown>) {
  const code = (await h.module.payments.mintPaymentCode(customer)).code;
  return opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId: id('till'), code, amount: jpy(300), ...body } });
}

describe('merchant-chosen store and terminal ids', () => {
  it('lists the merchant\'s own merchant, store and terminal ids, with the names it gave them', async () => {
    const storeName = id('store');
    expect(resultCode(await nameStore(h.merchant.storeId, storeName))).toBe('SUCCESS');
    expect(resultCode(await nameTerminal(h.merchant.terminalIds[0] as string, 'pos-01'))).toBe('SUCCESS');
    const listing = (await opa(h, { method: 'GET', url: '/v2/merchant/ids' })).json().data;
    expect(listing.merchantId).toBe(h.merchant.merchantId);
    const store = listing.stores.find((s: { storeId: string }) => s.storeId === h.merchant.storeId);
    expect(store).toMatchObject({ externalId: storeName, name: 'Main store' });
    expect(store.terminals).toContainEqual(expect.objectContaining({ terminalId: h.merchant.terminalIds[0], externalId: 'pos-01' }));
    expect(listing.stores.map((s: { storeId: string }) => s.storeId)).toContain(h.merchant.otherStoreId);
  });

  it('creates a QR with the merchant\'s store-001 / pos-01 and echoes them; the order is booked on the named store', async () => {
    await nameStore(h.merchant.storeId, 'store-001');
    await nameTerminal(h.merchant.terminalIds[0] as string, 'pos-01');
    const merchantPaymentId = id('order');
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId, amount: jpy(480), codeType: 'ORDER_QR', storeId: 'store-001', terminalId: 'pos-01' } });
    expect(created.statusCode).toBe(201);
    expect(created.json().data).toMatchObject({ storeId: 'store-001', terminalId: 'pos-01' });
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const paid = await h.module.payments.payDynamicQr(customer, created.json().data.codeId);
    expect(paid.storeId).toBe(h.merchant.storeId);
    expect(paid.terminalId).toBe(h.merchant.terminalIds[0]);
    const details = (await opa(h, { method: 'GET', url: `/v2/codes/payments/${merchantPaymentId}` })).json().data;
    expect(details).toMatchObject({ status: 'COMPLETED', storeId: 'store-001', terminalId: 'pos-01' });
  });

  it('takes any storeId up to 255 characters as PayPay does, echoing one that names no Koban store', async () => {
    const free = `店舗-${'x'.repeat(240)}`;
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: id('free'), amount: jpy(100), codeType: 'ORDER_QR', storeId: free, terminalId: 'anything' } });
    expect(resultCode(created)).toBe('SUCCESS');
    expect(created.json().data).toMatchObject({ storeId: free, terminalId: 'anything' });
    const tooLong = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: id('long'), amount: jpy(100), codeType: 'ORDER_QR', storeId: 'x'.repeat(256) } });
    expect(resultCode(tooLong)).toBe('INVALID_PARAMS');
  });

  it('pays at a till named by the merchant\'s ids, and refuses ids that name no till of the merchant', async () => {
    await nameStore(h.merchant.storeId, 'store-001');
    await nameTerminal(h.merchant.terminalIds[1] as string, 'pos-02');
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const paid = await tillPayment(customer, { storeId: 'store-001', terminalId: 'pos-02' });
    expect(paid.json()).toMatchObject({ resultInfo: { code: 'SUCCESS' }, data: { status: 'COMPLETED', storeId: 'store-001', terminalId: 'pos-02' } });
    expect(resultCode(await tillPayment(customer, { storeId: 'no-such-store', terminalId: 'pos-02' }))).toBe('INVALID_PARAMS');
    expect(resultCode(await tillPayment(customer, { storeId: 'store-001', terminalId: 'pos-99' }))).toBe('INVALID_PARAMS');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(700n);
  });

  it('answers a repeated till payment with the ids its first request sent, and Koban\'s own ids as themselves', async () => {
    await nameStore(h.merchant.storeId, 'store-001');
    await nameTerminal(h.merchant.terminalIds[1] as string, 'pos-02');
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const code = (await h.module.payments.mintPaymentCode(customer)).code;
    const body = { merchantPaymentId: id('repeat'), code, amount: jpy(300), storeId: 'store-001', terminalId: 'pos-02' };
    const first = await opa(h, { method: 'POST', url: '/v2/till/payments', body });
    const again = await opa(h, { method: 'POST', url: '/v2/till/payments', body });
    expect(first.json()).toMatchObject({ resultInfo: { code: 'SUCCESS' }, data: { status: 'COMPLETED', storeId: 'store-001', terminalId: 'pos-02' } });
    expect(again.json()).toMatchObject({ resultInfo: { code: 'SUCCESS' }, data: { paymentId: first.json().data.paymentId, storeId: 'store-001', terminalId: 'pos-02' } });
    const plain = await tillPayment(customer, { storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[1] });
    expect(plain.json().data).toMatchObject({ status: 'COMPLETED', storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[1] });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(400n);
  });

  it('refuses naming a second store with a name the merchant already gave, and another merchant\'s store at all', async () => {
    const name = id('dup');
    expect(resultCode(await nameStore(h.merchant.storeId, name))).toBe('SUCCESS');
    const clash = await nameStore(h.merchant.otherStoreId, name);
    expect(resultCode(clash)).toBe('INVALID_PARAMS');
    const other = await createTestMerchant(h.db, h.ledger);
    expect(resultCode(await nameStore(other.storeId, id('steal')))).toBe('RESOURCE_NOT_FOUND');
    expect(resultCode(await nameStore('not-a-uuid', id('x')))).toBe('RESOURCE_NOT_FOUND');
  });

  it('another merchant\'s external id never resolves to this merchant\'s store (ids are per merchant)', async () => {
    const other = await createTestMerchant(h.db, h.ledger);
    const otherKey = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    await nameStore(h.merchant.storeId, 'shared-name');
    const created = await opa(h, { method: 'POST', url: '/v2/codes', credential: otherKey, body: { merchantPaymentId: id('o'), amount: jpy(100), codeType: 'ORDER_QR', storeId: 'shared-name' } });
    expect(resultCode(created)).toBe('SUCCESS');
    const customer = await createCustomer(h.db, h.ledger, 500n);
    const paid = await h.module.payments.payDynamicQr(customer, created.json().data.codeId);
    expect(paid.storeId).toBeNull();
  });
});

describe('result codes as PayPay documents them', () => {
  it('answers a PayPay-shaped paymentId in a refund with RESOURCE_NOT_FOUND, not a schema refusal', async () => {
    const response = await opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId: id('r'), paymentId: '04174541476593786880', amount: jpy(100), requestedAt: Math.floor(Date.now() / 1000) } });
    expect(response.statusCode).toBe(404);
    expect(resultCode(response)).toBe('RESOURCE_NOT_FOUND');
  });

  it('answers an unsupported currency with INVALID_REQUEST_PARAMS and creates nothing', async () => {
    const merchantPaymentId = id('usd');
    const response = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId, amount: { amount: 100, currency: 'USD' }, codeType: 'ORDER_QR' } });
    expect(response.statusCode).toBe(400);
    expect(response.json().resultInfo).toMatchObject({ code: 'INVALID_REQUEST_PARAMS', codeId: expect.any(String) });
    expect(resultCode(await opa(h, { method: 'GET', url: `/v2/codes/payments/${merchantPaymentId}` }))).toBe('DYNAMIC_QR_PAYMENT_NOT_FOUND');
  });

  it('accepts a cancel of an unknown merchantPaymentId (202) and never lets that id be paid afterwards', async () => {
    const merchantPaymentId = id('timeout');
    const canceled = await opa(h, { method: 'DELETE', url: `/v2/payments/${merchantPaymentId}` });
    expect(canceled.statusCode).toBe(202);
    expect(resultCode(canceled)).toBe('REQUEST_ACCEPTED');
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const late = await tillPayment(customer, { merchantPaymentId, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] });
    expect(resultCode(late)).toBe('DUPLICATE_PAYMENT_REQUEST');
    const lateQr = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId, amount: jpy(100), codeType: 'ORDER_QR' } });
    expect(resultCode(lateQr)).toBe('DUPLICATE_DYNAMIC_QR_REQUEST');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_000n);
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${merchantPaymentId}` }))).toBe('REQUEST_ACCEPTED');
  });
});

describe('tolerant reading and the fields PayPay returns', () => {
  it('accepts and ignores unknown fields on PayPay-compatible requests (a newer SDK), at any depth', async () => {
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: id('new-sdk'), amount: { ...jpy(200), futureField: 1 }, codeType: 'ORDER_QR', someNewField: { x: true } } });
    expect(resultCode(created)).toBe('SUCCESS');
    expect(created.json().data.someNewField).toBeUndefined();
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const paid = await h.module.payments.payDynamicQr(customer, created.json().data.codeId);
    const refunded = await opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId: id('r'), paymentId: paid.id, amount: jpy(50), requestedAt: Math.floor(Date.now() / 1000), newRefundOption: 'x' } });
    expect(resultCode(refunded)).toBe('SUCCESS');
    // A known field still has to be right.
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: id('bad'), amount: jpy(-1), codeType: 'ORDER_QR', extra: 1 } }))).toBe('INVALID_PARAMS');
  });

  it('keeps strict refusal of unknown fields on Koban\'s own APIs', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const till = await tillPayment(customer, { storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0], tip: 100 });
    expect(resultCode(till)).toBe('INVALID_PARAMS');
    expect(till.json().resultInfo.message).toContain('/body/tip');
    expect(resultCode(await opa(h, { method: 'POST', url: `/v2/merchant/stores/${h.merchant.storeId}`, body: { externalId: 'a', extra: 1 } }))).toBe('INVALID_PARAMS');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_000n);
  });

  it('keeps orderItems, storeInfo and productType from QR create and returns PayPay\'s payment-details fields', async () => {
    const merchantPaymentId = id('items');
    const orderItems = [{ name: 'コーヒー', category: 'drink', quantity: 2, productId: 'c-1', unitPrice: jpy(240) }];
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: {
      merchantPaymentId, amount: jpy(480), codeType: 'ORDER_QR', orderItems, storeInfo: 'Shibuya counter', productType: 'VIRTUAL_BONUS_INVESTMENT' } });
    expect(created.json().data).toMatchObject({
      storeInfo: 'Shibuya counter', productType: 'VIRTUAL_BONUS_INVESTMENT',
      orderItems: [{ name: 'コーヒー', category: 'drink', quantity: 2, productId: 'c-1', unit_price: jpy(240) }],
    });
    const before = (await opa(h, { method: 'GET', url: `/v2/codes/payments/${merchantPaymentId}` })).json().data;
    expect(before).toMatchObject({ status: 'CREATED', paymentMethods: [], expiresAt: null, canceledAt: null, orderReceiptNumber: null, orderItems });
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    await h.module.payments.payDynamicQr(customer, created.json().data.codeId);
    const after = (await opa(h, { method: 'GET', url: `/v2/payments/${merchantPaymentId}` })).json().data;
    expect(after).toMatchObject({ status: 'COMPLETED', paymentMethods: [{ amount: jpy(480), type: 'WALLET' }], orderItems, canceledAt: null });
    await opa(h, { method: 'DELETE', url: `/v2/payments/${merchantPaymentId}` });
    const canceled = (await opa(h, { method: 'GET', url: `/v2/payments/${merchantPaymentId}` })).json().data;
    expect(canceled.status).toBe('FAILED');
    expect(canceled.canceledAt).toBeGreaterThan(0);
  });
});
