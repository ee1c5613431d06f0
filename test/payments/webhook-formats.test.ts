/**
 * Issue 15, item 3: per-endpoint webhook format (PayPay's flat Transaction notification or Koban's envelope)
 * and the events API. The PayPay-style handler below is written from PayPay's reference ("Transaction Events":
 * a flat object, `notification_type: "Transaction"`, `order_amount` a string, fulfil on state COMPLETED),
 * not from Koban's code.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createCustomer } from './customer-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

/** What a merchant integrating PayPay writes: fulfil an order once, when PayPay says it is COMPLETED. */
function paypayStyleHandler() {
  const fulfilled = new Map<string, number>();
  const notifications: Array<Record<string, unknown>> = [];
  const handle = (body: string): void => {
    const n = JSON.parse(body) as Record<string, unknown>;
    notifications.push(n);
    if (n.notification_type !== 'Transaction') return;
    if (n.state === 'COMPLETED') {
      const order = String(n.merchant_order_id);
      fulfilled.set(order, (fulfilled.get(order) ?? 0) + 1);
    }
  };
  return { fulfilled, notifications, handle };
}

let h: Harness;
const servers: Server[] = [];
const paypay = paypayStyleHandler();
const kobanBodies: string[] = [];

async function receiver(onBody: (body: string) => void): Promise<string> {
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      onBody(Buffer.concat(chunks).toString('utf8'));
      response.end('OK');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
}

