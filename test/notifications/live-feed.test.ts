/**
 * The live notification feed over real HTTP (server-sent events) and the customer's "this wasn't me":
 * money moving reaches the open stream through LISTEN/NOTIFY (the safety-net poll is set to a minute here,
 * and koban_live_feed_deliveries_total shows the entry came from the read the NOTIFY woke), a reconnect resumes after
 * Last-Event-ID, a revoked session ends the stream, streams per customer are bounded, and reporting a
 * notification freezes the wallet so the next payment is refused clearly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { addFeedEntry } from '../../src/notifications/outbox.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { PUBLIC_URL, rawRequestHeaders, signUp, type Customer } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { startTestKoban } from '../support/koban.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let base: string;
let merchant: TestMerchant;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_FEED_STREAM_POLL_MS: '60000', KOBAN_FEED_STREAM_HEARTBEAT_MS: '300', KOBAN_FEED_STREAMS_PER_CUSTOMER: '2' } });
  koban = env.koban;
  base = await koban.app.listen({ host: '127.0.0.1', port: 0 });
  merchant = await createTestMerchant(koban.db, koban.ledger, 'Live Mart');
});
afterAll(async () => {
  // Open streams must not hold the shutdown up.
  await env.close();
}, 20_000);

interface SseEvent { event: string; id: string | null; data: string }

/** Waits are on the event itself; this bound only stops a broken run. */
const EVENT_BOUND_MS = 20_000;

/** Entries the live feed sent to streams so far, by what woke the read (koban_live_feed_deliveries_total). */
async function deliveriesBy(): Promise<Record<'notify' | 'poll' | 'resume', number>> {
  const values = (await koban.metrics.liveFeedDeliveries.get()).values;
  const of = (cause: string) => values.find((v) => v.labels.cause === cause)?.value ?? 0;
  return { notify: of('notify'), poll: of('poll'), resume: of('resume') };
}

/** An SSE client over fetch: collects parsed events; `next` waits for one matching event. */
function openStream(customer: Customer, lastEventId?: string) {
  const controller = new AbortController();
  const events: SseEvent[] = [];
  let closed = false;
  // A real fetch from 127.0.0.1 is a new network for the session: it proves its device key, as the wallet does.
  const ready = rawRequestHeaders(customer.client, PUBLIC_URL, 'GET', '/v1/customer/notifications/stream').then((headers) => fetch(`${base}/v1/customer/notifications/stream`, {
    headers: { ...headers, accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) }, signal: controller.signal,
  })).then(async (response) => {
    const status = response.status;
    const contentType = response.headers.get('content-type');
    void (async () => {
      let buffer = '';
      const decoder = new TextDecoder();
      try {
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const lines = block.split('\n');
            if (lines.every((line) => line.startsWith(':') || line.startsWith('retry:'))) {
              if (lines.some((line) => line.startsWith(': heartbeat'))) events.push({ event: 'heartbeat', id: null, data: '' });
              continue;
            }
            const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2) ?? null;
            events.push({ event: field('event') ?? 'message', id: field('id'), data: field('data') ?? '' });
          }
        }
      } catch {
        // aborted
      }
      closed = true;
    })();
    return { status, contentType, body: status === 200 ? null : await response.text() };
  });
  return {
    ready, events, controller,
    get closed() { return closed; },
    async next(event: string, after = 0): Promise<SseEvent> {
      await expect.poll(() => events.slice(after).some((e) => e.event === event), { timeout: EVENT_BOUND_MS }).toBe(true);
      return events.slice(after).find((e) => e.event === event) as SseEvent;
    },
    notifications: () => events.filter((e) => e.event === 'notification').map((e) => JSON.parse(e.data) as { id: string; title: string; kind: string }),
  };
}

async function fundedCustomer(amount: bigint): Promise<Customer> {
  const customer = await signUp(koban);
  const minted = await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} });
  expect(minted.statusCode, minted.body).toBe(200);
  const wallet = (await koban.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customer.customerId])).rows[0]?.account_id ?? '';
  await koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: wallet, amount, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test funding' }]);
  return customer;
}

const storeQr = () => buildStaticQrPayload({ merchantId: merchant.merchantId, storeId: merchant.storeId, categoryCode: '5411', merchantName: 'Live Mart', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
const payAtStore = (customer: Customer, amount: string, key: string) =>
  customer.client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: { payload: storeQr(), amount, idempotencyKey: key } });

