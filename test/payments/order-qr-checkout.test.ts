/**
 * Issue 15: an order QR's redirectUrl/redirectType are kept (validated) and its public checkout summary
 * (GET /v1/checkout/qr/{codeId}, no session) tells merchant, store, amount, expiry, state and the return
 * address, and nothing about who paid.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkOrderRedirect } from '../../src/payments/dynamic-qr.ts';
import { testCustomerHeader } from '../../src/payments/test-support/header-authenticator.ts';
import type { App } from '../../src/http/app.ts';
import { createCustomer } from './customer-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
let app: App;
let n = 0;

beforeAll(async () => {
  h = await startHarness({ customerRoutes: true });
  if (h.app === null) throw new Error('customer routes not mounted');
  app = h.app;
});
afterAll(async () => {
  await h.close();
});

function createOrder(extra: Record<string, unknown>, merchantPaymentId = `co-${process.pid}-${++n}`) {
  return opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId, amount: { amount: 1200, currency: 'JPY' }, codeType: 'ORDER_QR', ...extra } });
}
const summaryOf = (codeId: string) => app.inject({ method: 'GET', url: `/v1/checkout/qr/${codeId}` });

describe('the order QR keeps the merchant\'s return address', () => {
  it('stores redirectUrl/redirectType, echoes what it kept, and a repeat of the order answers the first one\'s', async () => {
    const id = `co-repeat-${process.pid}`;
    const created = await createOrder({ redirectUrl: 'https://shop.example/orders/1/done', redirectType: 'WEB_LINK' }, id);
    expect(resultCode(created)).toBe('SUCCESS');
    expect(created.json().data).toMatchObject({ redirectUrl: 'https://shop.example/orders/1/done', redirectType: 'WEB_LINK', url: expect.stringMatching(/\/qr\/kq_/) });
    const repeat = await createOrder({ redirectUrl: 'https://shop.example/orders/1/done', redirectType: 'WEB_LINK' }, id);
    expect(repeat.json().data.codeId).toBe(created.json().data.codeId);
    const row = await h.db.pool.query('select redirect_url, redirect_type from dynamic_qr_codes where id = $1', [created.json().data.codeId]);
    expect(row.rows).toEqual([{ redirect_url: 'https://shop.example/orders/1/done', redirect_type: 'WEB_LINK' }]);
  });

  it('takes an app deep link, defaults the type to WEB_LINK, and keeps nothing when none is given', async () => {
    const deep = await createOrder({ redirectUrl: 'myshop://orders/7', redirectType: 'APP_DEEP_LINK' });
    expect(deep.json().data).toMatchObject({ redirectUrl: 'myshop://orders/7', redirectType: 'APP_DEEP_LINK' });
    const untyped = await createOrder({ redirectUrl: 'http://127.0.0.1:4500/thanks' });
    expect(untyped.json().data).toMatchObject({ redirectUrl: 'http://127.0.0.1:4500/thanks', redirectType: 'WEB_LINK' });
    const none = await createOrder({ redirectType: 'WEB_LINK' });
    expect(resultCode(none)).toBe('SUCCESS');
    expect(none.json().data.redirectUrl).toBeUndefined();
    expect(none.json().data.redirectType).toBeUndefined();
  });

  it.each([
    ['a script URL as a web link', { redirectUrl: 'javascript:alert(1)', redirectType: 'WEB_LINK' }],
    ['a script URL as a deep link', { redirectUrl: 'javascript:alert(document.cookie)', redirectType: 'APP_DEEP_LINK' }],
    ['a data URL as a deep link', { redirectUrl: 'data:text/html,<script>alert(1)</script>', redirectType: 'APP_DEEP_LINK' }],
    ['a relative URL', { redirectUrl: '/orders/1' }],
    ['an ftp URL as a web link', { redirectUrl: 'ftp://shop.example/x', redirectType: 'WEB_LINK' }],
    ['credentials in the URL', { redirectUrl: 'https://user:pass@shop.example/' }],
    ['an over-long URL', { redirectUrl: `https://shop.example/${'a'.repeat(2048)}` }],
    ['an unknown type', { redirectUrl: 'https://shop.example/', redirectType: 'POPUP' }],
  ])('refuses %s with INVALID_PARAMS and makes no order (open-redirect and script injection through the checkout page)', async (_name, extra) => {
    const id = `co-bad-${process.pid}-${++n}`;
    const refused = await createOrder(extra, id);
    expect(refused.statusCode).toBe(400);
    expect(resultCode(refused)).toBe('INVALID_PARAMS');
    const kept = await h.db.pool.query('select 1 from payments where merchant_payment_id = $1', [id]);
    expect(kept.rowCount).toBe(0);
  });

  it('outside the sandbox takes only https web links (and no http deep link)', () => {
    expect(checkOrderRedirect('https://shop.example/done', 'WEB_LINK', true)).toEqual({ url: 'https://shop.example/done', type: 'WEB_LINK' });
    expect(() => checkOrderRedirect('http://shop.example/done', 'WEB_LINK', true)).toThrow(/redirectUrl|valid/);
    expect(() => checkOrderRedirect('http://shop.example/done', 'WEBVIEW_IN_PAYPAY', true)).toThrow();
    expect(() => checkOrderRedirect('http://shop.example/done', 'APP_DEEP_LINK', true)).toThrow();
    expect(checkOrderRedirect('myshop://done', 'APP_DEEP_LINK', true)).toEqual({ url: 'myshop://done', type: 'APP_DEEP_LINK' });
    expect(checkOrderRedirect('http://shop.example/done', 'WEB_LINK', false)).toEqual({ url: 'http://shop.example/done', type: 'WEB_LINK' });
  });
});

describe('the public checkout summary', () => {
  it('shows merchant, store, amount, expiry and state without a session; once paid it reveals nothing about the payer', async () => {
    const created = (await createOrder({ redirectUrl: 'https://shop.example/back', storeId: h.merchant.storeId, orderDescription: 'Secret gift for Hanako' })).json().data;
    const before = await summaryOf(created.codeId);
    expect(before.statusCode).toBe(200);
    expect(before.json()).toEqual({
      merchantName: expect.any(String), storeName: 'Main store', amount: '1200', expiresAt: expect.any(String),
      state: 'PAYABLE', redirectUrl: 'https://shop.example/back', redirectType: 'WEB_LINK',
    });
    expect(Math.floor(Date.parse(before.json().expiresAt) / 1000)).toBe(created.expiryDate);
    const customer = await createCustomer(h.db, h.ledger, 5_000n);
    const paid = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${created.codeId}/pay`, headers: testCustomerHeader(customer) });
    expect(paid.json()).toMatchObject({ status: 'COMPLETED' });
    const after = await summaryOf(created.codeId);
    expect(after.json()).toMatchObject({ state: 'PAID', amount: '1200' });
    expect(Object.keys(after.json()).sort()).toEqual(['amount', 'expiresAt', 'merchantName', 'redirectType', 'redirectUrl', 'state', 'storeName']);
    const text = after.body;
    for (const secret of [customer.customerId, customer.walletAccountId, paid.json().paymentId, created.merchantPaymentId, h.merchant.merchantId, 'Secret gift']) expect(text).not.toContain(secret);
  });

  it('says EXPIRED once an unpaid order passes its expiry, and the pay call refuses it', async () => {
    const created = (await createOrder({})).json().data;
    const saved = h.clock.now;
    h.clock.now = new Date(created.expiryDate * 1000 + 1000);
    try {
      expect((await summaryOf(created.codeId)).json()).toMatchObject({ state: 'EXPIRED', redirectUrl: null, redirectType: null });
      const customer = await createCustomer(h.db, h.ledger, 5_000n);
      const refused = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${created.codeId}/pay`, headers: testCustomerHeader(customer) });
      expect(refused.statusCode).toBeGreaterThanOrEqual(400);
    } finally {
      h.clock.now = saved;
    }
  });

  it('says UNAVAILABLE for a deleted order, and 404 problem+json for an unknown code', async () => {
    const created = (await createOrder({})).json().data;
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/codes/${created.codeId}` }))).toBe('SUCCESS');
    expect((await summaryOf(created.codeId)).json()).toMatchObject({ state: 'UNAVAILABLE' });
    const unknown = await summaryOf('kq_nosuchcode000000000000');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