beforeAll(async () => {
  h = await startHarness({ env: { KOBAN_WEBHOOK_ATTEMPTS_MAX: '3' } });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function tick(): Promise<void> {
  h.clock.now = new Date(h.clock.now.getTime() + 1000);
}

describe('per-endpoint webhook format', () => {
  let paypayEndpointId = '';
  const merchantPaymentId = `fmt-${Date.now()}`;

  it('registers a PayPay-format and a Koban-format endpoint', async () => {
    const paypayUrl = await receiver(paypay.handle);
    const kobanUrl = await receiver((body) => kobanBodies.push(body));
    const created = await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: paypayUrl, format: 'paypay' } });
    expect(created.json().data).toMatchObject({ format: 'paypay' });
    paypayEndpointId = created.json().data.endpointId;
    expect((await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: kobanUrl } })).json().data.format).toBe('koban');
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: `${kobanUrl}/x`, format: 'stripe' } }))).toBe('INVALID_PARAMS');
  });

  it('a PayPay-style handler fulfils a payment once through a partial refund and a cancel', async () => {
    await opa(h, { method: 'POST', url: `/v2/merchant/stores/${h.merchant.storeId}`, body: { externalId: 'store-001' } });
    await opa(h, { method: 'POST', url: `/v2/merchant/terminals/${h.merchant.terminalIds[0]}`, body: { externalId: 'pos-01' } });
    const customer = await createCustomer(h.db, h.ledger, 10_000n);
    const code = (await h.module.payments.mintPaymentCode(customer)).code;
    await tick();
    const paid = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId, code, amount: { amount: 1_500, currency: 'JPY' }, storeId: 'store-001', terminalId: 'pos-01' } });
    expect(resultCode(paid)).toBe('SUCCESS');
    await h.module.dispatchWebhooks();
    await tick();
    const refund = await opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId: `${merchantPaymentId}-r1`, paymentId: paid.json().data.paymentId, amount: { amount: 500, currency: 'JPY' }, requestedAt: Math.floor(Date.now() / 1000) } });
    expect(resultCode(refund)).toBe('SUCCESS');
    await h.module.dispatchWebhooks();
    await tick();
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/payments/${merchantPaymentId}` }))).toBe('REQUEST_ACCEPTED');
    await h.module.dispatchWebhooks();

    expect(paypay.fulfilled.get(merchantPaymentId)).toBe(1);
    expect(paypay.notifications).toHaveLength(1);
    const [notification] = paypay.notifications;
    expect(Object.keys(notification ?? {}).sort()).toEqual(['authorized_at', 'expires_at', 'merchant_id', 'merchant_order_id', 'notification_type', 'order_amount', 'order_id', 'paid_at', 'pos_id', 'state', 'store_id']);
    expect(notification).toMatchObject({
      notification_type: 'Transaction', merchant_id: h.merchant.merchantId, store_id: 'store-001', pos_id: 'pos-01',
      order_id: paid.json().data.paymentId, merchant_order_id: merchantPaymentId, order_amount: '1500', state: 'COMPLETED', expires_at: null,
    });
    expect(String(notification?.paid_at)).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);

    // The Koban-format endpoint got every event, in its envelope.
    expect(kobanBodies.map((b) => JSON.parse(b).type)).toEqual(['payment.completed', 'refund.completed', 'payment.canceled']);
    expect(JSON.parse(kobanBodies[0] ?? '{}')).toMatchObject({ type: 'payment.completed', data: { merchant_order_id: merchantPaymentId } });
  });

  it('records the deliveries PayPay\'s format has no notification for as skipped, never posted', async () => {
    const log = (await opa(h, { method: 'GET', url: '/v2/webhooks/deliveries?limit=100' })).json().data.deliveries as Array<{ endpointId: string; eventType: string; status: string; attempts: number; lastError: string | null }>;
    const toPaypay = log.filter((d) => d.endpointId === paypayEndpointId);
    expect(toPaypay.map((d) => [d.eventType, d.status]).sort()).toEqual([['payment.canceled', 'skipped'], ['payment.completed', 'delivered'], ['refund.completed', 'skipped']]);
    expect(toPaypay.find((d) => d.status === 'skipped')?.attempts).toBe(0);
    // A redelivery run later does not post them either.
    await h.module.dispatchWebhooks();
    expect(paypay.notifications).toHaveLength(1);
  });

  it('switching an endpoint\'s format changes what its next deliveries look like', async () => {
    expect((await opa(h, { method: 'POST', url: `/v2/webhooks/endpoints/${paypayEndpointId}`, body: { format: 'koban' } })).json().data.format).toBe('koban');
    const customer = await createCustomer(h.db, h.ledger, 1_000n);
    const code = (await h.module.payments.mintPaymentCode(customer)).code;
    await tick();
    await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId: `${merchantPaymentId}-2`, code, amount: { amount: 100, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] } });
    await h.module.dispatchWebhooks();
    expect(paypay.notifications.at(-1)).toMatchObject({ type: 'payment.completed', data: { merchant_order_id: `${merchantPaymentId}-2` } });
  });
});

describe('events API (GET /v2/events)', () => {
  it('lists the merchant\'s events newest first in cursor pages, filtered by type', async () => {
    const first = (await opa(h, { method: 'GET', url: '/v2/events?limit=2' })).json().data;
    expect(first.events.map((e: { type: string }) => e.type)).toEqual(['payment.completed', 'payment.canceled']);
    expect(first.hasMore).toBe(true);
    const second = (await opa(h, { method: 'GET', url: `/v2/events?limit=2&startingAfter=${first.nextCursor}` })).json().data;
    expect(second.events.map((e: { type: string }) => e.type)).toEqual(['refund.completed', 'payment.completed']);
    expect(second.hasMore).toBe(false);
    const refunds = (await opa(h, { method: 'GET', url: '/v2/events?type=refund.completed' })).json().data;
    expect(refunds.events).toHaveLength(1);
    expect(resultCode(await opa(h, { method: 'GET', url: '/v2/events?startingAfter=nope' }))).toBe('INVALID_PARAMS');
    expect(resultCode(await opa(h, { method: 'GET', url: '/v2/events?limit=0' }))).toBe('INVALID_PARAMS');
  });

  it('keeps 30 days of history', async () => {
    h.clock.now = new Date(h.clock.now.getTime() + 31 * 24 * 3600 * 1000);
    expect((await opa(h, { method: 'GET', url: '/v2/events' })).json().data.events).toEqual([]);
  });
});
