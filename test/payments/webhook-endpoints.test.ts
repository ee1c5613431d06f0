/** Webhook endpoint management (issue 15, item 3): list, update, disable/enable, delete, secret rotation with overlap, one endpoint per URL, paged delivery log. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiCredential, type IssuedCredential } from '../../src/merchants/credentials.ts';
import { KOBAN_SIGNATURE_HEADER } from '../../src/payments/webhooks/dispatcher.ts';
import { verifyWebhookSignature } from '../../src/wallet/funding/webhook-signature.ts';
import { createCustomer } from './customer-fixtures.ts';
import { createTestMerchant } from './merchant-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

interface Received { path: string; headers: IncomingHttpHeaders; body: string }
let h: Harness;
let receiver: Server;
let base = '';
let stranger: IssuedCredential;
const received: Received[] = [];

beforeAll(async () => {
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ path: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.end('ok');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  h = await startHarness();
  const otherMerchant = await createTestMerchant(h.db, h.ledger);
  stranger = await createApiCredential(h.db, h.module.box, { merchantId: otherMerchant.merchantId });
});
afterAll(async () => {
  await h.close();
  await new Promise((resolve) => receiver.close(resolve));
});

let seq = 0;
async function payAndDispatch(): Promise<void> {
  h.clock.now = new Date(h.clock.now.getTime() + 1000);
  const customer = await createCustomer(h.db, h.ledger, 10_000n);
  const code = (await h.module.payments.mintPaymentCode(customer)).code;
  const response = await opa(h, { method: 'POST', url: '/v2/till/payments', body: { merchantPaymentId: `we-${Date.now()}-${seq++}`, code, amount: { amount: 100, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] } });
  expect(resultCode(response)).toBe('SUCCESS');
  await h.module.dispatchWebhooks();
}

async function register(path: string): Promise<{ endpointId: string; signingSecret: string }> {
  const response = await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: `${base}${path}` } });
  expect(response.statusCode).toBe(201);
  return response.json().data;
}

const nowSec = () => Math.floor(h.clock.now.getTime() / 1000);
const verify = (delivery: Received | undefined, secret: string) =>
  verifyWebhookSignature({ header: delivery?.headers[KOBAN_SIGNATURE_HEADER] as string, rawBody: delivery?.body ?? '', secret, nowSec: nowSec() }).status;
const v1Count = (delivery: Received | undefined) => String(delivery?.headers[KOBAN_SIGNATURE_HEADER] ?? '').split(',').filter((p) => p.startsWith('v1=')).length;

describe('webhook endpoint management', () => {
  let main = { endpointId: '', signingSecret: '' };

  it('answers the existing endpoint when one URL is registered twice, without showing its secret again', async () => {
    main = await register('/main');
    const again = await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: `${base}/main` } });
    expect(again.statusCode).toBe(200);
    expect(again.json().data).toMatchObject({ endpointId: main.endpointId, url: `${base}/main`, disabled: false });
    expect(again.json().data.signingSecret).toBeUndefined();
    const concurrent = await Promise.all([1, 2, 3].map(() => opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: `${base}/race` } })));
    expect(new Set(concurrent.map((r) => r.json().data.endpointId)).size).toBe(1);
    expect(concurrent.filter((r) => r.statusCode === 201)).toHaveLength(1);
    const list = (await opa(h, { method: 'GET', url: '/v2/webhooks/endpoints' })).json().data.endpoints as { endpointId: string; url: string }[];
    expect(list.map((e) => e.url).sort()).toEqual([`${base}/main`, `${base}/race`]);
  });

  it('updates the URL and disables and enables an endpoint: a disabled endpoint receives nothing new', async () => {
    const race = (await opa(h, { method: 'POST', url: '/v2/webhooks/endpoints', body: { url: `${base}/race` } })).json().data.endpointId as string;
    const moved = await opa(h, { method: 'POST', url: `/v2/webhooks/endpoints/${race}`, body: { url: `${base}/moved`, disabled: true } });
    expect(moved.json().data).toMatchObject({ endpointId: race, url: `${base}/moved`, disabled: true });
    received.length = 0;
    await payAndDispatch();
    expect(received.map((r) => r.path)).toEqual(['/main']);
    expect(resultCode(await opa(h, { method: 'POST', url: `/v2/webhooks/endpoints/${race}`, body: { disabled: false } }))).toBe('SUCCESS');
    received.length = 0;
    await payAndDispatch();
    expect(received.map((r) => r.path).sort()).toEqual(['/main', '/moved']);
    const taken = await opa(h, { method: 'POST', url: `/v2/webhooks/endpoints/${race}`, body: { url: `${base}/main` } });
    expect(resultCode(taken)).toBe('INVALID_PARAMS');
    expect((await opa(h, { method: 'GET', url: `/v2/webhooks/endpoints/${race}` })).json().data.url).toBe(`${base}/moved`);
  });

  it('rotates the signing secret with an overlap: deliveries carry a v1 for each secret until it ends, then only the new one', async () => {
    const rotated = await opa(h, { method: 'POST', url: `/v2/webhooks/endpoints/${main.endpointId}/rotate-secret`, body: { overlapSeconds: 3600 } });
    const newSecret = rotated.json().data.signingSecret as string;
    expect(newSecret).toMatch(/^whsec_/);
    expect(newSecret).not.toBe(main.signingSecret);
    received.length = 0;
    await payAndDispatch();
    const during = received.find((r) => r.path === '/main');
    expect(v1Count(during)).toBe(2);
    expect(verify(during, main.signingSecret)).toBe('ok');
    expect(verify(during, newSecret)).toBe('ok');
    h.clock.now = new Date(h.clock.now.getTime() + 3601_000);
    received.length = 0;
    await payAndDispatch();
    const after = received.find((r) => r.path === '/main');
    expect(v1Count(after)).toBe(1);
    expect(verify(after, newSecret)).toBe('ok');
    expect(verify(after, main.signingSecret)).not.toBe('ok');
    main = { endpointId: main.endpointId, signingSecret: newSecret };
  });

  it('rotates at once with overlapSeconds 0, and refuses an overlap beyond seven days', async () => {
    const rotated = await opa(h, { method: 'POST', url: `/v2/webhooks/endpoints/${main.endpointId}/rotate-secret`, body: { overlapSeconds: 0 } });
    expect(rotated.json().data.previousSecretExpiresAt).toBeNull();
    const newSecret = rotated.json().data.signingSecret as string;
    received.length = 0;
    await payAndDispatch();
    const delivery = received.find((r) => r.path === '/main');
    expect(v1Count(delivery)).toBe(1);
    expect(verify(delivery, newSecret)).toBe('ok');
    expect(resultCode(await opa(h, { method: 'POST', url: `/v2/webhooks/endpoints/${main.endpointId}/rotate-secret`, body: { overlapSeconds: 8 * 86_400 } }))).toBe('INVALID_PARAMS');
  });

  it('deletes an endpoint: gone from the list, not found, nothing delivered to it', async () => {
    const doomed = await register('/doomed');
    expect(resultCode(await opa(h, { method: 'DELETE', url: `/v2/webhooks/endpoints/${doomed.endpointId}` }))).toBe('SUCCESS');
    const list = (await opa(h, { method: 'GET', url: '/v2/webhooks/endpoints' })).json().data.endpoints as { endpointId: string }[];
    expect(list.map((e) => e.endpointId)).not.toContain(doomed.endpointId);
    const gone = await opa(h, { method: 'GET', url: `/v2/webhooks/endpoints/${doomed.endpointId}` });
    expect(gone.statusCode).toBe(404);
    expect(resultCode(gone)).toBe('RESOURCE_NOT_FOUND');
    expect((await opa(h, { method: 'DELETE', url: `/v2/webhooks/endpoints/${doomed.endpointId}` })).statusCode).toBe(404);
    received.length = 0;
    await payAndDispatch();
    expect(received.map((r) => r.path)).not.toContain('/doomed');
    // Registering the URL again makes a fresh endpoint.
    expect((await register('/doomed')).endpointId).not.toBe(doomed.endpointId);
  });

  it('another merchant can neither see, change, rotate nor delete an endpoint (cross-merchant tampering)', async () => {
    const path = `/v2/webhooks/endpoints/${main.endpointId}`;
    expect((await opa(h, { method: 'GET', url: path, credential: stranger })).statusCode).toBe(404);
    expect((await opa(h, { method: 'POST', url: path, body: { disabled: true }, credential: stranger })).statusCode).toBe(404);
    expect((await opa(h, { method: 'POST', url: `${path}/rotate-secret`, body: {}, credential: stranger })).statusCode).toBe(404);
    expect((await opa(h, { method: 'DELETE', url: path, credential: stranger })).statusCode).toBe(404);
    expect((await opa(h, { method: 'GET', url: '/v2/webhooks/endpoints', credential: stranger })).json().data.endpoints).toEqual([]);
    expect((await opa(h, { method: 'GET', url: path })).json().data).toMatchObject({ disabled: false });
  });
});

describe('delivery log paging', () => {
  it('walks every delivery newest first in cursor pages, each exactly once', async () => {
    const all = (await h.db.pool.query<{ id: string }>(`select id from webhook_deliveries where merchant_id = $1 order by created_at desc, id desc`, [h.merchant.merchantId])).rows.map((r) => r.id);
    expect(all.length).toBeGreaterThan(4);
    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const url: string = `/v2/webhooks/deliveries?limit=2${cursor === null ? '' : `&startingAfter=${cursor}`}`;
      const data = (await opa(h, { method: 'GET', url })).json().data as { deliveries: { deliveryId: string }[]; hasMore: boolean; nextCursor: string | null };
      expect(data.deliveries.length).toBeLessThanOrEqual(2);
      seen.push(...data.deliveries.map((d) => d.deliveryId));
      if (!data.hasMore) break;
      cursor = data.nextCursor;
    }
    expect(seen).toEqual(all);
  });

  it('refuses a malformed cursor or limit, and answers an empty page for another merchant\'s cursor', async () => {
    expect(resultCode(await opa(h, { method: 'GET', url: '/v2/webhooks/deliveries?startingAfter=nope' }))).toBe('INVALID_PARAMS');
    expect(resultCode(await opa(h, { method: 'GET', url: '/v2/webhooks/deliveries?limit=0' }))).toBe('INVALID_PARAMS');
    const someone = (await h.db.pool.query<{ id: string }>(`select id from webhook_deliveries where merchant_id = $1 limit 1`, [h.merchant.merchantId])).rows[0]?.id;
    const page = (await opa(h, { method: 'GET', url: `/v2/webhooks/deliveries?startingAfter=${someone}`, credential: stranger })).json().data;
    expect(page).toEqual({ deliveries: [], hasMore: false, nextCursor: null });
  });
});
