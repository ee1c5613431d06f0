/** Step 5: customers paying merchant-presented QR codes through the wallet routes (test header authenticator). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { testCustomerHeader } from '../../src/payments/test-support/header-authenticator.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import type { App } from '../../src/http/app.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf, createCustomer } from './customer-fixtures.ts';
import { opa, startHarness, type Harness } from './support.ts';

let h: Harness;
let app: App;
const strong = { confirmed: new Set<string>() };
const notified: Array<{ customerId: string; type: string; amountMinor: bigint }> = [];

beforeAll(async () => {
  h = await startHarness({
    customerRoutes: true,
    hooks: {
      requireStrongConfirmation: async (ctx) => strong.confirmed.has(ctx.customerId),
      notifyCustomers: async (notices) => {
        for (const { customerId, event } of notices) notified.push({ customerId, type: event.type, amountMinor: event.amountMinor });
      },
    },
  });
  if (h.app === null) throw new Error('customer routes not mounted');
  app = h.app;
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
});

const storeQr = () => buildStaticQrPayload({ merchantId: h.merchant.merchantId, storeId: h.merchant.storeId, categoryCode: '5411', merchantName: 'Test Shop', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
const as = (ctx: CustomerContext) => testCustomerHeader(ctx);

describe('paying a static store QR', () => {
  it('accepts a store QR whose Japanese name travels in the language template (tag 64, UTF-8, CRC over the bytes)', async () => {
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const payload = buildStaticQrPayload({ merchantId: h.merchant.merchantId, storeId: h.merchant.storeId, categoryCode: '5411', merchantName: 'コバンマート', merchantNameLatin: 'Koban Mart', merchantCity: 'Chiyoda-ku', merchantCityLocal: '千代田区', postalCode: '100-0001' });
    expect(payload).toContain('0002JA0106コバンマート0204千代田区');
    const preview = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/preview', headers: as(customer), payload: { payload } });
    expect(preview.statusCode).toBe(200);
    expect(preview.json()).toEqual({ merchantName: expect.any(String), storeName: 'Main store' });
  });

  it('previews merchant and store, then pays the typed amount', async () => {
    const customer = await createCustomer(h.db, h.ledger, 3_000n);
    const preview = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/preview', headers: as(customer), payload: { payload: storeQr() } });
    expect(preview.json()).toEqual({ merchantName: expect.any(String), storeName: 'Main store' });
    const paid = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: as(customer), payload: { payload: storeQr(), amount: '1250', idempotencyKey: 'tap-00000001' } });
    expect(paid.statusCode).toBe(200);
    expect(paid.json()).toMatchObject({ status: 'COMPLETED', amount: '1250', kind: 'static_qr' });
    const doubleTap = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: as(customer), payload: { payload: storeQr(), amount: '1250', idempotencyKey: 'tap-00000001' } });
    expect(doubleTap.json().paymentId).toBe(paid.json().paymentId);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(1_750n);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(notified).toContainEqual({ customerId: customer.customerId, type: 'payment.completed', amountMinor: 1_250n });
  });

  it.each([
    ['a negative amount', '-5'], ['a zero amount', '0'], ['a fractional amount', '12.5'], ['a huge amount', '99999999999999999999'], ['a JSON float', 12.5],
  ])('refuses %s with problem+json and moves nothing', async (_name, amount) => {
    const customer = await createCustomer(h.db, h.ledger, 3_000n);
    const response = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: { ...as(customer), 'content-type': 'application/json' }, payload: `{"payload":${JSON.stringify(storeQr())},"amount":${typeof amount === 'number' ? amount : JSON.stringify(amount)}}` });
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(3_000n);
  });

  it('refuses a damaged QR (CRC) and an unknown store', async () => {
    const customer = await createCustomer(h.db, h.ledger, 3_000n);
    const damaged = storeQr().replace('Test', 'Tost');
    const response = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: as(customer), payload: { payload: damaged, amount: '100' } });
    expect(response.json()).toMatchObject({ status: 400, code: 'qr_payload_invalid' });
    const foreign = buildStaticQrPayload({ merchantId: h.merchant.merchantId, storeId: '00000000-0000-7000-8000-0000000fffff', categoryCode: '5411', merchantName: 'X', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
    expect((await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: as(customer), payload: { payload: foreign, amount: '100' } })).json().code).toBe('qr_payload_invalid');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(3_000n);
  });

  it('needs a PIN or passkey above the configured amount', async () => {
    const customer = await createCustomer(h.db, h.ledger, 30_000n);
    const big = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: as(customer), payload: { payload: storeQr(), amount: '10001' } });
    expect(big.json()).toMatchObject({ status: 403, code: 'strong_confirmation_required' });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(30_000n);
    strong.confirmed.add(customer.customerId);
    const confirmed = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: as(customer), payload: { payload: storeQr(), amount: '10001' } });
    expect(confirmed.json().status).toBe('COMPLETED');
  });

  it('refuses requests without an authenticated customer', async () => {
    const response = await app.inject({ method: 'POST', url: '/v1/wallet/static-qr/pay', payload: { payload: storeQr(), amount: '100' } });
    expect(response.json()).toMatchObject({ status: 401, code: 'unauthenticated' });
  });
});

describe('paying a dynamic QR and presenting a code', () => {
  it('pays an order QR through the route and shows it in the customer\'s own history only', async () => {
    const alice = await createCustomer(h.db, h.ledger, 2_000n);
    const bob = await createCustomer(h.db, h.ledger, 2_000n);
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: `o-${Date.now()}`, amount: { amount: 700, currency: 'JPY' }, codeType: 'ORDER_QR' } });
    const codeId = created.json().data.codeId as string;
    expect((await app.inject({ method: 'GET', url: `/v1/wallet/qr/${codeId}`, headers: as(alice) })).json()).toMatchObject({ amount: '700' });
    const paid = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${codeId}/pay`, headers: as(alice) });
    expect(paid.json()).toMatchObject({ status: 'COMPLETED', amount: '700' });
    expect((await app.inject({ method: 'GET', url: '/v1/wallet/payments', headers: as(alice) })).json().payments.map((p: { paymentId: string }) => p.paymentId)).toContain(paid.json().paymentId);
    expect((await app.inject({ method: 'GET', url: '/v1/wallet/payments', headers: as(bob) })).json().payments).toEqual([]);
  });

  it('a retry by the payer of an order QR already paid (first answer lost) answers the payment, charged once; another customer is refused', async () => {
    const alice = await createCustomer(h.db, h.ledger, 2_000n);
    const bob = await createCustomer(h.db, h.ledger, 2_000n);
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: `o-${Date.now()}-r`, amount: { amount: 600, currency: 'JPY' }, codeType: 'ORDER_QR' } });
    const codeId = created.json().data.codeId as string;
    const first = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${codeId}/pay`, headers: as(alice) });
    const retry = await app.inject({ method: 'POST', url: `/v1/wallet/qr/${codeId}/pay`, headers: as(alice) });
    expect(retry.statusCode).toBe(first.statusCode);
    expect(retry.json()).toMatchObject({ status: 'COMPLETED', paymentId: first.json().paymentId, amount: '600' });
    expect(await balanceOf(h.ledger, alice.walletAccountId)).toBe(1_400n);
    expect((await app.inject({ method: 'POST', url: `/v1/wallet/qr/${codeId}/pay`, headers: as(bob) })).json().code).toBe('dynamic_qr_unavailable');
    expect(await balanceOf(h.ledger, bob.walletAccountId)).toBe(2_000n);
  });

  it('refuses an order QR the wallet cannot afford and leaves the order payable', async () => {
    const poor = await createCustomer(h.db, h.ledger, 100n);
    const rich = await createCustomer(h.db, h.ledger, 1_000n);
    const created = await opa(h, { method: 'POST', url: '/v2/codes', body: { merchantPaymentId: `o-${Date.now()}-p`, amount: { amount: 500, currency: 'JPY' }, codeType: 'ORDER_QR' } });
    const codeId = created.json().data.codeId as string;
    expect((await app.inject({ method: 'POST', url: `/v1/wallet/qr/${codeId}/pay`, headers: as(poor) })).json().code).toBe('insufficient_funds');
    expect((await app.inject({ method: 'POST', url: `/v1/wallet/qr/${codeId}/pay`, headers: as(rich) })).json().status).toBe('COMPLETED');
    expect(await balanceOf(h.ledger, poor.walletAccountId)).toBe(100n);
  });

  it('mints a payment code through the route; another customer cannot read its status', async () => {
    const alice = await createCustomer(h.db, h.ledger, 0n);
    const bob = await createCustomer(h.db, h.ledger, 0n);
    const minted = await app.inject({ method: 'POST', url: '/v1/wallet/payment-codes', headers: as(alice) });
    expect(minted.json().code).toMatch(/^9[0-9]{19}$/);
    const mine = await app.inject({ method: 'GET', url: `/v1/wallet/payment-codes/${minted.json().codeId}`, headers: as(alice) });
    expect(mine.json().status).toBe('live');
    const theirs = await app.inject({ method: 'GET', url: `/v1/wallet/payment-codes/${minted.json().codeId}`, headers: as(bob) });
    expect(theirs.json()).toMatchObject({ status: 404, code: 'payment_code_not_found' });
  });
});