describe('live notification stream', () => {
  it('pushes a payment to the open stream at once (LISTEN/NOTIFY), as text/event-stream with the entry id', async () => {
    const customer = await fundedCustomer(5_000n);
    const stream = openStream(customer);
    expect(await stream.ready).toMatchObject({ status: 200, contentType: 'text/event-stream; charset=utf-8' });
    await stream.next('ready');
    const before = await deliveriesBy();
    expect((await payAtStore(customer, '1200', 'live-00000001')).statusCode).toBe(200);
    const event = await stream.next('notification');
    // Which path delivered it, not how fast: the read the NOTIFY woke, not the safety-net poll.
    const after = await deliveriesBy();
    expect({ notify: after.notify - before.notify, poll: after.poll - before.poll }).toEqual({ notify: 1, poll: 0 });
    expect(JSON.parse(event.data)).toMatchObject({ kind: 'payment_completed', title: expect.stringContaining('¥1,200') });
    expect(event.id).toBe((JSON.parse(event.data) as { id: string }).id);
    stream.controller.abort();
  });

  it('resumes after Last-Event-ID with exactly what was written while away', async () => {
    const customer = await signUp(koban);
    const first = openStream(customer);
    await first.ready;
    await first.next('ready');
    await addFeedEntry(koban.db.pool, customer.customerId, { kind: 'test_one', title: 'one', body: 'one' });
    const seen = await first.next('notification');
    first.controller.abort();
    await addFeedEntry(koban.db.pool, customer.customerId, { kind: 'test_two', title: 'two', body: 'two' });
    await addFeedEntry(koban.db.pool, customer.customerId, { kind: 'test_three', title: 'three', body: 'three' });
    const resumed = openStream(customer, seen.id ?? '');
    await resumed.ready;
    await expect.poll(() => resumed.notifications().map((n) => n.title), { timeout: EVENT_BOUND_MS }).toEqual(['two', 'three']);
    resumed.controller.abort();
  });

  it('sends heartbeats, and ends the stream once the session is revoked', async () => {
    const customer = await signUp(koban);
    const stream = openStream(customer);
    await stream.ready;
    await stream.next('heartbeat');
    expect((await customer.client.request({ method: 'POST', url: '/v1/customer/sessions/revoke-all', body: {} })).statusCode).toBe(200);
    await stream.next('end');
    await expect.poll(() => stream.closed, { timeout: EVENT_BOUND_MS }).toBe(true);
  });

  it('keeps at most the configured streams per customer: the oldest gives way', async () => {
    const customer = await signUp(koban);
    const streams = [];
    for (let i = 0; i < 2; i++) {
      const stream = openStream(customer);
      await stream.next('ready');
      streams.push(stream);
    }
    const third = openStream(customer);
    await third.next('ready');
    await streams[0]?.next('replaced');
    await addFeedEntry(koban.db.pool, customer.customerId, { kind: 'test_bound', title: 'bound', body: 'bound' });
    await third.next('notification');
    await streams[1]?.next('notification');
    expect(streams[0]?.notifications()).toEqual([]);
    for (const stream of [...streams, third]) stream.controller.abort();
  });

  it('refuses a stream without a session', async () => {
    const response = await fetch(`${base}/v1/customer/notifications/stream`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toMatch(/problem\+json/);
  });
});

describe('"this wasn\'t me"', () => {
  it('freezes the wallet and opens a case at once; the next payment and code are refused as wallet_frozen', async () => {
    const customer = await fundedCustomer(5_000n);
    expect((await payAtStore(customer, '500', 'notme-0000001')).statusCode).toBe(200);
    const feed = await (async () => {
      let entries: Array<{ id: string; kind: string }> = [];
      await expect.poll(async () => {
        entries = ((await customer.client.request({ method: 'GET', url: '/v1/customer/notifications' })).json() as { notifications: Array<{ id: string; kind: string }> }).notifications;
        return entries.some((e) => e.kind === 'payment_completed');
      }).toBe(true);
      return entries;
    })();
    const paid = feed.find((e) => e.kind === 'payment_completed');
    const reported = await customer.client.request({ method: 'POST', url: `/v1/customer/notifications/${paid?.id}/not-me`, body: {} });
    expect(reported.statusCode, reported.body).toBe(200);
    expect(reported.json()).toMatchObject({ caseId: expect.any(String), walletFrozen: true });
    expect((await customer.client.request({ method: 'GET', url: '/v1/wallet/summary' })).json()).toMatchObject({ status: 'frozen', balance: '4500' });
    const cases = await koban.operations.cases.list({ status: 'open' });
    expect(cases.cases.find((c) => c.accountId === customer.customerId)).toMatchObject({ source: 'customer' });
    const refused = await payAtStore(customer, '100', 'notme-0000002');
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'wallet_frozen' });
    const mint = await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} });
    expect(mint.json()).toMatchObject({ code: 'wallet_frozen' });
    expect((await customer.client.request({ method: 'GET', url: '/v1/wallet/summary' })).json()).toMatchObject({ balance: '4500' });
  });

  it('cannot be used on another customer\'s notification, and needs the CSRF token', async () => {
    const victim = await fundedCustomer(1_000n);
    const other = await signUp(koban);
    await addFeedEntry(koban.db.pool, victim.customerId, { kind: 'test_alert', title: 'alert', body: 'alert' });
    const [entry] = ((await victim.client.request({ method: 'GET', url: '/v1/customer/notifications' })).json() as { notifications: Array<{ id: string }> }).notifications;
    expect((await other.client.request({ method: 'POST', url: `/v1/customer/notifications/${entry?.id}/not-me`, body: {} })).statusCode).toBe(404);
    const csrf = victim.client.csrf;
    victim.client.csrf = null;
    expect((await victim.client.request({ method: 'POST', url: '/v1/customer/freeze', body: {} })).statusCode).toBe(403);
    victim.client.csrf = csrf;
    expect((await victim.client.request({ method: 'GET', url: '/v1/wallet/summary' })).json()).toMatchObject({ status: 'active' });
    expect((await victim.client.request({ method: 'POST', url: '/v1/customer/freeze', body: {} })).json()).toMatchObject({ walletFrozen: true });
    expect((await victim.client.request({ method: 'GET', url: '/v1/wallet/summary' })).json()).toMatchObject({ status: 'frozen' });
  });
});
