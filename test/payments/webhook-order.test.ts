/**
 * In-order webhook delivery per payment (issue 15; src/payments/webhooks/dispatcher.ts): an endpoint never
 * receives a payment's later event before the earlier one was delivered or given up, also with two
 * dispatchers (nodes) claiming at once. Events carry their place among the payment's events (`seq`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createCustomer } from './customer-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

let h: Harness;
let receiver: Server;
/** What the endpoint was sent, in arrival order: "<merchant_order_id> <type>" and the answer given. */
const received: string[] = [];
/** Answers by merchant_order_id: a queue of statuses (200 once empty). */
const answersFor = new Map<string, number[]>();

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { type: string; data: { merchant_order_id: string } };
      const status = answersFor.get(event.data.merchant_order_id)?.shift() ?? 200;
      received.push(`${event.data.merchant_order_id} ${event.type} ${status}`);
      response.statusCode = status;
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  h = await startHarness({ env: { KOBAN_WEBHOOK_ATTEMPTS_MAX: '2' } });
  const endpoint = await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks` } });
  expect(endpoint.statusCode).toBe(201);
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
  await new Promise((resolve) => receiver.close(resolve));
});

let seq = 0;
async function payThenRefundTwice(): Promise<{ merchantPaymentId: string; paymentId: string }> {
  const customer = await createCustomer(h.db, h.ledger, 10_000n);
  const code = (await h.module.payments.mintPaymentCode(customer)).code;
  const merchantPaymentId = `wo-${Date.now()}-${seq++}`;
  const paid = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId, code, amount: { amount: 3_000, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] } });
  expect(resultCode(paid)).toBe('SUCCESS');
  const paymentId = paid.json().data.paymentId as string;
  for (const n of [1, 2]) {
    const refunded = await opa(h, { method: 'POST', url: '/v2/refunds', body: { merchantRefundId: `${merchantPaymentId}-r${n}`, paymentId, amount: { amount: 500, currency: 'JPY' }, requestedAt: Math.floor(Date.now() / 1000) } });
    expect(resultCode(refunded)).toBe('SUCCESS');
  }
  return { merchantPaymentId, paymentId };
}

async function advance(ms: number): Promise<void> {
  h.clock.now = new Date(h.clock.now.getTime() + ms);
}

const sent = (merchantPaymentId: string) => received.filter((line) => line.startsWith(`${merchantPaymentId} `));

describe('in-order webhook delivery per payment', () => {
  it("numbers a payment's events 1, 2, 3 in the order they were written", async () => {
    const { paymentId } = await payThenRefundTwice();
    const events = await h.db.pool.query<{ type: string; seq: number }>('select type, seq from webhook_events where order_key = $1 order by seq', [paymentId]);
    expect(events.rows.map((e) => `${e.seq} ${e.type}`)).toEqual(['1 payment.completed', '2 refund.completed', '3 refund.completed']);
    // Deliver them (and everything else waiting) so the next tests start with an empty outbox.
    while ((await h.module.dispatchWebhooks()) > 0) { /* until none is due */ }
  });

  it('holds the refunds while the completion is being retried, then delivers them one after another in order — with two dispatchers claiming at once', async () => {
    const { merchantPaymentId } = await payThenRefundTwice();
    answersFor.set(merchantPaymentId, [500]);
    // Two nodes dispatch at once: only the payment's first event is due; it is attempted once.
    const [a, b] = await Promise.all([h.module.dispatchWebhooks(), h.module.dispatchWebhooks()]);
    expect((a ?? 0) + (b ?? 0)).toBe(1);
    expect(sent(merchantPaymentId)).toEqual([`${merchantPaymentId} payment.completed 500`]);
    // Its retry is not due yet, and nothing after it may overtake it.
    expect(await h.module.dispatchWebhooks()).toBe(0);
    await advance(11_000);
    for (let round = 0; round < 5; round++) await Promise.all([h.module.dispatchWebhooks(), h.module.dispatchWebhooks()]);
    expect(sent(merchantPaymentId)).toEqual([
      `${merchantPaymentId} payment.completed 500`, `${merchantPaymentId} payment.completed 200`,
      `${merchantPaymentId} refund.completed 200`, `${merchantPaymentId} refund.completed 200`,
    ]);
  });

  it('a later event goes once the earlier one was given up (attempt limit), not before', async () => {
    const { merchantPaymentId } = await payThenRefundTwice();
    answersFor.set(merchantPaymentId, [503, 503]);
    expect(await h.module.dispatchWebhooks()).toBe(1);
    await advance(11_000);
    expect(await h.module.dispatchWebhooks()).toBe(1); // the second and last attempt of the completion
    expect(sent(merchantPaymentId)).toEqual([`${merchantPaymentId} payment.completed 503`, `${merchantPaymentId} payment.completed 503`]);
    const given = await h.db.pool.query(`select d.status from webhook_deliveries d join webhook_events e on e.id = d.event_id where e.type = 'payment.completed' and e.body like $1`, [`%${merchantPaymentId}%`]);
    expect(given.rows.map((r) => r.status)).toEqual(['failed']);
    while ((await h.module.dispatchWebhooks()) > 0) { /* until none is due */ }
    expect(sent(merchantPaymentId).slice(2)).toEqual([`${merchantPaymentId} refund.completed 200`, `${merchantPaymentId} refund.completed 200`]);
  });

  it("another payment's events are not held by this payment's retries", async () => {
    const slow = await payThenRefundTwice();
    const fast = await payThenRefundTwice();
    answersFor.set(slow.merchantPaymentId, [500]);
    while ((await h.module.dispatchWebhooks()) > 0) { /* until none is due */ }
    expect(sent(slow.merchantPaymentId)).toEqual([`${slow.merchantPaymentId} payment.completed 500`]);
    expect(sent(fast.merchantPaymentId)).toEqual([
      `${fast.merchantPaymentId} payment.completed 200`, `${fast.merchantPaymentId} refund.completed 200`, `${fast.merchantPaymentId} refund.completed 200`,
    ]);
    await advance(11_000);
    while ((await h.module.dispatchWebhooks()) > 0) { /* until none is due */ }
    expect(sent(slow.merchantPaymentId).slice(1)).toEqual([
      `${slow.merchantPaymentId} payment.completed 200`, `${slow.merchantPaymentId} refund.completed 200`, `${slow.merchantPaymentId} refund.completed 200`,
    ]);
  });
});
