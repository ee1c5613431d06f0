/** Step 7: merchant webhooks from the transactional outbox — signed, retried with backoff, logged, redeliverable. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import { verifyWebhookSignature } from '../../src/wallet/funding/webhook-signature.ts';
import { backoffMs, KOBAN_SIGNATURE_HEADER } from '../../src/payments/webhooks/dispatcher.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { createCustomer } from './customer-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

interface Received { headers: IncomingHttpHeaders; body: string }
let h: Harness;
let receiver: Server;
let url = '';
const received: Received[] = [];
const answers: number[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.statusCode = answers.shift() ?? 200;
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  h = await startHarness({ env: { KOBAN_WEBHOOK_ATTEMPTS_MAX: '3' } });
});
afterAll(async () => {
  await expectLedgerConsistent(h.db);
  await h.close();
  await new Promise((resolve) => receiver.close(resolve));
});

let seq = 0;
async function pay(amount: number): Promise<string> {
  h.clock.now = new Date(h.clock.now.getTime() + 1000); // each event at its own time, so the log's order is the test's
  const customer = await createCustomer(h.db, h.ledger, 10_000n);
  const code = (await h.module.payments.mintPaymentCode(customer)).code;
  const merchantPaymentId = `wh-${Date.now()}-${seq++}`;
  const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId, code, amount: { amount, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] } });
  expect(resultCode(response)).toBe('SUCCESS');
  return merchantPaymentId;
}

async function advance(ms: number): Promise<void> {
  h.clock.now = new Date(h.clock.now.getTime() + ms);
  await h.module.dispatchWebhooks();
}

let secret = '';

describe('merchant webhooks', () => {
  it('registers an endpoint and shows its signing secret once', async () => {
    const response = await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url } });
    expect(response.statusCode).toBe(201);
    secret = response.json().data.signingSecret;
    expect(secret).toMatch(/^whsec_/);
    const row = await h.db.pool.query<{ row: string }>(`select row_to_json(e)::text as row from merchant_webhook_endpoints e where merchant_id = $1`, [h.merchant.merchantId]);
    expect(row.rows[0]?.row).not.toContain(secret);
  });

  it('delivers a signed payment.completed event that verifies over the raw body', async () => {
    received.length = 0;
    const merchantPaymentId = await pay(1_500);
    expect(await h.module.dispatchWebhooks()).toBe(1);
    expect(received).toHaveLength(1);
    const [delivery] = received;
    const event = JSON.parse(delivery?.body ?? '{}');
    expect(event).toMatchObject({ type: 'payment.completed', merchantId: h.merchant.merchantId, data: { merchant_order_id: merchantPaymentId, order_amount: 1_500, state: 'COMPLETED' } });
    const verdict = verifyWebhookSignature({ header: delivery?.headers[KOBAN_SIGNATURE_HEADER] as string, rawBody: delivery?.body ?? '', secret, nowSec: Math.floor(h.clock.now.getTime() / 1000) });
    expect(verdict.status).toBe('ok');
  });

  it('the merchant-side check rejects a changed amount, a wrong secret and an old timestamp', async () => {
    const delivery = received[0];
    const header = delivery?.headers[KOBAN_SIGNATURE_HEADER] as string;
    const body = delivery?.body ?? '';
    const nowSec = Math.floor(h.clock.now.getTime() / 1000);
    expect(verifyWebhookSignature({ header, rawBody: body.replace('"order_amount":1500', '"order_amount":15000'), secret, nowSec }).status).toBe('bad_signature');
    expect(verifyWebhookSignature({ header, rawBody: body, secret: 'whsec_guessed', nowSec }).status).toBe('bad_signature');
    expect(verifyWebhookSignature({ header, rawBody: body, secret, nowSec: nowSec + 3600 }).status).toBe('stale_timestamp');
  });

  it('retries a failing endpoint with backoff and logs every attempt', async () => {
    received.length = 0;
    answers.push(500, 503);
    await pay(200);
    await h.module.dispatchWebhooks();
    await h.module.dispatchWebhooks(); // not due yet: nothing sent
    expect(received).toHaveLength(1);
    await advance(backoffMs(1));
    await advance(backoffMs(2));
    expect(received).toHaveLength(3);
    const log = (await opa(h, { method: 'GET', url: '/v2/webhooks/deliveries' })).json().data.deliveries;
    expect(log[0]).toMatchObject({ status: 'delivered', attempts: 3, lastStatusCode: 200 });
    const attempts = await h.db.pool.query<{ status_code: number }>(`select status_code from webhook_attempts where delivery_id = $1 order by attempt`, [log[0].deliveryId]);
    expect(attempts.rows.map((r) => r.status_code)).toEqual([500, 503, 200]);
  });

  it('gives up after the attempt limit; a manual redelivery makes exactly one more attempt', async () => {
    received.length = 0;
    answers.push(500, 500, 500, 500);
    await pay(300);
    await h.module.dispatchWebhooks();
    for (let i = 1; i <= 4; i++) await advance(backoffMs(i));
    expect(received).toHaveLength(3);
    const log = (await opa(h, { method: 'GET', url: '/v2/webhooks/deliveries' })).json().data.deliveries;
    expect(log[0]).toMatchObject({ status: 'failed', attempts: 3 });
    answers.length = 0;
    expect(resultCode(await opa(h, { method: 'POST', url: `/v2/webhooks/deliveries/${log[0].deliveryId}/redeliver` }))).toBe('REQUEST_ACCEPTED');
    await h.module.dispatchWebhooks();
    await advance(backoffMs(5));
    expect(received).toHaveLength(4);
    expect((await opa(h, { method: 'GET', url: '/v2/webhooks/deliveries' })).json().data.deliveries[0]).toMatchObject({ status: 'delivered', attempts: 4 });
  });

  it('does not let another merchant redeliver or read these deliveries', async () => {
    const { createTestMerchant } = await import('./merchant-fixtures.ts');
    const other = await createTestMerchant(h.db, h.ledger);
    const otherKey = await createApiCredential(h.db, h.module.box, { merchantId: other.merchantId });
    const mine = (await opa(h, { method: 'GET', url: '/v2/webhooks/deliveries' })).json().data.deliveries[0];
    expect(resultCode(await opa(h, { method: 'POST', url: `/v2/webhooks/deliveries/${mine.deliveryId}/redeliver`, credential: otherKey }))).toBe('RESOURCE_NOT_FOUND');
    expect((await opa(h, { method: 'GET', url: '/v2/webhooks/deliveries', credential: otherKey })).json().data.deliveries).toEqual([]);
  });

  it('writes no event for a refused request: events match committed state only', async () => {
    const before = await h.db.pool.query<{ n: number }>(`select count(*)::int as n from webhook_events where merchant_id = $1`, [h.merchant.merchantId]);
    const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId: 'refused-1', code: '91234567890123456789', amount: { amount: 100, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] } });
    expect(resultCode(response)).toBe('PAYMENT_CODE_NOT_FOUND');
    const after = await h.db.pool.query<{ n: number }>(`select count(*)::int as n from webhook_events where merchant_id = $1`, [h.merchant.merchantId]);
    expect(after.rows[0]?.n).toBe(before.rows[0]?.n);
    const completed = await h.db.pool.query<{ n: number }>(`select count(*)::int as n from payments where merchant_id = $1 and status = 'COMPLETED'`, [h.merchant.merchantId]);
    const events = await h.db.pool.query<{ n: number }>(`select count(*)::int as n from webhook_events where merchant_id = $1 and type = 'payment.completed'`, [h.merchant.merchantId]);
    expect(events.rows[0]?.n).toBe(completed.rows[0]?.n);
  });

  it('refuses a webhook URL with credentials in it', async () => {
    expect(resultCode(await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: 'https://user:pw@evil.example/' } }))).toBe('INVALID_PARAMS');
  });
});
