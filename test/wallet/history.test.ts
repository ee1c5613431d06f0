/**
 * The wallet's history and summary over HTTP: every yen moved (top-up, payment, refund) explained by the row
 * behind it, filtered by kind and JST day, paged by cursor, and never another customer's movements.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import type { Customer } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { CARDS, cardSource, customerWithPin, expectLedgerVerifies, startWalletEnv, topUp, type WalletEnv } from './support.ts';

let w: WalletEnv;
let merchant: TestMerchant;
let customer: Customer;
let other: Customer;
let paymentId: string;

interface Item { transferId: string; kind: string; direction: string; amount: string; status: string; merchantName: string | null; storeName: string | null; paymentId: string | null; refundId: string | null; topUpId: string | null; fundingSource: { kind: string; last4: string | null } | null; at: string }

const get = async (who: Customer, url: string) => who.client.request({ method: 'GET', url });
const items = async (who: Customer, query = '') => {
  const response = await get(who, `/v1/wallet/history${query}`);
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as { items: Item[]; nextCursor: string | null };
};
const todayJst = () => new Date(Date.now() + 9 * 3600_000).toISOString().slice(0, 10);

beforeAll(async () => {
  w = await startWalletEnv();
  merchant = await createTestMerchant(w.db, w.koban.ledger, 'Koban Mart');
  customer = await customerWithPin(w.koban);
  other = await customerWithPin(w.koban);
  const card = await cardSource(w.koban, customer, CARDS.visa);
  expect((await topUp(w.koban, customer, card, 3_000)).json()).toMatchObject({ status: 'completed' });
  const payload = buildStaticQrPayload({ merchantId: merchant.merchantId, storeId: merchant.storeId, categoryCode: '5411', merchantName: 'Koban Mart', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
  const paid = await customer.client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: { payload, amount: '1200', idempotencyKey: 'history-0001' } });
  expect(paid.statusCode, paid.body).toBe(200);
  paymentId = (paid.json() as { paymentId: string }).paymentId;
  await w.koban.payments.payments.refundPayment({ merchantId: merchant.merchantId, paymentId, merchantRefundId: 'refund-history-1', amountMinor: 200n, reason: 'returned item', requestedAt: null });
  // The refund lands a millisecond after the payment: order by seq holds even with equal timestamps.
}, 60_000);
afterAll(async () => {
  await expectLedgerVerifies(w.db);
  await w.close();
});

describe('wallet history', () => {
  it('lists every movement newest first, each explained by its top-up, payment or refund', async () => {
    const page = await items(customer);
    expect(page.items.map((i) => [i.kind, i.direction, i.amount])).toEqual([['refund', 'in', '200'], ['payment', 'out', '1200'], ['top_up', 'in', '3000']]);
    const [refund, payment, top] = page.items;
    expect(payment).toMatchObject({ merchantName: 'Koban Mart', storeName: 'Main store', paymentId, status: 'COMPLETED' });
    expect(refund).toMatchObject({ merchantName: 'Koban Mart', paymentId, refundId: expect.any(String) });
    expect(top).toMatchObject({ topUpId: expect.any(String), fundingSource: { kind: 'card', last4: '4242' }, status: 'completed' });
    const summary = (await get(customer, '/v1/wallet/summary')).json();
    expect(summary).toEqual({ balance: '2000', available: '2000', status: 'active' });
  });

  it('filters by kind and by JST day, and pages with an opaque cursor', async () => {
    expect((await items(customer, '?kind=payment')).items.map((i) => i.kind)).toEqual(['payment']);
    expect((await items(customer, '?kind=top_up')).items.map((i) => i.amount)).toEqual(['3000']);
    expect((await items(customer, '?kind=compensation')).items).toEqual([]);
    expect((await items(customer, `?from=${todayJst()}&to=${todayJst()}`)).items).toHaveLength(3);
    expect((await items(customer, '?from=2001-01-01&to=2001-01-31')).items).toEqual([]);
    const first = await items(customer, '?limit=2');
    expect(first.items).toHaveLength(2);
    expect(first.nextCursor).not.toBeNull();
    const second = await items(customer, `?limit=2&cursor=${encodeURIComponent(first.nextCursor ?? '')}`);
    expect(second.items.map((i) => i.kind)).toEqual(['top_up']);
    expect(second.nextCursor).toBeNull();
  });

  it('refuses malformed filters with a problem and no data', async () => {
    for (const query of ['?kind=bitcoin', '?from=2025-02-30', '?from=2025-03-02&to=2025-03-01', '?cursor=bm90LWEtY3Vyc29y', '?limit=0']) {
      const response = await get(customer, `/v1/wallet/history${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.headers['content-type']).toMatch(/problem\+json/);
    }
  });

  it('shows one movement in detail, and another customer cannot read it or see it in their own history', async () => {
    const [payment] = (await items(customer, '?kind=payment')).items;
    const detail = await get(customer, `/v1/wallet/history/${payment?.transferId}`);
    expect(detail.json()).toMatchObject({ transferId: payment?.transferId, paymentId, merchantName: 'Koban Mart', amount: '1200' });
    expect((await get(other, `/v1/wallet/history/${payment?.transferId}`)).statusCode).toBe(404);
    expect((await items(other)).items).toEqual([]);
    expect((await w.koban.app.inject({ method: 'GET', url: '/v1/wallet/history' })).statusCode).toBe(401);
  });

  it('a payment\'s receipt: short receipt number, its refund linked and the net amount; the refund\'s receipt links back', async () => {
    const { items: [refund, payment] } = await items(customer);
    const receipt = (await get(customer, `/v1/wallet/history/${payment?.transferId}`)).json() as Item & { receiptNumber: string; placeName: string; links: { original: unknown; returns: Array<{ kind: string; transferId: string; receiptNumber: string; amount: string }>; net: string } };
    expect(receipt.receiptNumber).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
    expect(receipt.receiptNumber).toBe(paymentId.replaceAll('-', '').slice(-8).toUpperCase().replace(/^(.{4})/, '$1-'));
    expect(receipt.placeName).toBe('Koban Mart Main store');
    expect(receipt.links).toMatchObject({ original: null, net: '1000', returns: [{ kind: 'refund', transferId: refund?.transferId, amount: '200' }] });
    const back = (await get(customer, `/v1/wallet/history/${refund?.transferId}`)).json() as { receiptNumber: string; links: { original: { transferId: string; receiptNumber: string; amount: string }; net: string } };
    expect(back.links.original).toEqual({ transferId: payment?.transferId, receiptNumber: receipt.receiptNumber, amount: '1200' });
    expect(back.receiptNumber).toBe(receipt.links.returns[0]?.receiptNumber);
    expect(back.receiptNumber).not.toBe(receipt.receiptNumber);
    expect(back.links.net).toBe('1000');
  });

  it('marks which feed entries 「心当たりがない」 applies to: the payment and the top-up, not the refund', async () => {
    await w.koban.payments.payments.runMaintenance();
    const feed = async () => ((await get(customer, '/v1/customer/notifications')).json() as { notifications: Array<{ kind: string; contestable: boolean }> }).notifications;
    await expect.poll(async () => (await feed()).map((entry) => entry.kind).sort(), { timeout: 20_000 }).toEqual(expect.arrayContaining(['payment_completed', 'refund_completed', 'top_up_completed']));
    const byKind = Object.fromEntries((await feed()).filter((entry) => entry.kind !== 'security_alert').map((entry) => [entry.kind, entry.contestable]));
    expect(byKind).toEqual({ payment_completed: true, refund_completed: false, top_up_completed: true });
  });
});
